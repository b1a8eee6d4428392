import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { GuardrailsWindow, InterventionKind, MonitorActions, MonitorPolicy, MonitorState } from '../src/guardrails/interventions';
import type { PipelineSettings } from './pipeline-messages';

/**
 * Messages of `guardrailsMonitor:<useCase>`, imported by the workflow, the control worker
 * that starts it, the gateway's critical-violation notifier and the tests.
 */

export type { MonitorActions, MonitorPolicy, MonitorState };

export interface GuardrailsMonitorSettings {
  policy: MonitorPolicy;
  /** policies.guardrails.actions resolved for the use case: `critical: block` never rolls back, `high: record` never adjusts. */
  actions: MonitorActions;
  /**
   * How a retrain request starts the self-hosted pipeline (`pipeline:<useCase>`, settings resolved
   * from mms.config.yaml like `mms pipeline start`), or why it cannot (a paid use case, a selfHosted
   * section that does not resolve): the request is then recorded as rejected with that reason.
   */
  retrain?: { gpuTaskQueue: string; settings: PipelineSettings } | { unavailable: string };
}

export interface GuardrailsMonitorInput extends GuardrailsMonitorSettings {
  useCaseId: string;
  /** Carried through continue-as-new: cooldowns and failing-window counts. */
  state?: MonitorState;
  /** Windows judged by the earlier runs of this monitor. */
  windowsJudged?: number;
}

export interface MonitorDecisionSummary {
  at: string;
  kind: InterventionKind;
  modelId: string;
  status: string;
  reason: string;
  decisionId?: string;
}

export interface GuardrailsMonitorStatus {
  useCaseId: string;
  settings: GuardrailsMonitorSettings;
  windowsJudged: number;
  lastWindow?: Pick<GuardrailsWindow, 'from' | 'to' | 'allocationVersion' | 'rolloutRunning' | 'models'>;
  /** What tier 2 found in the last window it judged (or why it did not run on this worker). */
  lastTier2?: { judged: number; recorded: Record<string, number>; sources: string[] } | { skipped: string };
  /** The most recent decisions of this run, newest last (at most 20). */
  decisions: MonitorDecisionSummary[];
}

/** The gateway saw a critical violation outside a rollout: judge the window now, not at its end. */
export const criticalObservedSignal = defineSignal<[{ modelId: string; category: string }]>('criticalObserved');
/** New settings (a control worker started with a changed mms.config.yaml); they apply from the next window. */
export const configureMonitorSignal = defineSignal<[GuardrailsMonitorSettings]>('configureMonitor');
export const guardrailsMonitorStatusQuery = defineQuery<GuardrailsMonitorStatus>('guardrailsMonitorStatus');

/** One monitor per use case: the workflow id is the business key. */
export const guardrailsMonitorWorkflowId = (useCaseId: string) => `guardrailsMonitor:${useCaseId}`;
