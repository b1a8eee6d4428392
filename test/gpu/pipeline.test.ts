import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Prisma } from '@prisma/client';
import { parseConfig } from '../../src/config/load';
import type { MmsConfig } from '../../src/config/schema';
import { createEvaluationDeps } from '../../src/evaluation';
import type { GpuWorkerProcess } from '../../src/gpu/worker-process';
import { syncUseCases } from '../../src/registry/use-cases';
import { getServingAllocation } from '../../src/registry/allocations';
import { readPipeline, startPipeline } from '../../clients/pipeline';
import { startFakeHub, repoFromDirectory, type FakeHub } from '../../testkit/fake-huggingface';
import { startFakeProvider, type FakeProvider } from '../../testkit/fake-providers';
import { startTestGateway, type TestGateway } from '../fixtures/gateway-harness';
import { testPolicy } from '../support/rollout';
import { createTestDatabase, embeddingsUrl, startControlWorker, temporalClient, uniqueTaskQueue, type TestDatabase } from '../support/stack';
import { GENEROUS_MS, gpuCli, phaseTimer, startTestGpuWorker, tempDir, tinyModelAndData } from './support';

/**
 * The self-hosted pipeline end to end on the real stack (Temporal, PostgreSQL, the Python GPU worker,
 * real TRL training, real llama.cpp servers, the gateway, the embeddings server); only SaaS is fake:
 * the Hub, the paid model in service (whose logged answers are the training data) and the judge.
 *
 * fake Hub lists the tiny Llama → downloaded pinned and sha256-verified → copy registered with lineage
 * → LoRA trained on the logs (loss falls) → the evaluate workflow finds attempt 1 (a few steps) not as
 * good as the model in service → attempt 2 (retrainStepsMultiplier × the steps: 600) passes → served by
 * llama.cpp with the adapter, validated, rolled out by canary to 100 % → the gateway answers in the
 * persona, differently from the base model on the same prompt.
 */
const USE_CASE = 'npc_dialogue';
const SYSTEM = 'You are Mara, the quartermaster of the Salt Wyrm. Stay in character.';
const MARKERS = ['arr', 'matey', 'avast', 'yo ho', 'timbers', 'quartermaster', 'cutlass', 'tide', 'rope', 'seas', 'sea', 'crew', 'captain'];

/** Persona marker words in a text (the judge's and the test's measure of "answers in the persona"). */
const personaScore = (text: string) => MARKERS.filter((m) => new RegExp(`\\b${m}\\b`, 'i').test(text)).length;

/** An answer in the persona: two of its words at least (a 24-token answer of the copy has fewer than the paid model's). */
const inPersona = (text: string) => personaScore(text) >= 2;

/** The judge: the answer in the persona wins; a tie when both are, or neither is. */
function personaJudge(userText: string): string {
  const [, a = '', b = ''] = /ANSWER A\n([\s\S]*)\n\nANSWER B\n([\s\S]*)$/.exec(userText) ?? [];
  const [pa, pb] = [inPersona(a), inPersona(b)];
  return JSON.stringify({ winner: pa === pb ? 'tie' : pa ? 'A' : 'B', reason: 'stays in the persona' });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Prints each phase the pipeline and its copy enter, with the time since the start (what `mms
 * pipeline status` reads), so a slow run says where its time went. Observation only: nothing waits on it.
 */
function watchPipelinePhases(client: Client, useCaseId: string): { stop(): Promise<void> } {
  const started = Date.now();
  let last = '';
  let running = true;
  const loop = (async () => {
    while (running) {
      const reading = await readPipeline(client, useCaseId).catch(() => undefined);
      const copy = reading?.copies[0]?.status;
      const now = [reading?.status?.phase ?? 'starting', copy ? `copy attempt ${copy.attempts.length}: ${copy.phase}` : ''].filter(Boolean).join(', ');
      if (now !== last) process.stdout.write(`[pipeline phases] +${((Date.now() - started) / 1000).toFixed(1)} s: ${(last = now)}\n`);
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return {
    stop: async () => {
      if (!running) return;
      running = false;
      await loop;
      process.stdout.write(`[pipeline phases] +${((Date.now() - started) / 1000).toFixed(1)} s: finished\n`);
    },
  };
}

/**
 * Prints every offline comparison the evaluate children recorded: the verdict of each criterion with
 * its numbers, and the prompts to read first with both models' answers, so a failed attempt says why.
 */
async function printEvaluations(db: TestDatabase, useCaseId: string): Promise<void> {
  const evaluations = await db.prisma.evaluation.findMany({ where: { useCaseId, kind: 'offline_comparison' }, orderBy: { createdAt: 'asc' } });
  for (const [i, e] of evaluations.entries()) {
    const report = e.results as { criteria?: Array<{ name: string; status: string; detail: string }>; worstPrompts?: Array<{ prompt: string; current: string; candidate: string; issues: string[] }> } | null;
    const criteria = (report?.criteria ?? []).map((c) => `  ${c.name}: ${c.status} (${c.detail})`);
    const prompts = (report?.worstPrompts ?? []).map((w) => `  ${JSON.stringify(w.prompt)}: candidate ${JSON.stringify(w.candidate)} (persona ${personaScore(w.candidate)}), current ${JSON.stringify(w.current)} (persona ${personaScore(w.current)})${w.issues.length ? ` [${w.issues.join('; ')}]` : ''}`);
    process.stdout.write([`[pipeline] evaluation ${i + 1} of ${e.candidateModelId}: ${e.status}`, ...criteria, ...prompts].join('\n') + '\n');
  }
}

const lines = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { messages: Array<{ role: string; content: string }> });

describe('self-hosted pipeline end to end', () => {
  let work: string;
  let db: TestDatabase;
  let client: Client;
  let hub: FakeHub;
  let paid: FakeProvider;
  let gw: TestGateway;
  let gpu: GpuWorkerProcess | undefined;
  let control: Awaited<ReturnType<typeof startControlWorker>> | undefined;
  let config: MmsConfig;
  let watcher: { stop(): Promise<void> } | undefined;
  let copyPort: number;
  let basePort: number;
  const serversDir = () => path.join(work, 'models', 'serving');

  beforeAll(async () => {
    const phase = phaseTimer('pipeline set-up');
    work = tempDir('pipeline');
    const data = await phase('tiny model and persona data (mms_gpu.cli build-tiny)', () => tinyModelAndData(work));
    [db, client, hub, paid, copyPort, basePort] = await phase('database, Temporal client, fake Hub and provider', () => Promise.all([createTestDatabase(), temporalClient(), startFakeHub(), startFakeProvider(), freePort(), freePort()]));
    hub.addRepo(repoFromDirectory('mms-test/tiny-llama', data.baseModelPath, { pipelineTag: 'text-generation', license: 'apache-2.0', downloads: 10, likes: 1 }));
    // Rivals the ranking must put below it, though the community likes them far more: a 70 B model
    // does not fit the GPU, and a non-commercial licence is not on the allow-list.
    const seventyB = 70_000_000_000;
    hub.addRepo(repoFromDirectory('mms-test/huge-llama-70b', data.baseModelPath, { pipelineTag: 'text-generation', license: 'apache-2.0', downloads: 2_000_000, likes: 4000, safetensors: { parameters: { BF16: seventyB }, total: seventyB } }));
    hub.addRepo(repoFromDirectory('mms-test/nc-llama', data.baseModelPath, { pipelineTag: 'text-generation', license: 'cc-by-nc-4.0', downloads: 1_000_000, likes: 2000 }));

    // The paid model in service answers in the persona (its logged answers are what the copy learns).
    // Like a real model it is deterministic at temperature 0 (the use case's): the same prompt gets
    // the same answer whatever the seed. Picking a logged answer by seed at temperature 0 made its two
    // calibration samples of a prompt less alike than answers to different prompts (self-similarity
    // 0.874 < 0.891 on one run's sample of prompts), so the similarity calibration failed and with it
    // an attempt the judge had passed.
    const answers = new Map<string, string[]>();
    for (const row of lines(data.trainFile)) {
      const user = row.messages.find((m) => m.role === 'user')!.content;
      answers.set(user, [...(answers.get(user) ?? []), row.messages.find((m) => m.role === 'assistant')!.content]);
    }
    const fallback = [...answers.values()][0]!;
    paid.forModel('mara-current', { latencyMs: 150, respond: (text, body) => { const options = answers.get(text) ?? fallback; return options[body.temperature === 0 || typeof body.seed !== 'number' ? 0 : body.seed % options.length]!; } });
    paid.forModel('persona-judge', { respond: (text) => personaJudge(text) });

    const controlQueue = uniqueTaskQueue('control-pipeline');
    const gpuQueue = uniqueTaskQueue('gpu-pipeline');
    config = parseConfig({
      temporal: { controlTaskQueue: controlQueue, gpuTaskQueue: gpuQueue },
      gateway: { host: '127.0.0.1', port: 0, internal: { port: 0 }, allocationPollMs: 100, log: { flushIntervalMs: 20, spillDir: path.join(work, 'spill') } },
      providers: {
        paid: { kind: 'openai_compatible', baseUrl: paid.baseUrls.openai_compatible },
        llama_copies: { kind: 'openai_compatible', baseUrl: `http://127.0.0.1:${copyPort}/v1` },
        huggingface: { kind: 'huggingface', baseUrl: hub.url },
      },
      useCases: [{ id: USE_CASE, kind: 'self_hosted', temperature: 0, maxTokens: 32, systemPromptTemplate: SYSTEM, sampling: { seed: 7 }, initialModel: { provider: 'paid', model: 'mara-current' } }],
      selfHosted: {
        modelsDir: path.join(work, 'models'),
        huggingface: { provider: 'huggingface', limit: 50 },
        dataset: { minFeedbackScore: 0.5, minTrainRows: 50 },
        // Attempt 1 trains 6 steps (not as good yet); attempt 2, 6 × 100 = 600 steps (the schema's
        // largest multiplier), at which the tiny Llama's held-out loss falls from 7.4 to ~0.2 and its
        // greedy answers are in the persona on 8 of 8 prompts (see mms_gpu.tiny_model output_std). One
        // torch thread: at load 10-16 on 2 cores, torch's default 2 threads took 2.2 s a step, 1 took 0.26 s.
        training: { maxSteps: 6, retrainStepsMultiplier: 100, learningRate: 1e-2, batchSize: 8, evalSteps: 50, saveSteps: 50, maxLength: 128, maxAttempts: 3, heartbeatTimeoutSeconds: 30, threads: 1, lora: { rank: 8, alpha: 16 } },
        evaluation: { maxEvalLoss: 100 },
        defaultQuantization: 'q8_0',
        serving: { kind: 'llama_cpp', provider: 'llama_copies' },
      },
      policies: {
        testing: { similarityThreshold: 0, promptSampleSize: 8, calibrationPrompts: 4, concurrency: 2, judge: { provider: 'paid', model: 'persona-judge' }, minQualityScore: 0.3, latencyToleranceMs: 30_000, maxLatencyIncreasePercent: 1000 },
        validation: { prompts: 2, timeoutSeconds: 60 },
        rollout: testPolicy({ steps: [50, 100], windowSeconds: 3, analysis: { maxLatencyP95IncreasePercent: 5000, maxLatencyP99IncreasePercent: 10_000, maxLatencySlowerProbability: 0.99 } }),
      },
    });
    await phase('use cases synced', () => syncUseCases(db.prisma, config));
    const currentId = (await getServingAllocation(db.prisma, USE_CASE))!.entries[0]!.modelId;
    // The game's logs of the paid model: the copy's training data and the evaluation's prompts.
    const now = Date.now();
    const rows: Prisma.ModelHistoricalLogCreateManyInput[] = lines(data.trainFile).map((row, i) => ({
      useCase: USE_CASE,
      modelId: currentId,
      prompt: row.messages.find((m) => m.role === 'user')!.content,
      context: { system: SYSTEM, history: [] },
      generatedOutput: row.messages.find((m) => m.role === 'assistant')!.content,
      status: 'ok',
      role: 'stable',
      guardrailVerdict: 'pass',
      feedbackScore: 0.9,
      timestamp: new Date(now - (i + 1) * 60_000),
      requestId: `log-${i}`,
    }));
    await phase('historical logs inserted', () => db.prisma.modelHistoricalLog.createMany({ data: rows }));

    gw = await phase('gateway', () => startTestGateway(db.prisma, config));
    process.env.MMS_TEST_PIPELINE_GATEWAY_KEY = gw.key;
    config.policies.rollout.evaluationTraffic = { enabled: true, requestsPerSecond: 30, gatewayUrl: gw.url, apiKeyEnv: 'MMS_TEST_PIPELINE_GATEWAY_KEY', promptPoolSize: 50 };
    control = await phase('control worker', () => startControlWorker({ prisma: db.prisma, taskQueue: controlQueue, config, evaluation: createEvaluationDeps(config, { embeddingsUrl: embeddingsUrl() }), gatewayReplicaUrls: [gw.internalUrl] }));
    gpu = await phase('GPU worker polling', () => startTestGpuWorker(gpuQueue));
  }, GENEROUS_MS);

  afterAll(async () => {
    await watcher?.stop();
    for (const port of [copyPort, basePort]) await gpuCli('stop-server', serversDir(), String(port)).catch(() => undefined);
    await gpu?.stop();
    await control?.stop();
    await gw?.close();
    await Promise.all([hub?.close(), paid?.close()]);
    await db?.drop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('discovers, downloads, trains until as good, serves with llama.cpp, rolls out, and the gateway answers in the persona', async () => {
    const started = await startPipeline(client, config, { useCaseId: USE_CASE, requestedBy: 'jest' });
    watcher = watchPipelinePhases(client, USE_CASE);
    const result = await started.handle.result().finally(async () => {
      await watcher?.stop();
      await printEvaluations(db, USE_CASE);
    });
    const reading = await readPipeline(client, USE_CASE);
    const repo = hub.repos.get('mms-test/tiny-llama')!;

    // Discovery listed the three candidates and chose the tiny Llama (the others are ineligible, and
    // say why); only its files were downloaded, pinned to its commit and verified.
    const candidates = reading.status!.candidates;
    expect(candidates.map((c) => c.externalId).sort()).toEqual(['mms-test/huge-llama-70b', 'mms-test/nc-llama', 'mms-test/tiny-llama']);
    expect(candidates[0]).toMatchObject({ externalId: 'mms-test/tiny-llama', eligible: true, reasons: [] });
    expect(candidates.find((c) => c.externalId === 'mms-test/huge-llama-70b')).toMatchObject({ eligible: false, reasons: [expect.stringMatching(/^needs ~\d+(\.\d)? GB of VRAM, the GPU has 24 GB$/)] });
    expect(candidates.find((c) => c.externalId === 'mms-test/nc-llama')).toMatchObject({ eligible: false, reasons: ['license "cc-by-nc-4.0" is not in selfHosted.licenseAllowList'] });
    const fileRequests = hub.requests.filter((r) => r.includes('/resolve/'));
    expect(fileRequests.length).toBeGreaterThan(0);
    expect(fileRequests.filter((r) => !new RegExp(`^(GET|HEAD) /mms-test/tiny-llama/resolve/${repo.sha}/`).test(r))).toEqual([]);
    expect(result.base).toMatchObject({ repo: 'mms-test/tiny-llama', sha: repo.sha });
    const weights = repo.files.find((f) => f.path === 'model.safetensors')!;
    expect(crypto.createHash('sha256').update(fs.readFileSync(path.join(result.base.path, 'model.safetensors'))).digest('hex')).toBe(crypto.createHash('sha256').update(weights.content).digest('hex'));

    // Two attempts: the first not as good (the evaluate workflow said why), the retrain passed.
    const [copy] = result.copies;
    expect(copy!.outcome).toBe('promoted');
    const [first, second] = copy!.attempts;
    expect(copy!.attempts).toHaveLength(2);
    expect(first).toMatchObject({ attempt: 1, maxSteps: 6, passed: false, reason: 'first training' });
    expect(first!.evaluation?.meetsThreshold).toBe(false);
    expect(first!.verdict).toMatch(/^not as good as the model in service: /);
    expect(second).toMatchObject({ attempt: 2, maxSteps: 600, passed: true });
    expect(second!.reason).toMatch(/^attempt 1 failed: not as good as the model in service: .*; retraining with 600 steps on 60 days of logs$/);
    expect(second!.evaluation?.meetsThreshold).toBe(true);
    expect(second!.finalEvalLoss!).toBeLessThan(second!.initialEvalLoss! * 0.9);
    const evaluations = await db.prisma.evaluation.findMany({ where: { useCaseId: USE_CASE, kind: 'offline_comparison' }, orderBy: { createdAt: 'asc' } });
    expect(evaluations.map((e) => [e.candidateModelId, e.meetsThreshold])).toEqual([
      [first!.copyModelId, false],
      [second!.copyModelId, true],
    ]);

    // The registry: two versions of <base>-<use-case> with lineage to the base; the failed one marked failed.
    const copies = await db.prisma.model.findMany({ where: { modelName: 'tiny-llama-npc-dialogue' }, orderBy: { createdAt: 'asc' } });
    expect(copies.map((m) => m.status)).toEqual(['failed', 'current']);
    const base = await db.prisma.model.findUniqueOrThrow({ where: { id: copies[1]!.baseModelId! } });
    expect(base).toMatchObject({ modelName: 'tiny-llama', upstreamModel: 'mms-test/tiny-llama', modelPath: result.base.path });
    expect(copies[1]).toMatchObject({ provider: 'llama_copies', upstreamModel: 'tiny-llama-npc-dialogue-a2' });
    expect((copies[1]!.configuration as { quantizationResult: { type: string } }).quantizationResult.type).toBe('q8_0');
    const jobs = await db.prisma.trainingJob.findMany({ where: { outputModelId: { in: copies.map((c) => c.id) } } });
    expect(jobs.map((j) => j.status)).toEqual(['succeeded', 'succeeded']);

    // Canary to 100 %: the copy is all the use case serves.
    const allocation = await getServingAllocation(db.prisma, USE_CASE);
    expect(allocation!.entries).toEqual([expect.objectContaining({ modelId: copies[1]!.id, weight: 10_000, role: 'stable' })]);

    // Through the gateway, the copy answers in the persona, unlike the base model on the same prompt.
    const prompt = 'What do you think of the storm?';
    const reply = await gw.call({ model: USE_CASE, messages: [{ role: 'user', content: prompt }] });
    expect(reply.status).toBe(200);
    expect(reply.headers['x-mms-model']).toBe('tiny-llama-npc-dialogue');
    const tuned = reply.body.choices[0].message.content as string;
    const gguf = (copies[1]!.configuration as { gguf: { servedModelPath: string } }).gguf;
    const baseServer = await gpuCli<{ baseUrl: string }>('serve', gguf.servedModelPath, String(basePort), 'tiny-base', serversDir());
    const baseReply = (await (await fetch(`${baseServer.baseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny-base', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: prompt }], max_tokens: 32, temperature: 0 }) })).json()) as { choices: Array<{ message: { content: string } }> };
    const untuned = baseReply.choices[0]!.message.content;
    process.stdout.write(`[pipeline] tuned: ${JSON.stringify(tuned)} (persona ${personaScore(tuned)}); base: ${JSON.stringify(untuned)} (persona ${personaScore(untuned)}); attempts: ${copy!.attempts.map((a) => `${a.attempt}: ${a.verdict}`).join(' | ')}\n`);
    expect(tuned).not.toBe(untuned);
    expect(personaScore(tuned)).toBeGreaterThan(personaScore(untuned));
  }, 2 * GENEROUS_MS);
});
