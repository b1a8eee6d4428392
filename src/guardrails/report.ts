import { Prisma, type PrismaClient } from '@prisma/client';
import { UNHEALTHY_INDICATORS } from './types';

/**
 * What the guardrails did for a use case or a model over a period, from the registry: violations by
 * severity and category, rates per window, engagement health per player (anonymised aggregates) and
 * the interventions taken. Read by `mms guardrails report` and GET …/guardrails/{model_id}.
 */
export interface GuardrailsReport {
  scope: { useCaseId: string; modelId?: string };
  from: string;
  to: string;
  windowMinutes: number;
  requests: number;
  violations: { total: number; bySeverity: Record<string, number>; byCategory: Record<string, number>; byIntervention: Record<string, number> };
  windows: Array<{ start: string; requests: number; blocked: number; critical: number; criticalRate: number | null; violationRate: number | null; unhealthyEngagementRate: number | null }>;
  engagementHealth: EngagementHealth;
  interventions: Array<{ at: string; type: string; status: string; reason: string; workflowId: string | null; details: unknown }>;
}

export interface EngagementHealth {
  /** Players (distinct sticky-key hashes) seen in the period; nothing that identifies one is reported. */
  players: number;
  sessions: number;
  /** A session ends after `sessionGapMinutes` without a call. */
  sessionGapMinutes: number;
  sessionMinutes: { p50: number | null; p90: number | null; max: number | null };
  sessionsPerPlayerDay: { p50: number | null; p90: number | null };
  /** Share of calls between 23:00 and 05:00 UTC (the gateway does not know the player's time zone). */
  lateNightShare: number | null;
  /** Share of outputs with an unhealthy engagement indicator (manipulation, FOMO, obsession). */
  unhealthyOutputShare: number | null;
  /** Players whose median session passes 3 hours or who play mostly late at night. */
  playersAtRisk: number;
}

const UNHEALTHY = Prisma.join([...UNHEALTHY_INDICATORS]);

export async function guardrailsReport(
  prisma: PrismaClient,
  /** The use case; with modelId, only that model's calls and violations (decisions stay the use case's). */
  scope: { useCaseId: string; modelId?: string },
  options: { since?: Date; until?: Date; windowMinutes?: number; sessionGapMinutes?: number } = {},
): Promise<GuardrailsReport> {
  const to = options.until ?? new Date();
  const from = options.since ?? new Date(to.getTime() - 24 * 3600_000);
  const windowMinutes = options.windowMinutes ?? 60;
  const gap = options.sessionGapMinutes ?? 30;
  const logScope = scope.modelId ? Prisma.sql`l.use_case = ${scope.useCaseId} and l.model_id = ${scope.modelId}::uuid` : Prisma.sql`l.use_case = ${scope.useCaseId}`;
  const vScope = scope.modelId ? Prisma.sql`v.use_case_id = ${scope.useCaseId} and v.model_id = ${scope.modelId}::uuid` : Prisma.sql`v.use_case_id = ${scope.useCaseId}`;

  const [groups, windows, players, interventions] = await Promise.all([
    prisma.$queryRaw<Array<{ severity: string | null; type: string | null; intervention: string | null; n: bigint }>>`
      select v.severity, v.violation_type as type, v.intervention_taken as intervention, count(*) as n
      from guardrails_violations v where ${vScope} and v.timestamp >= ${from} and v.timestamp < ${to}
      group by 1, 2, 3`,
    prisma.$queryRaw<Array<{ start: Date; requests: bigint; blocked: bigint; critical: bigint; violating: bigint; unhealthy: bigint }>>`
      with calls as (
        select l.log_id, l.timestamp, l.status, to_timestamp(floor(extract(epoch from l.timestamp) / ${windowMinutes * 60}) * ${windowMinutes * 60}) as start
        from model_historical_logs l
        where ${logScope} and l.timestamp >= ${from} and l.timestamp < ${to} and coalesce(l.role, 'stable') <> 'shadow'
      ), flagged as (
        select v.log_id, bool_or(v.severity = 'critical') as critical, bool_or(v.violation_type in (${UNHEALTHY})) as unhealthy
        from guardrails_violations v where ${vScope} and v.timestamp >= ${from} and v.timestamp < ${to} group by v.log_id
      )
      select c.start, count(*) as requests, count(*) filter (where c.status = 'blocked') as blocked,
             count(*) filter (where f.critical) as critical, count(f.log_id) as violating, count(*) filter (where f.unhealthy) as unhealthy
      from calls c left join flagged f on f.log_id = c.log_id
      group by c.start order by c.start`,
    prisma.$queryRaw<Array<{ player: string; at: Date; unhealthy: boolean }>>`
      select l.sticky_key_hash as player, l.timestamp as at,
             exists (select 1 from guardrails_violations v where v.log_id = l.log_id and v.violation_type in (${UNHEALTHY})) as unhealthy
      from model_historical_logs l
      where ${logScope} and l.timestamp >= ${from} and l.timestamp < ${to} and l.sticky_key_hash is not null and coalesce(l.role, 'stable') <> 'shadow'
      order by l.sticky_key_hash, l.timestamp
      limit 200000`,
    prisma.optimizationDecision.findMany({ where: { useCaseId: scope.useCaseId, createdAt: { gte: from, lt: to }, details: { path: ['source'], equals: 'guardrails' } }, orderBy: { createdAt: 'desc' }, take: 100 }),
  ]);

  const bySeverity: Record<string, number> = {};
  const byCategory: Record<string, number> = {};
  const byIntervention: Record<string, number> = {};
  let total = 0;
  for (const g of groups) {
    const n = Number(g.n);
    total += n;
    bySeverity[g.severity ?? 'unknown'] = (bySeverity[g.severity ?? 'unknown'] ?? 0) + n;
    byCategory[g.type ?? 'unknown'] = (byCategory[g.type ?? 'unknown'] ?? 0) + n;
    byIntervention[g.intervention ?? 'unknown'] = (byIntervention[g.intervention ?? 'unknown'] ?? 0) + n;
  }
  const rate = (x: bigint, n: bigint) => (n > 0n ? Number(x) / Number(n) : null);
  return {
    scope,
    from: from.toISOString(),
    to: to.toISOString(),
    windowMinutes,
    requests: windows.reduce((n, w) => n + Number(w.requests), 0),
    violations: { total, bySeverity, byCategory, byIntervention },
    windows: windows.map((w) => ({
      start: w.start.toISOString(),
      requests: Number(w.requests),
      blocked: Number(w.blocked),
      critical: Number(w.critical),
      criticalRate: rate(w.critical, w.requests),
      violationRate: rate(w.violating, w.requests),
      unhealthyEngagementRate: rate(w.unhealthy, w.requests),
    })),
    engagementHealth: engagementHealth(players, gap),
    interventions: interventions.map((d) => ({ at: d.createdAt.toISOString(), type: d.decisionType, status: d.status, reason: d.reason, workflowId: d.workflowId, details: d.details })),
  };
}

/** Per-player sessions from ordered call times, reduced to distributions (no player is named). */
export function engagementHealth(calls: Array<{ player: string; at: Date; unhealthy: boolean }>, gapMinutes = 30): EngagementHealth {
  const sessionMinutes: number[] = [];
  const perPlayerDay: number[] = [];
  let late = 0;
  let unhealthy = 0;
  let atRisk = 0;
  let players = 0;
  for (let i = 0; i < calls.length; ) {
    const player = calls[i]!.player;
    const mine: number[] = [];
    let lateMine = 0;
    for (; i < calls.length && calls[i]!.player === player; i++) {
      const c = calls[i]!;
      mine.push(c.at.getTime());
      const h = c.at.getUTCHours();
      if (h >= 23 || h < 5) lateMine++;
      if (c.unhealthy) unhealthy++;
    }
    players++;
    late += lateMine;
    const sessions: number[] = [];
    let start = mine[0]!;
    for (let k = 1; k <= mine.length; k++) {
      if (k === mine.length || mine[k]! - mine[k - 1]! > gapMinutes * 60_000) {
        sessions.push((mine[k - 1]! - start) / 60_000);
        if (k < mine.length) start = mine[k]!;
      }
    }
    sessionMinutes.push(...sessions);
    const days = new Set(mine.map((t) => Math.floor(t / 86_400_000))).size;
    perPlayerDay.push(sessions.length / days);
    if (quantile(sessions, 0.5)! > 180 || lateMine / mine.length > 0.5) atRisk++;
  }
  return {
    players,
    sessions: sessionMinutes.length,
    sessionGapMinutes: gapMinutes,
    sessionMinutes: { p50: quantile(sessionMinutes, 0.5), p90: quantile(sessionMinutes, 0.9), max: sessionMinutes.length ? Math.max(...sessionMinutes) : null },
    sessionsPerPlayerDay: { p50: quantile(perPlayerDay, 0.5), p90: quantile(perPlayerDay, 0.9) },
    lateNightShare: calls.length ? late / calls.length : null,
    unhealthyOutputShare: calls.length ? unhealthy / calls.length : null,
    playersAtRisk: atRisk,
  };
}

function quantile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]! * 100) / 100;
}
