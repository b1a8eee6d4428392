/**
 * Messages of the evaluation lifecycle (`evaluate:<candidate>:<current>:<suite hash>`), defined once
 * and imported by the workflow, the activities, the CLI, the REST API and parent workflows (ranking,
 * the fine-tuning pipeline, validation) that run it as a child. Pure: safe inside the workflow sandbox.
 *
 * As a child:
 *   const suite = await activities.prepareEvaluationSuite({ useCaseId });            // or a known hash
 *   const result = await executeChild(evaluateWorkflow, {
 *     workflowId: evaluateWorkflowId(candidateId, currentId, suite.hash),
 *     args: [{ candidateModelId: candidateId, currentModelId: currentId, suiteHash: suite.hash }],
 *   });
 * Payloads stay small: prompts, answers and per-prompt details are in the database, referenced by the
 * suite hash and the evaluation id; the full report is `evaluations.results` (loadEvaluationReport).
 */
import type { Criterion } from '../src/evaluation/report';

export type { Criterion };

export const EVALUATE_WORKFLOW_TYPE = 'evaluateWorkflow';

export interface EvaluateInput {
  /** Registry model ids. */
  candidateModelId: string;
  currentModelId: string;
  /** An evaluation_suites hash (mms eval / prepareEvaluationSuite build one). */
  suiteHash: string;
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

/** One evaluation per (candidate, current, suite): a second start finds the first (and its cached answers). */
export const evaluateWorkflowId = (candidateModelId: string, currentModelId: string, suiteHash: string) => `evaluate:${candidateModelId}:${currentModelId}:${suiteHash}`;
