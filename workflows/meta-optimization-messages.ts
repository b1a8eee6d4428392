import { defineQuery } from '@temporalio/workflow';
import type { GuardrailsUpdate, MetaAction, MetaSettings } from '../src/meta/decide';

/**
 * Messages of the meta loop: `metaOptimization`, started by the schedule of the same id
 * (each run's workflow id is `metaOptimization-<scheduled time>`), sweeps every use case in batches
 * (`<sweep>:batch:<n>` children), records every decision and acts. Imported by the workflows, the
 * schedule definition, the CLI, the REST API, the tests and the bench.
 */

export type { MetaAction, MetaSettings };

/** The schedule, and the workflow id prefix of each sweep it starts. */
export const META_SCHEDULE_ID = 'metaOptimization';

export interface MetaSweepTotals {
  useCases: number;
  batches: number;
  /** Decisions per action (`none` included). */
  decisions: Record<string, number>;
  /** Use cases left alone because a rollout owned them. */
  leftAlone: number;
  actionsStarted: number;
  /** Decisions not acted on because the sweep's budget (maxActionsPerSweep) was spent. */
  actionsDeferred: number;
  actionsFailed: number;
}

export interface ContinuedSweep {
  sweepId: string;
  startedAt: string;
  /** The health window's end, fixed for the whole sweep so every batch judges the same span. */
  windowEnd: string;
  /** The last use case id swept (use cases are swept in id order). */
  cursor: string | null;
  run: number;
  totals: MetaSweepTotals;
  actions: MetaActionRecord[];
}

export interface MetaSweepInput {
  /** policies.meta as validated from mms.config.yaml (the schedule's argument; `mms schedule apply` updates it). */
  settings: MetaSettings;
  /** This sweep only: record decisions, act on none (`mms schedule trigger --dry-run`); policies.meta.dryRun does it for every sweep. */
  dryRun?: boolean;
  /** Set by the sweep itself when it continues as new. */
  continued?: ContinuedSweep;
}

export interface MetaBatchInput {
  sweepId: string;
  sweepStartedAt: string;
  batchIndex: number;
  useCaseIds: string[];
  settings: MetaSettings;
  dryRun: boolean;
  /** The health window [from, to). */
  from: string;
  to: string;
}

/** A recorded decision that calls for an action (returned by a batch to the sweep, which holds the budget). */
export interface ActionableDecision {
  decisionId: string;
  useCaseId: string;
  action: Exclude<MetaAction, 'none'>;
  modelId: string | null;
  temperature?: number;
  /** update_guardrails: the monitor settings to put in force. */
  guardrails?: GuardrailsUpdate;
  reason: string;
}

export interface MetaBatchResult {
  batchIndex: number;
  useCases: number;
  decisions: Record<string, number>;
  leftAlone: number;
  actionable: ActionableDecision[];
}

export interface MetaActionRecord {
  useCaseId: string;
  action: MetaAction;
  decisionId: string;
  status: 'started' | 'executed' | 'rejected' | 'failed' | 'deferred';
  workflowId?: string;
  note?: string;
}

export type MetaSweepPhase = 'reconciling' | 'sweeping' | 'completed';

export interface MetaSweepStatus {
  sweepId: string;
  phase: MetaSweepPhase;
  dryRun: boolean;
  run: number;
  windowEnd: string;
  cursor: string | null;
  totals: MetaSweepTotals;
  /** Actions of this sweep (the last 50). */
  actions: MetaActionRecord[];
}

export interface MetaSweepResult {
  sweepId: string;
  dryRun: boolean;
  runs: number;
  totals: MetaSweepTotals;
  actions: MetaActionRecord[];
}

export const metaSweepStatusQuery = defineQuery<MetaSweepStatus>('metaSweepStatus');

export const metaBatchWorkflowId = (sweepId: string, batchIndex: number) => `${sweepId}:batch:${batchIndex}`;

export const emptyTotals = (): MetaSweepTotals => ({ useCases: 0, batches: 0, decisions: {}, leftAlone: 0, actionsStarted: 0, actionsDeferred: 0, actionsFailed: 0 });
