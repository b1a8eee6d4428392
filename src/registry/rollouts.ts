import type { Prisma as PrismaTypes, PrismaClient } from '@prisma/client';
import {
  NotFoundError,
  TOTAL_BUCKETS,
  allocationEntriesSchema,
  carryParams,
  getServingAllocation,
  lockUseCase,
  percentToWeight,
  stableModelId as stableOf,
  writeAllocation,
  type AllocationEntry,
} from './allocations';

/**
 * Registry writes of a rollout: which models it moves between, each traffic change (idempotent and
 * never applied out of order), the deployment row, and the promotion. Rollback is the snapshot
 * restore of ./snapshots.ts.
 */

/** A rollout that cannot proceed as asked; retrying cannot help. */
export class RolloutRefusedError extends Error {
  override name = 'RolloutRefusedError';
}

/** Someone else (a manual rollback, another tool) changed the allocation during the rollout. */
export class AllocationConflictError extends RolloutRefusedError {
  override name = 'AllocationConflictError';
}

/** Throws AllocationConflictError unless the serving allocation was written by this rollout. */
export async function assertOwnsAllocation(db: PrismaClient | PrismaTypes.TransactionClient, useCaseId: string, rolloutKey: string): Promise<void> {
  const current = await db.trafficAllocation.findFirst({ where: { useCaseId }, orderBy: { version: 'desc' } });
  if (!current?.requestKey?.startsWith(`${rolloutKey}/`)) {
    throw new AllocationConflictError(
      `the allocation of "${useCaseId}" was changed outside this rollout (v${current?.version ?? '-'}: ${current?.reason ?? 'none'}); the rollout stops rather than overwrite it`,
    );
  }
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface PreparedRollout {
  candidateModelId: string;
  candidateName: string;
  stableModelId: string;
  stableName: string;
  allocationVersion: number;
}

/** Checks that a rollout of `candidate` can start: the use case is at rest and the candidate is its own. */
export async function prepareRollout(
  prisma: PrismaClient,
  input: { useCaseId: string; candidate: string; expectedStableModelId?: string },
): Promise<PreparedRollout> {
  const useCase = await prisma.useCase.findUnique({ where: { id: input.useCaseId } });
  if (!useCase) throw new NotFoundError(`use case "${input.useCaseId}" is not in the registry`);
  const allocation = await prisma.trafficAllocation.findFirst({ where: { useCaseId: input.useCaseId }, orderBy: { version: 'desc' } });
  if (!allocation) throw new NotFoundError(`use case "${input.useCaseId}" has no traffic allocation`);
  const entries = allocationEntriesSchema.parse(allocation.entries);
  if (entries.length !== 1 || entries[0]!.role !== 'stable') {
    throw new RolloutRefusedError(
      `use case "${input.useCaseId}" is not at rest: allocation v${allocation.version} serves ${entries.map((e) => `${e.role} ${e.modelId} at ${e.weight / 100}%`).join(', ')}; finish or roll back that change first`,
    );
  }
  const stableId = entries[0]!.modelId;
  const candidate = uuid.test(input.candidate)
    ? await prisma.model.findUnique({ where: { id: input.candidate } })
    : await prisma.model.findFirst({ where: { modelName: input.candidate, useCase: input.useCaseId }, orderBy: { createdAt: 'desc' } });
  if (!candidate) throw new NotFoundError(`candidate model "${input.candidate}" is not in the registry${uuid.test(input.candidate) ? '' : ` for use case "${input.useCaseId}"`}`);
  if (candidate.useCase !== input.useCaseId) {
    throw new RolloutRefusedError(`candidate model ${candidate.id} (${candidate.modelName}) belongs to use case "${candidate.useCase}", not "${input.useCaseId}"`);
  }
  if (candidate.id === stableId) throw new RolloutRefusedError(`model ${candidate.id} (${candidate.modelName}) is already the stable model of "${input.useCaseId}"`);
  if (input.expectedStableModelId && input.expectedStableModelId !== stableId) {
    throw new RolloutRefusedError(`current_model_id ${input.expectedStableModelId} is not the stable model of "${input.useCaseId}": it serves ${stableId}`);
  }
  const stable = await prisma.model.findUnique({ where: { id: stableId } });
  return {
    candidateModelId: candidate.id,
    candidateName: `${candidate.modelName}@${candidate.version}`,
    stableModelId: stableId,
    stableName: stable ? `${stable.modelName}@${stable.version}` : stableId,
    allocationVersion: allocation.version,
  };
}

export interface StartDeploymentInput {
  deploymentId?: string;
  useCaseId: string;
  candidateModelId: string;
  stableModelId: string;
  strategy: string;
  snapshotId: string;
  workflowId: string;
  requestKey: string;
  details: Record<string, unknown>;
}

/** The deployment row of a rollout, `in_progress`; a retry returns the row written first. */
export async function startDeployment(prisma: PrismaClient, input: StartDeploymentInput): Promise<{ deploymentId: string }> {
  const existing = await prisma.modelDeployment.findUnique({ where: { requestKey: input.requestKey } });
  if (existing) return { deploymentId: existing.id };
  if (input.deploymentId) {
    const clash = await prisma.modelDeployment.findUnique({ where: { id: input.deploymentId } });
    if (clash) throw new RolloutRefusedError(`deployment ${input.deploymentId} already exists for another request`);
  }
  const row = await prisma.modelDeployment.create({
    data: {
      ...(input.deploymentId ? { id: input.deploymentId } : {}),
      useCaseId: input.useCaseId,
      modelId: input.candidateModelId,
      previousModelId: input.stableModelId,
      deploymentType: input.strategy,
      status: 'in_progress',
      trafficPercentage: 0,
      snapshotId: input.snapshotId,
      workflowId: input.workflowId,
      requestKey: input.requestKey,
      details: input.details as PrismaTypes.InputJsonValue,
    },
  });
  return { deploymentId: row.id };
}

export interface ApplyTrafficInput {
  useCaseId: string;
  /** `<workflowId>/<runId>`: every allocation this rollout writes has a request key under it. */
  rolloutKey: string;
  /** Order of this change within the rollout: 0, 1, 2, … */
  seq: number;
  stableModelId: string;
  candidateModelId: string;
  mode: 'canary' | 'shadow';
  percent: number;
  deploymentId: string;
  label: string;
  createdBy: string;
}

export interface AppliedTraffic {
  allocationVersion: number;
  entries: AllocationEntry[];
  appliedAt: string;
}

const trafficKey = (rolloutKey: string, seq: number) => `${rolloutKey}/traffic/${seq}`;

export function trafficEntries(input: Pick<ApplyTrafficInput, 'stableModelId' | 'candidateModelId' | 'mode' | 'percent'>): AllocationEntry[] {
  if (input.mode === 'shadow') {
    return [
      { modelId: input.stableModelId, weight: TOTAL_BUCKETS, role: 'stable' },
      { modelId: input.candidateModelId, weight: percentToWeight(input.percent), role: 'shadow' },
    ];
  }
  const weight = percentToWeight(input.percent);
  return [
    { modelId: input.stableModelId, weight: TOTAL_BUCKETS - weight, role: 'stable' },
    { modelId: input.candidateModelId, weight, role: 'canary' },
  ];
}

/**
 * Sets the candidate's traffic for one stage, in one transaction under the use case's lock.
 * Idempotent: a retry with the same seq returns the allocation written first. Ordered: a change whose
 * seq is lower than one this rollout already applied is refused, so a late retry of an earlier stage
 * can never undo a later one. Guarded: if anything but this rollout changed the allocation since its
 * last change (a manual rollback, another tool), the change is refused instead of overwriting it.
 */
export async function applyTraffic(prisma: PrismaClient, input: ApplyTrafficInput): Promise<AppliedTraffic> {
  return prisma.$transaction(
    async (tx) => {
      await lockUseCase(tx, input.useCaseId);
      const requestKey = trafficKey(input.rolloutKey, input.seq);
      const done = await tx.trafficAllocation.findUnique({ where: { requestKey } });
      if (done) return { allocationVersion: done.version, entries: allocationEntriesSchema.parse(done.entries), appliedAt: done.createdAt.toISOString() };

      const mine = await tx.trafficAllocation.findMany({ where: { useCaseId: input.useCaseId, requestKey: { startsWith: `${input.rolloutKey}/` } }, select: { requestKey: true } });
      const applied = mine.map((a) => Number(a.requestKey!.split('/').pop())).filter((n) => Number.isInteger(n));
      const latestSeq = applied.length ? Math.max(...applied) : -1;
      if (latestSeq > input.seq) {
        throw new RolloutRefusedError(`traffic change #${input.seq} (${input.label}) arrived after change #${latestSeq} was applied; refusing to apply it out of order`);
      }
      const current = await tx.trafficAllocation.findFirst({ where: { useCaseId: input.useCaseId }, orderBy: { version: 'desc' } });
      if (!current) throw new NotFoundError(`use case "${input.useCaseId}" has no traffic allocation`);
      const currentEntries = allocationEntriesSchema.parse(current.entries);
      const ownedByThisRollout = current.requestKey?.startsWith(`${input.rolloutKey}/`) ?? false;
      const atRestOnStable = currentEntries.length === 1 && currentEntries[0]!.modelId === input.stableModelId;
      if (!(ownedByThisRollout || (latestSeq === -1 && atRestOnStable))) {
        throw new AllocationConflictError(
          `the allocation of "${input.useCaseId}" was changed outside this rollout (v${current.version}: ${current.reason}); the rollout stops rather than overwrite it`,
        );
      }

      const allocation = await writeAllocation(tx, {
        useCaseId: input.useCaseId,
        entries: carryParams(trafficEntries(input), currentEntries),
        reason: `rollout ${input.rolloutKey.split('/')[0]}: ${input.mode === 'shadow' ? `shadow mirroring ${input.percent}%` : `candidate at ${input.percent}%`} (${input.label})`,
        createdBy: input.createdBy,
        requestKey,
      });
      await tx.model.updateMany({ where: { id: input.candidateModelId, status: { in: ['candidate', 'deprecated'] } }, data: { status: 'testing' } });
      const deployment = await tx.modelDeployment.findUnique({ where: { id: input.deploymentId } });
      if (deployment) {
        await tx.modelDeployment.update({
          where: { id: input.deploymentId },
          data: {
            trafficPercentage: input.mode === 'shadow' ? 0 : input.percent,
            details: { ...((deployment.details as object | null) ?? {}), stage: input.label, allocationVersion: allocation.version } as PrismaTypes.InputJsonValue,
          },
        });
      }
      return { allocationVersion: allocation.version, entries: allocation.entries, appliedAt: allocation.createdAt.toISOString() };
    },
    { timeout: 30_000, maxWait: 10_000 },
  );
}

/**
 * Makes the candidate the stable model: allocation 100% candidate (the old model leaves it), candidate
 * `current`, old model `deprecated`, deployment `completed`. One transaction; idempotent.
 */
export async function finalizePromotion(
  prisma: PrismaClient,
  input: { useCaseId: string; rolloutKey: string; candidateModelId: string; stableModelId: string; deploymentId: string; reason: string; createdBy: string },
): Promise<AppliedTraffic> {
  return prisma.$transaction(
    async (tx) => {
      await lockUseCase(tx, input.useCaseId);
      const requestKey = `${input.rolloutKey}/promote`;
      const done = await tx.trafficAllocation.findUnique({ where: { requestKey } });
      if (done) return { allocationVersion: done.version, entries: allocationEntriesSchema.parse(done.entries), appliedAt: done.createdAt.toISOString() };
      await assertOwnsAllocation(tx, input.useCaseId, input.rolloutKey);
      const current = await getServingAllocation(tx, input.useCaseId);
      const allocation = await writeAllocation(tx, {
        useCaseId: input.useCaseId,
        entries: carryParams([{ modelId: input.candidateModelId, weight: TOTAL_BUCKETS, role: 'stable' }], current?.entries ?? []),
        reason: `rollout ${input.rolloutKey.split('/')[0]} promoted the candidate: ${input.reason}`,
        createdBy: input.createdBy,
        requestKey,
      });
      await tx.model.update({ where: { id: input.candidateModelId }, data: { status: 'current' } });
      await tx.model.updateMany({ where: { id: input.stableModelId }, data: { status: 'deprecated' } });
      const deployment = await tx.modelDeployment.findUnique({ where: { id: input.deploymentId } });
      if (deployment) {
        await tx.modelDeployment.update({
          where: { id: input.deploymentId },
          data: {
            status: 'completed',
            trafficPercentage: 100,
            completionTime: new Date(),
            details: { ...((deployment.details as object | null) ?? {}), outcome: 'promoted', promotion: input.reason, allocationVersion: allocation.version } as PrismaTypes.InputJsonValue,
          },
        });
      }
      return { allocationVersion: allocation.version, entries: allocation.entries, appliedAt: allocation.createdAt.toISOString() };
    },
    { timeout: 30_000, maxWait: 10_000 },
  );
}

/** Records how a rollout that did not promote ended (the snapshot restore already marked it rolled back). */
export async function finishDeployment(
  prisma: PrismaClient,
  input: { deploymentId: string; status: 'rolled_back' | 'failed'; reason: string; details: Record<string, unknown> },
): Promise<void> {
  const row = await prisma.modelDeployment.findUnique({ where: { id: input.deploymentId } });
  if (!row) throw new NotFoundError(`deployment ${input.deploymentId} not found`);
  await prisma.modelDeployment.update({
    where: { id: input.deploymentId },
    data: {
      // a rollback run by someone else may already have closed the row: keep what it recorded
      status: row.status === 'in_progress' || row.status === input.status ? input.status : row.status,
      rollbackReason: input.reason,
      completionTime: row.completionTime ?? new Date(),
      details: { ...((row.details as object | null) ?? {}), ...input.details } as PrismaTypes.InputJsonValue,
    },
  });
}

/** The stable model of the serving allocation (for the REST API's checks). */
export async function servingStableModel(prisma: PrismaClient, useCaseId: string): Promise<string | undefined> {
  const current = await prisma.trafficAllocation.findFirst({ where: { useCaseId }, orderBy: { version: 'desc' } });
  return current ? stableOf(allocationEntriesSchema.parse(current.entries)) : undefined;
}
