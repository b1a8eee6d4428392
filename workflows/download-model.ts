import { proxyActivities } from '@temporalio/workflow';
import type { DownloadModelResult, GpuActivities } from '../activities/gpu-activities';
import type { DownloadModelWorkflowInput } from './download-model-messages';

/** Refusals no retry can change (the Python worker marks them non-retryable too). */
export const downloadRefusals = ['BadRequest', 'PathEscape', 'ChecksumMismatch', 'DiskFull', 'NoSafetensors', 'Gated', 'NotFound', 'BadListing'];

/**
 * Downloads a repository pinned to one commit onto the GPU node. Progress is the activity's
 * heartbeat (file, offset, bytes of total); a retry after a killed worker resumes from that offset.
 */
export async function downloadModelWorkflow(input: DownloadModelWorkflowInput): Promise<DownloadModelResult> {
  // Network transfers: retried with backoff for a long while (hub hiccups), never on a refusal.
  const gpu = proxyActivities<GpuActivities>({
    taskQueue: input.gpuTaskQueue,
    startToCloseTimeout: '24 hours',
    heartbeatTimeout: `${input.heartbeatTimeoutSeconds ?? 30} seconds`,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 20, nonRetryableErrorTypes: downloadRefusals },
  });
  return gpu.gpuDownloadModel(input.download);
}
