import type { PrismaClient, Prisma as PrismaTypes } from '@prisma/client';

type Db = PrismaClient | PrismaTypes.TransactionClient;

export interface ModelWindowMetrics {
  modelId: string;
  requests: number;
  errorRate: number | null;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  costPerRequestUsd: number | null;
  violationRate: number | null;
  feedbackScore: number | null;
}

/**
 * Per-model performance of a use case over a time window, computed from the historical logs (the
 * gateway's record of every call). Shadow calls are excluded: they never reached a player.
 */
export async function modelMetrics(db: Db, useCaseId: string, since: Date, until: Date = new Date()): Promise<ModelWindowMetrics[]> {
  const rows = await db.$queryRaw<
    Array<{ model_id: string; requests: bigint; errors: bigint; p50: number | null; p95: number | null; cost: string | null; violations: bigint; feedback: number | null }>
  >`
    select model_id::text,
           count(*) as requests,
           count(*) filter (where status <> 'ok') as errors,
           percentile_cont(0.5) within group (order by latency_ms) as p50,
           percentile_cont(0.95) within group (order by latency_ms) as p95,
           avg(cost_usd)::text as cost,
           count(*) filter (where guardrail_verdict in ('blocked', 'violation')) as violations,
           avg(feedback_score) as feedback
      from model_historical_logs
     where use_case = ${useCaseId}
       and timestamp >= ${since} and timestamp < ${until}
       and model_id is not null
       and coalesce(role, 'stable') <> 'shadow'
     group by model_id`;
  return rows.map((r) => {
    const requests = Number(r.requests);
    return {
      modelId: r.model_id,
      requests,
      errorRate: requests ? Number(r.errors) / requests : null,
      latencyP50Ms: r.p50,
      latencyP95Ms: r.p95,
      costPerRequestUsd: r.cost === null ? null : Number(r.cost),
      violationRate: requests ? Number(r.violations) / requests : null,
      feedbackScore: r.feedback,
    };
  });
}
