/**
 * Rollout histories replay against the current workflow bundle without non-determinism: the committed
 * ones (test/histories/rollout-*.json: a promoted and a rolled-back rollout, recorded by this file with
 * MMS_RECORD_HISTORIES=1) and, on every run, fresh ones of the paths with messages (pause, resume,
 * promote of a stage, a critical-violation signal), so a change that breaks replay fails here. And a
 * rollout started and paused on older workflow code is resumed by a worker on this code and completes.
 */

import fs from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { getServingAllocation } from '../../src/registry/allocations';
import { criticalViolationSignal, pauseUpdate, promoteUpdate, resumeUpdate, rolloutStatusQuery } from '../../workflows/rollout-messages';
import { createTestDatabase, startControlWorker, temporalClient, uniqueTaskQueue, workflowBundleAt, workflowBundlePath, type TestDatabase } from '../support/stack';
import { addModel, seedUseCases, testConfig } from '../support/fixtures';
import { healthy, startLogTraffic, startRolloutWorkflow, testPolicy, waitFor } from '../support/rollout';

const USE_CASE = 'rollout_replay';
const historiesDir = path.join(__dirname, '../histories');
let db: TestDatabase;
let client: Client;
let taskQueue: string;
let worker: Awaited<ReturnType<typeof startControlWorker>>;
let traffic: ReturnType<typeof startLogTraffic> | undefined;
const fresh: Array<{ workflowId: string; history: ReturnType<typeof historyFromJSON> }> = [];

beforeAll(async () => {
  client = await temporalClient();
  db = await createTestDatabase();
  await seedUseCases(db.prisma, testConfig({ useCaseIds: [USE_CASE] }));
  taskQueue = uniqueTaskQueue('rollout-replay');
  worker = await startControlWorker({ prisma: db.prisma, taskQueue });
});
afterAll(async () => {
  await traffic?.stop();
  await worker.stop();
  await db.drop();
  await client.connection.close();
});

/** Keeps the finished history for replay below; with MMS_RECORD_HISTORIES=1 also commits it as `name`. */
async function keep(handle: WorkflowHandle, name?: string) {
  const history = await handle.fetchHistory();
  fresh.push({ workflowId: `${name ?? 'fresh'}:${handle.workflowId}`, history });
  if (name && process.env.MMS_RECORD_HISTORIES) fs.writeFileSync(path.join(historiesDir, `${name}.json`), historyToJSON(history));
}

describe('fresh histories of every path', () => {
  afterEach(async () => {
    await traffic?.stop();
    traffic = undefined;
  });

  test('promoted, with a pause, a resume and a promote of one stage on the way', async () => {
    const candidate = await addModel(db.prisma, USE_CASE, `promoted-${Date.now()}`);
    traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 250, behaviour: () => healthy });
    const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate, policy: testPolicy({ steps: [20, 50, 100], windowSeconds: 1.5 }) });
    await waitFor('stage 1', async () => (await handle.query(rolloutStatusQuery)).window?.endsAt !== undefined);
    await handle.executeUpdate(pauseUpdate, { args: [{ reason: 'replay test' }] });
    // the history must hold the paused branch of the window loop (clock stopped) before the resume
    await waitFor('the window clock to stop', async () => (await handle.query(rolloutStatusQuery)).window?.secondsLeftWhenPaused !== undefined);
    await handle.executeUpdate(resumeUpdate, { args: [{}] });
    await handle.executeUpdate(promoteUpdate, { args: [{ full: false }] });
    expect((await handle.result()).outcome).toBe('promoted');
    await keep(handle, 'rollout-promoted');
  });

  test('rolled back by a failed window', async () => {
    const current = (await getServingAllocation(db.prisma, USE_CASE))!.entries[0]!.modelId;
    const candidate = await addModel(db.prisma, USE_CASE, `faulty-${Date.now()}`);
    traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 250, behaviour: (id) => (id === candidate ? { ...healthy, errorRate: 0.5 } : healthy) });
    const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate, policy: testPolicy({ steps: [25, 100], windowSeconds: 1.5 }) });
    const result = await handle.result();
    expect(result.outcome).toBe('rolled_back');
    expect((await getServingAllocation(db.prisma, USE_CASE))!.entries).toEqual([{ modelId: current, weight: 10000, role: 'stable' }]);
    await keep(handle, 'rollout-rolled-back');
  });

  test('aborted by a critical guardrail violation during a shadow stage', async () => {
    const candidate = await addModel(db.prisma, USE_CASE, `shadowed-${Date.now()}`);
    traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 100, behaviour: () => healthy });
    const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate, strategy: 'shadow_then_canary', policy: testPolicy({ shadowWindowSeconds: 60 }) });
    await waitFor('the shadow stage', async () => (await handle.query(rolloutStatusQuery)).window?.endsAt !== undefined);
    await handle.signal(criticalViolationSignal, { modelId: candidate, category: 'self_harm' });
    expect((await handle.result()).outcome).toBe('rolled_back');
    await keep(handle);
  });

  test('replay without non-determinism (runReplayHistories over the current bundle)', async () => {
    expect(fresh).toHaveLength(3);
    const results = [];
    for await (const r of Worker.runReplayHistories({ workflowBundle: { codePath: workflowBundlePath() }, replayName: 'rollout-fresh' }, fresh)) results.push(r);
    expect(results.map((r) => [r.workflowId, r.error ? String(r.error) : null])).toEqual(fresh.map((f) => [f.workflowId, null]));
  });
});

/**
 * The commit on main just before the analysis grace period (414697a) (patched 'analysis-grace-period'): its
 * workflows judge a window as soon as it closes. Rollouts it started must finish on the new code.
 */
const BEFORE_GRACE_PERIOD = '32fe5ed5d340d7709bbdba86d0b750051c8d34a5';

test('a rollout started and paused on the code before the grace period is resumed by a worker on this code and completes', async () => {
  const oldBundle = await workflowBundleAt(BEFORE_GRACE_PERIOD);
  const queue = uniqueTaskQueue('rollout-deploy');
  const candidate = await addModel(db.prisma, USE_CASE, `deployed-${Date.now()}`);
  traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 250, behaviour: () => healthy });
  try {
    const oldWorker = await startControlWorker({ prisma: db.prisma, taskQueue: queue, workflowBundleFile: oldBundle });
    let handle: WorkflowHandle;
    try {
      handle = await startRolloutWorkflow(client, queue, { useCaseId: USE_CASE, candidate, policy: testPolicy({ steps: [20, 50, 100], windowSeconds: 1.5 }) });
      // the old code judges stage 1 (no grace period), then is paused in stage 2
      await waitFor('stage 2', async () => (await handle.query(rolloutStatusQuery)).window?.stage === 1, 60_000);
      await handle.executeUpdate(pauseUpdate, { args: [{ reason: 'deploy' }] });
      await waitFor('the window clock to stop', async () => (await handle.query(rolloutStatusQuery)).window?.secondsLeftWhenPaused !== undefined);
    } finally {
      await oldWorker.stop();
    }
    // the markers patched('analysis-grace-period') records when new code runs past it
    const graceMarkers = async () =>
      (await handle.fetchHistory()).events!.filter((e) => {
        const marker = e.markerRecordedEventAttributes;
        const details = Object.values(marker?.details ?? {}).flatMap((p) => p.payloads ?? []);
        return marker?.markerName === 'core_patch' && details.some((p) => Buffer.from(p.data ?? []).toString().includes('analysis-grace-period'));
      }).length;
    expect(await graceMarkers()).toBe(0);

    // the deploy: a worker on this code replays the old history (patched() is false there) and goes on
    const newWorker = await startControlWorker({ prisma: db.prisma, taskQueue: queue, maxCachedWorkflows: 0 });
    try {
      await handle.executeUpdate(resumeUpdate, { args: [{}] });
      expect((await handle.result()).outcome).toBe('promoted');
      const status = await handle.query(rolloutStatusQuery);
      expect(status.verdicts.filter((v) => v.verdict === 'pass').map((v) => v.stage)).toEqual([0, 1, 2]);
    } finally {
      await newWorker.stop();
    }
    // the windows judged after the deploy waited out the grace period: the patch marker is in the history
    expect(await graceMarkers()).toBe(1);
    await keep(handle, 'rollout-deployed-mid-rollout');
  } finally {
    await traffic.stop();
    traffic = undefined;
  }
  // Bundling an older commit from git and three stages of windows: minutes on a loaded machine.
}, 240_000);

test('the committed histories of a promoted and of a rolled-back rollout replay against the current bundle', async () => {
  const files = fs.readdirSync(historiesDir).filter((f) => f.startsWith('rollout-') && f.endsWith('.json')).sort();
  expect(files).toEqual(expect.arrayContaining(['rollout-promoted.json', 'rollout-rolled-back.json']));
  const histories = files.map((f) => ({ workflowId: f, history: historyFromJSON(JSON.parse(fs.readFileSync(path.join(historiesDir, f), 'utf8'))) }));
  const results = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle: { codePath: workflowBundlePath() }, replayName: 'rollout-committed' }, histories)) results.push(r);
  expect(results.map((r) => [r.workflowId, r.error ? String(r.error) : null])).toEqual(files.map((f) => [f, null]));
  // they are what their names say: the workflow's own result, and the activities it scheduled
  const history = (file: string) => histories.find((h) => h.workflowId === file)!.history;
  const outcomeOf = (file: string) => {
    const events = history(file).events!;
    const completed = events[events.length - 1]!.workflowExecutionCompletedEventAttributes;
    expect(completed).toBeTruthy();
    return (JSON.parse(Buffer.from(completed!.result!.payloads![0]!.data!).toString()) as { outcome: string }).outcome;
  };
  expect(outcomeOf('rollout-promoted.json')).toBe('promoted');
  expect(outcomeOf('rollout-rolled-back.json')).toBe('rolled_back');
  const scheduled = history('rollout-rolled-back.json').events!.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name);
  expect(scheduled.lastIndexOf('restoreSnapshot')).toBeGreaterThan(scheduled.indexOf('applyTraffic'));
});
