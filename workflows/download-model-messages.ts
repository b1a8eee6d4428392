import type { DownloadModelInput } from '../activities/gpu-activities';

/** Messages of a model download on the GPU worker (a child of the pipeline, or started alone). */

export interface DownloadModelWorkflowInput {
  gpuTaskQueue: string;
  download: DownloadModelInput;
  /** A killed worker is noticed after this long without a heartbeat; the retry resumes with a Range request. */
  heartbeatTimeoutSeconds?: number;
}

/** One download per repository and revision at a time. */
export const downloadModelWorkflowId = (repo: string, revision: string) => `download:${repo}@${revision}`;
