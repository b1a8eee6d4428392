import { Prisma, type PrismaClient } from '@prisma/client';
import { emptySample, type GroupSample } from './canary';

/**
 * Reads one side of a canary comparison from the gateway's historical logs: the calls a model served
 * in a role over a time window. Counts are exact; the per-call values the tests rank (latency, cost,
 * feedback) are a uniform sample of at most `maxRows` calls (log ids are random UUIDs), which keeps a
 * busy production window cheap to analyse.
 */

/** Guardrail verdicts that count as a violation (the gateway also records `pass`, and `error` when the guardrail itself failed). */
export const VIOLATION_VERDICTS = ['blocked', 'violation', 'redacted', 'flagged'] as const;

export interface SampleQuery {
  useCaseId: string;
  modelId: string;
  roles: string[];
  since: Date;
  until: Date;
  maxRows?: number;
}

export async function loadGroupSample(db: PrismaClient, q: SampleQuery): Promise<GroupSample> {
  const roles = Prisma.join(q.roles);
  const verdicts = Prisma.join([...VIOLATION_VERDICTS]);
  // A call the model failed and the use case's fallback model answered is logged under the fallback's
  // id with context.fallbackFrom naming the model that failed: it counts as this model's error.
  const fellBack = Prisma.sql`coalesce((context -> 'fallbackFrom' ->> 'modelId') = ${q.modelId}, false)`;
  const window = Prisma.sql`use_case = ${q.useCaseId}
       and (model_id = ${q.modelId}::uuid or ${fellBack})
       and timestamp >= ${q.since} and timestamp < ${q.until}
       and coalesce(role, 'stable') in (${roles})`;
  // Calls with a violation the guardrail only recorded (verdict pass) count as violations too.
  const flagged = Prisma.sql`log_id in (select log_id from guardrails_violations
       where model_id = ${q.modelId}::uuid and log_id is not null
         and timestamp >= ${new Date(q.since.getTime() - 60_000)} and timestamp < ${new Date(q.until.getTime() + 60_000)})`;
  const [counts] = await db.$queryRaw<Array<{ requests: bigint; errors: bigint; violations: bigint }>>`
    select count(*) as requests,
           count(*) filter (where ${fellBack} or status = 'error' or (status = 'incomplete' and error_class is distinct from 'client_disconnected')) as errors,
           count(*) filter (where not ${fellBack} and (guardrail_verdict in (${verdicts}) or ${flagged})) as violations
      from model_historical_logs
     where ${window}`;
  const rows = await db.$queryRaw<Array<{ status: string | null; latency_ms: number | null; cost: number | null; feedback_score: number | null; fell_back: boolean }>>`
    select status, latency_ms, cost_usd::float8 as cost, feedback_score, ${fellBack} as fell_back
      from model_historical_logs
     where ${window}
     order by log_id
     limit ${q.maxRows ?? 20_000}`;
  const [critical] = await db.$queryRaw<Array<{ n: bigint }>>`
    select count(*) as n from guardrails_violations
     where model_id = ${q.modelId}::uuid and severity = 'critical'
       and (use_case_id is null or use_case_id = ${q.useCaseId})
       and timestamp >= ${q.since} and timestamp < ${q.until}`;
  const sample = emptySample();
  sample.requests = Number(counts?.requests ?? 0);
  sample.errors = Number(counts?.errors ?? 0);
  sample.violations = Number(counts?.violations ?? 0);
  sample.criticalViolations = Number(critical?.n ?? 0);
  for (const r of rows) {
    if (r.fell_back) continue; // the fallback's latency, cost and feedback are not this model's
    if ((r.status === 'ok' || r.status === null) && r.latency_ms !== null) sample.latenciesMs.push(r.latency_ms);
    if (r.cost !== null) sample.costsUsd.push(r.cost);
    if (r.feedback_score !== null) sample.feedbackScores.push(r.feedback_score);
  }
  return sample;
}
