import { executeChild, log, ParentClosePolicy, patched, proxyActivities, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { pipelineWorkflow } from './pipeline';
import { pipelineWorkflowId } from './pipeline-messages';
import type { GuardrailsActivities } from '../activities/guardrails';
import type { Intervention } from '../src/guardrails/interventions';
import { verification } from './activity-stubs';
import type { GuardrailsMonitorSettings, GuardrailsMonitorStatus } from './guardrails-monitor-messages';
import { rollbackWorkflow } from './rollback';
import { rollbackWorkflowId } from './rollback-messages';

// Registry reads and decision writes: quick and idempotent (request keys), retried with backoff
// through a database blip; a missing use case fails at once. A window that still fails is skipped
// (logged): the monitor must outlive a database outage, and the next window reads the same logs.
export const registry = proxyActivities<GuardrailsActivities>({
  startToCloseTimeout: '60 seconds',
  retry: { initialInterval: '500 ms', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 10, nonRetryableErrorTypes: ['NotFound'] },
});

// Tier 2 on a window's logged outputs: embeddings (seconds to minutes for thousands of outputs on a
// CPU) and model guards over the network. Retried a few times; a window it cannot judge is judged on
// tier 1 alone (logged), and the next window judges its own outputs.
export const tier2 = proxyActivities<GuardrailsActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 3, nonRetryableErrorTypes: ['NotFound'] },
});

export const errorText = (err: unknown) => (err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err));

/**
 * The monitor's state that its handlers and interventions share — the settings (replaced by the
 * configure signal), the status (read by the query) and whether a critical signal arrived — and the
 * interventions themselves: each a recorded decision with its reasons, executed here.
 */
export class GuardrailsMonitorRun {
  criticalObserved = false;
  readonly status: GuardrailsMonitorStatus;

  constructor(
    readonly useCaseId: string,
    readonly workflowId: string,
    public settings: GuardrailsMonitorSettings,
    windowsJudged: number,
  ) {
    this.status = { useCaseId, settings, windowsJudged, decisions: [] };
  }

  configure(next: GuardrailsMonitorSettings): void {
    this.status.settings = this.settings = next;
  }

  remember(i: Intervention, status: string, decisionId?: string): void {
    this.status.decisions.push({ at: new Date().toISOString(), kind: i.kind, modelId: i.modelId, status, reason: i.reason, decisionId });
    if (this.status.decisions.length > 20) this.status.decisions.shift();
  }

  async intervene(i: Intervention, requestKey: string): Promise<void> {
    if (i.kind === 'rollback' && i.status === 'proposed') return this.rollBack(i, requestKey);
    if (i.kind === 'adjust_parameters') return this.adjust(i, requestKey);
    if (i.kind === 'retrain' && patched('guardrails-retrain-pipeline')) return this.retrain(i, requestKey);
    const { decisionId } = await registry.recordGuardrailsDecision({ useCaseId: this.useCaseId, intervention: i, status: i.status, workflowId: this.workflowId, requestKey });
    this.remember(i, i.status, decisionId);
  }

  private async rollBack(i: Intervention, requestKey: string): Promise<void> {
    const { useCaseId, workflowId } = this;
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
      this.remember(i, 'executed', decisionId);
    } catch (err) {
      await registry.finishGuardrailsDecision({ decisionId, useCaseId, kind: i.kind, status: 'failed', outcome: { error: errorText(err) } });
      this.remember(i, 'failed', decisionId);
    }
  }

  private async adjust(i: Intervention, requestKey: string): Promise<void> {
    const { useCaseId } = this;
    const applied = await registry.applyParameterAdjustment({ useCaseId, intervention: i, workflowId: this.workflowId, requestKey });
    this.remember(i, applied.status, applied.decisionId);
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
  private async retrain(i: Intervention, requestKey: string): Promise<void> {
    const { useCaseId, workflowId } = this;
    const how = this.settings.retrain;
    if (!how || 'unavailable' in how) {
      const { decisionId } = await registry.recordGuardrailsDecision({ useCaseId, intervention: { ...i, status: 'rejected', reason: `${i.reason}; not started: ${how?.unavailable ?? 'no pipeline settings'}` }, status: 'rejected', workflowId, requestKey });
      return this.remember(i, 'rejected', decisionId);
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
      this.remember(i, 'executed', decisionId);
    } catch (err) {
      const running = err instanceof WorkflowExecutionAlreadyStartedError;
      await registry.finishGuardrailsDecision({ decisionId, useCaseId, kind: i.kind, status: running ? 'rejected' : 'failed', outcome: running ? { pipeline: { workflowId: pipelineId }, reason: 'a pipeline run of this use case is already going' } : { error: errorText(err) } });
      this.remember(i, running ? 'rejected' : 'failed', decisionId);
    }
  }
}
