import { ApplicationFailure, executeChild, log, proxyActivities, setHandler, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { EvaluationActivities } from '../activities/evaluation';
import type { ValidationActivities } from '../activities/validation';
import { judgeValidation } from '../src/registry/validation';
import { evaluateWorkflow } from './evaluate';
import { evaluateWorkflowId } from './evaluate-messages';
import { validationStatusQuery, type ValidateInput, type ValidationCall, type ValidationComparison, type ValidationPlan, type ValidationResult, type ValidationStatus } from './validate-messages';

// Registry reads and writes (pick prompts, record the outcome): quick, idempotent, retried with
// backoff through a database blip.
const registry = proxyActivities<ValidationActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 ms', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 10 },
});

// The calls to the provider: one attempt per prompt inside the activity (a failure is the result we
// want to record, not something to retry); the activity itself is retried once if its worker dies.
const callOptions: ActivityOptions = { startToCloseTimeout: '30 minutes', heartbeatTimeout: '2 minutes', retry: { maximumAttempts: 2 } };
const calls = proxyActivities<ValidationActivities>(callOptions);

// Building the comparison's prompt set from the logs (embeddings for the guardrail screen): minutes at
// most, retried through a blip; a use case or model that is gone is final.
const suites = proxyActivities<EvaluationActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10, nonRetryableErrorTypes: ['NotFound', 'EvaluationUnavailable'] },
});

/**
 * The smoke check of a new model, the first step of its lifecycle (does it answer at all?): a few prompts — the
 * use case's recent player prompts, else its regression prompts — through the same provider adapters
 * as the gateway; latency, errors and answers recorded as an `evaluations` row; the model marked
 * `candidate`, or `failed` with the reason. With `policies.validation.compareWithCurrent`, a candidate
 * that passes the smoke check is then compared with the model in service by the evaluate workflow (a
 * child) and fails unless it meets the threshold. Runs as `validate:<modelId>`.
 */
export async function validateModelWorkflow(input: ValidateInput): Promise<ValidationResult> {
  const status: ValidationStatus = { modelId: input.modelId, phase: 'preparing' };
  setHandler(validationStatusQuery, () => status);
  const { workflowId, runId } = workflowInfo();
  const plan = await registry.prepareValidation({ modelId: input.modelId, workflowId, requestKey: `${workflowId}/${runId}/validation` });
  status.phase = 'calling';
  status.prompts = plan.prompts.length;
  let results: ValidationCall[];
  try {
    results = await calls.runValidationPrompts.executeWithOptions(
      { ...callOptions, summary: `${plan.prompts.length} ${plan.source} prompt(s) to ${plan.provider}:${plan.upstreamModel}` },
      [{ modelId: input.modelId, prompts: plan.prompts, timeoutSeconds: plan.timeoutSeconds }],
    );
  } catch (err) {
    // the calls could not run at all (worker without the provider's config, …): that is the outcome
    const message = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    log.warn('validation calls failed', { modelId: input.modelId, error: message });
    results = [{ prompt: plan.prompts[0]?.prompt ?? '', latencyMs: 0, error: { class: 'validation_error', message } }];
  }
  const comparison = plan.compareWith && !input.comparedWithCurrent && judgeValidation(results, plan.maxFailures).passed ? await compare(input.modelId, plan.compareWith, plan, status) : undefined;
  status.phase = 'recording';
  const result = await registry.recordValidation({ modelId: input.modelId, evaluationId: plan.evaluationId, plan, results, ...(comparison ? { comparison } : {}) });
  status.result = result;
  status.phase = result.passed ? 'completed' : 'failed';
  if (!result.passed) throw ApplicationFailure.nonRetryable(`validation of ${result.modelName} failed: ${result.reason}`, 'ValidationFailed', result);
  return result;
}

/** The candidate against the model in service on the use case's suite; an evaluation that cannot run is a failed comparison. */
async function compare(candidateModelId: string, currentModelId: string, plan: ValidationPlan, status: ValidationStatus): Promise<ValidationComparison> {
  status.phase = 'comparing';
  let workflowId = `evaluate:${candidateModelId}:${currentModelId}`;
  try {
    const suite = await suites.prepareEvaluationSuite({ useCaseId: plan.useCaseId });
    workflowId = evaluateWorkflowId(candidateModelId, currentModelId, suite.hash);
    status.comparisonWorkflowId = workflowId;
    const evaluation = await executeChild(evaluateWorkflow, { workflowId, args: [{ candidateModelId, currentModelId, suiteHash: suite.hash }] });
    return { currentModelId, workflowId, evaluationId: evaluation.evaluationId, meetsThreshold: evaluation.meetsThreshold, failing: evaluation.failing, similarity: evaluation.similarity.calibrated };
  } catch (err) {
    const message = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    log.warn('validation comparison failed', { modelId: candidateModelId, error: message });
    return { currentModelId, workflowId, meetsThreshold: false, failing: [`evaluation: could not run (${message})`] };
  }
}
