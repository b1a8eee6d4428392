import type { PrismaClient } from '@prisma/client';
import type { MetaPolicy } from '../config/schema';
import { allocationEntriesSchema } from '../registry/allocations';
import { assessUseCases } from './assess';
import { parseGuardrailsOverride, type GuardrailsOverride } from '../guardrails/policy';
import { slosOf, type HealthNumbers, type Slos, type UseCaseAssessment } from './decide';

/**
 * One line per use case, like `kubectl get rollouts`: the serving models and weights, what lifecycle
 * owns the use case, the last decision of the meta loop or the guardrails monitor, and the health over
 * the meta loop's window against the SLOs. Read in a fixed number of queries.
 */
export interface UseCaseStatus {
  useCaseId: string;
  kind: string;
  allocationVersion: number | null;
  models: Array<{ modelId: string; name: string; role: string; weightPercent: number }>;
  running: UseCaseAssessment['running'];
  health: HealthNumbers;
  slos: Slos;
  /** SLO keys breached over the window (empty: within every SLO, or too few calls to tell). */
  breaches: string[];
  lastDecision: { at: string; source: string; action: string; status: string; reason: string } | null;
  /** The guardrails update the gateway applies over policies.guardrails (null: the config's policy). */
  guardrails: GuardrailsOverride | null;
}

export function sloBreaches(h: HealthNumbers, slos: Slos): string[] {
  const out: string[] = [];
  if (slos.errorRate !== undefined && h.errorRate !== null && h.errorRate > slos.errorRate) out.push('errorRate');
  if (slos.p95Ms !== undefined && h.p95Ms !== null && h.p95Ms > slos.p95Ms) out.push('p95Ms');
  if (slos.feedbackScore !== undefined && h.feedbackScore !== null && h.feedbackScore < slos.feedbackScore) out.push('feedbackScore');
  if (slos.costPerRequestUsd !== undefined && h.costPerRequestUsd !== null && h.costPerRequestUsd > slos.costPerRequestUsd) out.push('costPerRequestUsd');
  return out;
}

export async function readUseCaseStatuses(prisma: PrismaClient, policy: MetaPolicy, options: { useCaseIds?: string[]; now?: Date; limit?: number } = {}): Promise<UseCaseStatus[]> {
  const now = options.now ?? new Date();
  const ids = options.useCaseIds ?? (await prisma.useCase.findMany({ orderBy: { id: 'asc' }, take: options.limit ?? 500, select: { id: true } })).map((u) => u.id);
  if (ids.length === 0) return [];
  const [assessments, allocations, decisions, overrides] = await Promise.all([
    assessUseCases(prisma, { useCaseIds: ids, from: new Date(now.getTime() - policy.healthWindowMinutes * 60_000), to: now, baselineHours: policy.baselineHours, lookbackDays: 1 }),
    prisma.$queryRaw<Array<{ use_case_id: string; version: number; entries: unknown }>>`
      select distinct on (use_case_id) use_case_id, version, entries from traffic_allocations
       where use_case_id = any(${ids}::varchar[]) order by use_case_id, version desc`,
    prisma.$queryRaw<Array<{ use_case_id: string; created_at: Date; source: string | null; action: string | null; decision_type: string; status: string; reason: string }>>`
      select distinct on (use_case_id) use_case_id, created_at, details->>'source' as source, details->>'action' as action, decision_type, status, reason
        from optimization_decisions where use_case_id = any(${ids}::varchar[]) order by use_case_id, created_at desc`,
    prisma.useCase.findMany({ where: { id: { in: ids } }, select: { id: true, guardrailsOverride: true } }),
  ]);
  const overrideOf = new Map(overrides.map((u) => [u.id, parseGuardrailsOverride(u.guardrailsOverride) ?? null]));
  const entries = new Map(allocations.map((a) => [a.use_case_id, allocationEntriesSchema.parse(a.entries)]));
  const modelIds = [...new Set([...entries.values()].flat().map((e) => e.modelId))];
  const names = new Map((await prisma.model.findMany({ where: { id: { in: modelIds } }, select: { id: true, modelName: true, version: true } })).map((m) => [m.id, `${m.modelName}@${m.version}`]));
  return assessments.map((a) => {
    const slos = slosOf(policy, a.useCaseId);
    const d = decisions.find((x) => x.use_case_id === a.useCaseId);
    return {
      useCaseId: a.useCaseId,
      kind: a.kind,
      allocationVersion: a.allocationVersion,
      models: (entries.get(a.useCaseId) ?? []).map((e) => ({ modelId: e.modelId, name: names.get(e.modelId) ?? e.modelId, role: e.role, weightPercent: e.weight / 100 })),
      running: a.running,
      health: a.window,
      slos,
      breaches: a.window.calls > 0 ? sloBreaches(a.window, slos) : [],
      lastDecision: d ? { at: d.created_at.toISOString(), source: d.source ?? 'unknown', action: d.action ?? d.decision_type, status: d.status, reason: d.reason } : null,
      guardrails: overrideOf.get(a.useCaseId) ?? null,
    };
  });
}
