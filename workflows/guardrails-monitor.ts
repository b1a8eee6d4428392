import { condition, continueAsNew, executeChild, log, ParentClosePolicy, patched, proxyActivities, setHandler, sleep, startChild, workflowInfo } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { pipelineWorkflow } from './pipeline';
import { pipelineWorkflowId } from './pipeline-messages';
import type { GuardrailsActivities } from '../activities/guardrails';
import { decideInterventions, emptyMonitorState, type GuardrailsWindow, type Intervention } from '../src/guardrails/interventions';
import { verification } from './activity-stubs';
import {
  configureMonitorSignal,
  criticalObservedSignal,
  guardrailsMonitorStatusQuery,
  type GuardrailsMonitorInput,
  type GuardrailsMonitorSettings,
  type GuardrailsMonitorStatus,
} from './guardrails-monitor-messages';
import { rollbackWorkflow } from './rollback';
import { rollbackWorkflowId } from './rollback-messages';

// Registry reads and decision writes: quick and idempotent (request keys), retried with backoff
// through a database blip; a missing use case fails at once. A window that still fails is skipped
// (logged): the monitor must outlive a database outage, and the next window reads the same logs.
const registry = proxyActivities<GuardrailsActivities>({
  startToCloseTimeout: '60 seconds',
  retry: { initialInterval: '500 ms', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 10, nonRetryableErrorTypes: ['NotFound'] },
});

// Tier 2 on a window's logged outputs: embeddings (seconds to minutes for thousands of outputs on a
// CPU) and model guards over the network. Retried a few times; a window it cannot judge is judged on
// tier 1 alone (logged), and the next window judges its own outputs.
const tier2 = proxyActivities<GuardrailsActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 3, nonRetryableErrorTypes: ['NotFound'] },
});

/** Early judgements after critical signals are at least this far apart, so a burst is read as one window, not one query per output. */
const MIN_EARLY_JUDGEMENT_MS = 1000;
/**
 * After a signalled judgement that saw critical outputs but no burst yet, the window is read again
 * this often, this many times: the gateway signals before its log writer has flushed the burst's
 * rows, and the last signal of a burst must not leave its last rows unjudged until the window ends.
 */
const FOLLOW_UP_MS = 2000;
const FOLLOW_UPS = 5;
/** Windows per run before continue-as-new (Temporal may suggest it earlier). */
const WINDOWS_PER_RUN = 500;

const errorText = (err: unknown) => (err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err));

/**
 * `guardrailsMonitor:<useCase>`: judges the last `windowSeconds` of the use case's outputs
 * every window (a durable timer) and at once when the gateway reports a critical violation outside a
 * rollout, and takes the interventions `decideInterventions` calls for — rollback (the rollback
 * workflow as a child, undo), a parameter adjustment (a new allocation version), a retrain request —
 * each a recorded decision with its reasons. Runs until terminated, continuing as new.
 */
export async function guardrailsMonitorWorkflow(input: GuardrailsMonitorInput): Promise<void> {
  const { useCaseId } = input;
  const { workflowId, runId } = workflowInfo();
  let settings: GuardrailsMonitorSettings = { policy: input.policy, actions: input.actions };
  let state = input.state ?? emptyMonitorState();
  let criticalObserved = false;
  const status: GuardrailsMonitorStatus = { useCaseId, settings, windowsJudged: input.windowsJudged ?? 0, decisions: [] };
  setHandler(criticalObservedSignal, () => void (criticalObserved = true));
  setHandler(configureMonitorSignal, (next) => void (status.settings = settings = next));
  setHandler(guardrailsMonitorStatusQuery, () => status);

  const remember = (i: Intervention, status_: string, decisionId?: string) => {
    status.decisions.push({ at: new Date().toISOString(), kind: i.kind, modelId: i.modelId, status: status_, reason: i.reason, decisionId });
    if (status.decisions.length > 20) status.decisions.shift();
  };

  async function rollBack(i: Intervention, requestKey: string): Promise<void> {
    const { decisionId } = await registry.recordGuardrailsDecision({ useCaseId, intervention: i, status: 'executing', workflowId, requestKey });
    try {
      const result = await executeChild(rollbackWorkflow, {
        workflowId: rollbackWorkflowId(useCaseId),
        args: [{ useCaseId, target: { undo: true }, reason: `guardrails: ${i.reason}`, requestedBy: `workflow:${workflowId}` }],
        // A monitor terminated mid-rollback must not take the restore down with it.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        staticSummary: `guardrails rollback of ${useCaseId} (critical burst)`,
      });
      await registry.finishGuardrailsDecision({ decisionId, useCaseId, kind: i.kind, status: 'executed', outcome: { rollback: { snapshotId: result.snapshotId, allocationVersion: result.allocationVersion, restoredModelId: result.restoredModelId, deploymentId: result.deploymentId } } });
      remember(i, 'executed', decisionId);
    } catch (err) {
      await registry.finishGuardrailsDecision({ decisionId, useCaseId, kind: i.kind, status: 'failed', outcome: { error: errorText(err) } });
      remember(i, 'failed', decisionId);
    }
  }

  async function adjust(i: Intervention, requestKey: string): Promise<void> {
    const applied = await registry.applyParameterAdjustment({ useCaseId, intervention: i, workflowId, requestKey });
    remember(i, applied.status, applied.decisionId);
    if (applied.status === 'executed') {
      // The decision is recorded either way; a replica that never loads the version is logged, not fatal.
      await verification.verifyServedAllocation({ useCaseId, version: applied.allocationVersion!, entries: applied.entries! }).catch((err) => log.warn('adjusted allocation not yet served everywhere', { useCaseId, error: errorText(err) }));
    }
  }

  /**
   * A retrain request starts the self-hosted pipeline (`pipeline:<useCase>`, abandoned by this
   * monitor when it closes): it builds its dataset from guardrail-clean logged answers only, so the
   * outputs that failed are not learnt again. Rejected, with the reason, when a pipeline run is already
   * going or the use case has none.
   */
  async function retrain(i: Intervention, requestKey: string): Promise<void> {
    const how = settings.retrain;
    if (!how || 'unavailable' in how) {
      const { decisionId } = await registry.recordGuardrailsDecision({ useCaseId, intervention: { ...i, status: 'rejected', reason: `${i.reason}; not started: ${how?.unavailable ?? 'no pipeline settings'}` }, status: 'rejected', workflowId, requestKey });
      return remember(i, 'rejected', decisionId);
    }
    const { decisionId } = await registry.recordGuardrailsDecision({ useCaseId, intervention: i, status: 'executing', workflowId, requestKey });
    const pipelineId = pipelineWorkflowId(useCaseId);
    try {
      const child = await startChild<typeof pipelineWorkflow>('pipelineWorkflow', {
        workflowId: pipelineId,
        args: [{ useCaseId, gpuTaskQueue: how.gpuTaskQueue, settings: how.settings, requestedBy: `workflow:${workflowId}` }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        staticSummary: `self-hosted pipeline of ${useCaseId}: retrain after repeated safety failures`,
      });
      await registry.finishGuardrailsDecision({ decisionId, useCaseId, kind: i.kind, status: 'executed', outcome: { pipeline: { workflowId: pipelineId, runId: child.firstExecutionRunId } } });
      remember(i, 'executed', decisionId);
    } catch (err) {
      const running = err instanceof WorkflowExecutionAlreadyStartedError;
      await registry.finishGuardrailsDecision({ decisionId, useCaseId, kind: i.kind, status: running ? 'rejected' : 'failed', outcome: running ? { pipeline: { workflowId: pipelineId }, reason: 'a pipeline run of this use case is already going' } : { error: errorText(err) } });
      remember(i, running ? 'rejected' : 'failed', decisionId);
    }
  }

  async function intervene(i: Intervention, requestKey: string): Promise<void> {
    if (i.kind === 'rollback' && i.status === 'proposed') return rollBack(i, requestKey);
    if (i.kind === 'adjust_parameters') return adjust(i, requestKey);
    if (i.kind === 'retrain' && patched('guardrails-retrain-pipeline')) return retrain(i, requestKey);
    const { decisionId } = await registry.recordGuardrailsDecision({ useCaseId, intervention: i, status: i.status, workflowId, requestKey });
    remember(i, i.status, decisionId);
  }

  let lastJudgedAt = 0;
  let followUps = 0;
  for (let n = 0; n < WINDOWS_PER_RUN && !workflowInfo().continueAsNewSuggested; n++) {
    // A monitor just started judges at once: an incident from before its start does not wait a window.
    const fresh = n === 0 && input.windowsJudged === undefined;
    const signalled = !fresh && (await condition(() => criticalObserved, (followUps > 0 ? FOLLOW_UP_MS : settings.policy.windowSeconds * 1000)));
    if (signalled) {
      if (Date.now() - lastJudgedAt < MIN_EARLY_JUDGEMENT_MS) await sleep(MIN_EARLY_JUDGEMENT_MS - (Date.now() - lastJudgedAt));
      followUps = FOLLOW_UPS;
    } else if (followUps > 0) followUps--;
    criticalObserved = false;
    const to = Date.now();
    lastJudgedAt = to;
    // Tier 2 behind the hot path, on each window's logged outputs; an early judgement after a critical
    // signal skips it (tier 1 already found the burst, and the rollback must not wait for embeddings).
    if (!signalled && followUps === 0 && patched('guardrails-tier2')) {
      try {
        status.lastTier2 = await tier2.judgeWindowTier2({ useCaseId, from: new Date(to - settings.policy.windowSeconds * 1000).toISOString(), to: new Date(to).toISOString() });
      } catch (err) {
        log.warn('tier 2 did not judge this window; tier 1 findings only', { useCaseId, error: errorText(err) });
      }
    }
    let window: GuardrailsWindow;
    try {
      window = await registry.readGuardrailsWindow({ useCaseId, from: new Date(to - settings.policy.windowSeconds * 1000).toISOString(), to: new Date(to).toISOString() });
    } catch (err) {
      log.warn('guardrails window not read; the next window reads these logs again', { useCaseId, error: errorText(err) });
      continue;
    }
    status.windowsJudged++;
    status.lastWindow = { from: window.from, to: window.to, allocationVersion: window.allocationVersion, rolloutRunning: window.rolloutRunning, models: window.models };
    const decided = decideInterventions(window, settings.policy, settings.actions, state, to);
    state = decided.state;
    if (!window.models.some((m) => m.critical > 0) || decided.interventions.some((i) => i.kind === 'rollback')) followUps = 0;
    for (const [k, intervention] of decided.interventions.entries()) {
      try {
        await intervene(intervention, `${workflowId}/${runId}/${n}/${k}`);
      } catch (err) {
        log.error('guardrails intervention failed', { useCaseId, kind: intervention.kind, error: errorText(err) });
        remember(intervention, `failed: ${errorText(err)}`);
      }
    }
  }
  await continueAsNew<typeof guardrailsMonitorWorkflow>({ useCaseId, ...settings, state, windowsJudged: status.windowsJudged });
}
