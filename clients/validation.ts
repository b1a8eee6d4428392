import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { MmsConfig } from '../src/config/schema';
import { validateModelWorkflow } from '../workflows/validate';
import { validateWorkflowId, type ValidationResult } from '../workflows/validate-messages';

/** Starting a model's validation (`validate:<modelId>`) and reading its outcome, for the CLI and the REST API. */

export interface StartedValidation {
  workflowId: string;
  runId: string;
  handle: WorkflowHandle<typeof validateModelWorkflow>;
  /** false when a validation of the model was already running and this attached to it. */
  started: boolean;
}

export async function startValidation(
  client: Client,
  config: Pick<MmsConfig, 'temporal' | 'policies'>,
  model: { id: string; modelName: string; version: string; useCase: string; provider: string | null; upstreamModel: string | null },
  requestedBy: string,
): Promise<StartedValidation> {
  const workflowId = validateWorkflowId(model.id);
  try {
    const handle = await client.workflow.start(validateModelWorkflow, {
      taskQueue: config.temporal.controlTaskQueue,
      workflowId,
      args: [{ modelId: model.id, requestedBy }],
      workflowExecutionTimeout: '1 hour',
      staticSummary: `validation of ${model.modelName}@${model.version} (${model.provider}:${model.upstreamModel}) on ${model.useCase}: up to ${config.policies.validation.prompts} prompt(s)`,
      staticDetails: `requested by ${requestedBy}`,
    });
    return { workflowId, runId: handle.firstExecutionRunId, handle, started: true };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const handle = client.workflow.getHandle<typeof validateModelWorkflow>(workflowId);
    return { workflowId, runId: (await handle.describe()).runId, handle, started: false };
  }
}

/** The outcome of a validation: its result, passed or failed (a failed validation fails its workflow, with the result as details). */
export async function validationOutcome(handle: WorkflowHandle<typeof validateModelWorkflow>): Promise<ValidationResult> {
  try {
    return await handle.result();
  } catch (err) {
    const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.type === 'ValidationFailed' && cause.details?.[0]) return cause.details[0] as ValidationResult;
    throw new Error(`validation ${handle.workflowId} did not finish: ${cause?.message ?? (err as Error).message}`);
  }
}
