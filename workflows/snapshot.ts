import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { RegistryActivities } from '../activities/registry';
import type { SnapshotSummary } from '../src/registry/snapshots';
import type { SnapshotInput } from './snapshot-messages';

// One idempotent registry write, retried with backoff.
const registry = proxyActivities<RegistryActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 ms', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 10 },
});

/** Captures config, allocation, metrics and artefact reference of a use case for a later rollback. */
export async function snapshotWorkflow(input: SnapshotInput): Promise<SnapshotSummary> {
  const { workflowId, runId } = workflowInfo();
  return registry.captureSnapshot({ ...input, requestKey: `${workflowId}/${runId}/snapshot` });
}
