import { Context } from '@temporalio/activity';
import type { PrismaClient } from '@prisma/client';
import { maintainPartitions, type MaintenanceReport, type PartitionSettings } from '../src/logs/partitions';
import { rollUpRecent, type RollupReport, type RollupSettings } from '../src/logs/rollups';
import type { RetentionPolicy } from '../src/logs/retention';

export interface LogActivityDeps {
  prisma: PrismaClient;
}

/** Heartbeats while long database work runs, so a killed worker's attempt is retried within a minute. */
async function withHeartbeat<T>(work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(), 5000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
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
