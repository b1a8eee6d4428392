import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { EvaluationActivities } from '../activities/evaluation';
import type { EvaluateInput, EvaluateResult } from './evaluate-messages';

// Registry reads and writes (open the evaluations row, build the report): short, idempotent, retried.
const registry = proxyActivities<EvaluationActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '15 seconds', maximumAttempts: 10, nonRetryableErrorTypes: ['NotFound'] },
});

// The prompts: long, heartbeating with the progress. A killed worker is noticed within the heartbeat
// timeout and the next attempt resumes after the last finished prompt (answers are cached, so no
// provider call is paid twice).
const prompts = proxyActivities<EvaluationActivities>({
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 50, nonRetryableErrorTypes: ['NotFound', 'EvaluationUnavailable'] },
});

/** Compares a candidate with the model in service on a stored prompt suite (the use-case test a model passes before it serves). */
export async function evaluateWorkflow(input: EvaluateInput): Promise<EvaluateResult> {
  const { workflowId } = workflowInfo();
  const opened = await registry.openEvaluation({ ...input, workflowId });
  if (!opened.finished) await prompts.evaluatePrompts({ evaluationId: opened.evaluationId });
  return registry.finishEvaluation({ evaluationId: opened.evaluationId });
}
