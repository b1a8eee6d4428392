import { defaultPayloadConverter } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';

/** A running activity of a workflow and the details of its last heartbeat (training step, bytes, …). */
export interface PendingActivityProgress {
  activityType: string;
  attempt: number;
  details: unknown;
  lastHeartbeatTime?: Date;
  lastFailure?: string;
}

/**
 * What the GPU activities of a workflow last reported. Heartbeat details are the progress (the
 * Python worker sends step / loss / eval loss, or bytes of a download); Temporal keeps the last one
 * of each running activity, so this works for any client, without a query to the worker.
 */
export async function pendingActivityProgress(handle: WorkflowHandle): Promise<PendingActivityProgress[]> {
  const description = await handle.describe();
  return (description.raw.pendingActivities ?? []).map((a) => {
    const payload = a.heartbeatDetails?.payloads?.[0];
    const seconds = a.lastHeartbeatTime?.seconds;
    return {
      activityType: a.activityType?.name ?? '',
      attempt: a.attempt ?? 1,
      details: payload ? defaultPayloadConverter.fromPayload(payload) : undefined,
      ...(seconds !== undefined && seconds !== null ? { lastHeartbeatTime: new Date(Number(seconds) * 1000) } : {}),
      ...(a.lastFailure?.message ? { lastFailure: a.lastFailure.message } : {}),
    };
  });
}
