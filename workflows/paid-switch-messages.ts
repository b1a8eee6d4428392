import { defineQuery } from '@temporalio/workflow';
import type { RolloutPolicy } from '../src/config/schema';
import type { PaidSwitchDecision, PaidSwitchTrigger, RankingRow, SpendingReport } from '../src/discovery/paid-ranking';

/**
 * Messages of the paid switch (`paidSwitch:<useCase>`): scan the paid providers, filter and rank their
 * models for the use case on its own logged prompts, and when the best beats the model in service by
 * the configured margin (or that model is about to shut down), register, validate and roll it out.
 * Imported by the workflow, its activities, the CLI, the REST API, the scan schedule and parent
 * workflows (meta-optimisation) that start it as a child:
 *
 *   await executeChild(paidSwitchWorkflow, {
 *     workflowId: paidSwitchWorkflowId(useCaseId),
 *     args: [{ useCaseId, trigger: { kind: 'meta', reason: '…' }, requestedBy: 'meta' }],
 *   });
 * Pure: safe inside the workflow sandbox.
 */

export type { PaidSwitchDecision, PaidSwitchTrigger, RankingRow, SpendingReport };


export interface PaidSwitchInput {
  useCaseId: string;
  /** Record the decision and its ranking table; validate nothing, change no allocation. */
  dryRun?: boolean;
  trigger?: PaidSwitchTrigger;
  requestedBy: string;
  /** Skip the scan and rank this stored catalog (paid_catalog_scans id); the latest scan is used otherwise. */
  scanId?: string;
  /** This run's spending cap in USD (default paidModels.ranking.spendingCapUsd). */
  spendingCapUsd?: number;
  /** Overrides of mms.config.yaml for this run (tests, the meta loop): the rollout policy and strategy. */
  rollout?: { strategy?: string; policy?: RolloutPolicy };
}

export type PaidSwitchPhase = 'scanning' | 'ranking' | 'probing' | 'deciding' | 'validating' | 'rolling_out' | 'completed' | 'failed';

export interface PaidSwitchStatus {
  useCaseId: string;
  phase: PaidSwitchPhase;
  dryRun: boolean;
  scanId?: string;
  /** The ranking run (its spending budget id). */
  rankingId?: string;
  probes: Array<{ provider: string; upstreamId: string; modelId: string; evaluationWorkflowId?: string; state: 'pending' | 'evaluated' | 'failed' | 'skipped'; detail?: string }>;
  decision?: PaidSwitchDecision;
  validationWorkflowId?: string;
  rolloutWorkflowId?: string;
  outcome?: PaidSwitchOutcome;
  error?: string;
}

/** `kept`: nothing beat the current model (or a dry run); the others say how the switch ended. */
export type PaidSwitchOutcome = 'kept' | 'dry_run' | 'promoted' | 'rolled_back' | 'validation_failed' | 'failed';

export interface PaidSwitchResult {
  useCaseId: string;
  outcome: PaidSwitchOutcome;
  decisionId: string;
  decision: PaidSwitchDecision;
  candidateModelId?: string;
  rolloutWorkflowId?: string;
  reason: string;
}

export const paidSwitchStatusQuery = defineQuery<PaidSwitchStatus>('paidSwitchStatus');

export const PAID_SWITCH_WORKFLOW_TYPE = 'paidSwitchWorkflow';

/** One switch per use case at a time: the workflow id is the business key. */
export const paidSwitchWorkflowId = (useCaseId: string) => `paidSwitch:${useCaseId}`;

/** The scan schedule's workflow: scan, then start a switch for each use case whose model nears its shutdown. */
export interface PaidCatalogScanInput {
  requestedBy: string;
}

export interface PaidCatalogScanResult {
  scanId: string;
  /** Use cases whose model shuts down within the notice, and the switch started (or already running) for each. */
  shutdownSwitches: Array<{ useCaseId: string; model: string; shutdownAt: string; workflowId: string }>;
}

export const PAID_CATALOG_SCAN_SCHEDULE_ID = 'paid-catalog-scan';
export const PAID_CATALOG_SCAN_WORKFLOW_TYPE = 'paidCatalogScanWorkflow';
