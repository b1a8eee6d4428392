import type { Prisma as PrismaTypes, PrismaClient } from '@prisma/client';
import { z } from 'zod';
import {
  NotFoundError,
  allocationEntriesSchema,
  getServingAllocation,
  lockUseCase,
  sameEntries,
  stableModelId,
  writeAllocation,
  type AllocationEntry,
} from './allocations';
import { modelMetrics } from './metrics';
import type { UseCaseConfigSnapshot } from './use-cases';

export const snapshotConfigurationSchema = z.object({
  temperature: z.number(),
  maxTokens: z.number().int(),
  systemPromptTemplate: z.string(),
  samplingParams: z.record(z.string(), z.unknown()),
  fallbackModelId: z.string().nullable(),
});

const snapshotAllocationSchema = z.object({ version: z.number().int(), entries: allocationEntriesSchema });

export interface SnapshotSummary {
  snapshotId: string;
  useCaseId: string;
  modelId: string | null;
  allocationVersion: number | null;
  isStable: boolean;
  createdAt: string;
}

export const METRICS_WINDOW_MS = 60 * 60 * 1000;

/**
 * Captures what a rollback must be able to restore: the use case's config, its serving allocation,
 * the recent performance of each model in it, and the stable model's artefact reference. A retry with
 * the same requestKey returns the snapshot written first.
 */
export async function captureSnapshot(
  prisma: PrismaClient,
  input: { useCaseId: string; name?: string; reason: string; requestKey?: string; now?: Date },
): Promise<SnapshotSummary> {
  if (input.requestKey) {
    const existing = await prisma.modelSnapshot.findUnique({ where: { requestKey: input.requestKey } });
    if (existing) return summarise(existing);
  }
  const useCase = await prisma.useCase.findUnique({ where: { id: input.useCaseId } });
  if (!useCase) throw new NotFoundError(`use case "${input.useCaseId}" is not in the registry`);
  const allocation = await getServingAllocation(prisma, input.useCaseId);
  if (!allocation) throw new NotFoundError(`use case "${input.useCaseId}" has no traffic allocation to snapshot`);
  const stableId = stableModelId(allocation.entries);
  const stable = stableId ? await prisma.model.findUnique({ where: { id: stableId } }) : null;
  const now = input.now ?? new Date();
  const metrics = await modelMetrics(prisma, input.useCaseId, new Date(now.getTime() - METRICS_WINDOW_MS), now);
  const rolloutRunning = (await prisma.modelDeployment.count({ where: { useCaseId: input.useCaseId, status: 'in_progress' } })) > 0;
  const atRest = allocation.entries.length === 1 && allocation.entries[0]!.role === 'stable';
  const configuration: UseCaseConfigSnapshot = {
    temperature: useCase.temperature,
    maxTokens: useCase.maxTokens,
    systemPromptTemplate: useCase.systemPromptTemplate,
    samplingParams: useCase.samplingParams as Record<string, unknown>,
    fallbackModelId: useCase.fallbackModelId,
  };
  const row = await prisma.modelSnapshot.create({
    data: {
      useCaseId: input.useCaseId,
      modelId: stableId ?? null,
      snapshotName: input.name ?? `${input.useCaseId}@v${allocation.version}`,
      modelStatePath: stable?.modelPath ?? (stable ? `${stable.provider}:${stable.upstreamModel ?? stable.modelName}` : 'none'),
      configuration: configuration as unknown as object,
      performanceMetrics: { windowMinutes: METRICS_WINDOW_MS / 60_000, capturedAt: now.toISOString(), models: metrics } as unknown as object,
      trafficAllocation: { version: allocation.version, entries: allocation.entries },
      allocationVersion: allocation.version,
      isStable: atRest && !rolloutRunning,
      reason: input.reason,
      requestKey: input.requestKey,
    },
  });
  return summarise(row);
}

function summarise(row: { id: string; useCaseId: string; modelId: string | null; allocationVersion: number | null; isStable: boolean; createdAt: Date }): SnapshotSummary {
  return {
    snapshotId: row.id,
    useCaseId: row.useCaseId,
    modelId: row.modelId,
    allocationVersion: row.allocationVersion,
    isStable: row.isStable,
    createdAt: row.createdAt.toISOString(),
  };
}

/**
 * What a rollback restores: a snapshot, a model's latest snapshot, the latest stable snapshot, or
 * `undo` — the model that served before the last change (see resolveUndoTarget).
 */
export type RollbackTarget = { snapshotId: string } | { modelId: string } | { latestStable: true } | { undo: true };

/** The snapshot a rollback restores: the one named, the latest one of a model, the latest stable one, or the undo of the last change. */
export async function resolveRollbackTarget(prisma: PrismaClient, useCaseId: string, target: RollbackTarget): Promise<SnapshotSummary> {
  if ('undo' in target) return (await resolveUndoTarget(prisma, useCaseId)).snapshot;
  const where =
    'snapshotId' in target
      ? { id: target.snapshotId }
      : 'modelId' in target
        ? { useCaseId, modelId: target.modelId }
        : { useCaseId, isStable: true };
  const row = await prisma.modelSnapshot.findFirst({ where, orderBy: { createdAt: 'desc' } });
  const what = 'snapshotId' in target ? `snapshot ${target.snapshotId}` : 'modelId' in target ? `a snapshot of model ${target.modelId}` : 'a stable snapshot';
  if (!row) throw new NotFoundError(`no ${what} for use case "${useCaseId}"`);
  if (row.useCaseId !== useCaseId) throw new NotFoundError(`snapshot ${row.id} belongs to use case "${row.useCaseId}", not "${useCaseId}"`);
  return summarise(row);
}

export interface UndoTarget {
  /** The stable model serving now (what the undo leaves). */
  fromModelId: string;
  /** The model the undo goes back to, and the snapshot of it that is restored. */
  toModelId: string;
  snapshot: SnapshotSummary;
  /** Why this target: `undoes the promotion of …`, `undoes the unfinished rollout …`. */
  explanation: string;
}

/**
 * Undo, as `kubectl argo rollouts undo` or a `git revert` history: back to the model that served
 * before the last change of the stable model, and — undone again — to the one before that, never
 * oscillating between the last two. The history is replayed from the deployment rows: a promotion or
 * a targeted rollback pushes the model it made stable, an undo pops. When the serving allocation is
 * not at rest (an unfinished rollout left a canary or shadow), undo restores the stable model alone.
 * Restores the latest stable snapshot of the target model.
 */
export async function resolveUndoTarget(prisma: PrismaClient | PrismaTypes.TransactionClient, useCaseId: string): Promise<UndoTarget> {
  const allocation = await getServingAllocation(prisma, useCaseId);
  if (!allocation) throw new NotFoundError(`use case "${useCaseId}" has no traffic allocation to undo`);
  const current = stableModelId(allocation.entries);
  if (!current) throw new NotFoundError(`use case "${useCaseId}" serves no stable model`);
  const atRest = allocation.entries.length === 1;
  let toModelId = current;
  let explanation = `clears the unfinished change of allocation v${allocation.version}`;
  if (atRest) {
    const rows = await prisma.modelDeployment.findMany({
      where: { useCaseId, status: { in: ['completed', 'rolled_back'] }, completionTime: { not: null } },
      orderBy: [{ completionTime: 'asc' }, { startTime: 'asc' }],
      select: { modelId: true, previousModelId: true, deploymentType: true, status: true, details: true },
    });
    const stack: string[] = [];
    for (const row of rows) {
      const isRollback = row.deploymentType === 'rollback';
      if (!isRollback && row.status !== 'completed') continue; // a rollout that did not promote changed nothing
      if (!row.modelId) continue;
      if (stack.length === 0 && row.previousModelId) stack.push(row.previousModelId);
      if (isRollback && (row.details as { undo?: boolean } | null)?.undo) {
        stack.pop();
        if (stack[stack.length - 1] !== row.modelId) stack.push(row.modelId);
      } else if (stack[stack.length - 1] !== row.modelId) {
        stack.push(row.modelId);
      }
    }
    // a change made outside MMS's lifecycles (SQL, an older version) still counts as the present
    if (stack[stack.length - 1] !== current) stack.push(current);
    const previous = stack[stack.length - 2];
    if (!previous) {
      throw new NotFoundError(
        `nothing to undo for "${useCaseId}": it has served only model ${current} since its first deployment; pick a snapshot with \`mms rollback ${useCaseId} --snapshot <id>\` (see \`mms history ${useCaseId}\`)`,
      );
    }
    toModelId = previous;
    explanation = `undoes the change from model ${previous} to ${current}`;
  }
  const row = await prisma.modelSnapshot.findFirst({ where: { useCaseId, modelId: toModelId, isStable: true }, orderBy: { createdAt: 'desc' } });
  if (!row) throw new NotFoundError(`no stable snapshot of model ${toModelId} for use case "${useCaseId}" to go back to`);
  return { fromModelId: current, toModelId, snapshot: summarise(row), explanation };
}

export interface RestoreResult {
  snapshotId: string;
  allocationVersion: number;
  entries: AllocationEntry[];
  deploymentId: string;
  restoredModelId: string | null;
  /** The stable model served before the restore. */
  previousModelId: string | null;
}

/**
 * Restores a snapshot in one transaction: config, a new allocation version equal to the snapshot's,
 * model statuses, every in-progress deployment of the use case marked rolled back, and one deployment
 * row recording the rollback. Idempotent on requestKey: running it twice leaves the state of once.
 */
export async function restoreSnapshot(
  prisma: PrismaClient,
  input: { useCaseId: string; snapshotId: string; reason: string; requestKey: string; requestedBy: string; workflowId?: string; undo?: boolean },
): Promise<RestoreResult> {
  return prisma.$transaction(
    async (tx) => {
      await lockUseCase(tx, input.useCaseId);
      const done = await tx.modelDeployment.findUnique({ where: { requestKey: input.requestKey } });
      if (done) {
        const allocation = await tx.trafficAllocation.findUnique({ where: { requestKey: `${input.requestKey}:allocation` } });
        if (!allocation) throw new Error(`rollback ${input.requestKey} recorded a deployment without its allocation`);
        return {
          snapshotId: input.snapshotId,
          allocationVersion: allocation.version,
          entries: allocationEntriesSchema.parse(allocation.entries),
          deploymentId: done.id,
          restoredModelId: done.modelId,
          previousModelId: done.previousModelId,
        };
      }
      const snapshot = await tx.modelSnapshot.findUnique({ where: { id: input.snapshotId } });
      if (!snapshot || snapshot.useCaseId !== input.useCaseId) throw new NotFoundError(`snapshot ${input.snapshotId} of use case "${input.useCaseId}" not found`);
      const config = snapshotConfigurationSchema.parse(snapshot.configuration);
      const target = snapshotAllocationSchema.parse(snapshot.trafficAllocation);
      const before = await getServingAllocation(tx, input.useCaseId);

      await tx.useCase.update({
        where: { id: input.useCaseId },
        data: {
          temperature: config.temperature,
          maxTokens: config.maxTokens,
          systemPromptTemplate: config.systemPromptTemplate,
          samplingParams: config.samplingParams as object,
          fallbackModelId: config.fallbackModelId,
        },
      });
      const allocation = await writeAllocation(tx, {
        useCaseId: input.useCaseId,
        entries: target.entries,
        reason: `rollback to snapshot ${snapshot.id} (allocation v${target.version}): ${input.reason}`,
        createdBy: input.requestedBy,
        requestKey: `${input.requestKey}:allocation`,
      });

      const restoredIds = new Set(target.entries.map((e) => e.modelId));
      const stableIds = target.entries.filter((e) => e.role === 'stable').map((e) => e.modelId);
      const droppedIds = (before?.entries ?? []).map((e) => e.modelId).filter((id) => !restoredIds.has(id));
      await tx.model.updateMany({ where: { id: { in: stableIds } }, data: { status: 'current' } });
      if (droppedIds.length > 0) await tx.model.updateMany({ where: { id: { in: droppedIds } }, data: { status: 'deprecated' } });

      const now = new Date();
      await tx.modelDeployment.updateMany({
        where: { useCaseId: input.useCaseId, status: 'in_progress' },
        data: { status: 'rolled_back', completionTime: now, rollbackReason: input.reason },
      });
      const deployment = await tx.modelDeployment.create({
        data: {
          useCaseId: input.useCaseId,
          modelId: snapshot.modelId,
          previousModelId: before ? (stableModelId(before.entries) ?? null) : null,
          deploymentType: 'rollback',
          status: 'rolled_back',
          trafficPercentage: 100,
          startTime: now,
          completionTime: now,
          rollbackReason: input.reason,
          snapshotId: snapshot.id,
          workflowId: input.workflowId,
          requestKey: input.requestKey,
          details: {
            requestedBy: input.requestedBy,
            fromAllocationVersion: before?.version ?? null,
            toAllocationVersion: allocation.version,
            snapshotAllocationVersion: target.version,
            allocationChanged: before ? !sameEntries(before.entries, target.entries) : true,
            // an undo pops the history resolveUndoTarget replays; any other restore pushes
            undo: input.undo ?? false,
          },
        },
      });
      return {
        snapshotId: snapshot.id,
        allocationVersion: allocation.version,
        entries: allocation.entries,
        deploymentId: deployment.id,
        restoredModelId: snapshot.modelId,
        previousModelId: deployment.previousModelId,
      };
    },
    { timeout: 30_000, maxWait: 10_000 },
  );
}
