import type { PrismaClient } from '@prisma/client';

export interface HistoryEvent {
  at: string;
  kind: 'deployment' | 'rollback' | 'snapshot';
  id: string;
  status: string | null;
  modelId: string | null;
  detail: string;
}

/** Deployments, rollbacks and snapshots of a use case merged into one timeline, newest first. */
export async function listHistory(prisma: PrismaClient, useCaseId: string, limit = 50): Promise<HistoryEvent[]> {
  const [deployments, snapshots] = await Promise.all([
    prisma.modelDeployment.findMany({ where: { useCaseId }, orderBy: { startTime: 'desc' }, take: limit }),
    prisma.modelSnapshot.findMany({ where: { useCaseId }, orderBy: { createdAt: 'desc' }, take: limit }),
  ]);
  const events: HistoryEvent[] = [
    ...deployments.map((d) => ({
      at: (d.completionTime ?? d.startTime ?? new Date(0)).toISOString(),
      kind: d.deploymentType === 'rollback' ? ('rollback' as const) : ('deployment' as const),
      id: d.id,
      status: d.status,
      modelId: d.modelId,
      detail:
        d.deploymentType === 'rollback'
          ? `to snapshot ${d.snapshotId}: ${d.rollbackReason ?? ''}`
          : `${d.deploymentType} at ${d.trafficPercentage ?? 0}%${d.rollbackReason ? `: ${d.rollbackReason}` : ''}`,
    })),
    ...snapshots.map((s) => ({
      at: s.createdAt.toISOString(),
      kind: 'snapshot' as const,
      id: s.id,
      status: s.isStable ? 'stable' : 'in-flight',
      modelId: s.modelId,
      detail: `${s.snapshotName ?? ''} allocation v${s.allocationVersion ?? '-'}${s.reason ? `: ${s.reason}` : ''}`,
    })),
  ];
  return events.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0)).slice(0, limit);
}
