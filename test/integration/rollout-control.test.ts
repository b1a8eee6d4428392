import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { getServingAllocation } from '../../src/registry/allocations';
import { criticalViolationNotifier } from '../../clients/rollout';
import { MmsStatus } from '../../src/temporal/search-attributes';
import {
  abortUpdate,
  criticalViolationSignal,
  pauseUpdate,
  promoteUpdate,
  resumeUpdate,
  rolloutStatusQuery,
  rolloutWorkflowId,
  windowSecondsLeft,
} from '../../workflows/rollout-messages';
import { rolloutWorkflow } from '../../workflows';
import { createTestDatabase, startControlWorker, temporalClient, uniqueTaskQueue, type TestDatabase } from '../support/stack';
import { addModel, seedUseCases, testConfig } from '../support/fixtures';
import { allocationHistory, candidateWeights, healthy, startLogTraffic, startRolloutWorkflow, startWebhookReceiver, testPolicy, waitFor } from '../support/rollout';

const USE_CASE = 'rollout_control';
let db: TestDatabase;
let client: Client;
let taskQueue: string;
let worker: Awaited<ReturnType<typeof startControlWorker>>;
let stableId: string;
let candidateId: string;
let traffic: ReturnType<typeof startLogTraffic> | undefined;

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
  taskQueue = uniqueTaskQueue('rollout-control');
  worker = await startControlWorker({ prisma: db.prisma, taskQueue });
});
afterEach(async () => {
  await traffic?.stop();
  traffic = undefined;
  await client.workflow
    .getHandle(rolloutWorkflowId(USE_CASE))
    .terminate('test cleanup')
    .catch(() => undefined);
  await worker.stop();
  await db.drop();
});

const servesOnlyStable = async () => (await getServingAllocation(db.prisma, USE_CASE))!.entries;
const inWindowOfStage = (handle: Pick<Awaited<ReturnType<typeof startRolloutWorkflow>>, 'query'>, stageIndex: number) =>
  waitFor(`a window of stage ${stageIndex + 1}`, async () => {
    const s = await handle.query(rolloutStatusQuery);
    return s.stageIndex === stageIndex && s.window?.stage === stageIndex && s.window.endsAt !== undefined && s;
  });

test('pause holds the stage with its clock stopped; resume carries on to promotion', async () => {
  traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 250, behaviour: () => healthy });
  const hooks = await startWebhookReceiver();
  const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate: candidateId, policy: testPolicy({ windowSeconds: 2, webhookUrl: hooks.url }) });
  await inWindowOfStage(handle, 0);

  const paused = await handle.executeUpdate(pauseUpdate, { args: [{ reason: 'checking dashboards', by: 'jest' }] });
  expect(paused).toMatchObject({ paused: true, pauseReason: 'checking dashboards', stageIndex: 0 });
  const again = await handle.executeUpdate(pauseUpdate, { args: [{}] }).catch((e: unknown) => e);
  expect(again).toBeInstanceOf(WorkflowUpdateFailedError);
  expect((again as WorkflowUpdateFailedError).cause?.message).toBe('the rollout is already paused (checking dashboards)');

  // That a paused window never closes, however long the pause, is proven without waiting in
  // rollout-time-skipping.test.ts (an hour skipped on the test server); here the real stack holds it.
  const held = await handle.query(rolloutStatusQuery);
  expect(held).toMatchObject({ paused: true, stageIndex: 0, weightPercent: 20, verdicts: [] });
  const left = windowSecondsLeft(held, Date.now())!;
  expect(left).toBeGreaterThan(0);
  expect(left).toBeLessThanOrEqual(2);
  expect(candidateWeights(await allocationHistory(db.prisma, USE_CASE), candidateId).pop()).toBe(2000);
  expect((await handle.describe()).typedSearchAttributes.get(MmsStatus)).toBe('paused');

  const resumed = await handle.executeUpdate(resumeUpdate, { args: [{ by: 'jest' }] });
  expect(resumed.paused).toBe(false);
  const result = await handle.result();
  expect(result.outcome).toBe('promoted');
  await waitFor('the completed event', async () => hooks.events.some((e) => e.type === 'completed'));
  expect(hooks.inSequence().map((e) => e.type)).toEqual(['started', 'step', 'paused', 'resumed', 'step', 'step', 'completed']);
  expect(hooks.inSequence()[2]!.body).toMatchObject({ reason: 'checking dashboards', weightPercent: 20, stage: '20%' });
  await hooks.close();

  // a finished rollout takes no more updates
  await expect(handle.executeUpdate(resumeUpdate, { args: [{}] })).rejects.toThrow('workflow execution already completed');
});

test('abort rolls back to the starting snapshot and answers once stable serves 100%', async () => {
  traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 100, behaviour: () => healthy });
  const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate: candidateId, policy: testPolicy({ windowSeconds: 60 }) });
  await inWindowOfStage(handle, 0);
  const noReason = await handle.executeUpdate(abortUpdate, { args: [{ reason: ' ' }] }).catch((e: unknown) => e);
  expect((noReason as WorkflowUpdateFailedError).cause?.message).toBe('abort needs a reason');

  const status = await handle.executeUpdate(abortUpdate, { args: [{ reason: 'players complain about tone', by: 'jest' }] });
  expect(status).toMatchObject({ phase: 'rolled_back', outcome: 'rolled_back', reason: 'aborted by jest: players complain about tone', weightPercent: 0 });
  expect(await servesOnlyStable()).toEqual([{ modelId: stableId, weight: 10000, role: 'stable' }]);
  const result = await handle.result();
  expect(result.outcome).toBe('rolled_back');
  const deployment = await db.prisma.modelDeployment.findUniqueOrThrow({ where: { id: result.deploymentId } });
  expect(deployment).toMatchObject({ status: 'rolled_back', rollbackReason: 'aborted by jest: players complain about tone' });
  await expect(handle.executeUpdate(abortUpdate, { args: [{ reason: 'again' }] })).rejects.toThrow('workflow execution already completed');
});

test('promote --full skips the remaining steps; promote of one stage ends only the current window', async () => {
  traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 100, behaviour: () => healthy });
  const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate: candidateId, policy: testPolicy({ windowSeconds: 60 }) });
  await inWindowOfStage(handle, 0);

  const next = await handle.executeUpdate(promoteUpdate, { args: [{ full: false, by: 'jest' }] });
  expect(next.phase).toBe('canary');
  const second = await inWindowOfStage(handle, 1);
  expect(second.weightPercent).toBe(50);

  const started = Date.now();
  const done = await handle.executeUpdate(promoteUpdate, { args: [{ full: true, by: 'jest' }] });
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(done).toMatchObject({ phase: 'completed', outcome: 'promoted', reason: 'promoted by an operator', weightPercent: 100 });
  expect(await servesOnlyStable()).toEqual([{ modelId: candidateId, weight: 10000, role: 'stable' }]);
  expect(candidateWeights(await allocationHistory(db.prisma, USE_CASE), candidateId).slice(1)).toEqual([0, 2000, 5000, 10000]);
  const result = await handle.result();
  expect(result).toMatchObject({ outcome: 'promoted', verdicts: 0 });
  expect((await db.prisma.model.findUniqueOrThrow({ where: { id: candidateId } })).status).toBe('current');
  expect((await db.prisma.model.findUniqueOrThrow({ where: { id: stableId } })).status).toBe('deprecated');
});

test('a critical guardrail violation by the candidate aborts within 2 s, without waiting for the window; stray ones are ignored and recorded', async () => {
  traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 100, behaviour: () => healthy });
  // a violation by the stable model, signalled before the rollout even resolved its candidate
  const handle = await client.workflow.signalWithStart(rolloutWorkflow, {
    taskQueue,
    workflowId: rolloutWorkflowId(USE_CASE),
    args: [{ useCaseId: USE_CASE, candidate: candidateId, strategy: 'canary', policy: testPolicy({ windowSeconds: 120 }), requestedBy: 'jest' }],
    signal: criticalViolationSignal,
    signalArgs: [{ modelId: stableId, category: 'hate', logId: 'early' }],
  });
  await inWindowOfStage(handle, 0);
  // and one while the canary serves: neither is this rollout's to abort
  await handle.signal(criticalViolationSignal, { modelId: stableId, category: 'hate', logId: 'late' });
  const recorded = await waitFor('the stray signals recorded', async () => {
    const s = await handle.query(rolloutStatusQuery);
    return (s.ignoredViolations?.length ?? 0) >= 2 ? s : undefined;
  });
  expect(recorded.phase).toBe('canary');
  expect(recorded.ignoredViolationCount).toBe(2);
  expect(recorded.ignoredViolations!.map((v) => [v.modelId, v.logId])).toEqual([
    [stableId, 'early'],
    [stableId, 'late'],
  ]);

  const notify = criticalViolationNotifier(client);
  const signalledAt = Date.now();
  expect(await notify({ useCaseId: USE_CASE, modelId: candidateId, requestId: 'req-1', violation: { type: 'self_harm' } })).toBe(true);
  const result = await handle.result();
  const elapsed = Date.now() - signalledAt;
  expect(result.outcome).toBe('rolled_back');
  expect(result.reason).toBe('critical guardrail violation (self_harm) by the candidate in call req-1');
  expect(elapsed).toBeLessThanOrEqual(2000);
  const restoredAt = (await allocationHistory(db.prisma, USE_CASE)).pop()!.createdAt.getTime();
  expect(restoredAt - signalledAt).toBeLessThanOrEqual(2000);
  expect(await servesOnlyStable()).toEqual([{ modelId: stableId, weight: 10000, role: 'stable' }]);
  // no rollout running: the notifier says so instead of failing
  expect(await notify({ useCaseId: 'not_a_use_case', modelId: candidateId, violation: { type: 'self_harm' } })).toBe(false);
});

test('an inconclusive window is extended, then the rollout pauses for a person; resume with traffic promotes', async () => {
  const hooks = await startWebhookReceiver({ failFirst: 1 }); // the first delivery fails and is retried
  const handle = await startRolloutWorkflow(client, taskQueue, {
    useCaseId: USE_CASE,
    candidate: candidateId,
    policy: testPolicy({ windowSeconds: 1, analysis: { maxInconclusiveExtensions: 1 }, webhookUrl: hooks.url }),
  });
  const paused = await waitFor('the rollout to pause', async () => {
    const s = await handle.query(rolloutStatusQuery);
    return s.paused && s;
  });
  expect(paused.pauseReason).toBe('stage 1 (20%) inconclusive after 2 window(s): canary has 0 requests and stable 0 in the window; at least 20 each are needed');
  expect(paused.verdicts.map((v) => v.verdict)).toEqual(['inconclusive', 'inconclusive']);
  expect(paused.verdicts[1]!.window).toBe(1);
  expect(paused.weightPercent).toBe(20);
  // A paused rollout runs no more windows: proven without waiting in rollout-time-skipping.test.ts (an hour skipped).
  expect((await handle.query(rolloutStatusQuery)).verdicts).toHaveLength(2);
  await waitFor('the paused event', async () => hooks.events.some((e) => e.type === 'paused'));

  traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 250, behaviour: () => healthy });
  await handle.executeUpdate(resumeUpdate, { args: [{ by: 'jest' }] });
  const result = await handle.result();
  expect(result.outcome).toBe('promoted');
  const status = await handle.query(rolloutStatusQuery);
  expect(status.verdicts.some((v) => v.stage === 0 && v.verdict === 'pass')).toBe(true);
  expect(status.verdicts.every((v) => v.verdict !== 'fail')).toBe(true);
  await waitFor('the completed event', async () => hooks.events.some((e) => e.type === 'completed'));
  // the failed first delivery was retried after later ones arrived
  expect(hooks.inSequence().map((e) => e.type).slice(0, 4)).toEqual(['started', 'step', 'paused', 'resumed']);
  expect(new Set(hooks.events.map((e) => e.id)).size).toBe(hooks.events.length);
  await hooks.close();
});
