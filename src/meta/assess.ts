import { Prisma, type PrismaClient } from '@prisma/client';
import { allocationEntriesSchema, stableModelId, type AllocationEntry } from '../registry/allocations';
import { modelParamsOf } from '../registry/models';
import { histogramQuantile } from '../registry/rollups';
import { floorHour, HOUR_MS, rollupSumsSql } from '../logs/rollups';
import type { HealthNumbers, UseCaseAssessment } from './decide';
import { guardrailsUpdatesInForce } from './guardrails';
import { UNHEALTHY_INDICATORS } from '../guardrails/types';

/**
 * What the meta loop reads of a batch of use cases, in a fixed number of queries whatever the batch
 * size: the serving allocation and its stable model, the stable model's health over the window (the
 * per-minute roll-ups) and its baseline before it (the hourly roll-ups), any in-progress deployment,
 * the guardrails monitor's recent decisions and when the loop last retrained or switched.
 */

export interface AssessInput {
  useCaseIds: string[];
  /** The health window [from, to). */
  from: Date;
  to: Date;
  baselineHours: number;
  /** How far back the last retrain / paid switch decisions are looked for. */
  lookbackDays: number;
}

type SumsRow = { use_case: string; model_id: string; calls: bigint; errors: bigint; latency_buckets: Array<bigint | null>; cost_usd: Prisma.Decimal; feedback_count: bigint; feedback_score_sum: number };

function health(row: SumsRow | undefined, from: Date, to: Date): HealthNumbers {
  const calls = Number(row?.calls ?? 0);
  const feedbackCount = Number(row?.feedback_count ?? 0);
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    calls,
    errors: Number(row?.errors ?? 0),
    errorRate: calls ? Number(row!.errors) / calls : null,
    p95Ms: row ? histogramQuantile(row.latency_buckets.map((x) => Number(x ?? 0)), 0.95) : null,
    feedbackScore: feedbackCount ? row!.feedback_score_sum / feedbackCount : null,
    feedbackCount,
    costPerRequestUsd: calls ? Number(row!.cost_usd) / calls : null,
  };
}

/** The guardrails' rates over the window's calls (null without calls). */
function withGuardrails(h: HealthNumbers, row: { tier2_missed: bigint; unhealthy: bigint } | undefined): HealthNumbers {
  const rate = (n: bigint | undefined) => (h.calls ? Number(n ?? 0n) / h.calls : null);
  return { ...h, tier2MissRate: rate(row?.tier2_missed), unhealthyEngagementRate: rate(row?.unhealthy) };
}

export async function assessUseCases(prisma: PrismaClient, input: AssessInput): Promise<UseCaseAssessment[]> {
  const ids = input.useCaseIds;
  if (ids.length === 0) return [];
  const baselineTo = floorHour(input.from);
  const baselineFrom = new Date(baselineTo.getTime() - input.baselineHours * HOUR_MS);
  const lookback = new Date(input.to.getTime() - input.lookbackDays * 24 * HOUR_MS);
  const [useCases, allocations, deployments] = await Promise.all([
    prisma.useCase.findMany({ where: { id: { in: ids } }, select: { id: true, kind: true, temperature: true, createdAt: true } }),
    prisma.$queryRaw<Array<{ use_case_id: string; version: number; entries: unknown }>>`
      select distinct on (use_case_id) use_case_id, version, entries from traffic_allocations
       where use_case_id = any(${ids}::varchar[]) order by use_case_id, version desc`,
    prisma.modelDeployment.findMany({
      where: { useCaseId: { in: ids }, status: 'in_progress', deploymentType: { not: 'rollback' } },
      select: { useCaseId: true, deploymentType: true, workflowId: true, trafficPercentage: true, startTime: true },
      orderBy: { startTime: 'desc' },
    }),
  ]);
  const entriesOf = new Map<string, { version: number; entries: AllocationEntry[] }>(allocations.map((a) => [a.use_case_id, { version: a.version, entries: allocationEntriesSchema.parse(a.entries) }]));
  const stableOf = new Map<string, string>();
  for (const [useCaseId, a] of entriesOf) {
    const id = stableModelId(a.entries);
    if (id) stableOf.set(useCaseId, id);
  }
  const stableIds = [...new Set(stableOf.values())];
  const sums = Prisma.raw(rollupSumsSql());
  const [models, window, baseline, decisions, guardrailRows, inForce] = await Promise.all([
    prisma.model.findMany({ where: { id: { in: stableIds } }, select: { id: true, modelName: true, configuration: true } }),
    prisma.$queryRaw<SumsRow[]>`
      select use_case, model_id::text as model_id, ${sums} from model_call_rollups
       where use_case = any(${ids}::varchar[]) and minute >= ${input.from} and minute < ${input.to} and role <> 'shadow'
       group by 1, 2`,
    prisma.$queryRaw<SumsRow[]>`
      select use_case, model_id::text as model_id, ${sums} from model_call_rollups_hourly
       where use_case = any(${ids}::varchar[]) and hour >= ${baselineFrom} and hour < ${baselineTo} and role <> 'shadow'
       group by 1, 2`,
    prisma.$queryRaw<Array<{ use_case_id: string; source: string | null; decision_type: string; last: Date; recent: bigint }>>`
      select use_case_id, details->>'source' as source, decision_type, max(created_at) as last, count(*) filter (where created_at >= ${input.from}) as recent
        from optimization_decisions
       where use_case_id = any(${ids}::varchar[]) and created_at >= ${lookback} and decision_type <> 'none' and status not in ('rejected', 'failed')
         and coalesce((details->>'dryRun')::boolean, false) = false
       group by 1, 2, 3`,
    // What the guardrails recorded over the window per model: calls whose high / critical harm only
    // tier 2 or a model guard found (after the answer: tier 1 let it through), and calls with an
    // unhealthy engagement indicator.
    prisma.$queryRaw<Array<{ use_case_id: string; model_id: string; tier2_missed: bigint; unhealthy: bigint }>>`
      select use_case_id, model_id::text as model_id,
             count(distinct log_id) filter (where severity in ('high', 'critical') and violation_details->>'tier' = '2') as tier2_missed,
             count(distinct log_id) filter (where violation_type = any(${[...UNHEALTHY_INDICATORS]}::text[])) as unhealthy
        from guardrails_violations
       where use_case_id = any(${ids}::varchar[]) and timestamp >= ${input.from} and timestamp < ${input.to}
       group by 1, 2`,
    guardrailsUpdatesInForce(prisma, ids),
  ]);
  const guardrailsOf = new Map(guardrailRows.map((r) => [`${r.use_case_id}/${r.model_id}`, r]));
  const modelOf = new Map(models.map((m) => [m.id, m]));
  const key = (useCase: string, modelId: string) => `${useCase}/${modelId}`;
  const windowOf = new Map(window.map((r) => [key(r.use_case, r.model_id), r]));
  const baselineOf = new Map(baseline.map((r) => [key(r.use_case, r.model_id), r]));
  return ids.flatMap((useCaseId): UseCaseAssessment[] => {
    const u = useCases.find((x) => x.id === useCaseId);
    if (!u) return [];
    const alloc = entriesOf.get(useCaseId);
    const stableId = stableOf.get(useCaseId);
    const m = stableId ? modelOf.get(stableId) : undefined;
    const entry = alloc?.entries.find((e) => e.modelId === stableId);
    const running = deployments.find((d) => d.useCaseId === useCaseId);
    const ours = decisions.filter((d) => d.use_case_id === useCaseId);
    const last = (source: string, type: string) => ours.find((d) => d.source === source && d.decision_type === type)?.last.toISOString() ?? null;
    const baselineRow = stableId ? baselineOf.get(key(useCaseId, stableId)) : undefined;
    const force = inForce.get(useCaseId);
    return [
      {
        useCaseId,
        kind: u.kind === 'paid' ? 'paid' : 'self_hosted',
        createdAt: u.createdAt.toISOString(),
        allocationVersion: alloc?.version ?? null,
        stable: stableId ? { modelId: stableId, modelName: m?.modelName ?? stableId, temperature: entry?.params?.temperature ?? modelParamsOf(m?.configuration).temperature ?? u.temperature } : null,
        window: withGuardrails(health(stableId ? windowOf.get(key(useCaseId, stableId)) : undefined, input.from, input.to), stableId ? guardrailsOf.get(key(useCaseId, stableId)) : undefined),
        baseline: baselineRow ? health(baselineRow, baselineFrom, baselineTo) : null,
        running: running ? { kind: running.deploymentType ?? 'deployment', workflowId: running.workflowId, trafficPercentage: running.trafficPercentage, since: (running.startTime ?? new Date(0)).toISOString() } : null,
        guardrails: Object.fromEntries(ours.filter((d) => d.source === 'guardrails' && d.recent > 0n).map((d) => [d.decision_type, Number(d.recent)])),
        guardrailsRetrainRequestedAt: last('guardrails', 'retrain'),
        lastRetrainAt: last('meta', 'retrain'),
        lastPaidSwitchAt: last('meta', 'deploy_model'),
        guardrailsInForce: force ? { rule: force.rule, version: force.version, at: force.at } : null,
      },
    ];
  });
}
