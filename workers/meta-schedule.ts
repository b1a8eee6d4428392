import type { Client } from '@temporalio/client';
import type { MmsConfig } from '../src/config/schema';
import { ensureSchedule, type EnsureResult, type ScheduledWorkflow } from '../src/temporal/schedules';
import { META_SCHEDULE_ID, type MetaSweepInput } from '../workflows/meta-optimization-messages';

/** The meta loop's schedule as mms.config.yaml defines it: policies.meta is its argument, so a changed policy updates it. */
export function metaSchedule(config: MmsConfig): ScheduledWorkflow {
  const meta = config.policies.meta;
  const input: MetaSweepInput = { settings: meta };
  return {
    scheduleId: META_SCHEDULE_ID,
    workflowType: 'metaOptimizationWorkflow',
    taskQueue: config.temporal.controlTaskQueue,
    args: [input],
    everyMs: meta.scheduleIntervalMinutes * 60_000,
    workflowIdPrefix: META_SCHEDULE_ID,
    catchupWindowMs: meta.catchupWindowMinutes * 60_000,
    note: `meta-optimisation sweep of every use case every ${meta.scheduleIntervalMinutes} min${meta.dryRun ? ' (dry run: decisions recorded, no action)' : ''} (policies.meta, mms.config.yaml)`,
  };
}

/** Creates or updates the schedule (idempotent); called by `mms dev`, every control worker start and `mms schedule apply`. */
export async function ensureMetaSchedule(client: Client, config: MmsConfig): Promise<{ scheduleId: string; result: EnsureResult }> {
  return { scheduleId: META_SCHEDULE_ID, result: await ensureSchedule(client, metaSchedule(config)) };
}
