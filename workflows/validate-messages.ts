import { defineQuery } from '@temporalio/workflow';
import type { ValidationCall, ValidationPlan, ValidationResult } from '../src/registry/validation';

/**
 * Messages of the validation smoke check (`validate:<modelId>`): a few prompts through the gateway's
 * provider adapters before a model may be rolled out. Imported by the workflow, the activities, the
 * CLI, the REST API and the tests. Pure: no I/O.
 */

export type { ValidationCall, ValidationPlan, ValidationResult };

export interface ValidateInput {
  modelId: string;
  requestedBy: string;
}

export type ValidationPhase = 'preparing' | 'calling' | 'recording' | 'completed' | 'failed';

export interface ValidationStatus {
  modelId: string;
  phase: ValidationPhase;
  prompts?: number;
  result?: ValidationResult;
}

export const validationStatusQuery = defineQuery<ValidationStatus>('validationStatus');

/** One validation per model at a time: the workflow id is the business key. */
export const validateWorkflowId = (modelId: string) => `validate:${modelId}`;

