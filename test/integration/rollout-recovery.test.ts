import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { EvaluationTrafficProgress, EvaluationTrafficReport } from '../../activities/evaluation-traffic';
import { createRolloutActivities, type AnalyseWindowInput } from '../../activities/rollout';
import { getServingAllocation, lockUseCase, writeAllocation } from '../../src/registry/allocations';
import { captureSnapshot } from '../../src/registry/snapshots';
import type { ApplyTrafficInput } from '../../src/registry/rollouts';
import { rolloutStatusQuery, rolloutWorkflowId } from '../../workflows/rollout-messages';
import { createTestDatabase, startControlWorker, temporalAddress, temporalClient, uniqueTaskQueue, type TestDatabase } from '../support/stack';
import { addModel, seedUseCases, testConfig } from '../support/fixtures';
import { allocationHistory, candidateWeights, healthy, startLogTraffic, startRolloutWorkflow, testPolicy, waitFor } from '../support/rollout';

const USE_CASE = 'rollout_recovery';
let db: TestDatabase;
let client: Client;
let taskQueue: string;
let stableId: string;
let candidateId: string;
let traffic: ReturnType<typeof startLogTraffic> | undefined;
const children: ChildProcess[] = [];

beforeAll(async () => {
  client = await temporalClient();
});
afterAll(async () => {
  await client.connection.close();
});
beforeEach(async () => {
  db = await createTestDatabase();
  await seedUseCases(db.prisma, testConfig({ useCaseIds: [USE_CASE] }));
  stableId = (await getServingAllocation(db.prisma, USE_CASE))!.entries[0]!.modelId;
  candidateId = await addModel(db.prisma, USE_CASE, 'qwen-2.5-7b-npc-dialogue');
  taskQueue = uniqueTaskQueue('rollout-recovery');
});
afterEach(async () => {
  await traffic?.stop();
  traffic = undefined;
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
  }
  await client.workflow
    .getHandle(rolloutWorkflowId(USE_CASE))
    .terminate('test cleanup')
    .catch(() => undefined);
  await db.drop();
});

function configFile(): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mms-')), 'mms.config.yaml');
  fs.writeFileSync(file, `providers: { local: { kind: openai_compatible, baseUrl: "http://127.0.0.1:9/v1" } }\nuseCases:\n  - { id: ${USE_CASE}, kind: self_hosted, temperature: 0.7, maxTokens: 256, systemPromptTemplate: "x", initialModel: { provider: local, model: m } }\n`);
  return file;
}

/** A control worker in its own process (workers/control-main.ts), so it can be killed like a real one. */
function spawnWorker(config: string): ChildProcess {
  const root = path.resolve(__dirname, '../..');
  const child = spawn(process.execPath, [path.join(root, 'bin/run-ts.js'), path.join(root, 'workers/control-main.ts')], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: db.url, TEMPORAL_ADDRESS: temporalAddress(), MMS_CONFIG: config, MMS_CONTROL_TASK_QUEUE: taskQueue },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

async function kill(child: ChildProcess) {
  child.kill('SIGKILL');
  if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
}

async function holdUseCaseLock() {
  const pg = new PgClient({ connectionString: db.url });
  await pg.connect();
  await pg.query('begin');
  await pg.query('select id from use_cases where id = $1 for update', [USE_CASE]);
  return async () => {
    await pg.query('rollback');
    await pg.end();
  };
}

/** What a promoted rollout of this candidate leaves behind, however many workers it took. */
async function expectPromotedEndState(deploymentId: string) {
  expect((await getServingAllocation(db.prisma, USE_CASE))!.entries).toEqual([{ modelId: candidateId, weight: 10000, role: 'stable' }]);
  expect((await db.prisma.model.findUniqueOrThrow({ where: { id: candidateId } })).status).toBe('current');
  expect((await db.prisma.model.findUniqueOrThrow({ where: { id: stableId } })).status).toBe('deprecated');
  expect(await db.prisma.modelDeployment.findMany({ select: { id: true, status: true, trafficPercentage: true } })).toEqual([{ id: deploymentId, status: 'completed', trafficPercentage: 100 }]);
  // each step applied exactly once, never out of order
  expect(candidateWeights(await allocationHistory(db.prisma, USE_CASE), candidateId).slice(1)).toEqual([0, 2000, 5000, 10000, 10000]);
}

test('a worker killed during a traffic change is replaced and the rollout ends in the same state', async () => {
  const config = configFile();
  traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 250, behaviour: () => healthy });
  const first = spawnWorker(config);
  const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate: candidateId, policy: testPolicy({ windowSeconds: 2 }) });
  await waitFor('stage 1', async () => (await handle.query(rolloutStatusQuery)).window?.stage === 0, 60_000);
  const release = await holdUseCaseLock(); // the change to 50% will block inside its transaction
  await waitFor(
    'the 50% traffic change to be running on the first worker',
    async () => {
      const d = await handle.describe();
      return d.raw.pendingActivities?.some((a) => a.activityType?.name === 'applyTraffic' && Number(a.state) === 2);
    },
    60_000,
  );
  await kill(first);
  await release();
  spawnWorker(config);
  const result = await handle.result();
  expect(result.outcome).toBe('promoted');
  await expectPromotedEndState(result.deploymentId);
  const history = await handle.fetchHistory();
  const attempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 1);
  expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2); // the traffic change really was retried
}, 180_000);

test('a worker killed during a window timer is replaced and the rollout ends in the same state', async () => {
  const config = configFile();
  traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 250, behaviour: () => healthy });
  const first = spawnWorker(config);
  const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate: candidateId, policy: testPolicy({ windowSeconds: 3 }) });
  await waitFor('the first window', async () => (await handle.query(rolloutStatusQuery)).window?.stage === 0, 60_000);
  await kill(first);
  const events = (await handle.fetchHistory()).events!;
  expect(events.some((e) => e.timerStartedEventAttributes)).toBe(true);
  expect(events.some((e) => e.timerFiredEventAttributes)).toBe(false); // the kill landed inside the window
  // The window's timer fires on the server while no worker runs: the replacement must resume from it.
  await waitFor('the window timer to fire with no worker', async () => (await handle.fetchHistory()).events!.some((e) => e.timerFiredEventAttributes), 60_000, 200);
  spawnWorker(config);
  const result = await handle.result();
  expect(result.outcome).toBe('promoted');
  await expectPromotedEndState(result.deploymentId);
}, 180_000);

test('a change of the allocation from outside stops the rollout without overwriting it', async () => {
  const worker = await startControlWorker({ prisma: db.prisma, taskQueue });
  try {
    traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 100, behaviour: () => healthy });
    const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate: candidateId, policy: testPolicy({ windowSeconds: 2 }) });
    await waitFor('stage 1', async () => (await handle.query(rolloutStatusQuery)).window?.stage === 0);
    const other = await addModel(db.prisma, USE_CASE, 'someone-elses-model');
    await db.prisma.$transaction(async (tx) => {
      await lockUseCase(tx, USE_CASE);
      await writeAllocation(tx, { useCaseId: USE_CASE, entries: [{ modelId: other, weight: 10000, role: 'stable' }], reason: 'manual change', createdBy: 'someone' });
    });
    const err = (await handle.result().catch((e: unknown) => e)) as Error & { cause?: Error };
    expect(err.cause?.message).toMatch(/^the allocation of "rollout_recovery" was changed outside this rollout \(v\d+: manual change\); the rollout stops rather than overwrite it$/);
    const status = await handle.query(rolloutStatusQuery);
    expect(status.phase).toBe('failed');
    expect((await getServingAllocation(db.prisma, USE_CASE))!.entries).toEqual([{ modelId: other, weight: 10000, role: 'stable' }]);
    expect(await db.prisma.modelDeployment.findFirstOrThrow()).toMatchObject({ status: 'failed', rollbackReason: err.cause?.message });
  } finally {
    await worker.stop();
  }
});

describe('every side-effecting rollout activity run twice leaves the state of once', () => {
  const mock = new MockActivityEnvironment();
  const env = { run: <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A) => mock.run(fn, ...args) as Promise<R> };
  let activities: ReturnType<typeof createRolloutActivities>;
  let base: ApplyTrafficInput;
  let deploymentId: string;

  beforeEach(async () => {
    activities = createRolloutActivities({ prisma: db.prisma });
    const snapshot = await captureSnapshot(db.prisma, { useCaseId: USE_CASE, reason: 'test' });
    ({ deploymentId } = await env.run(activities.startDeployment, {
      useCaseId: USE_CASE,
      candidateModelId: candidateId,
      stableModelId: stableId,
      strategy: 'canary',
      snapshotId: snapshot.snapshotId,
      workflowId: 'rollout:npc_dialogue',
      requestKey: 'rollout:npc_dialogue/run-1/deployment',
      details: {},
    }));
    base = { useCaseId: USE_CASE, rolloutKey: 'rollout:npc_dialogue/run-1', seq: 0, stableModelId: stableId, candidateModelId: candidateId, mode: 'canary', percent: 0, deploymentId, label: '0%', createdBy: 'jest' };
  });

  const dump = async () => ({
    allocations: await db.prisma.trafficAllocation.findMany({ orderBy: { version: 'asc' }, select: { version: true, entries: true, requestKey: true } }),
    deployments: await db.prisma.modelDeployment.findMany({ select: { id: true, status: true, trafficPercentage: true, details: true } }),
    models: await db.prisma.model.findMany({ orderBy: { modelName: 'asc' }, select: { id: true, status: true } }),
    evaluations: await db.prisma.evaluation.findMany({ select: { requestKey: true, status: true } }),
  });

  test('startDeployment', async () => {
    const before = await dump();
    const again = await env.run(activities.startDeployment, {
      useCaseId: USE_CASE,
      candidateModelId: candidateId,
      stableModelId: stableId,
      strategy: 'canary',
      snapshotId: (await db.prisma.modelSnapshot.findFirstOrThrow()).id,
      workflowId: 'rollout:npc_dialogue',
      requestKey: 'rollout:npc_dialogue/run-1/deployment',
      details: {},
    });
    expect(again.deploymentId).toBe(deploymentId);
    expect(await dump()).toEqual(before);
  });

  test('applyTraffic, and a late retry of an earlier step is refused', async () => {
    await env.run(activities.applyTraffic, base);
    const once = await env.run(activities.applyTraffic, { ...base, seq: 1, percent: 20, label: '20%' });
    const afterOnce = await dump();
    const twice = await env.run(activities.applyTraffic, { ...base, seq: 1, percent: 20, label: '20%' });
    expect(twice).toEqual(once);
    expect(await dump()).toEqual(afterOnce);
    await env.run(activities.applyTraffic, { ...base, seq: 2, percent: 50, label: '50%' });
    const afterSecond = await dump();
    // a retry of step #1 whose first attempt never committed must not undo step #2
    await db.prisma.trafficAllocation.delete({ where: { requestKey: 'rollout:npc_dialogue/run-1/traffic/1' } });
    const stale = await env.run(activities.applyTraffic, { ...base, seq: 1, percent: 20, label: '20%' }).catch((e: Error) => e);
    expect((stale as Error).message).toBe('traffic change #1 (20%) arrived after change #2 was applied; refusing to apply it out of order');
    expect((await getServingAllocation(db.prisma, USE_CASE))!.entries.find((e) => e.role === 'canary')?.weight).toBe(5000);
    expect((await dump()).allocations).toEqual(afterSecond.allocations.filter((a) => a.requestKey !== 'rollout:npc_dialogue/run-1/traffic/1'));
  });

  test('finalizePromotion', async () => {
    await env.run(activities.applyTraffic, base);
    await env.run(activities.applyTraffic, { ...base, seq: 1, percent: 100, label: '100%' });
    const input = { useCaseId: USE_CASE, rolloutKey: base.rolloutKey, candidateModelId: candidateId, stableModelId: stableId, deploymentId, reason: 'all stages passed', createdBy: 'jest' };
    const once = await env.run(activities.finalizePromotion, input);
    const afterOnce = await dump();
    expect(await env.run(activities.finalizePromotion, input)).toEqual(once);
    expect(await dump()).toEqual(afterOnce);
    expect(afterOnce.deployments[0]).toMatchObject({ status: 'completed', trafficPercentage: 100 });
  });

  test('analyseWindow records one verdict and returns it on a retry even after more traffic arrived', async () => {
    await env.run(activities.applyTraffic, { ...base, seq: 1, percent: 50, label: '50%' });
    const since = new Date(Date.now() - 1000);
    const log = (modelId: string, role: string, status: string) => ({ modelId, useCase: USE_CASE, role, status, prompt: 'p', generatedOutput: 'o', latencyMs: 100, timestamp: new Date() });
    await db.prisma.modelHistoricalLog.createMany({ data: [...Array.from({ length: 200 }, () => log(candidateId, 'canary', 'ok')), ...Array.from({ length: 200 }, () => log(stableId, 'stable', 'ok'))] });
    const input: AnalyseWindowInput = {
      useCaseId: USE_CASE,
      candidateModelId: candidateId,
      stableModelId: stableId,
      mode: 'canary',
      since: since.toISOString(),
      baselineSince: since.toISOString(),
      policy: { analysis: testPolicy().analysis, shadowSuccessRate: 0.95 },
      workflowId: 'rollout:npc_dialogue',
      rolloutKey: base.rolloutKey,
      deploymentId,
      stageLabel: '50%',
      requestKey: 'rollout:npc_dialogue/run-1/analysis/1/0',
    };
    const once = await env.run(activities.analyseWindow, input);
    expect(once.verdict).toBe('pass');
    expect(once.canary.requests).toBe(200);
    const afterOnce = await dump();
    await db.prisma.modelHistoricalLog.createMany({ data: Array.from({ length: 30 }, () => log(candidateId, 'canary', 'error')) });
    expect(await env.run(activities.analyseWindow, input)).toEqual(once);
    expect(await dump()).toEqual(afterOnce);
  });

  test('driveEvaluationTraffic retried after its attempt died resumes from its heartbeat: no prompt reaches the gateway twice', async () => {
    await env.run(activities.applyTraffic, { ...base, seq: 1, percent: 50, label: '50%' });
    // a pool of distinct prompts larger than both attempts send, so a re-sent call is a repeated prompt
    const loggedAt = Date.now() - 60_000;
    await db.prisma.modelHistoricalLog.createMany({
      data: Array.from({ length: 400 }, (_, i) => ({ modelId: stableId, useCase: USE_CASE, role: 'stable', status: 'ok', prompt: `pool prompt ${i}`, generatedOutput: 'o', latencyMs: 100, timestamp: new Date(loggedAt + i) })),
    });
    // the gateway, counting what arrives
    const received = new Map<string, number>();
    const gateway = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const prompt = (JSON.parse(body) as { messages: Array<{ content: string }> }).messages.at(-1)!.content;
        received.set(prompt, (received.get(prompt) ?? 0) + 1);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    const total = () => [...received.values()].reduce((a, b) => a + b, 0);
    try {
      const input = {
        useCaseId: USE_CASE,
        candidateModelId: candidateId,
        stableModelId: stableId,
        gatewayUrl: `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`,
        requestsPerSecond: 20,
        durationMs: 600_000,
        promptPoolSize: 400,
      };
      // attempt 1 dies (its worker is gone: here, cancelled) after a dozen calls
      const first = new MockActivityEnvironment({ attempt: 1 });
      let progress: EvaluationTrafficProgress | undefined;
      first.on('heartbeat', (d: EvaluationTrafficProgress) => (progress = d));
      const running = first.run(activities.driveEvaluationTraffic, input);
      await waitFor('a dozen calls of attempt 1', async () => total() >= 12);
      first.cancel();
      await running;
      const afterFirst = total();
      // attempt 2 gets the last heartbeat, as Temporal hands it to a retry
      const second = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: progress, scheduledTimestampMs: progress!.startedAt });
      const resumed = second.run(activities.driveEvaluationTraffic, input) as Promise<EvaluationTrafficReport>;
      await waitFor('a dozen calls of attempt 2', async () => total() >= afterFirst + 12);
      second.cancel();
      const report = await resumed;

      const repeated = [...received].filter(([, n]) => n > 1);
      expect(repeated).toEqual([]);
      expect(report.sent).toBeGreaterThanOrEqual(total()); // the report carries attempt 1's calls on
      expect(report.promptPool).toBe(400);
    } finally {
      await new Promise((resolve) => gateway.close(resolve));
    }
  });
});
