import { Prisma, type PrismaClient } from '@prisma/client';
import { UNHEALTHY_INDICATORS } from '../guardrails/types';
import { emptySample, type GroupSample } from './group-sample';

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
  // Calls whose output showed an unhealthy engagement indicator (the gateway records each as a violation).
  const unhealthy = Prisma.sql`log_id in (select log_id from guardrails_violations
       where model_id = ${q.modelId}::uuid and log_id is not null and violation_type in (${Prisma.join([...UNHEALTHY_INDICATORS])})
         and timestamp >= ${new Date(q.since.getTime() - 60_000)} and timestamp < ${new Date(q.until.getTime() + 60_000)})`;
  // One row per player (sticky key hash; a call without a key is a player of its own): exact counts,
  // so the analysis can treat players, not calls, as the independent unit.
  const player = Prisma.sql`coalesce(sticky_key_hash, log_id::text)`;
  const failed = Prisma.sql`(${fellBack} or status = 'error' or (status = 'incomplete' and error_class is distinct from 'client_disconnected'))`;
  // The first attempt failed when the gateway recorded its error class (a client disconnect aside), or,
  // in rows from before the gateway logged attempts, when the call itself failed.
  const firstFailed = Prisma.sql`(case when attempts is null then ${failed} else first_attempt_error_class is not null and first_attempt_error_class not in ('aborted', 'client_disconnected') end)`;
  const players = await db.$queryRaw<Array<{ player: string; calls: number; errors: number; first_failures: number; attempts: number; violations: number; unhealthy: number }>>`
    select ${player} as player,
           count(*)::int as calls,
           (count(*) filter (where ${failed}))::int as errors,
           (count(*) filter (where ${firstFailed}))::int as first_failures,
           coalesce(sum(coalesce(attempts, 1)), 0)::int as attempts,
           (count(*) filter (where not ${fellBack} and (guardrail_verdict in (${verdicts}) or ${flagged})))::int as violations,
           (count(*) filter (where not ${fellBack} and ${unhealthy}))::int as unhealthy
      from model_historical_logs
     where ${window}
     group by 1`;
  const rows = await db.$queryRaw<Array<{ player: string; status: string | null; latency_ms: number | null; cost: number | null; feedback_score: number | null; fell_back: boolean }>>`
    select ${player} as player, status, latency_ms, cost_usd::float8 as cost, feedback_score, ${fellBack} as fell_back
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
  const playerIndex = new Map<string, number>();
  for (const p of players) {
    playerIndex.set(p.player, sample.players.calls.length);
    sample.players.calls.push(p.calls);
    sample.players.errors.push(p.errors);
    sample.players.firstAttemptFailures.push(p.first_failures);
    sample.players.violations.push(p.violations);
    sample.players.unhealthyEngagement.push(p.unhealthy);
    sample.requests += p.calls;
    sample.errors += p.errors;
    sample.firstAttemptFailures += p.first_failures;
    sample.attempts += p.attempts;
    sample.violations += p.violations;
    sample.unhealthyEngagement += p.unhealthy;
  }
  sample.criticalViolations = Number(critical?.n ?? 0);
  for (const r of rows) {
    if (r.fell_back) continue; // the fallback's latency, cost and feedback are not this model's
    const k = playerIndex.get(r.player) ?? -1;
    if ((r.status === 'ok' || r.status === null) && r.latency_ms !== null) {
      sample.latenciesMs.values.push(r.latency_ms);
      sample.latenciesMs.clusters.push(k);
    }
    if (r.cost !== null) {
      sample.costsUsd.values.push(r.cost);
      sample.costsUsd.clusters.push(k);
    }
    if (r.feedback_score !== null) {
      sample.feedbackScores.values.push(r.feedback_score);
      sample.feedbackScores.clusters.push(k);
    }
  }
  return sample;
}
