import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { getServingAllocation } from '../../src/registry/allocations';
import { startRollout, RolloutAlreadyRunningError } from '../../clients/rollout';
import { rolloutStatusQuery, rolloutWorkflowId } from '../../workflows/rollout-messages';
import { MmsStatus, MmsUseCase } from '../../src/temporal/search-attributes';
import { createTestDatabase, startControlWorker, temporalClient, uniqueTaskQueue, type TestDatabase } from '../support/stack';
import { addModel, seedUseCases, testConfig } from '../support/fixtures';
import { allocationHistory, candidateWeights, healthy, startLogTraffic, startRolloutWorkflow, startWebhookReceiver, testPolicy, waitFor } from '../support/rollout';

const USE_CASE = 'rollout_core';
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
  taskQueue = uniqueTaskQueue('rollout');
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

async function endState() {
  const allocation = await getServingAllocation(db.prisma, USE_CASE);
  const models = await db.prisma.model.findMany({ where: { id: { in: [stableId, candidateId] } } });
  return {
    entries: allocation!.entries,
    stable: models.find((m) => m.id === stableId)!.status,
    candidate: models.find((m) => m.id === candidateId)!.status,
  };
}

test('a healthy candidate is promoted through every step (the last with a stable holdback), each window analysed and recorded', async () => {
  const hooks = await startWebhookReceiver();
  traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 250, behaviour: () => healthy });
  const handle = await startRolloutWorkflow(client, taskQueue, {
    useCaseId: USE_CASE,
    candidate: candidateId,
    policy: testPolicy({ steps: [10, 25, 50, 100], stableHoldbackPercent: 20, webhookUrl: hooks.url }),
  });
  const result = await handle.result();
  await traffic.stop();

  expect(result).toMatchObject({ outcome: 'promoted', reason: 'all stages passed', candidateModelId: candidateId, stableModelId: stableId });
  const status = await handle.query(rolloutStatusQuery);
  expect(status.phase).toBe('completed');
  // every step reached a pass verdict (inconclusive extensions allowed before it), in order
  const passes = status.verdicts.filter((v) => v.verdict === 'pass');
  expect(passes.map((v) => v.label)).toEqual(['10%', '25%', '50%', '80% (stable holdback 20%)']);
  expect(status.verdicts.every((v) => v.verdict !== 'fail')).toBe(true);
  for (const v of passes) {
    expect(v.canary.requests).toBeGreaterThanOrEqual(20);
    expect(v.checks.find((c) => c.metric === 'error_rate')).toMatchObject({ verdict: 'pass' });
  }
  // the last step is judged against the stable holdback of the same window, latency included
  expect(passes[3]!.baselineSource).toBe('same_window');
  expect(passes[3]!.baseline.requests).toBeGreaterThanOrEqual(20);
  expect(passes[3]!.checks.find((c) => c.metric === 'latency_shift')!.verdict).toBe('pass');
  // the evidence of closed stages carries over: later stages judge the rollout so far
  expect(passes[1]!.checks.find((c) => c.metric === 'error_rate')!.detail).toContain('over 2 stages');
  expect(passes[3]!.checks.find((c) => c.metric === 'error_rate')!.detail).toContain('over 4 stages');

  // weights only ever went up, through each step, and the candidate is now the stable model at 100%
  const history = await allocationHistory(db.prisma, USE_CASE);
  const weights = candidateWeights(history, candidateId).slice(1);
  expect(weights).toEqual([0, 1000, 2500, 5000, 8000, 10000]);
  expect(await endState()).toEqual({ entries: [{ modelId: candidateId, weight: 10000, role: 'stable' }], stable: 'deprecated', candidate: 'current' });

  const deployment = await db.prisma.modelDeployment.findUniqueOrThrow({ where: { id: result.deploymentId } });
  expect(deployment).toMatchObject({ status: 'completed', trafficPercentage: 100, deploymentType: 'canary', modelId: candidateId, previousModelId: stableId, snapshotId: result.snapshotId });
  expect(await db.prisma.evaluation.count({ where: { workflowId: rolloutWorkflowId(USE_CASE), kind: 'rollout_window' } })).toBe(status.verdicts.length);
  // the state at rest after promotion is snapshotted, so `mms rollback` has a stable target
  const latestStable = await db.prisma.modelSnapshot.findFirst({ where: { useCaseId: USE_CASE, isStable: true }, orderBy: { createdAt: 'desc' } });
  expect(latestStable?.modelId).toBe(candidateId);

  const description = await handle.describe();
  expect(description.typedSearchAttributes.get(MmsUseCase)).toBe(USE_CASE);
  expect(description.typedSearchAttributes.get(MmsStatus)).toBe('promoted');
  expect(String((await description.memo)?.summary)).toContain('canary rollout');

  await waitFor('webhook events', async () => hooks.events.some((e) => e.type === 'completed'));
  expect(hooks.inSequence().map((e) => e.type)).toEqual(['started', 'step', 'step', 'step', 'step', 'completed']);
  expect(new Set(hooks.events.map((e) => e.headers['x-mms-event-id'])).size).toBe(6);
  await hooks.close();
  // Four stages, each with its traffic switch, served-allocation check and windows (inconclusive ones
  // extended): with maxCachedWorkflows 0 (every task replays the history) on a loaded 2-core CI box
  // it ran past jest's 60 s default.
}, 180_000);

test('a rollout whose history grows long continues as new between stages, carrying its evidence, status and request keys', async () => {
  const hooks = await startWebhookReceiver();
  traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 250, behaviour: () => healthy });
  // a bound every stage passes: each stage after the first runs in a run of its own
  const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate: candidateId, policy: testPolicy({ steps: [20, 50, 100], continueAsNewAfterEvents: 1, webhookUrl: hooks.url }) });
  const firstRunId = handle.firstExecutionRunId;
  const result = await handle.result();
  await traffic.stop();
  expect(result).toMatchObject({ outcome: 'promoted', candidateModelId: candidateId, stableModelId: stableId });

  // the chain of runs: two continued as new (after stages 1 and 2), the last completed
  const runs: string[] = [];
  let runId: string | undefined = firstRunId;
  while (runId) {
    const run: WorkflowHandle = client.workflow.getHandle(rolloutWorkflowId(USE_CASE), runId);
    const events = (await run.fetchHistory()).events ?? [];
    runs.push((await run.describe()).status.name);
    runId = events[events.length - 1]?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  expect(runs).toEqual(['CONTINUED_AS_NEW', 'CONTINUED_AS_NEW', 'COMPLETED']);

  // the last run's status holds every verdict, and its analysis judged the whole rollout
  const status = await handle.query(rolloutStatusQuery);
  const passes = status.verdicts.filter((v) => v.verdict === 'pass');
  expect(passes.map((v) => v.label)).toEqual(['20%', '50%', '100%']);
  expect(passes[2]!.checks.find((c) => c.metric === 'error_rate')!.detail).toContain('over 3 stages');
  expect(candidateWeights(await allocationHistory(db.prisma, USE_CASE), candidateId).slice(1)).toEqual([0, 2000, 5000, 10000, 10000]);
  expect(await endState()).toEqual({ entries: [{ modelId: candidateId, weight: 10000, role: 'stable' }], stable: 'deprecated', candidate: 'current' });
  // one deployment, one numbering of events across the runs
  expect(await db.prisma.modelDeployment.findUniqueOrThrow({ where: { id: result.deploymentId } })).toMatchObject({ status: 'completed', trafficPercentage: 100 });
  await waitFor('webhook events', async () => hooks.events.some((e) => e.type === 'completed'));
  expect(hooks.inSequence().map((e) => e.type)).toEqual(['started', 'step', 'step', 'step', 'completed']);
  expect(hooks.events.map((e) => Number(String(e.headers['x-mms-event-id']).split('/event/')[1])).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
  await hooks.close();
});

test('a canary with a higher error rate is rolled back at the first window with enough samples', async () => {
  traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 250, behaviour: (id) => (id === candidateId ? { ...healthy, errorRate: 0.4 } : healthy) });
  const policy = testPolicy({ steps: [25, 50, 100], windowSeconds: 3 });
  const before = await getServingAllocation(db.prisma, USE_CASE);
  const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate: candidateId, policy });
  const result = await handle.result();
  await traffic.stop();

  expect(result.outcome).toBe('rolled_back');
  expect(result.reason).toMatch(/^stage 1 \(25%\) failed analysis: error rate/);
  const status = await handle.query(rolloutStatusQuery);
  expect(status.verdicts.map((v) => v.verdict)).toEqual(['fail']);
  expect(status.verdicts[0]!.checks.find((c) => c.metric === 'error_rate')).toMatchObject({ verdict: 'fail' });
  expect(status.verdicts[0]!.canary.errorRate).toBeGreaterThan(0.2);

  // 100% stable again, exactly the allocation the rollout started from
  expect((await getServingAllocation(db.prisma, USE_CASE))!.entries).toEqual(before!.entries);
  expect(await endState()).toMatchObject({ stable: 'current', candidate: 'deprecated' });
  const deployment = await db.prisma.modelDeployment.findUniqueOrThrow({ where: { id: result.deploymentId } });
  expect(deployment.status).toBe('rolled_back');
  expect(deployment.rollbackReason).toContain('error rate');

  // The canary's traffic change is followed directly by the restore: no other stage came between. How
  // fast that is, is a figure of bench:rollout ("fault to rollback"), not a bound a loaded CI can hold.
  const history = await allocationHistory(db.prisma, USE_CASE);
  const weights = candidateWeights(history, candidateId);
  expect(weights.slice(weights.indexOf(2500))).toEqual([2500, 0]);
});

test('a second rollout of the same use case is refused with a clear message', async () => {
  const policy = testPolicy({ windowSeconds: 60 });
  const config = { temporal: { controlTaskQueue: taskQueue } };
  const first = await startRollout(client, config, { useCaseId: USE_CASE, candidate: candidateId, strategy: 'canary', policy, requestedBy: 'jest' });
  await waitFor('the first rollout to deploy', async () => (await first.handle.query(rolloutStatusQuery)).phase === 'canary');
  const other = await addModel(db.prisma, USE_CASE, 'mistral-7b-npc-dialogue');
  const second = await startRollout(client, config, { useCaseId: USE_CASE, candidate: other, strategy: 'canary', policy, requestedBy: 'jest' }).catch((e: unknown) => e);
  expect(second).toBeInstanceOf(RolloutAlreadyRunningError);
  expect((second as Error).message).toBe(
    `a rollout of "${USE_CASE}" is already running (workflow rollout:${USE_CASE}, candidate ${candidateId}, stage 1/3 at 20%); abort it with \`mms rollout abort ${USE_CASE} --reason …\` or wait for it to finish`,
  );
  // the raw Temporal guarantee underneath: one workflow id per use case
  await expect(startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate: other, policy })).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
  // the first rollout is untouched
  expect(candidateWeights(await allocationHistory(db.prisma, USE_CASE), other).every((w) => w === 0)).toBe(true);
});

test('an unknown strategy and an unforced all_at_once are clear errors that change nothing', async () => {
  const before = await allocationHistory(db.prisma, USE_CASE);
  for (const [strategy, message] of [
    ['yolo', 'unknown rollout strategy "yolo": use one of canary, blue_green, shadow_then_canary (or all_at_once with force)'],
    ['all_at_once', 'strategy all_at_once switches every player to the candidate at once, without a canary step; it needs the force flag'],
  ]) {
    const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate: candidateId, strategy });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause?.message).toBe(message);
  }
  expect(await allocationHistory(db.prisma, USE_CASE)).toEqual(before);
  expect(await db.prisma.modelDeployment.count()).toBe(0);
});

test('a candidate of another use case or the stable model itself is refused before any change', async () => {
  const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate: stableId });
  const err = await handle.result().catch((e: unknown) => e);
  expect((err as WorkflowFailedError).cause?.message).toContain(`is already the stable model of "${USE_CASE}"`);
  const missing = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate: 'no-such-model' });
  expect(((await missing.result().catch((e: unknown) => e)) as WorkflowFailedError).cause?.message).toBe(`candidate model "no-such-model" is not in the registry for use case "${USE_CASE}"`);
  expect(await db.prisma.modelDeployment.count()).toBe(0);
  expect(await db.prisma.modelSnapshot.count()).toBe(0);
});

test('all_at_once with force switches at once and still watches one window', async () => {
  traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 200, behaviour: () => healthy });
  // At 100 % stable serves no one in the window, so its calls of the window before the switch are the
  // baseline: wait until that window holds most of its 300 calls (200/s × 1.5 s) rather than for a time.
  const windowMs = testPolicy().windowSeconds * 1000;
  await waitFor('a window of stable traffic before the switch', async () => (await db.prisma.modelHistoricalLog.count({ where: { useCase: USE_CASE, modelId: stableId, role: 'stable', timestamp: { gte: new Date(Date.now() - windowMs) } } })) >= 200);
  const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate: candidateId, strategy: 'all_at_once', force: true });
  const result = await handle.result();
  expect(result.outcome).toBe('promoted');
  expect(candidateWeights(await allocationHistory(db.prisma, USE_CASE), candidateId).slice(1)).toEqual([0, 10000, 10000]);
  const status = await handle.query(rolloutStatusQuery);
  expect(status.verdicts.filter((v) => v.verdict === 'pass').map((v) => v.label)).toEqual(['100%']);
  expect((await db.prisma.modelDeployment.findUniqueOrThrow({ where: { id: result.deploymentId } })).details).toMatchObject({ force: true });
});

describe('strategies with a shadow stage', () => {
  test('shadow_then_canary mirrors traffic first, then walks the steps', async () => {
    traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 200, behaviour: () => healthy });
    const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate: candidateId, strategy: 'shadow_then_canary', policy: testPolicy({ shadowMirrorPercent: 50 }) });
    const result = await handle.result();
    expect(result.outcome).toBe('promoted');
    const status = await handle.query(rolloutStatusQuery);
    expect(status.verdicts.filter((v) => v.verdict === 'pass').map((v) => v.label)).toEqual(['shadow 50%', '20%', '50%', '100%']);
    const shadowVerdict = status.verdicts.find((v) => v.label === 'shadow 50%' && v.verdict === 'pass')!;
    expect(shadowVerdict.checks.find((c) => c.metric === 'error_rate')).toMatchObject({ verdict: 'pass' });
    expect(shadowVerdict.checks.find((c) => c.metric === 'feedback_score')).toMatchObject({ verdict: 'not_judged' });
    const history = await allocationHistory(db.prisma, USE_CASE);
    expect(history[1]!.entries).toEqual([
      { modelId: stableId, weight: 10000, role: 'stable' },
      { modelId: candidateId, weight: 5000, role: 'shadow' },
    ]);
    expect(await db.prisma.evaluation.count({ where: { kind: 'shadow' } })).toBeGreaterThanOrEqual(1);
  });

  test('a shadow that fails far more often than stable stops the rollout before any player sees it', async () => {
    traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 200, behaviour: (id) => (id === candidateId ? { ...healthy, errorRate: 0.15 } : healthy) });
    const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate: candidateId, strategy: 'shadow_then_canary' });
    const result = await handle.result();
    expect(result.outcome).toBe('rolled_back');
    expect(result.reason).toMatch(/^stage 1 \(shadow 100%\) failed analysis: error rate \+\d+\.\d\d pp > margin/);
    expect(candidateWeights(await allocationHistory(db.prisma, USE_CASE), candidateId).every((w) => w === 0)).toBe(true);
    expect((await getServingAllocation(db.prisma, USE_CASE))!.entries).toEqual([{ modelId: stableId, weight: 10000, role: 'stable' }]);
  });

  test('blue_green previews green as a shadow, switches all traffic at once, keeps blue until the post-switch window passes', async () => {
    traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 200, behaviour: () => healthy });
    const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate: candidateId, strategy: 'blue_green' });
    const result = await handle.result();
    expect(result.outcome).toBe('promoted');
    const history = await allocationHistory(db.prisma, USE_CASE);
    expect(history.slice(1).map((h) => h.entries)).toEqual([
      [
        { modelId: stableId, weight: 10000, role: 'stable' },
        { modelId: candidateId, weight: 10000, role: 'shadow' },
      ],
      [
        { modelId: stableId, weight: 0, role: 'stable' },
        { modelId: candidateId, weight: 10000, role: 'canary' },
      ],
      [{ modelId: candidateId, weight: 10000, role: 'stable' }],
    ]);
    const status = await handle.query(rolloutStatusQuery);
    expect(status.verdicts.filter((v) => v.verdict === 'pass').map((v) => v.label)).toEqual(['shadow 100%', '100%']);
    // blue serves no one after the switch: the window is judged against its traffic before it
    const switched = status.verdicts.find((v) => v.label === '100%')!;
    expect(switched.baselineSource).toBe('before_stage');
    // with no holdback (testPolicy's 0) the verdict says what it compared across time
    expect(switched.reason).toContain('Compared across time: stable served no one in this window (no holdback)');
  });

  test('blue_green keeps blue as a holdback through the verification window, judged in the same window, then switches to 100%', async () => {
    traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 250, behaviour: () => healthy });
    const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate: candidateId, strategy: 'blue_green', policy: testPolicy({ stableHoldbackPercent: 20 }) });
    const result = await handle.result();
    expect(result.outcome).toBe('promoted');
    const history = await allocationHistory(db.prisma, USE_CASE);
    expect(history.slice(1).map((h) => h.entries)).toEqual([
      [
        { modelId: stableId, weight: 10000, role: 'stable' },
        { modelId: candidateId, weight: 10000, role: 'shadow' },
      ],
      [
        { modelId: stableId, weight: 2000, role: 'stable' },
        { modelId: candidateId, weight: 8000, role: 'canary' },
      ],
      [{ modelId: candidateId, weight: 10000, role: 'stable' }],
    ]);
    const status = await handle.query(rolloutStatusQuery);
    const passes = status.verdicts.filter((v) => v.verdict === 'pass');
    expect(passes.map((v) => v.label)).toEqual(['shadow 100%', '80% (stable holdback 20%)']);
    // blue's traffic of the same window is the baseline: latency is judged, nothing across time
    expect(passes[1]!.baselineSource).toBe('same_window');
    expect(passes[1]!.baseline.requests).toBeGreaterThanOrEqual(20);
    expect(passes[1]!.checks.find((c) => c.metric === 'latency_shift')!.verdict).toBe('pass');
    expect(passes[1]!.reason).not.toContain('across time');
    expect(await endState()).toEqual({ entries: [{ modelId: candidateId, weight: 10000, role: 'stable' }], stable: 'deprecated', candidate: 'current' });
  });

  test('blue_green: green failing after the switch, in the holdback window, is rolled back to blue', async () => {
    // healthy as a shadow, failing half its calls once it serves players
    traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 250, behaviour: (id, role) => (id === candidateId && role === 'canary' ? { ...healthy, errorRate: 0.5 } : healthy) });
    const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate: candidateId, strategy: 'blue_green', policy: testPolicy({ stableHoldbackPercent: 20 }) });
    const result = await handle.result();
    expect(result.outcome).toBe('rolled_back');
    expect(result.reason).toMatch(/^stage 2 \(80% \(stable holdback 20%\)\) failed analysis: error rate \+\d+\.\d\d pp in this stage > margin .*regression shown in this stage/);
    const status = await handle.query(rolloutStatusQuery);
    expect(status.verdicts.at(-1)).toMatchObject({ verdict: 'fail', baselineSource: 'same_window' });
    const history = await allocationHistory(db.prisma, USE_CASE);
    expect(candidateWeights(history, candidateId).slice(1)).toEqual([0, 8000, 0]);
    expect(await endState()).toEqual({ entries: [{ modelId: stableId, weight: 10000, role: 'stable' }], stable: 'current', candidate: expect.any(String) });
  });
});
