import { defineQuery } from '@temporalio/workflow';
import type { RollbackTarget } from '../src/registry/snapshots';

/** Messages of the rollback lifecycle, imported by the workflow, the CLI and the tests. */

export type { RollbackTarget };

export interface RollbackInput {
  useCaseId: string;
  target: RollbackTarget;
  reason: string;
  requestedBy: string;
}

export type RollbackPhase = 'resolving' | 'restoring' | 'verifying' | 'completed' | 'failed';

export interface RollbackStatus {
  useCaseId: string;
  phase: RollbackPhase;
  snapshotId?: string;
  allocationVersion?: number;
  deploymentId?: string;
  verifiedBy?: string[];
  error?: string;
}

export interface RollbackResult {
  useCaseId: string;
  snapshotId: string;
  allocationVersion: number;
  deploymentId: string;
  restoredModelId: string | null;
  /** The stable model served before the rollback (what an undo left). */
  previousModelId: string | null;
  verifiedBy: string[];
}

export const rollbackStatusQuery = defineQuery<RollbackStatus>('rollbackStatus');

/** One rollback per use case at a time: the workflow id is the business key. */
export const rollbackWorkflowId = (useCaseId: string) => `rollback:${useCaseId}`;
