import type { PrismaClient } from '@prisma/client';

/**
 * Per-minute aggregates of the historical logs per use case, model and role (model_call_rollups),
 * so `mms status`, the meta loop and dashboards read thousands of rows for a month instead of
 * scanning billions. Raw rows stay for window analysis and datasets.
 *
 * Written by the logRollups schedule: each run recomputes every minute from a little before the last
 * rolled-up minute to the last closed minute, and upserts it. Recomputing (never incrementing) makes a
 * run idempotent and lets late rows (spill replays, feedback, violations) land in the next run. The
 * hours those minutes fall in are then recomputed from the minutes into model_call_rollups_hourly, in
 * the same transaction, so a month read in hourly or daily buckets sums hundreds of rows, not tens of
 * thousands (readRollups reads whole hours from there and only the ragged edges from the minutes).
 */

/** Upper bounds (ms) of the latency histogram buckets; the last bucket is everything above. */
export const LATENCY_BUCKETS_MS = [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000] as const;

/** The roll-up's model_id when the call reached no model. */
export const NO_MODEL_ID = '00000000-0000-0000-0000-000000000000';

const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/**
 * Sums of the roll-up columns over any set of roll-up rows (minutes or hours), named as the columns.
 * Kept bigint (a month of one series can exceed 2^31 calls); an hourly row takes them back as int.
 */
export function rollupSumsSql(alias = ''): string {
  const c = (name: string) => `${alias}${name}`;
  const histogram = LATENCY_BUCKETS_MS.map((_b, i) => `sum(${c('latency_buckets')}[${i + 1}])`).concat(`sum(${c('latency_buckets')}[${LATENCY_BUCKETS_MS.length + 1}])`);
  return [
    `sum(${c('calls')}) as calls`, `sum(${c('errors')}) as errors`, `sum(${c('first_attempt_failures')}) as first_attempt_failures`,
    `array[${histogram.join(', ')}] as latency_buckets`, `sum(${c('latency_sum_ms')}) as latency_sum_ms`, `sum(${c('tokens_in')}) as tokens_in`,
    `sum(${c('tokens_out')}) as tokens_out`, `sum(${c('cost_usd')}) as cost_usd`, `sum(${c('violations')}) as violations`, `sum(${c('blocked')}) as blocked`,
    `sum(${c('feedback_count')}) as feedback_count`, `sum(${c('feedback_score_sum')}) as feedback_score_sum`,
  ].join(', ');
}

/** The value columns of both roll-up tables, in rollupSumsSql's order. */
export const ROLLUP_VALUE_COLUMNS =
  'calls, errors, first_attempt_failures, latency_buckets, latency_sum_ms, tokens_in, tokens_out, cost_usd, violations, blocked, feedback_count, feedback_score_sum';

const upsertValuesSql = ROLLUP_VALUE_COLUMNS.split(', ')
  .map((col) => `${col} = excluded.${col}`)
  .join(', ');

/** Hour boundaries as readRollups and the hourly table use them: UTC, whatever the session's time zone. */
export const floorHour = (t: Date) => new Date(Math.floor(t.getTime() / HOUR_MS) * HOUR_MS);
export const ceilHour = (t: Date) => new Date(Math.ceil(t.getTime() / HOUR_MS) * HOUR_MS);

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

/**
 * Recomputes the roll-ups of the minutes [from, to) from the raw rows, then the hours they fall in from
 * the minutes, in one transaction (a reader never sees an hour that disagrees with its minutes);
 * returns the minute rows upserted.
 */
export async function rollUpMinutes(prisma: PrismaClient, from: Date, to: Date): Promise<number> {
  const firstAttempt = await firstAttemptFailureSql(prisma);
  // Interactive, with its own timeout: a day of game traffic (a backfill, the bench) takes more than
  // Prisma's 5 s default on a busy server, and the batch form cannot be given a longer one.
  return prisma.$transaction(
    async (tx) => {
      const minutes = await tx.$executeRawUnsafe(
        `insert into model_call_rollups (minute, use_case, model_id, role, ${ROLLUP_VALUE_COLUMNS}, updated_at)
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
     on conflict (minute, use_case, model_id, role) do update set ${upsertValuesSql}, updated_at = now()`,
        from,
        to,
      );
      await tx.$executeRawUnsafe(
        `insert into model_call_rollups_hourly (hour, use_case, model_id, role, ${ROLLUP_VALUE_COLUMNS}, updated_at)
       select date_bin('1 hour', minute, '2000-01-01T00:00:00Z'), use_case, model_id, role, ${rollupSumsSql()}, now()
         from model_call_rollups
        where minute >= $1::timestamptz and minute < $2::timestamptz
        group by 1, 2, 3, 4
       on conflict (hour, use_case, model_id, role) do update set ${upsertValuesSql}, updated_at = now()`,
        floorHour(from),
        ceilHour(to),
      );
      return minutes;
    },
    { timeout: 30 * 60_000, maxWait: 30_000 },
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
  const fromMs = last ? last.minute.getTime() - settings.lookbackMinutes * MINUTE_MS : to.getTime() - settings.backfillHours * HOUR_MS;
  const from = new Date(Math.max(fromMs, to.getTime() - Math.max(settings.backfillHours * HOUR_MS, settings.lookbackMinutes * MINUTE_MS)));
  let rows = 0;
  // An hour per statement, so a long backfill never holds one huge transaction.
  for (let t = from.getTime(); t < to.getTime(); t += HOUR_MS) rows += await rollUpMinutes(prisma, new Date(t), new Date(Math.min(t + HOUR_MS, to.getTime())));
  // Roll-ups are a small table (minutes × use cases × models × roles): a DELETE keeps it bounded.
  const expiry = new Date(now.getTime() - settings.retentionDays * 86_400_000);
  const expiredRows = await prisma.modelCallRollup.deleteMany({ where: { minute: { lt: expiry } } });
  await prisma.modelCallRollupHourly.deleteMany({ where: { hour: { lt: floorHour(expiry) } } });
  return { from: from.toISOString(), to: to.toISOString(), rows, expiredRows: expiredRows.count };
}
