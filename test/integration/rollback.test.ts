import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { rollbackWorkflow, snapshotWorkflow } from '../../workflows';
import { rollbackStatusQuery, rollbackWorkflowId, type RollbackInput } from '../../workflows/rollback-messages';
import { snapshotWorkflowId } from '../../workflows/snapshot-messages';
import { createRegistryActivities } from '../../activities/registry';
import { databaseProbe } from '../../src/registry/serving-probes';
import { getServingAllocation, lockUseCase, writeAllocation, type AllocationEntry } from '../../src/registry/allocations';
import { captureSnapshot } from '../../src/registry/snapshots';
import { createTestDatabase, startControlWorker, temporalAddress, temporalClient, uniqueTaskQueue, type TestDatabase } from '../support/stack';
import { addModel, seedUseCases, testConfig } from '../support/fixtures';
import { waitFor } from '../support/wait-for';

// Test files share one Temporal server and workflow ids come from the use case: a use case of its own
// keeps this file's rollbacks from colliding with other files'.
const USE_CASE = `npc_dialogue_${crypto.randomBytes(3).toString('hex')}`;
let db: TestDatabase;
let client: Client;
let taskQueue: string;
let worker: Awaited<ReturnType<typeof startControlWorker>>;

beforeAll(async () => {
  client = await temporalClient();
});
afterAll(async () => {
  await client.connection.close();
});

beforeEach(async () => {
  db = await createTestDatabase();
  await seedUseCases(db.prisma, testConfig({ useCaseIds: [USE_CASE] }));
  taskQueue = uniqueTaskQueue('rollback');
  worker = await startControlWorker({ prisma: db.prisma, taskQueue });
});
afterEach(async () => {
  await worker.stop();
  await db.drop();
});

async function changeAllocation(entries: AllocationEntry[], temperature = 1.3) {
  await db.prisma.$transaction(async (tx) => {
    await lockUseCase(tx, USE_CASE);
    await writeAllocation(tx, { useCaseId: USE_CASE, entries, reason: 'test change', createdBy: 'test' });
    await tx.useCase.update({ where: { id: USE_CASE }, data: { temperature, systemPromptTemplate: 'changed', samplingParams: { topP: 0.2 } } });
  });
}

async function snapshot(reason = 'before change') {
  return client.workflow.execute(snapshotWorkflow, {
    taskQueue,
    workflowId: snapshotWorkflowId(USE_CASE, `${Date.now()}-${Math.random()}`),
    args: [{ useCaseId: USE_CASE, reason }],
  });
}

const rollback = (target: RollbackInput['target'], reason = 'test rollback') =>
  client.workflow.execute(rollbackWorkflow, {
    taskQueue,
    workflowId: rollbackWorkflowId(USE_CASE),
    args: [{ useCaseId: USE_CASE, target, reason, requestedBy: 'jest' }],
  });

/**
 * MMS_RECORD_HISTORIES=1 saves the history of a finished workflow under test/histories/, where
 * test/integration/replay.test.ts replays it against the current workflow code on every run.
 */
async function recordHistory(name: string, workflowId: string) {
  if (!process.env.MMS_RECORD_HISTORIES) return;
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  fs.writeFileSync(path.join(__dirname, '../histories', `${name}.json`), historyToJSON(history));
}

async function stableEntries() {
  const allocation = await getServingAllocation(db.prisma, USE_CASE);
  return allocation!.entries;
}

async function stateOf() {
  const useCase = await db.prisma.useCase.findUniqueOrThrow({ where: { id: USE_CASE } });
  const allocation = await getServingAllocation(db.prisma, USE_CASE);
  return {
    config: { temperature: useCase.temperature, maxTokens: useCase.maxTokens, systemPromptTemplate: useCase.systemPromptTemplate, samplingParams: useCase.samplingParams },
    entries: allocation!.entries,
  };
}

test('snapshot, change, rollback by snapshot id restores exactly the snapshot and records the deployment', async () => {
  const before = await stateOf();
  const snap = await snapshot();
  expect(snap.isStable).toBe(true);
  const [stable] = await stableEntries();
  const candidate = await addModel(db.prisma, USE_CASE, 'qwen-2.5-7b-npc-dialogue', 'testing');
  await changeAllocation([
    { modelId: stable!.modelId, weight: 5000, role: 'stable' },
    { modelId: candidate, weight: 5000, role: 'canary' },
  ]);
  expect((await stateOf()).config.temperature).toBe(1.3);

  const result = await rollback({ snapshotId: snap.snapshotId }, 'canary misbehaved');
  await recordHistory('rollback-completed', rollbackWorkflowId(USE_CASE));

  const after = await stateOf();
  expect(after).toEqual(before);
  expect(result.allocationVersion).toBe(3);
  expect(result.verifiedBy).toEqual(['registry']);
  const deployments = await db.prisma.modelDeployment.findMany({ where: { useCaseId: USE_CASE } });
  expect(deployments).toHaveLength(1);
  expect(deployments[0]).toMatchObject({ status: 'rolled_back', deploymentType: 'rollback', rollbackReason: 'canary misbehaved', snapshotId: snap.snapshotId, modelId: stable!.modelId });
  expect((await db.prisma.model.findUniqueOrThrow({ where: { id: candidate } })).status).toBe('deprecated');
  expect((await db.prisma.model.findUniqueOrThrow({ where: { id: stable!.modelId } })).status).toBe('current');
});

test('rollback by model id takes that model’s latest snapshot; "most recent stable" skips unstable snapshots', async () => {
  const [original] = await stableEntries();
  const first = await snapshot('original');
  const second = await addModel(db.prisma, USE_CASE, 'mistral-7b-npc-dialogue');
  await changeAllocation([{ modelId: second, weight: 10000, role: 'stable' }], 0.5);
  const secondSnap = await snapshot('after switching to mistral');
  const canary = await addModel(db.prisma, USE_CASE, 'phi-3-npc-dialogue');
  await changeAllocation([
    { modelId: second, weight: 9000, role: 'stable' },
    { modelId: canary, weight: 1000, role: 'canary' },
  ], 0.9);
  const unstable = await snapshot('mid-canary');
  expect(unstable.isStable).toBe(false);

  const byModel = await rollback({ modelId: original!.modelId });
  expect(byModel.snapshotId).toBe(first.snapshotId);
  expect(await stableEntries()).toEqual([{ modelId: original!.modelId, weight: 10000, role: 'stable' }]);

  const latestStable = await rollback({ latestStable: true });
  expect(latestStable.snapshotId).toBe(secondSnap.snapshotId);
  expect(await stableEntries()).toEqual([{ modelId: second, weight: 10000, role: 'stable' }]);
  expect((await db.prisma.useCase.findUniqueOrThrow({ where: { id: USE_CASE } })).temperature).toBe(0.5);
});

test('a rollback to a snapshot that does not exist fails fast with a clear reason', async () => {
  const missing = '00000000-0000-4000-8000-000000000000';
  const err = await rollback({ snapshotId: missing }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect(String((err as WorkflowFailedError).cause?.message)).toContain(`no snapshot ${missing} for use case "${USE_CASE}"`);
  await recordHistory('rollback-snapshot-not-found', rollbackWorkflowId(USE_CASE));
  expect(await db.prisma.modelDeployment.count()).toBe(0);
});

/** Holds the use case's row lock from another connection, so a rollback blocks inside its restore. */
async function holdUseCaseLock(url: string) {
  const pg = new PgClient({ connectionString: url });
  await pg.connect();
  await pg.query('begin');
  await pg.query('select id from use_cases where id = $1 for update', [USE_CASE]);
  return async () => {
    await pg.query('rollback');
    await pg.end();
  };
}

test('a second rollback of the same use case while one runs is refused with a clear message', async () => {
  const snap = await snapshot();
  const release = await holdUseCaseLock(db.url);
  const first = await client.workflow.start(rollbackWorkflow, {
    taskQueue,
    workflowId: rollbackWorkflowId(USE_CASE),
    args: [{ useCaseId: USE_CASE, target: { snapshotId: snap.snapshotId }, reason: 'first', requestedBy: 'jest' }],
  });
  await waitFor('restore to start', async () => (await first.query(rollbackStatusQuery)).phase === 'restoring');
  const second = client.workflow.start(rollbackWorkflow, {
    taskQueue,
    workflowId: rollbackWorkflowId(USE_CASE),
    args: [{ useCaseId: USE_CASE, target: { latestStable: true }, reason: 'second', requestedBy: 'jest' }],
  });
  await expect(second).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
  await release();
  await first.result();
  expect(await db.prisma.modelDeployment.count({ where: { deploymentType: 'rollback' } })).toBe(1);
});

function spawnWorkerProcess(configFile: string): ChildProcess {
  const root = path.resolve(__dirname, '../..');
  return spawn(process.execPath, [path.join(root, 'bin/run-ts.js'), path.join(root, 'workers/control-main.ts')], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: db.url, TEMPORAL_ADDRESS: temporalAddress(), MMS_CONFIG: configFile, MMS_CONTROL_TASK_QUEUE: taskQueue },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

test('a worker killed in the middle of a rollback is replaced and the rollback ends in the same state', async () => {
  await worker.stop(); // only the worker processes below serve this task queue
  const configFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mms-')), 'mms.config.yaml');
  // the registry's own config (JSON is YAML): a worker syncs the file's use cases at start, and must find nothing to change
  fs.writeFileSync(configFile, JSON.stringify(testConfig({ useCaseIds: [USE_CASE] })));
  const expected = await stateOf();
  const snapshotRow = await captureSnapshot(db.prisma, { useCaseId: USE_CASE, reason: 'direct' });
  const candidate = await addModel(db.prisma, USE_CASE, 'candidate-npc-dialogue', 'testing');
  await changeAllocation([
    { modelId: expected.entries[0]!.modelId, weight: 7500, role: 'stable' },
    { modelId: candidate, weight: 2500, role: 'canary' },
  ]);

  const release = await holdUseCaseLock(db.url);
  const firstWorker = spawnWorkerProcess(configFile);
  const handle = await client.workflow.start(rollbackWorkflow, {
    taskQueue,
    workflowId: rollbackWorkflowId(USE_CASE),
    args: [{ useCaseId: USE_CASE, target: { snapshotId: snapshotRow.snapshotId }, reason: 'worker crash test', requestedBy: 'jest' }],
  });
  await waitFor(
    'the restore activity to be running on the first worker',
    async () => {
      const description = await handle.describe();
      // state 2 = PENDING_ACTIVITY_STATE_STARTED: a worker has picked the attempt up
      return description.raw.pendingActivities?.some((a) => a.activityType?.name === 'restoreSnapshot' && Number(a.state) === 2);
    },
    60_000,
  );
  firstWorker.kill('SIGKILL');
  await new Promise((r) => firstWorker.once('exit', r));
  await release();
  const secondWorker = spawnWorkerProcess(configFile);
  try {
    const result = await handle.result();
    expect(result.allocationVersion).toBe(3);
  } finally {
    secondWorker.kill('SIGTERM');
    await new Promise((r) => secondWorker.once('exit', r));
  }
  expect(await stateOf()).toEqual(expected);
  expect(await db.prisma.modelDeployment.count({ where: { deploymentType: 'rollback' } })).toBe(1);
  expect(await db.prisma.trafficAllocation.count({ where: { useCaseId: USE_CASE } })).toBe(3);
  const history = await handle.fetchHistory();
  const attempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 1);
  expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2); // the restore really was retried after the kill
});

test('running the restore activity twice leaves the same state as running it once', async () => {
  const snap = await captureSnapshot(db.prisma, { useCaseId: USE_CASE, reason: 'direct' });
  const candidate = await addModel(db.prisma, USE_CASE, 'c-npc-dialogue', 'testing');
  const [stable] = await stableEntries();
  await changeAllocation([
    { modelId: stable!.modelId, weight: 9000, role: 'stable' },
    { modelId: candidate, weight: 1000, role: 'canary' },
  ]);
  const activities = createRegistryActivities({ prisma: db.prisma, servingProbes: [databaseProbe(db.prisma)] });
  const input = { useCaseId: USE_CASE, snapshotId: snap.snapshotId, reason: 'idempotency', requestKey: `${rollbackWorkflowId(USE_CASE)}/run-1/restore`, requestedBy: 'jest', workflowId: rollbackWorkflowId(USE_CASE) };
  const env = new MockActivityEnvironment();
  const once = await env.run(activities.restoreSnapshot, input);
  const dump = async () => ({
    state: await stateOf(),
    allocations: await db.prisma.trafficAllocation.findMany({ orderBy: { version: 'asc' }, select: { version: true, entries: true, reason: true } }),
    deployments: await db.prisma.modelDeployment.findMany({ select: { id: true, status: true, modelId: true, rollbackReason: true } }),
    models: await db.prisma.model.findMany({ orderBy: { modelName: 'asc' }, select: { id: true, status: true } }),
  });
  const afterOnce = await dump();
  const twice = await env.run(activities.restoreSnapshot, input);
  expect(twice).toEqual(once);
  expect(await dump()).toEqual(afterOnce);
});
