/**
 * End to end: the real gateway (with the management API mounted on it) in front of fake providers on
 * 127.0.0.1, player calls through it, the rollout workflow on a real Temporal server, verification
 * against the gateway replica itself.
 */

import { request } from 'undici';
import type { Client } from '@temporalio/client';
import type { MmsConfig } from '../../src/config/schema';
import { createApiKey } from '../../src/auth/api-keys';
import { adminKeyVerifier, modelManagementApi } from '../../api/model-management';
import { getServingAllocation } from '../../src/registry/allocations';
import { syncUseCases } from '../../src/registry/use-cases';
import { criticalViolationNotifier } from '../../clients/rollout';
import { rolloutStatusQuery, rolloutWorkflowId } from '../../workflows/rollout-messages';
import type { Guardrail } from '../../gateway';
import { createTestDatabase, startControlWorker, temporalClient, uniqueTaskQueue, type TestDatabase } from '../support/stack';
import { startFakeProvider, type FakeProvider } from '../../testkit/fake-providers';
import { agent, chatBody, gatewayTestConfig, startTestGateway, type TestGateway } from '../fixtures/gateway-harness';
import { allocationHistory, candidateWeights, testPolicy, waitFor } from '../support/rollout';
import { markValidated } from '../support/fixtures';

const USE_CASE = 'rollout_gateway';
const STABLE_NAME = 'llama-3.1-8b-instruct-rollout-gateway';
const call = (content: string) => chatBody(content, { model: USE_CASE });
const CANDIDATE = 'qwen-2.5-7b-npc';
let db: TestDatabase;
let client: Client;
let good: FakeProvider;
let flaky: FakeProvider;
let gw: TestGateway;
let config: MmsConfig;
let taskQueue: string;
let worker: Awaited<ReturnType<typeof startControlWorker>>;
let stableId: string;
let candidateId: string;
let adminKey: string;
let adminKeyId: string;
let adminPrefix: string;
let players: ReturnType<typeof startPlayers> | undefined;
let poisonCandidate = false;

/** Answers containing "forbidden" are a critical violation (blocked), as a real classifier would say. */
const guardrail: Guardrail = {
  name: 'test-words',
  checkOutput: (_ctx, output) =>
    poisonCandidate && output.startsWith(`reply from ${CANDIDATE}`) ? { action: 'block', violations: [{ type: 'self_harm', severity: 'critical' }], replacement: '' } : { action: 'pass', violations: [] },
};

beforeAll(async () => {
  client = await temporalClient();
});
afterAll(async () => {
  await client.connection.close();
});

beforeEach(async () => {
  db = await createTestDatabase();
  good = await startFakeProvider({ latencyMs: 5 });
  flaky = await startFakeProvider({ latencyMs: 5 });
  taskQueue = uniqueTaskQueue('rollout-gw');
  const base = gatewayTestConfig(good, {
    providers: { flaky: { kind: 'openai_compatible', baseUrl: flaky.baseUrls.openai_compatible } },
    gateway: { retry: { maxAttempts: 1 } },
    useCases: [
      {
        id: USE_CASE,
        kind: 'self_hosted',
        temperature: 0.7,
        maxTokens: 256,
        systemPromptTemplate: 'You are {{npc_name}}, a character in the game.',
        initialModel: { provider: 'local', model: 'llama-3.1-8b-instruct' },
      },
    ],
  });
  config = { ...base, temporal: { ...base.temporal, controlTaskQueue: taskQueue }, policies: { ...base.policies, rollout: testPolicy({ steps: [25, 50, 100], windowSeconds: 2 }) } };
  await syncUseCases(db.prisma, config);
  stableId = (await getServingAllocation(db.prisma, USE_CASE))!.entries[0]!.modelId;
  candidateId = (
    await db.prisma.model.create({ data: { modelName: CANDIDATE, version: '1', useCase: USE_CASE, modelType: 'self_hosted', provider: 'flaky', upstreamModel: CANDIDATE, status: 'candidate' } })
  ).id;
  await markValidated(db.prisma, candidateId);
  poisonCandidate = false;
  const notify = criticalViolationNotifier(client);
  gw = await startTestGateway(db.prisma, config, {
    guardrail,
    onCriticalViolation: (e) => void notify(e),
    plugins: [modelManagementApi({ prisma: db.prisma, temporal: client, config, verifyApiKey: adminKeyVerifier(db.prisma) })],
  });
  const admin = await createApiKey(db.prisma, { name: 'ops', scopes: ['admin'] });
  adminKey = admin.key;
  adminKeyId = admin.id;
  adminPrefix = admin.keyPrefix;
  worker = await startControlWorker({ prisma: db.prisma, taskQueue, gatewayReplicaUrls: [gw.internalUrl] });
});

afterEach(async () => {
  await players?.stop();
  players = undefined;
  await client.workflow
    .getHandle(rolloutWorkflowId(USE_CASE))
    .terminate('test cleanup')
    .catch(() => undefined);
  await worker.stop();
  await gw.close();
  await good.close();
  await flaky.close();
  await db.drop();
});

/** Players calling the game's NPC through the gateway: `perSecond` calls a second, each with its own sticky key. */
function startPlayers(perSecond: number) {
  let stopped = false;
  const results: Array<{ status: number; model: string | undefined; role: string | undefined }> = [];
  const inFlight = new Set<Promise<void>>();
  let n = 0;
  const loop = (async () => {
    while (!stopped) {
      const started = Date.now();
      for (let i = 0; i < perSecond / 20; i++) {
        const pending = gw
          .call(call(`line ${n % 40}`), { headers: { 'x-mms-sticky-key': `player-${n++}` } })
          .then((r) => void results.push({ status: r.status, model: r.headers['x-mms-model'] as string | undefined, role: r.headers['x-mms-role'] as string | undefined }))
          .catch(() => undefined);
        inFlight.add(pending);
        void pending.finally(() => inFlight.delete(pending));
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 50 - (Date.now() - started))));
    }
  })();
  return {
    results,
    async stop() {
      stopped = true;
      await loop;
      await Promise.allSettled([...inFlight]);
    },
  };
}

async function api(method: 'GET' | 'POST', path: string, body?: unknown, key: string | null = adminKey) {
  const res = await request(`${gw.internalUrl}/api/v1/model-management${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    dispatcher: agent,
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, any> };
}

async function onlyStableServes() {
  const calls = await Promise.all(Array.from({ length: 40 }, (_, i) => gw.call(call('after'), { headers: { 'x-mms-sticky-key': `check-${i}` } })));
  return calls.every((c) => c.status === 200 && c.headers['x-mms-model'] === STABLE_NAME && c.headers['x-mms-role'] === 'stable');
}

test('deployed through the REST API, a healthy candidate is promoted and then serves every player', async () => {
  players = startPlayers(120);
  const deploy = await api('POST', '/deploy', { new_model_id: candidateId, current_model_id: stableId, strategy: 'canary' });
  expect(deploy.status).toBe(202);
  expect(deploy.body).toMatchObject({ status: 'in_progress', use_case: USE_CASE, workflow_id: rolloutWorkflowId(USE_CASE) });
  const status = await api('GET', `/rollouts/${USE_CASE}`);
  expect(status.body.candidateModelId ?? candidateId).toBe(candidateId);

  const result = await client.workflow.getHandle(rolloutWorkflowId(USE_CASE)).result();
  expect(result).toMatchObject({ outcome: 'promoted', deploymentId: deploy.body.deployment_id });
  const deployment = await db.prisma.modelDeployment.findUniqueOrThrow({ where: { id: deploy.body.deployment_id } });
  expect(deployment).toMatchObject({ status: 'completed', modelId: candidateId, previousModelId: stableId });
  await players.stop();
  // players really were served by the canary during the rollout, and by the candidate alone after it
  expect(players.results.some((r) => r.role === 'canary' && r.model === CANDIDATE)).toBe(true);
  const after = await Promise.all(Array.from({ length: 20 }, (_, i) => gw.call(call('after'), { headers: { 'x-mms-sticky-key': `p-${i}` } })));
  expect(after.every((c) => c.headers['x-mms-model'] === CANDIDATE && c.headers['x-mms-role'] === 'stable')).toBe(true);
  const final = await client.workflow.getHandle(rolloutWorkflowId(USE_CASE)).query(rolloutStatusQuery);
  expect(final.verdicts.filter((v) => v.verdict === 'pass').map((v) => v.label)).toEqual(['25%', '50%', '100%']);

  // instant rollback after promotion (Flagger #453): back to the model that served before
  const rollback = await api('POST', '/rollback', { model_id: stableId, reason: 'players preferred the old voice' });
  expect(rollback.status).toBe(200);
  expect(rollback.body).toMatchObject({ status: 'rolled_back', use_case: USE_CASE, model_id: stableId, snapshot_id: result.snapshotId });
  expect(await onlyStableServes()).toBe(true);
  // The admin audit: both actions, through the admin key, with their outcome.
  const audit = await db.prisma.auditEvent.findMany({ orderBy: { at: 'asc' } });
  expect(audit.map((e) => [e.action, e.target, e.keyId, (e.details as { status: number }).status, e.actor])).toEqual([
    ['rollout.start', USE_CASE, adminKeyId, 202, `api:ops (${adminPrefix}…)`],
    ['rollback', USE_CASE, adminKeyId, 200, `api:ops (${adminPrefix}…)`],
  ]);
});

test('a canary with a higher error rate is rolled back at its first window; the gateway then serves 100% stable', async () => {
  flaky.options.errorRate = 0.4;
  players = startPlayers(120);
  const deploy = await api('POST', '/deploy', { new_model_id: candidateId, current_model_id: stableId, strategy: 'canary' });
  expect(deploy.status).toBe(202);
  const handle = client.workflow.getHandle(rolloutWorkflowId(USE_CASE));
  const result = await handle.result();
  expect(result.outcome).toBe('rolled_back');
  expect(result.reason).toMatch(/^stage 1 \(25%\) failed analysis: error rate/);
  const status = await handle.query(rolloutStatusQuery);
  expect(status.verdicts.map((v) => v.verdict)).toEqual(['fail']);
  expect(status.verdicts[0]!.canary.errorRate).toBeGreaterThan(0.2);
  expect(status.verdicts[0]!.baseline.errorRate).toBeLessThan(0.05);

  const history = await allocationHistory(db.prisma, USE_CASE);
  const canaryOn = history.find((h) => h.entries.some((e) => e.modelId === candidateId && e.weight > 0))!;
  const seconds = (history[history.length - 1]!.createdAt.getTime() - canaryOn.createdAt.getTime()) / 1000;
  expect(seconds).toBeLessThanOrEqual(config.policies.rollout.windowSeconds + 5);
  expect(candidateWeights(history, candidateId).slice(1)).toEqual([0, 2500, 0]);

  // as observed at the gateway: every player on stable again
  expect(gw.gateway.cache.route(USE_CASE)?.entries).toEqual([{ modelId: stableId, weight: 10000, role: 'stable' }]);
  expect(await onlyStableServes()).toBe(true);
  const rollbackRow = await db.prisma.modelDeployment.findFirstOrThrow({ where: { deploymentType: 'rollback' } });
  expect(rollbackRow.details).toMatchObject({ toAllocationVersion: history[history.length - 1]!.version });
});

test('a critical guardrail violation at the gateway aborts the rollout within 2 s', async () => {
  players = startPlayers(60);
  const deploy = await api('POST', '/deploy', { new_model_id: candidateId, current_model_id: stableId, strategy: 'canary', window_seconds: 120 });
  expect(deploy.status).toBe(202);
  const handle = client.workflow.getHandle(rolloutWorkflowId(USE_CASE));
  await waitFor('the canary window', async () => (await handle.query(rolloutStatusQuery)).window?.endsAt !== undefined);
  poisonCandidate = true;
  const violation = await waitFor('the first critical violation', () => db.prisma.guardrailsViolation.findFirst({ where: { severity: 'critical', modelId: candidateId } }).then((v) => v ?? undefined), 10_000, 50);
  const result = await handle.result();
  expect(result.outcome).toBe('rolled_back');
  expect(result.reason).toMatch(/^critical guardrail violation \(self_harm\) by the candidate/);
  const restoredAt = (await allocationHistory(db.prisma, USE_CASE)).pop()!.createdAt.getTime();
  expect(restoredAt - violation.timestamp.getTime()).toBeLessThanOrEqual(2000);
  expect(await onlyStableServes()).toBe(true);
});

test('an idle canary gets evaluation traffic from the prompt pool through the gateway instead of halting', async () => {
  // the pool: prompts players sent before (no players now)
  for (let i = 0; i < 10; i++) await gw.call(call(`pool prompt ${i}`));
  await gw.gateway.logWriter.flush();
  process.env.MMS_TEST_EVAL_KEY = gw.key;
  const policy = testPolicy({
    steps: [25, 100],
    windowSeconds: 2,
    evaluationTraffic: { enabled: true, requestsPerSecond: 40, gatewayUrl: gw.url, apiKeyEnv: 'MMS_TEST_EVAL_KEY' },
  });
  const handle = await client.workflow.start('rolloutWorkflow', {
    taskQueue,
    workflowId: rolloutWorkflowId(USE_CASE),
    args: [{ useCaseId: USE_CASE, candidate: candidateId, strategy: 'canary', policy, requestedBy: 'jest' }],
  });
  const result = (await handle.result()) as { outcome: string };
  expect(result.outcome).toBe('promoted');
  const status = await client.workflow.getHandle(rolloutWorkflowId(USE_CASE)).query(rolloutStatusQuery);
  const first = status.verdicts.find((v) => v.label === '25%' && v.verdict === 'pass')!;
  expect(first.canary.requests).toBeGreaterThanOrEqual(20);
  expect(first.baseline.requests).toBeGreaterThanOrEqual(20);
  expect(status.evaluationTraffic).toMatchObject({ promptPool: 10, failed: 0 });
  await gw.gateway.logWriter.flush();
  const replayed = await db.prisma.modelHistoricalLog.findMany({ where: { modelId: candidateId, role: 'canary' }, select: { prompt: true } });
  expect(replayed.length).toBeGreaterThanOrEqual(20);
  expect(replayed.every((r) => /^pool prompt \d$/.test(r.prompt))).toBe(true);
});

describe('the management API', () => {
  test('validates bodies naming the field, and needs an admin key', async () => {
    expect(await api('POST', '/deploy', { current_model_id: stableId, strategy: 'canary' })).toEqual({
      status: 400,
      body: { error: { message: 'new_model_id: is required', field: 'new_model_id', code: 'invalid_request' } },
    });
    expect((await api('POST', '/deploy', { new_model_id: 'nope', current_model_id: stableId, strategy: 'canary' })).body.error.message).toBe('new_model_id: must be a model id (a UUID)');
    expect((await api('POST', '/deploy', { new_model_id: candidateId, current_model_id: stableId, strategy: 'yolo' })).body.error).toMatchObject({
      message: 'strategy: must be one of canary, blue_green, shadow_then_canary, all_at_once',
      field: 'strategy',
    });
    const unforced = await api('POST', '/deploy', { new_model_id: candidateId, current_model_id: stableId, strategy: 'all_at_once' });
    expect(unforced.status).toBe(400);
    expect(unforced.body.error.field).toBe('force');
    expect((await api('POST', '/deploy', { new_model_id: candidateId, current_model_id: stableId, strategy: 'canary', steps: [50, 20] })).body.error.message).toBe(
      'steps[1]: must be greater than the step before it (50)',
    );
    expect((await api('POST', '/deploy', { new_model_id: candidateId, current_model_id: stableId, strategy: 'canary', surprise: 1 })).body.error.message).toBe('surprise: unknown key');
    expect((await api('POST', '/deploy', { new_model_id: stableId, current_model_id: candidateId, strategy: 'canary' })).body.error).toMatchObject({ field: 'current_model_id', code: 'not_current' });
    expect((await api('POST', '/rollback', { model_id: stableId, snapshot_id: '00000000-0000-4000-8000-000000000000' })).body.error).toMatchObject({ field: 'snapshot_id', code: 'not_found' });

    expect((await api('POST', '/deploy', {}, null)).status).toBe(401);
    expect((await api('POST', '/deploy', {}, 'mms_not-a-real-key-000000000000000000000000000')).status).toBe(401);
    expect((await api('POST', '/deploy', {}, gw.key)).status).toBe(403); // a gateway key cannot manage models
    expect((await api('GET', `/rollouts/${USE_CASE}`, undefined, null)).status).toBe(401);
    expect(await db.prisma.modelDeployment.count()).toBe(0);
    expect(await api('GET', '/rollouts/never_rolled_out')).toEqual({
      status: 404,
      body: { error: { message: 'no rollout of "never_rolled_out" has run (workflow rollout:never_rolled_out not found)', field: 'use_case', code: 'not_found' } },
    });
    expect((await api('GET', '/rollouts/Not-An-Id')).body.error).toMatchObject({ field: 'use_case', code: 'invalid_request' });
  });

  test('controls a running rollout: second deploy refused, pause, resume, abort', async () => {
    players = startPlayers(40);
    const deploy = await api('POST', '/deploy', { new_model_id: candidateId, current_model_id: stableId, strategy: 'canary', window_seconds: 60 });
    expect(deploy.status).toBe(202);
    await waitFor('stage 1', async () => (await api('GET', `/rollouts/${USE_CASE}`)).body.window?.endsAt);
    const second = await api('POST', '/deploy', { new_model_id: candidateId, current_model_id: stableId, strategy: 'canary' });
    expect(second.status).toBe(409);
    expect(second.body.error.message).toContain(`a rollout of "${USE_CASE}" is already running (workflow rollout:${USE_CASE}`);
    const rollbackDuring = await api('POST', '/rollback', { model_id: stableId });
    expect(rollbackDuring).toMatchObject({ status: 409, body: { error: { code: 'rollout_running' } } });

    const paused = await api('POST', `/rollouts/${USE_CASE}/pause`, { reason: 'lunch' });
    expect(paused).toMatchObject({ status: 200, body: { paused: true, pauseReason: 'lunch' } });
    expect((await api('POST', `/rollouts/${USE_CASE}/pause`, {})).status).toBe(409);
    const resumed = await api('POST', `/rollouts/${USE_CASE}/resume`, {});
    expect(resumed.body.paused).toBe(false);
    expect((await api('POST', `/rollouts/${USE_CASE}/abort`, {})).body.error).toMatchObject({ message: 'reason: is required', field: 'reason' });
    const aborted = await api('POST', `/rollouts/${USE_CASE}/abort`, { reason: 'wrong model' });
    expect(aborted.body).toMatchObject({ phase: 'rolled_back', reason: expect.stringMatching(/^aborted by api:ops \(mms_.{8}…\): wrong model$/) });
    expect(await onlyStableServes()).toBe(true);
  });
});
