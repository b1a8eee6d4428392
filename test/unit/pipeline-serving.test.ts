import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { createServingActivities } from '../../activities/pipeline';
import { startFakeOllama, startFakeVllm, type FakeOllama, type FakeVllm } from '../../testkit/fake-serving';
import { nextAttemptPlan, type CopyAttempt } from '../../workflows/pipeline-messages';

/**
 * The deploy step's adapter registration against serving nodes that speak the real wire formats
 * (vLLM's /v1/load_lora_adapter, Ollama's blob upload + /api/create), and the retrain plan of the
 * test-until-as-good loop.
 */
describe('adapter registration with the serving node', () => {
  let vllm: FakeVllm;
  let ollama: FakeOllama;
  let dir: string;
  let peftAdapter: string;
  let ggufAdapter: string;
  const serving = createServingActivities();

  beforeAll(async () => {
    [vllm, ollama] = await Promise.all([startFakeVllm({ baseModel: 'tiny-llama' }), startFakeOllama({ models: ['tiny-llama:latest'] })]);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-serving-'));
    peftAdapter = path.join(dir, 'adapter');
    fs.mkdirSync(peftAdapter);
    fs.writeFileSync(path.join(peftAdapter, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 8 }));
    fs.writeFileSync(path.join(peftAdapter, 'adapter_model.safetensors'), crypto.randomBytes(4096));
    ggufAdapter = path.join(dir, 'adapter-f32.gguf');
    fs.writeFileSync(ggufAdapter, Buffer.concat([Buffer.from('GGUF'), crypto.randomBytes(8192)]));
  });
  afterAll(async () => {
    await Promise.all([vllm?.close(), ollama?.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function refusal(work: Promise<unknown>): Promise<ApplicationFailure> {
    const err = await work.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }

  it('loads a LoRA into vLLM by name, answers with it, and takes a retried registration as done', async () => {
    const input = { kind: 'vllm' as const, baseUrl: `${vllm.url}/v1`, name: 'tiny-llama-npc-dialogue-a1', adapterPath: peftAdapter };
    expect(await serving.registerAdapter(input)).toEqual({ status: 200 });
    expect(vllm.requests.at(-1)).toEqual({ method: 'POST', path: '/v1/load_lora_adapter', body: { lora_name: input.name, lora_path: peftAdapter } });
    expect(vllm.adapters.get(input.name)).toEqual({ name: input.name, path: peftAdapter });
    // The activity retried after the node loaded it: vLLM says 400 "already been loaded", which is the state we want.
    expect(await serving.registerAdapter(input)).toEqual({ status: 400 });
    const answer = await serving.probeServedCopy({ baseUrl: `${vllm.url}/v1`, model: input.name, prompt: 'Where is the map?' });
    expect(answer.content).toContain(`[${input.name}]`);
  });

  it('refuses, without retrying, a path vLLM finds no adapter in', async () => {
    const err = await refusal(serving.registerAdapter({ kind: 'vllm', baseUrl: vllm.url, name: 'broken', adapterPath: path.join(dir, 'nothing-here') }));
    expect(err.nonRetryable).toBe(true);
    expect(err.type).toBe('AdapterRefused');
    expect(err.message).toMatch(/404.*No adapter found/);
    expect(vllm.adapters.has('broken')).toBe(false);
  });

  it('uploads the GGUF adapter to Ollama as a blob once, then creates the model from the base with it', async () => {
    const digest = `sha256:${crypto.createHash('sha256').update(fs.readFileSync(ggufAdapter)).digest('hex')}`;
    const input = { kind: 'ollama' as const, baseUrl: `${ollama.url}/v1`, name: 'tiny-llama-npc-dialogue-a1', adapterPath: ggufAdapter, baseModel: 'tiny-llama' };
    await serving.registerAdapter(input);
    expect(ollama.blobs.get(digest)).toBe(fs.statSync(ggufAdapter).size);
    expect(ollama.models.get('tiny-llama-npc-dialogue-a1:latest')).toEqual({ from: 'tiny-llama', adapters: { 'adapter-f32.gguf': digest } });
    const uploads = () => ollama.requests.filter((r) => r.path.startsWith('/api/blobs/')).length;
    expect(uploads()).toBe(1);
    await serving.registerAdapter(input);
    expect(uploads()).toBe(1);
    const answer = await serving.probeServedCopy({ baseUrl: `${ollama.url}/v1`, model: input.name, prompt: 'Hello' });
    expect(answer.content).toContain('[tiny-llama-npc-dialogue-a1]');
  });

  it('refuses an Ollama registration whose base model the node does not have, or without a base', async () => {
    const unknown = await refusal(serving.registerAdapter({ kind: 'ollama', baseUrl: ollama.url, name: 'x', adapterPath: ggufAdapter, baseModel: 'not-pulled' }));
    expect(unknown.nonRetryable).toBe(true);
    expect(unknown.message).toMatch(/404.*not-pulled/);
    const noBase = await refusal(serving.registerAdapter({ kind: 'ollama', baseUrl: ollama.url, name: 'x', adapterPath: ggufAdapter }));
    expect(noBase.message).toMatch(/^baseModel:/);
    expect(ollama.models.has('x:latest')).toBe(false);
  });
});

describe('the retrain plan after a failed attempt', () => {
  const plan = { reason: 'first training', maxSteps: 100, learningRate: 0.01, lookbackDays: 30 };
  const failed = (initialEvalLoss: number, finalEvalLoss: number, verdict: string, attempt = 1, of = plan): CopyAttempt => ({ ...of, attempt, version: 'v', upstreamModel: 'm', trainingWorkflowId: 'w', initialEvalLoss, finalEvalLoss, passed: false, verdict });

  it('gives a copy that learned but is not as good twice the steps and twice the window of logs', () => {
    const next = nextAttemptPlan(plan, plan, failed(8, 3, 'not as good as the model in service: quality: 0.3 < 0.45'));
    expect(next).toMatchObject({ maxSteps: 200, lookbackDays: 60, learningRate: 0.01 });
    expect(next.reason).toBe('attempt 1 failed: not as good as the model in service: quality: 0.3 < 0.45; retraining with 200 steps on 60 days of logs');
    // selfHosted.training.retrainStepsMultiplier
    expect(nextAttemptPlan(plan, plan, failed(8, 3, 'not as good'), 8).maxSteps).toBe(800);
  });

  it('grows the steps from the first plan, not compounding: 6 steps × 100 are 600, then 1,200 (not 60,000)', () => {
    const first = { ...plan, maxSteps: 6 };
    const second = nextAttemptPlan(first, first, failed(8, 7, 'not as good', 1, first), 100);
    expect(second.maxSteps).toBe(600);
    const third = nextAttemptPlan(first, second, failed(8, 4, 'not as good', 2, second), 100);
    expect(third).toMatchObject({ maxSteps: 1200, lookbackDays: 120 });
    expect(third.reason).toBe('attempt 2 failed: not as good; retraining with 1200 steps on 120 days of logs');
    // The default multiplier: 600, then 1,200, 2,400, 3,600 steps.
    const d = { ...plan, maxSteps: 600 };
    const steps = [1, 2, 3].reduce((plans, attempt) => [...plans, nextAttemptPlan(d, plans.at(-1)!, failed(8, 4, 'not as good', attempt, plans.at(-1)!))], [d]).map((p) => p.maxSteps);
    expect(steps).toEqual([600, 1200, 2400, 3600]);
  });

  it('halves the learning rate when the held-out loss did not fall, keeping the steps; a later retrain never trains fewer', () => {
    const next = nextAttemptPlan(plan, plan, failed(8, 9, 'held-out loss 9 (from 8) must fall and be ≤ 1.5'));
    expect(next).toMatchObject({ maxSteps: 100, lookbackDays: 30, learningRate: 0.005 });
    expect(next.reason).toMatch(/retraining with learning rate 0.005$/);
    const longer = { ...plan, maxSteps: 5000 };
    expect(nextAttemptPlan(plan, longer, failed(8, 4, 'not as good', 2, longer)).maxSteps).toBe(5000);
  });
});
