import { ApplicationFailure, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { RegistryActivities } from '../activities/registry';
import { rollbackStatusQuery, type RollbackInput, type RollbackResult, type RollbackStatus } from './rollback-messages';

// Registry reads and writes: quick, idempotent, retried with backoff through a database blip.
// The restore heartbeats, so a worker killed mid-transaction is noticed in seconds, not minutes.
const registry = proxyActivities<RegistryActivities>({
  startToCloseTimeout: '60 seconds',
  heartbeatTimeout: '5 seconds',
  retry: { initialInterval: '500 ms', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 10 },
});

// Verification waits for replicas to pick the new allocation up (they poll within ~1 s): frequent,
// flat retries for a bounded time, then the rollback fails loudly instead of claiming success.
const verification = proxyActivities<RegistryActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '250 ms', backoffCoefficient: 1.5, maximumInterval: '2 seconds', maximumAttempts: 40 },
});

/**
 * Restores a snapshot of a use case (seed section 4.2): resolve the target snapshot, restore config and
 * allocation in one transaction, then verify the data plane serves it.
 */
export async function rollbackWorkflow(input: RollbackInput): Promise<RollbackResult> {
  const status: RollbackStatus = { useCaseId: input.useCaseId, phase: 'resolving' };
  setHandler(rollbackStatusQuery, () => status);
  const { workflowId, runId } = workflowInfo();
  try {
    const snapshot = await registry.resolveRollbackTarget({ useCaseId: input.useCaseId, target: input.target });
    status.snapshotId = snapshot.snapshotId;
    status.phase = 'restoring';
    const restored = await registry.restoreSnapshot({
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
