import { ApplicationFailure, log, setHandler, workflowInfo } from '@temporalio/workflow';
import { lockedRegistry, registry, verification } from './activity-stubs';
import { rollbackStatusQuery, type RollbackInput, type RollbackResult, type RollbackStatus } from './rollback-messages';

/**
 * Restores a snapshot of a use case: resolve the target snapshot (an id, a model's latest snapshot or
 * the most recent stable one), restore config, allocation and model statuses in one transaction, then
 * verify that every serving place serves it.
 */
export async function rollbackWorkflow(input: RollbackInput): Promise<RollbackResult> {
  const status: RollbackStatus = { useCaseId: input.useCaseId, phase: 'resolving' };
  setHandler(rollbackStatusQuery, () => status);
  const { workflowId, runId } = workflowInfo();
  try {
    const snapshot = await registry.resolveRollbackTarget({ useCaseId: input.useCaseId, target: input.target });
    status.snapshotId = snapshot.snapshotId;
    status.phase = 'restoring';
    const restored = await lockedRegistry.restoreSnapshot({
      useCaseId: input.useCaseId,
      snapshotId: snapshot.snapshotId,
      reason: input.reason,
      requestedBy: input.requestedBy,
      workflowId,
      requestKey: `${workflowId}/${runId}/restore`,
      undo: 'undo' in input.target,
    });
    status.allocationVersion = restored.allocationVersion;
    status.deploymentId = restored.deploymentId;
    status.phase = 'verifying';
    const verified = await verification.verifyServedAllocation({
      useCaseId: input.useCaseId,
      version: restored.allocationVersion,
      entries: restored.entries,
    });
    status.verifiedBy = verified.observed.map((o) => o.probe);
    status.phase = 'completed';
    log.info('rollback completed', { useCaseId: input.useCaseId, snapshotId: snapshot.snapshotId, version: restored.allocationVersion });
    return {
      useCaseId: input.useCaseId,
      snapshotId: snapshot.snapshotId,
      allocationVersion: restored.allocationVersion,
      deploymentId: restored.deploymentId,
      restoredModelId: restored.restoredModelId,
      previousModelId: restored.previousModelId,
      verifiedBy: status.verifiedBy,
    };
  } catch (err) {
    status.phase = 'failed';
    status.error = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
    throw err instanceof ApplicationFailure ? err : ApplicationFailure.nonRetryable(status.error, 'RollbackFailed');
  }
}
