import { defineQuery } from '@temporalio/workflow';
import type { ValidationCall, ValidationComparison, ValidationPlan, ValidationResult } from '../src/registry/validation';

/**
 * Messages of the validation smoke check (`validate:<modelId>`): a few prompts through the gateway's
 * provider adapters before a model may be rolled out. Imported by the workflow, the activities, the
 * CLI, the REST API and the tests. Pure: no I/O.
 */

export type { ValidationCall, ValidationComparison, ValidationPlan, ValidationResult };

export interface ValidateInput {
  modelId: string;
  requestedBy: string;
  /**
   * The parent has just compared this candidate with the model in service (the paid ranking and the
   * self-hosted pipeline run the evaluate workflow before they validate): no second comparison.
   */
  comparedWithCurrent?: boolean;
}

export type ValidationPhase = 'preparing' | 'calling' | 'comparing' | 'recording' | 'completed' | 'failed';

export interface ValidationStatus {
  modelId: string;
  phase: ValidationPhase;
  prompts?: number;
  /** The evaluate workflow comparing the candidate with the model in service, while it runs. */
  comparisonWorkflowId?: string;
  result?: ValidationResult;
}

export const validationStatusQuery = defineQuery<ValidationStatus>('validationStatus');

/** One validation per model at a time: the workflow id is the business key. */
export const validateWorkflowId = (modelId: string) => `validate:${modelId}`;

