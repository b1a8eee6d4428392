import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { MmsConfig } from '../src/config/schema';
import { ensureSchedule, type EnsureResult, type ScheduledWorkflow } from '../src/temporal/schedules';
import { PAID_CATALOG_SCAN_SCHEDULE_ID, PAID_CATALOG_SCAN_WORKFLOW_TYPE, type PaidCatalogScanInput } from '../workflows/paid-switch-messages';

/** The paid-catalog scan as mms.config.yaml defines it (paidModels.scan): scan, then switch the use cases whose model nears its shutdown. */
export function paidScanSchedule(config: MmsConfig): ScheduledWorkflow {
  const input: PaidCatalogScanInput = { requestedBy: 'schedule' };
  return {
    scheduleId: PAID_CATALOG_SCAN_SCHEDULE_ID,
    workflowType: PAID_CATALOG_SCAN_WORKFLOW_TYPE,
    taskQueue: config.temporal.controlTaskQueue,
    args: [input],
    everyMs: config.paidModels.scan.intervalMinutes * 60_000,
    catchupWindowMs: config.paidModels.scan.intervalMinutes * 60_000,
    note: 'paid-model catalog scan and shutdown-driven switches (paidModels.scan in mms.config.yaml)',
  };
}

/**
 * Creates or updates the scan schedule; with `paidModels.scan.enabled: false`, or without a paid
 * provider to scan, deletes it. Called by `mms dev` and at every control worker start.
 */
export async function ensurePaidScanSchedule(client: Client, config: MmsConfig): Promise<{ scheduleId: string; result: EnsureResult | 'disabled' }> {
  const scheduleId = PAID_CATALOG_SCAN_SCHEDULE_ID;
  const paidProviders = Object.values(config.providers).some((p) => ['openai', 'anthropic', 'google', 'openrouter'].includes(p.kind));
  if (!config.paidModels.scan.enabled || !paidProviders) {
    await client.schedule
      .getHandle(scheduleId)
      .delete()
      .catch((err: unknown) => {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      });
    return { scheduleId, result: 'disabled' };
  }
  return { scheduleId, result: await ensureSchedule(client, paidScanSchedule(config)) };
}
