import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { executeChild, ParentClosePolicy, proxyActivities, setHandler, startChild, uuid4, workflowInfo } from '@temporalio/workflow';
import type { PaidCatalogActivities } from '../activities/paid-catalog';
import type { PaidSwitchActivities, ProbeOutcome } from '../activities/paid-switch';
import { MmsCandidateModel, MmsStatus, MmsStep, MmsUseCase } from '../src/temporal/search-attributes';
import { evaluateWorkflow } from './evaluate';
import { evaluateWorkflowId } from './evaluate-messages';
import {
  paidSwitchStatusQuery,
  paidSwitchWorkflowId,
  type PaidCatalogScanInput,
  type PaidCatalogScanResult,
  type PaidSwitchInput,
  type PaidSwitchResult,
  type PaidSwitchStatus,
  type PaidSwitchTrigger,
} from './paid-switch-messages';
import { rolloutWorkflow } from './rollout';
import { rolloutWorkflowId } from './rollout-messages';
import { validateModelWorkflow } from './validate';
import { validateWorkflowId } from './validate-messages';

// Registry work (plan the ranking, score and decide, record the outcome): idempotent reads and
// writes, retried with backoff through a database blip; a refusal (no catalog, no price) fails fast.
const registry = proxyActivities<PaidSwitchActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10, nonRetryableErrorTypes: ['PaidSwitchRefused', 'NotFound'] },
});

// The scan calls four providers (each retried after its retry-after inside the activity): a few
// attempts, then the switch ranks the catalog it has.
const scanner = proxyActivities<PaidCatalogActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 3 },
});

const cause = (err: unknown): string => {
  let e = err as { cause?: unknown; message?: string } | undefined;
  while (e?.cause) e = e.cause as typeof e;
  return e?.message ?? String(err);
};

/**
 * `paidSwitch:<useCase>`: scan → filter → rank (probe evaluations as children, held to the run's
 * spending cap) → decide against the current model with the margin (waived before a shutdown date) →
 * register → validate (child) → shadow window judged against stable, then the canary steps (the
 * rollout child) → promoted, or rolled back by the rollout. A dry run stops after the decision.
 */
export async function paidSwitchWorkflow(input: PaidSwitchInput): Promise<PaidSwitchResult> {
  const status: PaidSwitchStatus = { useCaseId: input.useCaseId, phase: 'scanning', dryRun: Boolean(input.dryRun), probes: [] };
  setHandler(paidSwitchStatusQuery, () => status);
  const { workflowId } = workflowInfo();
  const trigger: PaidSwitchTrigger = input.trigger ?? { kind: 'manual', reason: `requested by ${input.requestedBy}` };
  let decisionId: string | undefined;
  try {
    let scanId = input.scanId;
    if (!scanId) scanId = (await scanner.scanPaidCatalog({})).scanId;
    status.scanId = scanId;

    status.phase = 'ranking';
    const plan = await registry.planPaidRanking({ useCaseId: input.useCaseId, workflowId, scanId, ...(input.spendingCapUsd !== undefined ? { spendingCapUsd: input.spendingCapUsd } : {}), ...(input.rollout ? { rollout: input.rollout } : {}) });
    status.rankingId = plan.rankingId;
    status.probes = plan.probes.map((p) => ({ provider: p.provider, upstreamId: p.upstreamId, modelId: p.modelId, state: 'pending' }));

    // One probe evaluation at a time, best prior first: the cap is checked before each (and before
    // each call inside it), so the candidates most likely to win are the ones the budget buys.
    status.phase = 'probing';
    const outcomes: ProbeOutcome[] = [];
    for (const [i, probe] of plan.probes.entries()) {
      const entry = status.probes[i]!;
      const spending = await registry.paidRankingSpending({ rankingId: plan.rankingId });
      if (spending.spentUsd + spending.reservedUsd >= spending.capUsd) {
        entry.state = 'skipped';
        entry.detail = `spending cap reached before this probe ($${spending.spentUsd.toFixed(4)} of $${spending.capUsd})`;
        outcomes.push({ modelId: probe.modelId, state: 'skipped', detail: entry.detail });
        continue;
      }
      entry.evaluationWorkflowId = evaluateWorkflowId(probe.modelId, plan.currentModelId, plan.suiteHash);
      try {
        await registry.reopenCappedEvaluation({ evaluationWorkflowId: entry.evaluationWorkflowId });
        const result = await executeChild(evaluateWorkflow, {
          workflowId: entry.evaluationWorkflowId,
          args: [{ candidateModelId: probe.modelId, currentModelId: plan.currentModelId, suiteHash: plan.suiteHash, budgetId: plan.rankingId }],
        });
        entry.state = 'evaluated';
        outcomes.push({ modelId: probe.modelId, state: 'evaluated', evaluationId: result.evaluationId });
      } catch (err) {
        entry.state = 'failed';
        entry.detail = cause(err);
        outcomes.push({ modelId: probe.modelId, state: 'failed', detail: `probe evaluation failed: ${entry.detail}` });
      }
    }

    status.phase = 'deciding';
    const decided = await registry.decidePaidSwitch({
      useCaseId: input.useCaseId,
      rankingId: plan.rankingId,
      workflowId,
      dryRun: Boolean(input.dryRun),
      trigger: plan.shutdown && trigger.kind !== 'shutdown' ? { kind: 'shutdown', reason: `the current model shuts down on ${plan.shutdown.at.slice(0, 10)} (${trigger.reason})` } : trigger,
      probes: outcomes,
      shutdown: plan.shutdown,
      currentModelId: plan.currentModelId,
    });
    decisionId = decided.decisionId;
    const decision = decided.decision;
    status.decision = decision;
    const result = (outcome: PaidSwitchResult['outcome'], reason: string, extra: Partial<PaidSwitchResult> = {}): PaidSwitchResult => {
      status.outcome = outcome;
      status.phase = outcome === 'failed' || outcome === 'validation_failed' ? 'failed' : 'completed';
      return { useCaseId: input.useCaseId, outcome, decisionId: decided.decisionId, decision, reason, ...extra };
    };
    if (input.dryRun) return result('dry_run', `dry run: ${decision.reason}`);
    if (decision.decision === 'keep' || !decision.best) return result('kept', decision.reason);
    const candidateModelId = decision.best.modelId;

    status.phase = 'validating';
    status.validationWorkflowId = validateWorkflowId(candidateModelId);
    try {
      await executeChild(validateModelWorkflow, { workflowId: status.validationWorkflowId, args: [{ modelId: candidateModelId, requestedBy: `paidSwitch:${input.requestedBy}`, comparedWithCurrent: true }] });
    } catch (err) {
      const reason = `validation of the candidate failed: ${cause(err)}`;
      await registry.finishPaidSwitch({ decisionId: decided.decisionId, outcome: 'validation_failed', reason });
      return result('validation_failed', reason, { candidateModelId });
    }

    status.phase = 'rolling_out';
    status.rolloutWorkflowId = rolloutWorkflowId(input.useCaseId);
    const rollout = await executeChild(rolloutWorkflow, {
      workflowId: status.rolloutWorkflowId,
      args: [{ useCaseId: input.useCaseId, candidate: candidateModelId, strategy: plan.rollout.strategy, policy: plan.rollout.policy, requestedBy: `paidSwitch:${input.requestedBy}`, expectedStableModelId: plan.currentModelId, deploymentId: uuid4() }],
      typedSearchAttributes: [
        { key: MmsUseCase, value: input.useCaseId },
        { key: MmsCandidateModel, value: candidateModelId },
        { key: MmsStep, value: 0 },
        { key: MmsStatus, value: 'preparing' },
      ],
    });
    await registry.finishPaidSwitch({ decisionId: decided.decisionId, outcome: rollout.outcome, reason: rollout.reason });
    return result(rollout.outcome, rollout.reason, { candidateModelId, rolloutWorkflowId: status.rolloutWorkflowId });
  } catch (err) {
    status.phase = 'failed';
    status.outcome = 'failed';
    status.error = cause(err);
    if (decisionId) await registry.finishPaidSwitch({ decisionId, outcome: 'failed', reason: status.error });
    throw err;
  }
}

/**
 * The scan schedule's run: scan the paid providers, then start `paidSwitch:<useCase>` (abandoned: it
 * outlives this run) for each use case whose model shuts down within the notice; one already running is left alone.
 */
export async function paidCatalogScanWorkflow(input: PaidCatalogScanInput): Promise<PaidCatalogScanResult> {
  const { scanId } = await scanner.scanPaidCatalog({});
  const notices = await registry.paidShutdownNotices();
  const shutdownSwitches: PaidCatalogScanResult['shutdownSwitches'] = [];
  for (const notice of notices) {
    const workflowId = paidSwitchWorkflowId(notice.useCaseId);
    try {
      await startChild(paidSwitchWorkflow, {
        workflowId,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        args: [{ useCaseId: notice.useCaseId, scanId, requestedBy: input.requestedBy, trigger: { kind: 'shutdown', reason: `${notice.model} shuts down on ${notice.shutdownAt.slice(0, 10)}` } }],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    shutdownSwitches.push({ ...notice, workflowId });
  }
  return { scanId, shutdownSwitches };
}
