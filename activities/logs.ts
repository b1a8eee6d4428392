import type { PrismaClient } from '@prisma/client';
import { maintainPartitions, type MaintenanceReport, type PartitionSettings } from '../src/logs/partitions';
import { rollUpRecent, type RollupReport, type RollupSettings } from '../src/logs/rollups';
import type { RetentionPolicy } from '../src/logs/retention';
import { withHeartbeat } from './registry';

export interface LogActivityDeps {
  prisma: PrismaClient;
}

/** Activities of the historical-log schedules (partitionMaintenance, logRollups). Each is idempotent. */
export function createLogActivities({ prisma }: LogActivityDeps) {
  return {
    async maintainLogPartitions(input: { policy: RetentionPolicy; partitions: PartitionSettings }): Promise<MaintenanceReport> {
      return withHeartbeat(() => maintainPartitions(prisma, input.policy, input.partitions));
    },
    async rollUpLogs(input: RollupSettings): Promise<RollupReport> {
      return withHeartbeat(() => rollUpRecent(prisma, input));
    },
  };
}

export type LogActivities = ReturnType<typeof createLogActivities>;
