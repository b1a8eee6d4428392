import type { Client } from '@temporalio/client';
import type { MmsConfig } from '../src/config/schema';
import { ensureSchedule, type EnsureResult, type ScheduledWorkflow } from '../src/temporal/schedules';
import { EMBEDDINGS_CACHE_SCHEDULE_ID, type EmbeddingsCacheMaintenanceInput } from '../workflows/evaluate-cache-messages';

/** The embeddings-cache pruning as mms.config.yaml defines it (embeddings.cache is its argument). */
export function embeddingsCacheSchedule(config: MmsConfig): ScheduledWorkflow {
  const { maxAgeDays, maxRows, pruneIntervalMinutes } = config.embeddings.cache;
  const input: EmbeddingsCacheMaintenanceInput = { retention: { maxAgeDays, maxRows } };
  return {
    scheduleId: EMBEDDINGS_CACHE_SCHEDULE_ID,
    workflowType: 'embeddingsCacheMaintenanceWorkflow',
    taskQueue: config.temporal.controlTaskQueue,
    args: [input],
    everyMs: pruneIntervalMinutes * 60_000,
    workflowIdPrefix: EMBEDDINGS_CACHE_SCHEDULE_ID,
    catchupWindowMs: pruneIntervalMinutes * 60_000,
    note: `embeddings cache: drop vectors unused for ${maxAgeDays} days, keep at most ${maxRows} (embeddings.cache, mms.config.yaml)`,
  };
}

/** Creates or updates the schedule (idempotent); called by `mms dev` and every control worker start. */
export async function ensureEmbeddingsCacheSchedule(client: Client, config: MmsConfig): Promise<{ scheduleId: string; result: EnsureResult }> {
  return { scheduleId: EMBEDDINGS_CACHE_SCHEDULE_ID, result: await ensureSchedule(client, embeddingsCacheSchedule(config)) };
}
