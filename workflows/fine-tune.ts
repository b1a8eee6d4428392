import { ActivityCancellationType, CancellationScope, isCancellation, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { GpuActivities } from '../activities/gpu-activities';
import type { TrainingJobActivities } from '../activities/training-jobs';
import { fineTuneStatusQuery, type FineTuneInput, type FineTuneResult, type FineTuneStatus } from './fine-tune-messages';

// training_jobs rows: idempotent registry writes, retried with backoff.
const registry = proxyActivities<TrainingJobActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 ms', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 10 },
});

/**
 * Trains one copy on the GPU worker. The training itself and its progress live in the Python
 * activity; this workflow records the job, waits, and records how it ended. A cancelled workflow
 * waits until the trainer has stopped, so no GPU keeps training for a job that no longer exists.
 */
export async function fineTuneWorkflow(input: FineTuneInput): Promise<FineTuneResult> {
  const status: FineTuneStatus = { phase: 'recording' };
  setHandler(fineTuneStatusQuery, () => status);
  const { workflowId, runId } = workflowInfo();

  // The GPU activity: a worker killed mid-training stops heartbeating, and the retry (on any GPU
  // worker) resumes from the last checkpoint on disk. Bad requests fail at once (non-retryable).
  const gpu = proxyActivities<GpuActivities>({
    taskQueue: input.gpuTaskQueue,
    startToCloseTimeout: '12 hours',
    heartbeatTimeout: `${input.heartbeatTimeoutSeconds ?? 30} seconds`,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5, nonRetryableErrorTypes: ['BadRequest'] },
  });

  const { trainingJobId } = await registry.recordTrainingStart({
    requestKey: `${workflowId}/${runId}/training-job`,
    baseModelId: input.baseModelId,
    outputModelId: input.copyModelId,
    useCaseId: input.useCaseId,
    method: input.training.method ?? 'lora',
    datasetRef: input.training.trainFile,
    params: { ...input.training },
    workflowId,
    reason: input.reason,
  });
  status.trainingJobId = trainingJobId;
  status.phase = 'training';
  try {
    const training = await gpu.gpuTrainAdapter(input.training);
    status.result = training;
    status.phase = 'succeeded';
    await registry.recordTrainingEnd({
      trainingJobId,
      status: 'succeeded',
      outputPath: training.adapterPath,
      metrics: {
        initialEvalLoss: training.initialEvalLoss,
        finalEvalLoss: training.finalEvalLoss,
        evalLossCurve: training.evalLossCurve,
        steps: training.step,
        secondsPerStep: training.secondsPerStep,
        adapterBytes: training.adapterBytes,
        resumedFromStep: training.resumedFromStep,
      },
    });
    return { trainingJobId, training };
  } catch (err) {
    const cancelled = isCancellation(err);
    status.phase = cancelled ? 'cancelled' : 'failed';
    status.error = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    await CancellationScope.nonCancellable(() => registry.recordTrainingEnd({ trainingJobId, status: cancelled ? 'cancelled' : 'failed', error: status.error }));
    throw err;
  }
}
