import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { criticalViolationNotifier, startRollout } from '../../clients/rollout';
import type { Guardrail } from '../../gateway';
import type { MmsConfig } from '../../src/config/schema';
import { getServingAllocation } from '../../src/registry/allocations';
import { syncUseCases } from '../../src/registry/use-cases';
import { connectClient } from '../../src/temporal/connection';
import { startTracing, type Tracing } from '../../src/telemetry/tracing';
import { startFakeProvider, type FakeProvider } from '../../testkit/fake-providers';
import { rolloutStatusQuery } from '../../workflows/rollout-messages';
import { createControlWorker } from '../../workers/control';
import { chatBody, gatewayTestConfig, startTestGateway, type TestGateway } from '../fixtures/gateway-harness';
import { markValidated } from '../support/fixtures';
import { testPolicy, waitFor } from '../support/rollout';
import { createTestDatabase, temporalAddress, uniqueTaskQueue, workerConnection, type TestDatabase } from '../support/stack';

/**
 * One trace from a player's chat call to the rollback it causes: the gateway's SERVER span, the
 * Temporal client's signal to the rollout, the workflow's handling of it, and the rollback's activities
 * (OpenTelemetry with Temporal's interceptors; spans kept in memory). The control worker bundles the
 * workflows itself here, with the tracing interceptors in the bundle.
 */
const USE_CASE = 'traced_npc';
const CANDIDATE = 'qwen-2.5-7b-traced';
let tracing: Tracing;
const exporter = new InMemorySpanExporter();
let db: TestDatabase;
let stable: FakeProvider;
let candidate: FakeProvider;
let gw: TestGateway;
let client: Client;
let worker: Worker;
let running: Promise<void>;
let config: MmsConfig;

/** The candidate's answers are a critical violation, as a real classifier would say of self-harm advice. */
const guardrail: Guardrail = {
  name: 'test-words',
  checkOutput: (_ctx, output) =>
    output.startsWith(`reply from ${CANDIDATE}`) ? { action: 'block', violations: [{ type: 'self_harm', severity: 'critical' }], replacement: '' } : { action: 'pass', violations: [] },
};

beforeAll(async () => {
  tracing = startTracing({ serviceName: 'mms-test', spanProcessor: new SimpleSpanProcessor(exporter) });
  db = await createTestDatabase();
  stable = await startFakeProvider({ latencyMs: 2 });
  candidate = await startFakeProvider({ latencyMs: 2 });
  const taskQueue = uniqueTaskQueue('traced');
  const base = gatewayTestConfig(stable, {
    providers: { flaky: { kind: 'openai_compatible', baseUrl: candidate.baseUrls.openai_compatible } },
    useCases: [{ id: USE_CASE, kind: 'self_hosted', temperature: 0.7, maxTokens: 64, systemPromptTemplate: 'You are an NPC.', initialModel: { provider: 'local', model: 'llama-3.1-8b-instruct' } }],
  });
  config = { ...base, temporal: { ...base.temporal, address: temporalAddress(), controlTaskQueue: taskQueue } };
  await syncUseCases(db.prisma, config);
  const model = await db.prisma.model.create({ data: { modelName: CANDIDATE, version: '1', useCase: USE_CASE, modelType: 'self_hosted', provider: 'flaky', upstreamModel: CANDIDATE, status: 'candidate' } });
  await markValidated(db.prisma, model.id);
  client = await connectClient(config);
  const notify = criticalViolationNotifier(client);
  gw = await startTestGateway(db.prisma, config, { guardrail, onCriticalViolation: async (e) => void (await notify(e)) });
  worker = await createControlWorker({ connection: await workerConnection(), namespace: 'default', taskQueue, prisma: db.prisma, gatewayReplicaUrls: [gw.internalUrl], tracing });
  running = worker.run();
}, 240_000);

afterAll(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running;
  await gw?.close();
  await client?.connection.close();
  await stable?.close();
  await candidate?.close();
  await db?.drop();
  await tracing?.shutdown();
});

test('a chat call whose critical violation aborts a rollout is one trace: gateway, signal, workflow and rollback activities', async () => {
  const started = await startRollout(client, config, {
    useCaseId: USE_CASE,
    candidate: CANDIDATE,
    strategy: 'canary',
    policy: testPolicy({ steps: [50, 100], windowSeconds: 120 }),
    requestedBy: 'jest',
  });
  await waitFor('the canary window', async () => (await started.handle.query(rolloutStatusQuery)).window?.endsAt !== undefined);

  // Players until one is served by the canary (half the sticky keys), whose answer is blocked.
  let blocked = false;
  for (let i = 0; i < 200 && !blocked; i++) {
    const res = await gw.call(chatBody(`line ${i}`, { model: USE_CASE }), { headers: { 'x-mms-sticky-key': `player-${i}` } });
    blocked = res.headers['x-mms-role'] === 'canary';
  }
  expect(blocked).toBe(true);
  const result = await started.handle.result();
  expect(result.outcome).toBe('rolled_back');
  expect(result.reason).toMatch(/^critical guardrail violation \(self_harm\)/);

  // Workflow spans reach the exporter through the worker's sink after each activation.
  const spans = () => exporter.getFinishedSpans();
  const gatewaySpan = await waitFor('the gateway span of the blocked call', async () =>
    spans().find((s) => s.name === 'POST /v1/chat/completions' && s.attributes['mms.role'] === 'canary'),
  );
  const inTrace = (s: ReadableSpan) => s.spanContext().traceId === gatewaySpan.spanContext().traceId;
  const names = await waitFor('the rollback activities in the same trace', async () => {
    const found = spans().filter(inTrace).map((s) => s.name);
    return found.some((n) => n.startsWith('RunActivity:restoreSnapshot')) ? found : undefined;
  });
  expect(names).toEqual(
    expect.arrayContaining([
      'POST /v1/chat/completions',
      'SignalWorkflow:criticalViolation',
      'HandleSignal:criticalViolation',
      'StartActivity:restoreSnapshot',
      'RunActivity:restoreSnapshot',
      'RunActivity:verifyServedAllocation',
    ]),
  );
  expect(gatewaySpan.attributes).toMatchObject({ 'mms.use_case': USE_CASE, 'mms.model': CANDIDATE, 'http.response.status_code': 200 });
  // The allocation is back on stable only.
  expect((await getServingAllocation(db.prisma, USE_CASE))!.entries.every((e) => e.role === 'stable')).toBe(true);
}, 180_000);
