import { defineQuery } from '@temporalio/workflow';
import type { TrainAdapterInput, TrainAdapterResult } from '../activities/gpu-activities';

/** Messages of one training run of a use-case copy (a child of the pipeline, or started alone). */

export interface FineTuneInput {
  useCaseId: string;
  /** Registry row of the copy being trained (training_jobs.base_model_id points at its base). */
  copyModelId: string;
  baseModelId: string;
  /** Task queue of the Python GPU worker (temporal.gpuTaskQueue). */
  gpuTaskQueue: string;
  training: TrainAdapterInput;
  /** Why this run exists (first attempt, or the reason of a retrain): recorded on the job row. */
  reason: string;
  /**
   * A killed worker is noticed after this long without a heartbeat; the retry resumes from the last
   * checkpoint. The Python SDK sends heartbeats at most every 80% of it.
   */
  heartbeatTimeoutSeconds?: number;
}

export type FineTunePhase = 'recording' | 'training' | 'succeeded' | 'failed' | 'cancelled';

export interface FineTuneStatus {
  phase: FineTunePhase;
  trainingJobId?: string;
  result?: TrainAdapterResult;
  error?: string;
}

export interface FineTuneResult {
  trainingJobId: string;
  training: TrainAdapterResult;
}

export const fineTuneStatusQuery = defineQuery<FineTuneStatus>('fineTuneStatus');

/** One training run per copy and attempt: the workflow id is the business key. */
export const fineTuneWorkflowId = (useCaseId: string, copyName: string, attempt: number) => `fine-tune:${useCaseId}:${copyName}:${attempt}`;
