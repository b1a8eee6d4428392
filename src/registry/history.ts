import type { PrismaClient } from '@prisma/client';

export interface HistoryEvent {
  at: string;
  /** `intervention`: a decision of the optimiser or the guardrails monitor (optimization_decisions). */
  kind: 'deployment' | 'rollback' | 'snapshot' | 'intervention';
  id: string;
  status: string | null;
  modelId: string | null;
  detail: string;
}

/** Deployments, rollbacks, snapshots and interventions of a use case merged into one timeline, newest first. */
export async function listHistory(prisma: PrismaClient, useCaseId: string, limit = 50): Promise<HistoryEvent[]> {
  const [deployments, snapshots, decisions] = await Promise.all([
    prisma.modelDeployment.findMany({ where: { useCaseId }, orderBy: { startTime: 'desc' }, take: limit }),
    prisma.modelSnapshot.findMany({ where: { useCaseId }, orderBy: { createdAt: 'desc' }, take: limit }),
    prisma.optimizationDecision.findMany({ where: { useCaseId }, orderBy: { createdAt: 'desc' }, take: limit }),
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
    ...decisions.map((d) => ({
      at: d.createdAt.toISOString(),
      kind: 'intervention' as const,
      id: d.id,
      status: d.status,
      modelId: d.currentModelId,
      detail: `${(d.details as { source?: string } | null)?.source ?? 'optimizer'} ${d.decisionType}: ${d.reason}`,
    })),
  ];
  return events.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0)).slice(0, limit);
}
