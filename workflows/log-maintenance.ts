import { proxyActivities } from '@temporalio/workflow';
import type { LogActivities } from '../activities/logs';
import type { MaintenanceReport } from '../src/logs/partitions';
import type { RollupReport } from '../src/logs/rollups';
import type { LogRollupsInput, PartitionMaintenanceInput } from './log-maintenance-messages';

// Partition work on a large table: minutes at most, heartbeating; retried with backoff, and a run
// that still fails is retried by the next scheduled run anyway.
const partitions = proxyActivities<LogActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 5 },
});

// Roll-ups recompute a few minutes: short, and the next run (a minute later) covers a failed one.
const rollups = proxyActivities<LogActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '30 seconds', maximumAttempts: 3 },
});

/** Creates partitions ahead, gives DEFAULT rows a partition, moves long-lived rows out and drops expired partitions. */
export async function partitionMaintenanceWorkflow(input: PartitionMaintenanceInput): Promise<MaintenanceReport> {
  return partitions.maintainLogPartitions(input);
}

/** Writes the per-minute roll-ups of the historical logs. */
export async function logRollupsWorkflow(input: LogRollupsInput): Promise<RollupReport> {
  return rollups.rollUpLogs(input);
}
