export interface SnapshotInput {
  useCaseId: string;
  name?: string;
  reason: string;
}

export const snapshotWorkflowId = (useCaseId: string, requestId: string) => `snapshot:${useCaseId}:${requestId}`;
