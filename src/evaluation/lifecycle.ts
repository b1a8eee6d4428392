/**
 * The input, result and progress of the evaluate workflow (workflows/evaluate.ts), here so that the
 * activities can name them; workflows/evaluate-messages.ts re-exports them for every caller.
 */

import type { Criterion } from './report';

export interface EvaluateInput {
  /** Registry model ids. */
  candidateModelId: string;
  currentModelId: string;
  /** An evaluation_suites hash (mms eval / prepareEvaluationSuite build one). */
  suiteHash: string;
  /** A spending_budgets id: every provider call of the evaluation is held to its cap (a paid ranking run). */
  budgetId?: string;
}

export interface EvaluateResult {
  evaluationId: string;
  useCaseId: string;
  meetsThreshold: boolean;
  /** Every criterion with its status and numbers. */
  criteria: Criterion[];
  /** `criterion: detail` of each failing criterion (empty when meetsThreshold). */
  failing: string[];
  similarity: { raw: number | null; calibrated: number | null; threshold: number };
  prompts: number;
}

/** Heartbeat details of the prompt activity: how far the evaluation is. */
export interface EvaluationProgress {
  done: number;
  total: number;
}

