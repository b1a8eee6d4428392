import { z } from 'zod';
import type { Prisma as PrismaTypes, PrismaClient } from '@prisma/client';

/** The gateway hashes sticky keys into this many buckets; weights are expressed in buckets. */
export const TOTAL_BUCKETS = 10_000;

export const allocationRoles = ['stable', 'canary', 'shadow'] as const;
export type AllocationRole = (typeof allocationRoles)[number];

export const allocationEntrySchema = z.strictObject({
  modelId: z.uuid(),
  /** stable/canary: share of the 10,000 buckets; shadow: share of requests mirrored. */
  weight: z.number().int().min(0).max(TOTAL_BUCKETS),
  role: z.enum(allocationRoles),
  /**
   * Sampling parameters for this model in this allocation, over the model's and the use case's: how a
   * guardrails parameter adjustment (a lower temperature) is applied as a new allocation version, so
   * it is versioned, served within one poll and undone by a rollback like any other change.
   */
  params: z.strictObject({ temperature: z.number().min(0).max(2).optional(), topP: z.number().gt(0).max(1).optional() }).optional(),
});
export type AllocationEntry = z.infer<typeof allocationEntrySchema>;

export const allocationEntriesSchema = z.array(allocationEntrySchema).superRefine((entries, ctx) => {
  const served = entries.filter((e) => e.role !== 'shadow');
  if (!entries.some((e) => e.role === 'stable')) ctx.addIssue({ code: 'custom', message: 'an allocation needs a stable model' });
  const total = served.reduce((sum, e) => sum + e.weight, 0);
  if (total !== TOTAL_BUCKETS) ctx.addIssue({ code: 'custom', message: `stable and canary weights must sum to ${TOTAL_BUCKETS} (they sum to ${total})` });
  const ids = new Set<string>();
  entries.forEach((e, i) => {
    if (ids.has(e.modelId)) ctx.addIssue({ code: 'custom', path: [i, 'modelId'], message: `model ${e.modelId} appears twice` });
    ids.add(e.modelId);
  });
});

export interface ServingAllocation {
  useCaseId: string;
  version: number;
  entries: AllocationEntry[];
  reason: string;
  createdAt: Date;
}

type Db = PrismaClient | PrismaTypes.TransactionClient;

export const percentToWeight = (percent: number) => Math.round((percent / 100) * TOTAL_BUCKETS);

/** What the data plane serves for a use case: the highest allocation version. */
export async function getServingAllocation(db: Db, useCaseId: string): Promise<ServingAllocation | undefined> {
  const row = await db.trafficAllocation.findFirst({ where: { useCaseId }, orderBy: { version: 'desc' } });
  if (!row) return undefined;
  return { useCaseId, version: row.version, entries: allocationEntriesSchema.parse(row.entries), reason: row.reason, createdAt: row.createdAt };
}

/** The stable model that takes the most traffic. */
export const stableModelId = (entries: AllocationEntry[]) =>
  entries.filter((e) => e.role === 'stable').sort((a, b) => b.weight - a.weight)[0]?.modelId;

/**
 * `entries` with each model's `params` as the `current` allocation serves it: a rollout or promotion
 * rewrites the weights, but a model's adjusted sampling (a guardrails temperature decision) stays
 * with the model until an allocation written for that purpose changes it.
 */
export function carryParams(entries: AllocationEntry[], current: AllocationEntry[]): AllocationEntry[] {
  return entries.map((e) => {
    const params = e.params ?? current.find((c) => c.modelId === e.modelId && c.role !== 'shadow')?.params;
    return params ? { ...e, params } : e;
  });
}

/** Canonical form, so two allocations can be compared regardless of entry order. */
export const sameEntries = (a: AllocationEntry[], b: AllocationEntry[]) => {
  const key = (e: AllocationEntry[]) => JSON.stringify([...e].sort((x, y) => (x.modelId < y.modelId ? -1 : 1)).map((x) => [x.modelId, x.role, x.weight, x.params ?? null]));
  return key(a) === key(b);
};

/**
 * Writes a new allocation version. Versions are never edited: the history of who served what, when,
 * stays in the table. With a requestKey the write is idempotent: a retry returns the row written first.
 * Call it inside a transaction that holds the use case's row lock (lockUseCase) when other writes
 * must agree with it.
 */
export async function writeAllocation(
  tx: PrismaTypes.TransactionClient,
  input: { useCaseId: string; entries: AllocationEntry[]; reason: string; createdBy: string; requestKey?: string },
): Promise<ServingAllocation> {
  const entries = allocationEntriesSchema.parse(input.entries);
  if (input.requestKey) {
    const existing = await tx.trafficAllocation.findUnique({ where: { requestKey: input.requestKey } });
    if (existing) return { useCaseId: existing.useCaseId, version: existing.version, entries: allocationEntriesSchema.parse(existing.entries), reason: existing.reason, createdAt: existing.createdAt };
  }
  const latest = await tx.trafficAllocation.findFirst({ where: { useCaseId: input.useCaseId }, orderBy: { version: 'desc' }, select: { version: true } });
  const row = await tx.trafficAllocation.create({
    data: {
      useCaseId: input.useCaseId,
      version: (latest?.version ?? 0) + 1,
      entries,
      reason: input.reason,
      createdBy: input.createdBy,
      requestKey: input.requestKey,
    },
  });
  return { useCaseId: row.useCaseId, version: row.version, entries, reason: row.reason, createdAt: row.createdAt };
}

/** Serialises writers of one use case (allocation, config, model statuses) for the transaction. */
export async function lockUseCase(tx: PrismaTypes.TransactionClient, useCaseId: string): Promise<void> {
  const rows = await tx.$queryRaw<Array<{ id: string }>>`select id from use_cases where id = ${useCaseId} for update`;
  if (rows.length === 0) throw new NotFoundError(`use case "${useCaseId}" is not in the registry`);
}

/** A missing use case, model or snapshot: retrying cannot help. */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}
