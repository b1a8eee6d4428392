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
import type { EvaluateInput, EvaluateResult, EvaluationProgress } from '../src/evaluation/lifecycle';

export type { Criterion, EvaluateInput, EvaluateResult, EvaluationProgress };

export const EVALUATE_WORKFLOW_TYPE = 'evaluateWorkflow';

/** One evaluation per (candidate, current, suite): a second start finds the first (and its cached answers). */
export const evaluateWorkflowId = (candidateModelId: string, currentModelId: string, suiteHash: string) => `evaluate:${candidateModelId}:${currentModelId}:${suiteHash}`;
