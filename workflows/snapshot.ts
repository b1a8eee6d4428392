import { workflowInfo } from '@temporalio/workflow';
import type { SnapshotSummary } from '../src/registry/snapshots';
import { registry } from './activity-stubs';
import type { SnapshotInput } from './snapshot-messages';

/** Captures config, allocation, metrics and artefact reference of a use case for a later rollback. */
export async function snapshotWorkflow(input: SnapshotInput): Promise<SnapshotSummary> {
  const { workflowId, runId } = workflowInfo();
  return registry.captureSnapshot({ ...input, requestKey: `${workflowId}/${runId}/snapshot` });
}
