import {
  continueAsNew,
  executeChild,
  log,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { MetaActivities } from '../activities/meta';
import { ACTION_PRIORITY, decideUseCase } from '../src/meta/decide';
import { databaseBlipRetry, verification } from './activity-stubs';
import {
  emptyTotals,
  metaBatchWorkflowId,
  metaSweepStatusQuery,
  type ActionableDecision,
  type MetaActionRecord,
  type MetaBatchInput,
  type MetaBatchResult,
  type MetaSweepInput,
  type MetaSweepResult,
  type MetaSweepStatus,
} from './meta-optimization-messages';
import { rollbackWorkflow } from './rollback';
import { rollbackWorkflowId } from './rollback-messages';
import { guardrailsMonitorWorkflowId } from './guardrails-monitor-messages';

// Registry reads and decision writes: quick and idempotent (request keys), retried with backoff
// through a database blip (about a minute); a missing use case fails at once.
const meta = proxyActivities<MetaActivities>({ startToCloseTimeout: '60 seconds', retry: { ...databaseBlipRetry, nonRetryableErrorTypes: ['NotFound'] } });

// Outcomes of earlier sweeps' actions ask Temporal about each: best effort, a few tries, never
// holding up the sweep (the next sweep asks again).
const reconcile = proxyActivities<MetaActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
});

const errorText = (err: unknown) => (err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err));
const add = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
};

/**
 * One batch of a sweep: reads the batch's use cases (a fixed number of queries), decides each by the
 * rules of policies.meta (pure, replayed identically) and records every decision in one transaction.
 * The actions go back to the sweep, which holds the budget and the concurrency limit.
 */
export async function metaSweepBatchWorkflow(input: MetaBatchInput): Promise<MetaBatchResult> {
  const lookbackDays = Math.max(1, input.settings.retrainEveryDays, input.settings.paidDiscoveryEveryHours / 24);
  const assessments = await meta.assessUseCases({ useCaseIds: input.useCaseIds, from: input.from, to: input.to, baselineHours: input.settings.baselineHours, lookbackDays });
  const now = Date.parse(input.to);
  const decisions = assessments.flatMap((a) => decideUseCase(a, input.settings, now));
  const recorded = await meta.recordMetaDecisions({ sweepId: input.sweepId, workflowId: input.sweepId, sweepStartedAt: input.sweepStartedAt, dryRun: input.dryRun, decisions });
  const counts: Record<string, number> = {};
  for (const d of decisions) counts[d.action] = (counts[d.action] ?? 0) + 1;
  const actionable: ActionableDecision[] = [];
  if (!input.dryRun) {
    decisions.forEach((d, i) => {
      if (d.action === 'none') return;
      actionable.push({ decisionId: recorded[i]!.decisionId, useCaseId: d.useCaseId, action: d.action, modelId: d.modelId, ...(d.temperature !== undefined ? { temperature: d.temperature } : {}), ...(d.guardrails ? { guardrails: d.guardrails } : {}), reason: d.reason });
    });
  }
  return { batchIndex: input.batchIndex, useCases: assessments.length, decisions: counts, leftAlone: decisions.filter((d) => d.rule === 'rollout_running').length, actionable };
}

/** A sweep's state and its query handler; the orchestrator below acts on it between activities. */
class MetaSweep {
  readonly status: MetaSweepStatus;
  readonly dryRun: boolean;
  constructor(readonly input: MetaSweepInput) {
    const { workflowId } = workflowInfo();
    const c = input.continued;
    this.dryRun = input.dryRun === true || input.settings.dryRun;
    this.status = {
      sweepId: c?.sweepId ?? workflowId,
      phase: c ? 'sweeping' : 'reconciling',
      dryRun: this.dryRun,
      run: c ? c.run + 1 : 1,
      windowEnd: c?.windowEnd ?? new Date().toISOString(),
      cursor: c?.cursor ?? null,
      totals: c?.totals ?? emptyTotals(),
      actions: c?.actions ?? [],
    };
    setHandler(metaSweepStatusQuery, () => this.status);
  }
  get startedAt(): string {
    return this.input.continued?.startedAt ?? this.status.windowEnd;
  }
  record(a: MetaActionRecord) {
    this.status.actions.push(a);
    if (this.status.actions.length > 50) this.status.actions.shift();
    if (a.status === 'started' || a.status === 'executed') this.status.totals.actionsStarted++;
    if (a.status === 'deferred') this.status.totals.actionsDeferred++;
    if (a.status === 'failed') this.status.totals.actionsFailed++;
  }
  absorb(r: MetaBatchResult) {
    const t = this.status.totals;
    t.useCases += r.useCases;
    t.batches++;
    t.leftAlone += r.leftAlone;
    add(t.decisions, r.decisions);
  }
  budgetLeft(): number {
    return this.input.settings.maxActionsPerSweep - this.status.totals.actionsStarted;
  }
}

/** Runs one action; every outcome (started, executed, refused, failed) lands on its decision row. */
async function act(sweep: MetaSweep, d: ActionableDecision): Promise<MetaActionRecord> {
  const requestedBy = `workflow:${sweep.status.sweepId}`;
  const base = { useCaseId: d.useCaseId, action: d.action, decisionId: d.decisionId };
  if (d.action === 'rollback') {
    const workflowId = rollbackWorkflowId(d.useCaseId);
    await meta.updateMetaDecision({ decisionId: d.decisionId, status: 'executing', actionWorkflowId: workflowId });
    try {
      const result = await executeChild(rollbackWorkflow, {
        workflowId,
        args: [{ useCaseId: d.useCaseId, target: { undo: true }, reason: `meta: ${d.reason}`, requestedBy }],
        // A sweep terminated mid-rollback must not take the restore down with it.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        staticSummary: `meta rollback of ${d.useCaseId}`,
      });
      await meta.updateMetaDecision({ decisionId: d.decisionId, status: 'executed', outcome: { rollback: { snapshotId: result.snapshotId, allocationVersion: result.allocationVersion, restoredModelId: result.restoredModelId, deploymentId: result.deploymentId } } });
      return { ...base, status: 'executed', workflowId };
    } catch (err) {
      const already = err instanceof WorkflowExecutionAlreadyStartedError;
      const note = already ? `not started: a rollback of "${d.useCaseId}" is already running (${workflowId})` : `rollback failed: ${errorText(err)}`;
      await meta.updateMetaDecision({ decisionId: d.decisionId, status: already ? 'rejected' : 'failed', note, outcome: already ? {} : { error: errorText(err) } });
      return { ...base, status: already ? 'rejected' : 'failed', workflowId, note };
    }
  }
  if (d.action === 'adjust_parameters') {
    const applied = await meta.applyMetaParameterChange({ decisionId: d.decisionId, useCaseId: d.useCaseId, modelId: d.modelId!, temperature: d.temperature! });
    if (applied.status === 'executed') {
      // The decision is recorded either way; a replica that never loads the version is logged, not fatal.
      await verification.verifyServedAllocation({ useCaseId: d.useCaseId, version: applied.allocationVersion!, entries: applied.entries! }).catch((err) => log.warn('meta parameter change not yet served everywhere', { useCaseId: d.useCaseId, error: errorText(err) }));
      return { ...base, status: 'executed', note: `allocation v${applied.allocationVersion}` };
    }
    return { ...base, status: 'rejected', note: applied.reason };
  }
  if (d.action === 'update_guardrails') {
    // Only decisions of this action reach here, and no history before it has one: no patch needed.
    const applied = await meta.applyGuardrailsUpdate({ decisionId: d.decisionId, useCaseId: d.useCaseId, guardrails: d.guardrails! });
    return { ...base, status: applied.status, workflowId: guardrailsMonitorWorkflowId(d.useCaseId), note: applied.status === 'executed' ? `guardrails v${applied.version}` : applied.note };
  }
  const target = await meta.metaActionWorkflow({ useCaseId: d.useCaseId, action: d.action, decisionId: d.decisionId, reason: d.reason, requestedBy });
  if ('unavailable' in target) {
    await meta.updateMetaDecision({ decisionId: d.decisionId, status: 'rejected', note: `not started: ${target.unavailable}` });
    return { ...base, status: 'rejected', note: target.unavailable };
  }
  try {
    // Long lifecycles (days of training, a paid evaluation and rollout): started and left to run; the
    // next sweeps record their outcome (reconcileMetaOutcomes).
    const child = await startChild(target.workflowType, {
      workflowId: target.workflowId,
      args: target.args,
      ...(target.taskQueue ? { taskQueue: target.taskQueue } : {}),
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `meta ${d.action} of ${d.useCaseId}`,
    });
    await meta.updateMetaDecision({ decisionId: d.decisionId, status: 'executing', actionWorkflowId: target.workflowId, actionRunId: child.firstExecutionRunId });
    return { ...base, status: 'started', workflowId: target.workflowId };
  } catch (err) {
    const already = err instanceof WorkflowExecutionAlreadyStartedError;
    const note = already ? `not started: ${target.workflowId} is already running` : `not started: ${errorText(err)}`;
    await meta.updateMetaDecision({ decisionId: d.decisionId, status: already ? 'rejected' : 'failed', note });
    return { ...base, status: already ? 'rejected' : 'failed', workflowId: target.workflowId, note };
  }
}

/** Acts on a page's decisions: most urgent first, at most maxConcurrentActions at once, within the sweep's budget. */
async function actOn(sweep: MetaSweep, actionable: ActionableDecision[]): Promise<void> {
  const queue = [...actionable].sort((a, b) => ACTION_PRIORITY[a.action] - ACTION_PRIORITY[b.action] || (a.useCaseId < b.useCaseId ? -1 : 1));
  const deferred: ActionableDecision[] = [];
  const runnable: ActionableDecision[] = [];
  let left = sweep.budgetLeft();
  for (const d of queue) {
    if (left > 0) {
      runnable.push(d);
      left--;
    } else deferred.push(d);
  }
  for (const d of deferred) {
    const note = `deferred: the sweep's budget of ${sweep.input.settings.maxActionsPerSweep} actions is spent (policies.meta.maxActionsPerSweep)`;
    await meta.updateMetaDecision({ decisionId: d.decisionId, status: 'rejected', note });
    sweep.record({ useCaseId: d.useCaseId, action: d.action, decisionId: d.decisionId, status: 'deferred', note });
  }
  const lanes = Array.from({ length: Math.min(sweep.input.settings.maxConcurrentActions, runnable.length) }, async () => {
    for (let d = runnable.shift(); d; d = runnable.shift()) {
      try {
        sweep.record(await act(sweep, d));
      } catch (err) {
        log.error('meta action failed', { useCaseId: d.useCaseId, action: d.action, error: errorText(err) });
        sweep.record({ useCaseId: d.useCaseId, action: d.action, decisionId: d.decisionId, status: 'failed', note: errorText(err) });
      }
    }
  });
  await Promise.all(lanes);
}

/**
 * `metaOptimization`, started hourly by its Temporal Schedule (overlap: skip): records the
 * outcomes of earlier sweeps' actions, then sweeps every use case in id order, `parallelBatches` batch
 * children at a time, acting on each page's decisions within the sweep's budget. It continues as new
 * every `batchesPerRun` batches (carrying cursor, totals and budget), so every history stays small
 * however many use cases there are.
 */
export async function metaOptimizationWorkflow(input: MetaSweepInput): Promise<MetaSweepResult> {
  const sweep = new MetaSweep(input);
  const s = input.settings;
  if (!input.continued) {
    await reconcile.reconcileMetaOutcomes().catch((err) => log.warn('outcomes of earlier actions not read; the next sweep reads them', { error: errorText(err) }));
    sweep.status.phase = 'sweeping';
  }
  const windowEnd = Date.parse(sweep.status.windowEnd);
  const from = new Date(windowEnd - s.healthWindowMinutes * 60_000).toISOString();
  let batchesThisRun = 0;
  for (;;) {
    const page = await meta.listMetaUseCases({ after: sweep.status.cursor, limit: s.batchSize * s.parallelBatches });
    if (page.length === 0) break;
    const batches: string[][] = [];
    for (let i = 0; i < page.length; i += s.batchSize) batches.push(page.slice(i, i + s.batchSize));
    const first = sweep.status.totals.batches;
    const results = await Promise.all(
      batches.map((useCaseIds, i) =>
        executeChild(metaSweepBatchWorkflow, {
          workflowId: metaBatchWorkflowId(sweep.status.sweepId, first + i),
          args: [{ sweepId: sweep.status.sweepId, sweepStartedAt: sweep.startedAt, batchIndex: first + i, useCaseIds, settings: s, dryRun: sweep.dryRun, from, to: sweep.status.windowEnd }],
          staticSummary: `meta sweep batch ${first + i}: ${useCaseIds[0]} … ${useCaseIds[useCaseIds.length - 1]}`,
        }),
      ),
    );
    for (const r of results) sweep.absorb(r);
    sweep.status.cursor = page[page.length - 1]!;
    await actOn(sweep, results.flatMap((r) => r.actionable));
    batchesThisRun += batches.length;
    if (page.length < s.batchSize * s.parallelBatches) break;
    if (batchesThisRun >= s.batchesPerRun || workflowInfo().continueAsNewSuggested) {
      const { sweepId, run, cursor, totals, actions } = sweep.status;
      await continueAsNew<typeof metaOptimizationWorkflow>({ ...input, continued: { sweepId, startedAt: sweep.startedAt, windowEnd: sweep.status.windowEnd, cursor, run, totals, actions } });
    }
  }
  sweep.status.phase = 'completed';
  log.info('meta sweep completed', { sweepId: sweep.status.sweepId, dryRun: sweep.dryRun, ...sweep.status.totals });
  return { sweepId: sweep.status.sweepId, dryRun: sweep.dryRun, runs: sweep.status.run, totals: sweep.status.totals, actions: sweep.status.actions };
}
