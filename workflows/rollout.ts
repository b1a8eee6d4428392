import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RegistryActivities } from '../activities/registry';
import type { RolloutActivities, RolloutEvent, RolloutEventType, WindowVerdict } from '../activities/rollout';
import { MmsCandidateModel, MmsStatus, MmsStep, MmsUseCase } from '../src/temporal/search-attributes';
import {
  abortUpdate,
  criticalViolationSignal,
  pauseUpdate,
  planRollout,
  promoteUpdate,
  resumeUpdate,
  rolloutStatusQuery,
  strategyProblem,
  terminalPhases,
  type PauseRequest,
  type PromoteRequest,
  type ResumeRequest,
  type RolloutInput,
  type RolloutResult,
  type RolloutStage,
  type RolloutStatus,
  type RolloutStrategy,
} from './rollout-messages';

// Registry reads and writes (prepare, snapshot, deployment row, promotion): quick and idempotent,
// retried with backoff through a database blip; a fault no retry can mend fails fast (non-retryable).
const registry = proxyActivities<RegistryActivities & RolloutActivities>({
  startToCloseTimeout: '60 seconds',
  retry: { initialInterval: '500 ms', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 10 },
});

// Traffic changes and the snapshot restore hold the use case's row lock: they heartbeat, so a worker
// killed mid-transaction is noticed in seconds and the change retried (idempotent, never out of order).
const traffic = proxyActivities<RegistryActivities & RolloutActivities>({
  startToCloseTimeout: '60 seconds',
  heartbeatTimeout: '5 seconds',
  retry: { initialInterval: '500 ms', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 10 },
});

// Waits for the gateway replicas to serve a new allocation (they poll within ~1 s): frequent, flat
// retries for a bounded time, then the rollout fails loudly instead of judging traffic it never got.
const verification = proxyActivities<RegistryActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '250 ms', backoffCoefficient: 1.5, maximumInterval: '2 seconds', maximumAttempts: 40 },
});

// Window analysis reads the logs (read-only, recorded once per window): a few retries, then the
// rollout rolls back rather than promote on a verdict it could not compute.
const analysis = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '15 seconds', maximumAttempts: 5 },
});

// Evaluation traffic runs for a whole window and heartbeats; it is cancelled when the window ends
// early. Best effort: a failed attempt is retried twice, then the window relies on player traffic.
const evaluation = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '7 days',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2 seconds', maximumAttempts: 3 },
});

// Webhooks are notifications: a few retries, never blocking or failing the rollout.
const webhooks = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
});

type StageOutcome = { kind: 'next' } | { kind: 'promote' } | { kind: 'abort'; reason: string };

/**
 * Progressive delivery of a candidate model for one use case (seed sections 2.1 and 4): snapshot,
 * deploy beside stable, optional shadow stage, traffic steps each watched for a monitoring window and
 * analysed against stable, then promotion — or a rollback to the starting snapshot, at once, on a
 * failed window, an abort or a critical guardrail violation.
 */
export async function rolloutWorkflow(input: RolloutInput): Promise<RolloutResult> {
  const { workflowId, runId } = workflowInfo();
  const rolloutKey = `${workflowId}/${runId}`;
  const requestedBy = `rollout ${workflowId} (${input.requestedBy})`;
  const policy = input.policy;
  const problem = strategyProblem(input.strategy, input.force);
  if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidRollout');
  const strategy = input.strategy as RolloutStrategy;
  const stages = planRollout(strategy, policy);
  if (strategy === 'all_at_once') log.warn('all_at_once rollout forced: 100% of traffic moves to the candidate in one step', { useCaseId: input.useCaseId });

  const now = () => new Date(Date.now()).toISOString();
  const status: RolloutStatus = {
    workflowId,
    useCaseId: input.useCaseId,
    strategy,
    candidate: input.candidate,
    phase: 'preparing',
    stages,
    stageIndex: -1,
    weightPercent: 0,
    shadowPercent: 0,
    paused: false,
    verdicts: [],
    startedAt: now(),
    updatedAt: now(),
  };
  const control: { abort?: string; promote?: 'full' | 'stage'; resumed: number } = { resumed: 0 };
  const isTerminal = () => terminalPhases.includes(status.phase);
  const interrupted = () => control.abort !== undefined || control.promote !== undefined;

  // Observability: search attributes for the Web UI's list, a one-line memo for people.
  const publish = () => {
    status.updatedAt = now();
    const state = status.paused ? 'paused' : status.outcome ?? status.phase;
    upsertSearchAttributes([
      { key: MmsUseCase, value: input.useCaseId },
      { key: MmsCandidateModel, value: status.candidateModelId ?? input.candidate },
      { key: MmsStep, value: status.stageIndex + 1 },
      { key: MmsStatus, value: state },
    ]);
    const stage = stages[status.stageIndex];
    upsertMemo({
      summary:
        `${strategy} rollout of ${status.candidateModelId ?? input.candidate} on ${input.useCaseId}: ${state}` +
        (stage ? `, stage ${status.stageIndex + 1}/${stages.length} (${stage.label})` : '') +
        (status.reason ? ` — ${status.reason}` : ''),
    });
  };

  // Webhook events: fire and forget, collected so the workflow waits for them before it ends.
  const notifications: Array<Promise<unknown>> = [];
  let eventSeq = 0;
  const notify = (type: RolloutEventType, extra: Partial<RolloutEvent> = {}) => {
    if (!policy.webhookUrl) return;
    const event: RolloutEvent = {
      id: `${rolloutKey}/event/${++eventSeq}`,
      type,
      at: now(),
      workflowId,
      useCaseId: input.useCaseId,
      strategy,
      candidateModelId: status.candidateModelId,
      stableModelId: status.stableModelId,
      deploymentId: status.deploymentId,
      stage: stages[status.stageIndex]?.label,
      weightPercent: status.weightPercent,
      ...extra,
    };
    notifications.push(webhooks.postWebhook({ url: policy.webhookUrl, event }).catch((err) => log.warn('webhook failed', { type, error: String(err) })));
  };

  const pause = (reason: string) => {
    status.paused = true;
    status.pauseReason = reason;
    publish();
    notify('paused', { reason });
  };

  setHandler(rolloutStatusQuery, () => status);
  setHandler(
    pauseUpdate,
    (req) => {
      pause(req.reason ?? `paused by ${req.by ?? 'an operator'}`);
      return status;
    },
    {
      validator: (_req: PauseRequest) => {
        if (isTerminal() || status.phase === 'rolling_back' || status.phase === 'promoting') throw new Error(`the rollout is ${status.phase}; nothing to pause`);
        if (status.paused) throw new Error(`the rollout is already paused (${status.pauseReason})`);
      },
    },
  );
  setHandler(
    resumeUpdate,
    (req) => {
      status.paused = false;
      status.pauseReason = undefined;
      control.resumed++;
      publish();
      notify('resumed', { reason: `resumed by ${req.by ?? 'an operator'}` });
      return status;
    },
    {
      validator: (_req: ResumeRequest) => {
        if (!status.paused) throw new Error(`the rollout is not paused (it is ${status.phase})`);
      },
    },
  );
  setHandler(
    abortUpdate,
    async (req) => {
      control.abort ??= `aborted by ${req.by ?? 'an operator'}: ${req.reason}`;
      await condition(isTerminal);
      return status;
    },
    {
      validator: (req) => {
        if (!req?.reason?.trim()) throw new Error('abort needs a reason');
        if (isTerminal() || status.phase === 'promoting') throw new Error(`the rollout is ${status.phase}; it can no longer be aborted (roll back with \`mms rollback\`)`);
      },
    },
  );
  setHandler(
    promoteUpdate,
    async (req) => {
      control.promote = req.full ? 'full' : (control.promote ?? 'stage');
      status.paused = false; // promoting past a pause, as argo's promote does
      status.pauseReason = undefined;
      if (req.full) await condition(isTerminal);
      else await condition(() => control.promote === undefined || isTerminal());
      return status;
    },
    {
      validator: (_req: PromoteRequest) => {
        if (isTerminal() || status.phase === 'rolling_back' || status.phase === 'promoting') throw new Error(`the rollout is ${status.phase}; nothing to promote`);
        if (control.abort) throw new Error('the rollout is being aborted');
      },
    },
  );
  setHandler(criticalViolationSignal, (violation) => {
    if (status.candidateModelId && violation.modelId !== status.candidateModelId) {
      log.warn('critical violation by a model other than the candidate: not this rollout’s to abort', { modelId: violation.modelId });
      return;
    }
    control.abort ??= `critical guardrail violation (${violation.category}) by the candidate${violation.logId ? ` in call ${violation.logId}` : ''}${violation.detail ? `: ${violation.detail}` : ''}`;
  });

  publish();
  let snapshotId: string | undefined;
  let deploymentId: string | undefined;
  let candidateModelId = '';
  let stableModelId = '';
  let seq = 0;
  let rolloutStartedAt = status.startedAt;

  /** Waits out a window, honouring pause (clock stopped), abort and promote. */
  async function waitWindow(stage: RolloutStage, windowNo: number): Promise<'elapsed' | StageOutcome> {
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
        await condition(() => !status.paused || interrupted());
        continue;
      }
      if (remainingMs <= 0) return 'elapsed';
      const endsAtMs = Date.now() + remainingMs;
      status.window = { stage: stage.index, startedAt, endsAt: new Date(endsAtMs).toISOString(), seconds: stage.windowSeconds, extension: windowNo };
      const load = policy.evaluationTraffic.enabled ? new CancellationScope() : undefined;
      const driving = load?.run(() =>
        evaluation.driveEvaluationTraffic({
          useCaseId: input.useCaseId,
          candidateModelId,
          stableModelId,
          gatewayUrl: policy.evaluationTraffic.gatewayUrl,
          apiKeyEnv: policy.evaluationTraffic.apiKeyEnv,
          requestsPerSecond: policy.evaluationTraffic.requestsPerSecond,
          durationMs: remainingMs,
          promptPoolSize: policy.evaluationTraffic.promptPoolSize,
        }),
      );
      let drivingDone = false;
      void driving?.finally(() => (drivingDone = true)).catch(() => undefined);
      const woken = await condition(() => status.paused || interrupted(), remainingMs);
      if (load && driving) {
        // a window that ran its course lets the traffic finish its last calls (bounded); otherwise stop it now
        if (!woken && !drivingDone) await condition(() => drivingDone || interrupted(), '5 seconds');
        if (!drivingDone) load.cancel();
        await driving.then(
          (report) => {
            status.evaluationTraffic = report;
            if (report.ok === 0 && report.sent > 0) log.warn('evaluation traffic: no call succeeded', { lastError: report.lastError });
          },
          (err) => {
            if (!isCancellation(err)) log.warn('evaluation traffic failed', { error: String(err) });
          },
        );
      }
      remainingMs = woken ? Math.max(0, endsAtMs - Date.now()) : 0;
    }
  }

  /** One stage: its windows (extended while inconclusive, then paused for a person) and their verdicts. */
  async function runStage(stage: RolloutStage, since: string): Promise<StageOutcome> {
    let windowNo = 0;
    let extensionsLeft = policy.analysis.maxInconclusiveExtensions;
    for (;;) {
      const waited = await waitWindow(stage, windowNo);
      if (waited !== 'elapsed') return waited;
      const verdict: WindowVerdict = await analysis.analyseWindow({
        useCaseId: input.useCaseId,
        candidateModelId,
        stableModelId,
        mode: stage.kind === 'shadow' ? 'shadow' : 'canary',
        since,
        baselineSince: new Date(Date.parse(rolloutStartedAt) - policy.windowSeconds * 1000).toISOString(),
        policy: { analysis: policy.analysis, shadowSuccessRate: policy.shadowSuccessRate },
        workflowId,
        deploymentId: deploymentId!,
        stageLabel: stage.label,
        rolloutKey,
        requestKey: `${rolloutKey}/analysis/${stage.index}/${windowNo}`,
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
      publish();
      windowNo++;
      if (verdict.verdict === 'fail') return { kind: 'abort', reason: `stage ${stage.index + 1} (${stage.label}) failed analysis: ${verdict.reason}` };
      if (verdict.verdict === 'pass') return { kind: 'next' };
      if (control.abort || control.promote) continue; // an abort or promote that arrived during analysis wins
      if (extensionsLeft > 0) {
        extensionsLeft--;
        log.info('inconclusive window: extending', { stage: stage.label, reason: verdict.reason });
        continue;
      }
      pause(`stage ${stage.index + 1} (${stage.label}) inconclusive after ${windowNo} window(s): ${verdict.reason}`);
      const resumedBefore = control.resumed;
      await condition(() => control.resumed > resumedBefore || interrupted());
      extensionsLeft = policy.analysis.maxInconclusiveExtensions; // a person resumed: a fresh allowance
    }
  }

  /** Restores the starting snapshot and verifies the gateway serves it; runs even if the workflow is cancelled. */
  let rollbackStarted = false;
  async function rollBack(reason: string): Promise<RolloutResult> {
    rollbackStarted = true;
    status.phase = 'rolling_back';
    status.reason = reason;
    status.paused = false;
    publish();
    return CancellationScope.nonCancellable(async () => {
      const restored = await traffic.restoreSnapshot({
        useCaseId: input.useCaseId,
        snapshotId: snapshotId!,
        reason,
        requestedBy,
        workflowId,
        requestKey: `${rolloutKey}/rollback`,
      });
      await verification.verifyServedAllocation({ useCaseId: input.useCaseId, version: restored.allocationVersion, entries: restored.entries });
      if (deploymentId) {
        await registry.finishDeployment({
          deploymentId,
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
      publish();
      notify('rolled_back', { reason });
      log.info('rollout rolled back', { useCaseId: input.useCaseId, reason });
      return result('rolled_back', reason, restored.allocationVersion);
    });
  }

  const result = (outcome: RolloutResult['outcome'], reason: string, allocationVersion: number): RolloutResult => ({
    outcome,
    reason,
    useCaseId: input.useCaseId,
    deploymentId: deploymentId!,
    snapshotId: snapshotId!,
    candidateModelId,
    stableModelId,
    allocationVersion,
    verdicts: status.verdicts.length,
  });

  async function setTraffic(stage: { kind: 'shadow' | 'traffic'; percent: number; label: string }) {
    const applied = await traffic.applyTraffic({
      useCaseId: input.useCaseId,
      rolloutKey,
      seq: seq++,
      stableModelId,
      candidateModelId,
      mode: stage.kind === 'shadow' ? 'shadow' : 'canary',
      percent: stage.percent,
      deploymentId: deploymentId!,
      label: stage.label,
      createdBy: requestedBy,
    });
    await verification.verifyServedAllocation({ useCaseId: input.useCaseId, version: applied.allocationVersion, entries: applied.entries });
    status.allocationVersion = applied.allocationVersion;
    status.weightPercent = stage.kind === 'shadow' ? 0 : stage.percent;
    status.shadowPercent = stage.kind === 'shadow' ? stage.percent : 0;
    return applied;
  }

  try {
    const prepared = await registry.prepareRollout({ useCaseId: input.useCaseId, candidate: input.candidate, expectedStableModelId: input.expectedStableModelId });
    candidateModelId = status.candidateModelId = prepared.candidateModelId;
    stableModelId = status.stableModelId = prepared.stableModelId;
    publish();
    const snapshot = await registry.captureSnapshot({ useCaseId: input.useCaseId, reason: `before ${strategy} rollout of ${prepared.candidateName}`, requestKey: `${rolloutKey}/snapshot` });
    snapshotId = status.snapshotId = snapshot.snapshotId;
    const deployment = await registry.startDeployment({
      deploymentId: input.deploymentId,
      useCaseId: input.useCaseId,
      candidateModelId,
      stableModelId,
      strategy,
      snapshotId,
      workflowId,
      requestKey: `${rolloutKey}/deployment`,
      details: { requestedBy: input.requestedBy, force: input.force ?? false, stages: stages.map((s) => s.label), windowSeconds: policy.windowSeconds, runId },
    });
    deploymentId = status.deploymentId = deployment.deploymentId;
    notify('started');

    // Deploy beside stable: as a shadow when the first stage is one, else at weight 0.
    const deployed = await setTraffic(stages[0]!.kind === 'shadow' ? stages[0]! : { kind: 'traffic', percent: 0, label: 'deployed at 0%' });
    rolloutStartedAt = deployed.appliedAt;

    let promoted: 'all stages passed' | 'promoted by an operator' = 'all stages passed';
    for (const stage of stages) {
      if (control.abort) return await rollBack(control.abort);
      if (control.promote === 'full') {
        promoted = 'promoted by an operator';
        break;
      }
      status.stageIndex = stage.index;
      status.phase = stage.kind === 'shadow' ? 'shadow' : 'canary';
      status.window = undefined;
      const applied = stage.index === 0 && stage.kind === 'shadow' ? deployed : await setTraffic(stage);
      publish();
      notify('step');
      const stageOutcome = await runStage(stage, applied.appliedAt);
      if (stageOutcome.kind === 'abort') return await rollBack(stageOutcome.reason);
      if (stageOutcome.kind === 'promote') {
        promoted = 'promoted by an operator';
        break;
      }
    }
    if (control.abort) return await rollBack(control.abort);

    status.phase = 'promoting';
    status.window = undefined;
    publish();
    const final = await registry.finalizePromotion({ useCaseId: input.useCaseId, rolloutKey, candidateModelId, stableModelId, deploymentId, reason: promoted, createdBy: requestedBy });
    await verification.verifyServedAllocation({ useCaseId: input.useCaseId, version: final.allocationVersion, entries: final.entries });
    // The new state at rest: what a later `mms rollback` to "the most recent stable snapshot" restores.
    await registry.captureSnapshot({ useCaseId: input.useCaseId, reason: `after ${strategy} rollout promoted ${prepared.candidateName}`, requestKey: `${rolloutKey}/snapshot-after` });
    control.promote = undefined;
    status.allocationVersion = final.allocationVersion;
    status.weightPercent = 100;
    status.shadowPercent = 0;
    status.phase = 'completed';
    status.outcome = 'promoted';
    status.reason = promoted;
    publish();
    notify('completed', { reason: promoted });
    return result('promoted', promoted, final.allocationVersion);
  } catch (err) {
    const message = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    const conflict = err instanceof Error && err.cause instanceof ApplicationFailure && err.cause.type === 'AllocationConflict';
    const fail = async (reason: string) => {
      status.phase = 'failed';
      status.outcome = 'failed';
      status.reason = reason;
      publish();
      if (deploymentId) {
        await CancellationScope.nonCancellable(() => registry.finishDeployment({ deploymentId: deploymentId!, status: 'failed', reason, details: { outcome: 'failed' } })).catch(() => undefined);
      }
    };
    if (status.phase === 'rolled_back' || status.phase === 'completed') {
      // the rollout already ended; only the bookkeeping after it failed
    } else if (!snapshotId || conflict) {
      // nothing changed yet, or someone else owns the allocation now: stop without touching it
      await fail(message);
    } else if (rollbackStarted) {
      await fail(`the rollback failed: ${message}`);
    } else {
      const reason = isCancellation(err) ? 'rollout cancelled' : `rollout failed: ${message}`;
      try {
        await rollBack(reason);
      } catch (rollbackErr) {
        await fail(`${reason}; the rollback failed too: ${String(rollbackErr)}`);
      }
    }
    if (isCancellation(err)) throw err;
    throw err instanceof ApplicationFailure ? err : ApplicationFailure.nonRetryable(status.reason ?? message, conflict ? 'AllocationConflict' : 'RolloutFailed');
  } finally {
    await CancellationScope.nonCancellable(async () => {
      await Promise.all(notifications);
      await condition(allHandlersFinished);
    });
  }
}
