import type { PartitionSettings } from '../src/logs/partitions';
import type { RetentionPolicy } from '../src/logs/retention';
import type { RollupSettings } from '../src/logs/rollups';

/** Arguments the schedules start the workflows with: set from mms.config.yaml by `mms dev` / worker start. */
export interface PartitionMaintenanceInput {
  policy: RetentionPolicy;
  partitions: PartitionSettings;
}

export type LogRollupsInput = RollupSettings;

/** Schedule ids (one per Temporal namespace); each scheduled run's workflow id is `<schedule id>-<time>`. */
export const PARTITION_MAINTENANCE_SCHEDULE_ID = 'mms-partition-maintenance';
export const LOG_ROLLUPS_SCHEDULE_ID = 'mms-log-rollups';
