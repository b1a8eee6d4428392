import * as otel from '@opentelemetry/api';
import { ApplicationFailure, CancellationScope, condition, ContinueAsNew, continueAsNew, isCancellation, log, patched, workflowInfo } from '@temporalio/workflow';
import type { WindowVerdict } from '../activities/rollout';
import { analysis, evaluation, lockedRegistry, registry, verification } from './activity-stubs';
import { planRollout, strategyProblem, type RolloutInput, type RolloutResult, type RolloutStage, type RolloutStrategy } from './rollout-messages';
import { now, RolloutState } from './rollout-state';

type StageOutcome = { kind: 'next' } | { kind: 'promote' } | { kind: 'abort'; reason: string };
type Promoted = 'all stages passed' | 'promoted by an operator';

/**
 * Progressive delivery of a candidate model for one use case: snapshot, deploy beside stable, an
 * optional shadow stage, traffic steps each watched for a monitoring window and analysed against
 * stable, then promotion — or a rollback to the starting snapshot, at once, on a failed window, an
 * abort or a critical guardrail violation. State and message handlers live in RolloutState.
 */
export async function rolloutWorkflow(input: RolloutInput): Promise<RolloutResult> {
  const problem = strategyProblem(input.strategy, input.force);
  if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidRollout');
  const strategy = input.strategy as RolloutStrategy;
  // Blue-green keeps a blue holdback through its verification window; a history from before that was
  // planned with a whole switch and replays with it.
  const stages = planRollout(strategy, input.policy, { blueGreenHoldback: strategy === 'blue_green' ? patched('blue-green-holdback') : undefined });
  if (strategy === 'all_at_once') log.warn('all_at_once rollout forced: 100% of traffic moves to the candidate in one step', { useCaseId: input.useCaseId });
  const rollout = new RolloutState(input, strategy, stages);
  rollout.registerHandlers();
  rollout.publish();
  try {
    return await runRollout(rollout);
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err; // not a failure: the rollout goes on in its next run
    return await failRollout(rollout, err);
  } finally {
    await rollout.settle();
  }
}

/** The stage loop: each stage sets its traffic, then waits out and judges its windows. */
async function runRollout(rollout: RolloutState): Promise<RolloutResult> {
  const { stages, control, status, input } = rollout;
  let candidateName: string;
  let deployed: { appliedAt: string } | undefined;
  if (input.continued) {
    // an earlier run prepared, deployed and ran the stages before this one
    candidateName = input.continued.candidateName;
  } else {
    candidateName = await prepare(rollout);
    // Deploy beside stable: as a shadow when the first stage is one, else at weight 0.
    deployed = await setTraffic(rollout, stages[0]!.kind === 'shadow' ? stages[0]! : { kind: 'traffic', percent: 0, label: 'deployed at 0%' });
    rollout.rolloutStartedAt = deployed.appliedAt;
  }

  let promoted: Promoted = 'all stages passed';
  for (const stage of stages.slice(input.continued?.nextStage ?? 0)) {
    if (control.abort) return await rollBack(rollout, control.abort);
    if (control.promote === 'full') {
      promoted = 'promoted by an operator';
      break;
    }
    status.stageIndex = stage.index;
    status.phase = stage.kind === 'shadow' ? 'shadow' : 'canary';
    status.window = undefined;
    const applied = stage.index === 0 && stage.kind === 'shadow' && deployed ? deployed : await setTraffic(rollout, stage);
    rollout.publish();
    rollout.notify('step');
    const outcome = await runStage(rollout, stage, applied.appliedAt);
    if (outcome.kind === 'abort') return await rollBack(rollout, outcome.reason);
    if (outcome.kind === 'promote') {
      promoted = 'promoted by an operator';
      break;
    }
    if (stage.index + 1 < stages.length) await continueIfLong(rollout, stage.index + 1, candidateName);
  }
  if (control.abort) return await rollBack(rollout, control.abort);
  return await promote(rollout, promoted, candidateName);
}

/**
 * Between stages, a rollout whose history grew past `continueAsNewAfterEvents` (or that Temporal
 * suggests continue as new) goes on in a fresh run with its evidence, status and request keys. Not
 * while an operator's request waits to be acted on, and not in histories from before this existed.
 */
async function continueIfLong(rollout: RolloutState, nextStage: number, candidateName: string): Promise<void> {
  const { historyLength, continueAsNewSuggested } = workflowInfo();
  // (a policy frozen before the key existed has none: the schema's default)
  const bound = rollout.policy.continueAsNewAfterEvents ?? 10_000;
  if (historyLength < bound && !continueAsNewSuggested) return;
  if (rollout.interrupted() || rollout.status.paused || !patched('continue-as-new-between-stages')) return;
  log.info('rollout history is long: continuing as new', { historyLength, nextStage });
  await rollout.settle();
  await continueAsNew<typeof rolloutWorkflow>({ ...rollout.input, continued: rollout.carry(nextStage, candidateName) });
}

/** Resolves candidate and stable, snapshots the use case and records the deployment; returns the candidate's name. */
async function prepare(rollout: RolloutState): Promise<string> {
  const { input, status, strategy, rolloutKey, workflowId, stages, policy } = rollout;
  const prepared = await registry.prepareRollout({ useCaseId: input.useCaseId, candidate: input.candidate, expectedStableModelId: input.expectedStableModelId });
  rollout.candidateModelId = status.candidateModelId = prepared.candidateModelId;
  rollout.stableModelId = status.stableModelId = prepared.stableModelId;
  rollout.candidateResolved();
  rollout.publish();
  const snapshot = await registry.captureSnapshot({ useCaseId: input.useCaseId, reason: `before ${strategy} rollout of ${prepared.candidateName}`, requestKey: `${rolloutKey}/snapshot` });
  rollout.snapshotId = status.snapshotId = snapshot.snapshotId;
  const deployment = await registry.startDeployment({
    deploymentId: input.deploymentId,
    useCaseId: input.useCaseId,
    candidateModelId: rollout.candidateModelId,
    stableModelId: rollout.stableModelId,
    strategy,
    snapshotId: rollout.snapshotId,
    workflowId,
    requestKey: `${rolloutKey}/deployment`,
    details: { requestedBy: input.requestedBy, force: input.force ?? false, stages: stages.map((s) => s.label), windowSeconds: policy.windowSeconds, runId: rollout.runId },
  });
  rollout.deploymentId = status.deploymentId = deployment.deploymentId;
  rollout.notify('started');
  return prepared.candidateName;
}

/** One stage: its windows (extended while inconclusive, then paused for a person) and their verdicts. */
async function runStage(rollout: RolloutState, stage: RolloutStage, since: string): Promise<StageOutcome> {
  const { control, policy } = rollout;
  let windowNo = 0;
  let extensionsLeft = policy.analysis.maxInconclusiveExtensions;
  let last: WindowVerdict | undefined;
  for (;;) {
    const waited = await waitWindow(rollout, stage, windowNo);
    if (waited !== 'elapsed') {
      // an operator moved past the stage: its last look still counts as evidence for the next ones
      if (waited.kind === 'next') rollout.closeStage(last?.evidence);
      return waited;
    }
    const until = now();
    // Calls still in flight when the window closed are counted: wait out the longest call before
    // judging (an abort still ends the wait at once). Patched: histories from before it replay unchanged.
    if (patched('analysis-grace-period') && policy.analysis.graceSeconds > 0) {
      await condition(() => control.abort !== undefined, policy.analysis.graceSeconds * 1000);
      if (control.abort) return { kind: 'abort', reason: control.abort };
    }
    const verdict = (last = await analyseWindow(rollout, stage, since, windowNo, until));
    windowNo++;
    if (verdict.verdict === 'fail') return { kind: 'abort', reason: `stage ${stage.index + 1} (${stage.label}) failed analysis: ${verdict.reason}` };
    if (verdict.verdict === 'pass') {
      rollout.closeStage(verdict.evidence);
      return { kind: 'next' };
    }
    if (control.abort || control.promote) continue; // an abort or promote that arrived during analysis wins
    if (extensionsLeft > 0) {
      extensionsLeft--;
      log.info('inconclusive window: extending', { stage: stage.label, reason: verdict.reason });
      continue;
    }
    rollout.pause(`stage ${stage.index + 1} (${stage.label}) inconclusive after ${windowNo} window(s): ${verdict.reason}`);
    const resumedBefore = control.resumed;
    await condition(() => control.resumed > resumedBefore || rollout.interrupted());
    extensionsLeft = policy.analysis.maxInconclusiveExtensions; // a person resumed: a fresh allowance
  }
}

/** Judges one window, canary against stable, and records the verdict with its numbers. */
async function analyseWindow(rollout: RolloutState, stage: RolloutStage, since: string, windowNo: number, until: string): Promise<WindowVerdict> {
  const { input, policy, rolloutKey, status } = rollout;
  const verdict = await analysis.analyseWindow({
    useCaseId: input.useCaseId,
    candidateModelId: rollout.candidateModelId,
    stableModelId: rollout.stableModelId,
    mode: stage.kind === 'shadow' ? 'shadow' : 'canary',
    since,
    baselineSince: new Date(Date.parse(rollout.rolloutStartedAt) - policy.windowSeconds * 1000).toISOString(),
    policy: { analysis: policy.analysis, shadowSuccessRate: policy.shadowSuccessRate },
    workflowId: rollout.workflowId,
    deploymentId: rollout.deploymentId!,
    stageLabel: stage.label,
    rolloutKey,
    requestKey: `${rolloutKey}/analysis/${stage.index}/${windowNo}`,
    sequential: rollout.sequential,
    until,
    stableHeldBack: (stage.stableHoldbackPercent ?? 0) > 0,
    stableServesNoOne: stage.kind === 'traffic' && stage.percent >= 100 && !((stage.stableHoldbackPercent ?? 0) > 0),
  });
  status.verdicts.push({
    stage: stage.index,
    label: stage.label,
    window: windowNo,
    since: verdict.since,
    until: verdict.until,
    verdict: verdict.verdict,
    reason: verdict.reason,
    baselineSource: verdict.baselineSource,
    canary: verdict.canary,
    baseline: verdict.baseline,
    checks: verdict.checks,
  });
  status.window = undefined;
  rollout.publish();
  return verdict;
}

/** Waits out a window, honouring pause (clock stopped), abort and promote. */
async function waitWindow(rollout: RolloutState, stage: RolloutStage, windowNo: number): Promise<'elapsed' | StageOutcome> {
  const { control, status } = rollout;
  let remainingMs = stage.windowSeconds * 1000;
  const startedAt = now();
  for (;;) {
    if (control.abort) return { kind: 'abort', reason: control.abort };
    if (control.promote === 'full') return { kind: 'promote' };
    if (control.promote === 'stage') {
      control.promote = undefined;
      return { kind: 'next' };
    }
    if (status.paused) {
      status.window = { stage: stage.index, startedAt, seconds: stage.windowSeconds, secondsLeftWhenPaused: remainingMs / 1000, extension: windowNo };
      await condition(() => !status.paused || rollout.interrupted());
      continue;
    }
    if (remainingMs <= 0) return 'elapsed';
    const endsAtMs = Date.now() + remainingMs;
    status.window = { stage: stage.index, startedAt, endsAt: new Date(endsAtMs).toISOString(), seconds: stage.windowSeconds, extension: windowNo };
    const load = startEvaluationTraffic(rollout, remainingMs);
    const woken = await condition(() => status.paused || rollout.interrupted(), remainingMs, {
      summary: `window ${windowNo + 1} of stage ${stage.index + 1}/${rollout.stages.length} (${stage.label})${windowNo > 0 ? ', extended: the last one was inconclusive' : ''}`,
    });
    await load?.stop(woken);
    remainingMs = woken ? Math.max(0, endsAtMs - Date.now()) : 0;
  }
}

/**
 * With `evaluationTraffic.enabled`, replays recent player prompts through the gateway for the rest
 * of the window, so an idle canary still gets a verdict. `stop` lets traffic of a window that ran its
 * course finish its last calls (bounded), and cancels it at once when the window was cut short.
 */
function startEvaluationTraffic(rollout: RolloutState, durationMs: number): { stop(woken: boolean): Promise<void> } | undefined {
  const { policy, input, status } = rollout;
  if (!policy.evaluationTraffic.enabled) return undefined;
  const scope = new CancellationScope();
  const driving = scope.run(() =>
    evaluation.driveEvaluationTraffic({
      useCaseId: input.useCaseId,
      candidateModelId: rollout.candidateModelId,
      stableModelId: rollout.stableModelId,
      gatewayUrl: policy.evaluationTraffic.gatewayUrl,
      apiKeyEnv: policy.evaluationTraffic.apiKeyEnv,
      requestsPerSecond: policy.evaluationTraffic.requestsPerSecond,
      durationMs,
      promptPoolSize: policy.evaluationTraffic.promptPoolSize,
    }),
  );
  let drivingDone = false;
  void driving.finally(() => (drivingDone = true)).catch(() => undefined);
  return {
    async stop(woken) {
      if (!woken && !drivingDone) await condition(() => drivingDone || rollout.interrupted(), '5 seconds');
      if (!drivingDone) scope.cancel();
      await driving.then(
        (report) => {
          status.evaluationTraffic = report;
          if (report.ok === 0 && report.sent > 0) log.warn('evaluation traffic: no call succeeded', { lastError: report.lastError });
        },
        (err) => {
          if (!isCancellation(err)) log.warn('evaluation traffic failed', { error: String(err) });
        },
      );
    },
  };
}

/** Moves traffic to a stage's split and waits until every serving place serves it. */
async function setTraffic(rollout: RolloutState, stage: { kind: 'shadow' | 'traffic'; percent: number; label: string }) {
  const { input, status } = rollout;
  const applied = await lockedRegistry.applyTraffic({
    useCaseId: input.useCaseId,
    rolloutKey: rollout.rolloutKey,
    seq: rollout.trafficSeq++,
    stableModelId: rollout.stableModelId,
    candidateModelId: rollout.candidateModelId,
    mode: stage.kind === 'shadow' ? 'shadow' : 'canary',
    percent: stage.percent,
    deploymentId: rollout.deploymentId!,
    label: stage.label,
    createdBy: rollout.requestedBy,
  });
  await verification.verifyServedAllocation({ useCaseId: input.useCaseId, version: applied.allocationVersion, entries: applied.entries });
  status.allocationVersion = applied.allocationVersion;
  status.weightPercent = stage.kind === 'shadow' ? 0 : stage.percent;
  status.shadowPercent = stage.kind === 'shadow' ? stage.percent : 0;
  return applied;
}

/** The candidate becomes stable at 100%, and the new state at rest is snapshotted. */
async function promote(rollout: RolloutState, promoted: Promoted, candidateName: string): Promise<RolloutResult> {
  const { input, status, strategy, rolloutKey } = rollout;
  status.phase = 'promoting';
  status.window = undefined;
  rollout.publish();
  const final = await registry.finalizePromotion({
    useCaseId: input.useCaseId,
    rolloutKey,
    candidateModelId: rollout.candidateModelId,
    stableModelId: rollout.stableModelId,
    deploymentId: rollout.deploymentId!,
    reason: promoted,
    createdBy: rollout.requestedBy,
  });
  await verification.verifyServedAllocation({ useCaseId: input.useCaseId, version: final.allocationVersion, entries: final.entries });
  // The new state at rest: what a later `mms rollback` to "the most recent stable snapshot" restores.
  await registry.captureSnapshot({ useCaseId: input.useCaseId, reason: `after ${strategy} rollout promoted ${candidateName}`, requestKey: `${rolloutKey}/snapshot-after` });
  rollout.control.promote = undefined;
  status.allocationVersion = final.allocationVersion;
  status.weightPercent = 100;
  status.shadowPercent = 0;
  status.phase = 'completed';
  status.outcome = 'promoted';
  status.reason = promoted;
  rollout.publish();
  rollout.notify('completed', { reason: promoted });
  return result(rollout, 'promoted', promoted, final.allocationVersion);
}

/** Restores the starting snapshot and verifies the gateway serves it; runs even if the workflow is cancelled. */
async function rollBack(rollout: RolloutState, reason: string): Promise<RolloutResult> {
  const { input, status } = rollout;
  rollout.rollbackStarted = true;
  status.phase = 'rolling_back';
  status.reason = reason;
  status.paused = false;
  rollout.publish();
  return otel.context.with(rollout.abortTraceContext ?? otel.context.active(), () => CancellationScope.nonCancellable(async () => {
    const restored = await lockedRegistry.restoreSnapshot({
      useCaseId: input.useCaseId,
      snapshotId: rollout.snapshotId!,
      reason,
      requestedBy: rollout.requestedBy,
      workflowId: rollout.workflowId,
      requestKey: `${rollout.rolloutKey}/rollback`,
    });
    await verification.verifyServedAllocation({ useCaseId: input.useCaseId, version: restored.allocationVersion, entries: restored.entries });
    if (rollout.deploymentId) {
      await registry.finishDeployment({
        deploymentId: rollout.deploymentId,
        status: 'rolled_back',
        reason,
        details: { outcome: 'rolled_back', rollbackDeploymentId: restored.deploymentId, restoredAllocationVersion: restored.allocationVersion, windows: status.verdicts.length },
      });
    }
    status.allocationVersion = restored.allocationVersion;
    status.weightPercent = 0;
    status.shadowPercent = 0;
    status.phase = 'rolled_back';
    status.outcome = 'rolled_back';
    status.window = undefined;
    rollout.publish();
    rollout.notify('rolled_back', { reason });
    log.info('rollout rolled back', { useCaseId: input.useCaseId, reason });
    return result(rollout, 'rolled_back', reason, restored.allocationVersion);
  }));
}

/**
 * An activity or the workflow failed: roll back if the rollout had changed traffic, stop without
 * touching the allocation if nothing changed yet or someone else owns it now, and fail the workflow.
 */
async function failRollout(rollout: RolloutState, err: unknown): Promise<never> {
  const { status } = rollout;
  const message = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
  const conflict = err instanceof Error && err.cause instanceof ApplicationFailure && err.cause.type === 'AllocationConflict';
  const fail = async (reason: string) => {
    status.phase = 'failed';
    status.outcome = 'failed';
    status.reason = reason;
    rollout.publish();
    const deploymentId = rollout.deploymentId;
    if (deploymentId) {
      await CancellationScope.nonCancellable(() => registry.finishDeployment({ deploymentId, status: 'failed', reason, details: { outcome: 'failed' } })).catch(() => undefined);
    }
  };
  if (status.phase === 'rolled_back' || status.phase === 'completed') {
    // the rollout already ended; only the bookkeeping after it failed
  } else if (!rollout.snapshotId || conflict) {
    // nothing changed yet, or someone else owns the allocation now: stop without touching it
    await fail(message);
  } else if (rollout.rollbackStarted) {
    await fail(`the rollback failed: ${message}`);
  } else {
    const reason = isCancellation(err) ? 'rollout cancelled' : `rollout failed: ${message}`;
    try {
      await rollBack(rollout, reason);
    } catch (rollbackErr) {
      await fail(`${reason}; the rollback failed too: ${String(rollbackErr)}`);
    }
  }
  if (isCancellation(err)) throw err;
  throw err instanceof ApplicationFailure ? err : ApplicationFailure.nonRetryable(status.reason ?? message, conflict ? 'AllocationConflict' : 'RolloutFailed');
}

function result(rollout: RolloutState, outcome: RolloutResult['outcome'], reason: string, allocationVersion: number): RolloutResult {
  return {
    outcome,
    reason,
    useCaseId: rollout.input.useCaseId,
    deploymentId: rollout.deploymentId!,
    snapshotId: rollout.snapshotId!,
    candidateModelId: rollout.candidateModelId,
    stableModelId: rollout.stableModelId,
    allocationVersion,
    verdicts: rollout.status.verdicts.length,
  };
}
