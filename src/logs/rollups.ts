import type { PrismaClient } from '@prisma/client';

/**
 * Per-minute aggregates of the historical logs per use case, model and role (model_call_rollups),
 * so `mms status`, the meta loop and dashboards read thousands of rows for a month instead of
 * scanning billions. Raw rows stay for window analysis and datasets.
 *
 * Written by the logRollups schedule: each run recomputes every minute from a little before the last
 * rolled-up minute to the last closed minute, and upserts it. Recomputing (never incrementing) makes a
 * run idempotent and lets late rows (spill replays, feedback, violations) land in the next run.
 */

/** Upper bounds (ms) of the latency histogram buckets; the last bucket is everything above. */
export const LATENCY_BUCKETS_MS = [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000] as const;

/** The roll-up's model_id when the call reached no model. */
export const NO_MODEL_ID = '00000000-0000-0000-0000-000000000000';

const MINUTE_MS = 60_000;

/**
 * How a first-attempt failure is recorded, if it is: the logs may gain such a column (a column of
 * the attempts made, or a flag); until then the roll-up's first_attempt_failures stays null.
 */
async function firstAttemptFailureSql(prisma: PrismaClient): Promise<string> {
  const rows = await prisma.$queryRawUnsafe<Array<{ column_name: string; data_type: string }>>(
    `select column_name, data_type from information_schema.columns
      where table_schema = current_schema() and table_name = 'model_historical_logs'
        and column_name in ('first_attempt_failed', 'first_attempt_error_class', 'attempts')`,
  );
  const has = new Map(rows.map((r) => [r.column_name, r.data_type]));
  if (has.get('first_attempt_failed') === 'boolean') return 'count(*) filter (where l.first_attempt_failed)';
  if (has.has('first_attempt_error_class')) return 'count(*) filter (where l.first_attempt_error_class is not null)';
  if (has.has('attempts')) return 'count(*) filter (where l.attempts > 1)';
  return 'null::int';
}

function bucketsSql(): string {
  const parts: string[] = [];
  let lower: number | null = null;
  for (const upper of LATENCY_BUCKETS_MS) {
    parts.push(`count(*) filter (where l.latency_ms ${lower === null ? '' : `> ${lower} and l.latency_ms `}<= ${upper})`);
    lower = upper;
  }
  parts.push(`count(*) filter (where l.latency_ms > ${lower})`);
  return `array[${parts.join(', ')}]::int[]`;
}

/** Recomputes the roll-ups of the minutes [from, to) from the raw rows; returns the rows upserted. */
export async function rollUpMinutes(prisma: PrismaClient, from: Date, to: Date): Promise<number> {
  const firstAttempt = await firstAttemptFailureSql(prisma);
  return prisma.$executeRawUnsafe(
    `insert into model_call_rollups (minute, use_case, model_id, role, calls, errors, first_attempt_failures, latency_buckets, latency_sum_ms,
        tokens_in, tokens_out, cost_usd, violations, blocked, feedback_count, feedback_score_sum, updated_at)
     select date_trunc('minute', l."timestamp"), coalesce(l.use_case, ''), coalesce(l.model_id, '${NO_MODEL_ID}'::uuid), coalesce(l.role, ''),
            count(*), count(*) filter (where l.status = 'error'), ${firstAttempt}, ${bucketsSql()}, coalesce(sum(l.latency_ms), 0),
            coalesce(sum(l.tokens_in), 0), coalesce(sum(l.tokens_out), 0), coalesce(sum(l.cost_usd), 0),
            count(*) filter (where v.log_id is not null or l.guardrail_verdict in ('redacted', 'blocked')),
            count(*) filter (where l.status = 'blocked'),
            count(l.feedback_score), coalesce(sum(l.feedback_score), 0), now()
       from model_historical_logs l
       left join (select distinct log_id from guardrails_violations where "timestamp" >= $1::timestamptz - interval '1 hour' and "timestamp" < $2::timestamptz + interval '1 hour') v
              on v.log_id = l.log_id
      where l."timestamp" >= $1::timestamptz and l."timestamp" < $2::timestamptz
      group by 1, 2, 3, 4
     on conflict (minute, use_case, model_id, role) do update set
            calls = excluded.calls, errors = excluded.errors, first_attempt_failures = excluded.first_attempt_failures,
            latency_buckets = excluded.latency_buckets, latency_sum_ms = excluded.latency_sum_ms, tokens_in = excluded.tokens_in,
            tokens_out = excluded.tokens_out, cost_usd = excluded.cost_usd, violations = excluded.violations, blocked = excluded.blocked,
            feedback_count = excluded.feedback_count, feedback_score_sum = excluded.feedback_score_sum, updated_at = now()`,
    from,
    to,
  );
}

export interface RollupSettings {
  lookbackMinutes: number;
  backfillHours: number;
  retentionDays: number;
}

export interface RollupReport {
  from: string;
  to: string;
  rows: number;
  expiredRows: number;
}

/** One scheduled run: the minutes since the last roll-up (less the lookback), up to the last closed minute. */
export async function rollUpRecent(prisma: PrismaClient, settings: RollupSettings, now = new Date()): Promise<RollupReport> {
  const to = new Date(Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS);
  const last = await prisma.modelCallRollup.findFirst({ orderBy: { minute: 'desc' }, select: { minute: true } });
  const fromMs = last ? last.minute.getTime() - settings.lookbackMinutes * MINUTE_MS : to.getTime() - settings.backfillHours * 3_600_000;
  const from = new Date(Math.max(fromMs, to.getTime() - Math.max(settings.backfillHours * 3_600_000, settings.lookbackMinutes * MINUTE_MS)));
  let rows = 0;
  // An hour per statement, so a long backfill never holds one huge transaction.
  for (let t = from.getTime(); t < to.getTime(); t += 3_600_000) rows += await rollUpMinutes(prisma, new Date(t), new Date(Math.min(t + 3_600_000, to.getTime())));
  // Roll-ups are a small table (minutes × use cases × models × roles): a DELETE keeps it bounded.
  const expiredRows = await prisma.modelCallRollup.deleteMany({ where: { minute: { lt: new Date(now.getTime() - settings.retentionDays * 86_400_000) } } });
  return { from: from.toISOString(), to: to.toISOString(), rows, expiredRows: expiredRows.count };
}
