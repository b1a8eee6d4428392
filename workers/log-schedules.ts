import type { Client } from '@temporalio/client';
import type { MmsConfig } from '../src/config/schema';
import { partitionSettings } from '../src/logs/partitions';
import { retentionPolicy } from '../src/logs/retention';
import { ensureSchedule, type EnsureResult, type ScheduledWorkflow } from '../src/temporal/schedules';
import {
  LOG_ROLLUPS_SCHEDULE_ID,
  PARTITION_MAINTENANCE_SCHEDULE_ID,
  type LogRollupsInput,
  type PartitionMaintenanceInput,
} from '../workflows/log-maintenance-messages';

/** The historical-log schedules as mms.config.yaml defines them (retention and periods are their arguments). */
export function logSchedules(config: MmsConfig): ScheduledWorkflow[] {
  const { partitions, rollups } = config.logs;
  const maintenance: PartitionMaintenanceInput = {
    policy: retentionPolicy(config.logs, config.useCases.map((u) => u.id)),
    partitions: partitionSettings(partitions),
  };
  const rollupInput: LogRollupsInput = { lookbackMinutes: rollups.lookbackMinutes, backfillHours: rollups.backfillHours, retentionDays: rollups.retentionDays };
  return [
    {
      scheduleId: PARTITION_MAINTENANCE_SCHEDULE_ID,
      workflowType: 'partitionMaintenanceWorkflow',
      taskQueue: config.temporal.controlTaskQueue,
      args: [maintenance],
      everyMs: partitions.maintenanceIntervalMinutes * 60_000,
      // Partitions for late DEFAULT rows and a first pass over retention, without waiting a period.
      triggerOnCreate: true,
      catchupWindowMs: partitions.maintenanceIntervalMinutes * 60_000,
      note: 'historical-log partitions: create ahead, expire per logs.retention (mms.config.yaml)',
    },
    {
      scheduleId: LOG_ROLLUPS_SCHEDULE_ID,
      workflowType: 'logRollupsWorkflow',
      taskQueue: config.temporal.controlTaskQueue,
      args: [rollupInput],
      everyMs: rollups.intervalSeconds * 1000,
      note: 'per-minute roll-ups of the historical logs (model_call_rollups)',
    },
  ];
}

/** Creates or updates both schedules; called by `mms dev` and at every control worker start. */
export async function ensureLogSchedules(client: Client, config: MmsConfig): Promise<Array<{ scheduleId: string; result: EnsureResult }>> {
  const out: Array<{ scheduleId: string; result: EnsureResult }> = [];
  for (const s of logSchedules(config)) out.push({ scheduleId: s.scheduleId, result: await ensureSchedule(client, s) });
  return out;
}
