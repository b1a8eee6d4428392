import { ApplicationFailure, Context } from '@temporalio/activity';
import { ApplicationFailureCategory } from '@temporalio/common';
import type { PrismaClient } from '@prisma/client';
import { NotFoundError, sameEntries, type AllocationEntry } from '../src/registry/allocations';
import { captureSnapshot, resolveRollbackTarget, restoreSnapshot, type RollbackTarget } from '../src/registry/snapshots';
import type { ServingProbe } from '../src/registry/serving-probes';
import { safeErrorMessage } from '../src/logging/redact';

export interface RegistryActivityDeps {
  prisma: PrismaClient;
  /** Every place that serves traffic: the database the gateway loads from, and each gateway replica. */
  servingProbes: ServingProbe[];
}

/** A registry fault that no retry can mend becomes a non-retryable failure with a readable message. */
export async function failFastOnNotFound<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof NotFoundError) throw ApplicationFailure.nonRetryable(err.message, 'NotFound');
    throw ApplicationFailure.retryable(safeErrorMessage(err), err instanceof Error ? err.name : 'Error');
  }
}

/** Heartbeats while long database work runs, so a killed worker's attempt is retried within seconds. */
export async function withHeartbeat<T>(work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(), 1000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

export function createRegistryActivities({ prisma, servingProbes }: RegistryActivityDeps) {
  return {
    async captureSnapshot(input: { useCaseId: string; name?: string; reason: string; requestKey: string }) {
      return failFastOnNotFound(() => captureSnapshot(prisma, input));
    },

    async resolveRollbackTarget(input: { useCaseId: string; target: RollbackTarget }) {
      return failFastOnNotFound(() => resolveRollbackTarget(prisma, input.useCaseId, input.target));
    },

    async restoreSnapshot(input: { useCaseId: string; snapshotId: string; reason: string; requestKey: string; requestedBy: string; workflowId: string; undo?: boolean }) {
      return withHeartbeat(() => failFastOnNotFound(() => restoreSnapshot(prisma, input)));
    },

    /**
     * Reads back what each serving place serves. Retryable until every probe reports the expected
     * version (or a newer one with the same entries): replicas pick allocations up asynchronously.
     * Waiting is expected, not a fault: `NotYetServed` is BENIGN, so the worker logs each retry at
     * DEBUG without a stack; the workflow still fails loudly when the retries run out.
     */
    async verifyServedAllocation(input: { useCaseId: string; version: number; entries: AllocationEntry[] }) {
      const observed: Array<{ probe: string; version: number | null }> = [];
      for (const probe of servingProbes) {
        const served = await probe.servedAllocation(input.useCaseId);
        observed.push({ probe: probe.name, version: served?.version ?? null });
        if (!served || served.version < input.version || !sameEntries(served.entries, input.entries)) {
          throw ApplicationFailure.create({
            message: `${probe.name} serves ${served ? `allocation v${served.version}` : 'no allocation'} of "${input.useCaseId}", expected v${input.version}`,
            type: 'NotYetServed',
            category: ApplicationFailureCategory.BENIGN,
          });
        }
      }
      return { verified: true as const, observed };
    },
  };
}

export type RegistryActivities = ReturnType<typeof createRegistryActivities>;
