/**
 * What retention will drop, and when: every partition of the logs, the violations and their long-term
 * tables with its range, size and the time it is dropped (by the first maintenance run after it).
 */

import type { PrismaClient } from '@prisma/client';
import { PARTITIONED_TABLES, listPartitions, partitionDropAt } from './partitions';
import type { RetentionPolicy } from './retention';

export interface PlannedDrop {
  table: string;
  partition: string;
  from: string;
  to: string;
  bytes: number;
  estimatedRows: number;
  dropAt: string;
  /** Rows of a log partition that outlive it go to the long-term table first. */
  then: 'dropped' | 'long-lived rows moved to the long-term table, then dropped';
}

export interface RetentionPlan {
  now: string;
  /** Days per class, for the defaults and each configured use case. */
  policy: Array<{ useCase: string; plain: number; feedback: number; violation: number }>;
  partitions: PlannedDrop[];
  /** Rows waiting in DEFAULT partitions (maintenance gives them a partition of their own). */
  defaults: Array<{ table: string; bytes: number; estimatedRows: number }>;
}

export async function retentionPlan(prisma: PrismaClient, policy: RetentionPolicy, now = new Date()): Promise<RetentionPlan> {
  const plan: RetentionPlan = {
    now: now.toISOString(),
    policy: [{ useCase: '(default)', ...policy.defaults }, ...Object.entries(policy.useCases).map(([useCase, d]) => ({ useCase, ...d }))],
    partitions: [],
    defaults: [],
  };
  for (const table of PARTITIONED_TABLES) {
    for (const name of [table.name, table.longTerm]) {
      const longTerm = name === table.longTerm;
      for (const p of await listPartitions(prisma, name)) {
        if (p.isDefault) {
          plan.defaults.push({ table: name, bytes: p.bytes, estimatedRows: Math.max(0, p.estimatedRows) });
          continue;
        }
        plan.partitions.push({
          table: name,
          partition: p.name,
          from: p.from!.toISOString(),
          to: p.to!.toISOString(),
          bytes: p.bytes,
          estimatedRows: Math.max(0, p.estimatedRows),
          dropAt: (longTerm ? p.to! : partitionDropAt(table, p.to!, policy)).toISOString(),
          then: longTerm ? 'dropped' : 'long-lived rows moved to the long-term table, then dropped',
        });
      }
    }
  }
  plan.partitions.sort((a, b) => a.dropAt.localeCompare(b.dropAt) || a.table.localeCompare(b.table));
  return plan;
}
