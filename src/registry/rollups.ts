/**
 * Reads the roll-ups of the historical logs (written by the logRollups schedule), summed into buckets
 * of any width: what `mms logs stats`, the meta loop and dashboards read for long ranges. Buckets of
 * whole hours (and the whole range) read the whole hours of the range from the hourly table and only
 * its ragged edges from the minutes: a 30-day read sums ~720 rows per series instead of ~43,200.
 */

import { Prisma, type PrismaClient } from '@prisma/client';
import { ceilHour, floorHour, LATENCY_BUCKETS_MS, ROLLUP_VALUE_COLUMNS, rollupSumsSql } from '../logs/rollups';

export interface RollupQuery {
  from: Date;
  to: Date;
  useCaseId?: string;
  modelId?: string;
  /** Width of a bucket in minutes (1 = as stored; 60 hourly; 1440 daily; 0 = the whole range in one). */
  bucketMinutes?: number;
}

export interface RollupPoint {
  /** Start of the bucket (the range start when bucketMinutes is 0). */
  bucket: Date;
  useCaseId: string;
  modelId: string;
  role: string;
  calls: number;
  errors: number;
  errorRate: number;
  /** Null while the logs do not record first attempts. */
  firstAttemptFailures: number | null;
  latencyBuckets: number[];
  latencyMeanMs: number | null;
  /** Estimated from the histogram (linear within a bucket, as Prometheus' histogram_quantile). */
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyP99Ms: number | null;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
  violations: number;
  blocked: number;
  feedbackCount: number;
  feedbackMean: number | null;
}

/** The q-quantile of a histogram with upper bounds LATENCY_BUCKETS_MS (+ an overflow bucket). */
export function histogramQuantile(counts: number[], q: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (seen + c >= rank && c > 0) {
      const lower = i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1]!;
      const upper = LATENCY_BUCKETS_MS[i];
      if (upper === undefined) return lower; // the overflow bucket has no upper bound
      return lower + ((upper - lower) * (rank - seen)) / c;
    }
    seen += c;
  }
  return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]!;
}

export async function readRollups(prisma: PrismaClient, query: RollupQuery): Promise<RollupPoint[]> {
  const bucketMinutes = query.bucketMinutes ?? 60;
  if (!Number.isInteger(bucketMinutes) || bucketMinutes < 0) throw new Error(`bucketMinutes must be a whole number of minutes >= 0, got ${bucketMinutes}`);
  // Every bucket of a whole number of hours is a union of whole hours (date_bin's origin is on the hour).
  const hoursFrom = ceilHour(query.from);
  const hoursTo = floorHour(query.to);
  const useHours = bucketMinutes % 60 === 0 && hoursFrom < hoursTo;
  const filters = Prisma.sql`${query.useCaseId ? Prisma.sql`and use_case = ${query.useCaseId}` : Prisma.empty}
       ${query.modelId ? Prisma.sql`and model_id = ${query.modelId}::uuid` : Prisma.empty}`;
  const columns = Prisma.raw(`use_case, model_id, role, ${ROLLUP_VALUE_COLUMNS}`);
  const minutes = (from: Date, to: Date) => Prisma.sql`select minute as t, ${columns} from model_call_rollups where minute >= ${from} and minute < ${to} ${filters}`;
  const source = useHours
    ? Prisma.sql`${minutes(query.from, hoursFrom)}
       union all select hour as t, ${columns} from model_call_rollups_hourly where hour >= ${hoursFrom} and hour < ${hoursTo} ${filters}
       union all ${minutes(hoursTo, query.to)}`
    : minutes(query.from, query.to);
  const bucket = bucketMinutes === 0 ? Prisma.sql`${query.from}::timestamptz` : Prisma.sql`date_bin(${`${bucketMinutes} minutes`}::interval, t, '2000-01-01T00:00:00Z'::timestamptz)`;
  const rows = await prisma.$queryRaw<
    Array<{ bucket: Date; use_case: string; model_id: string; role: string; calls: bigint; errors: bigint; first_attempt_failures: bigint | null; latency_buckets: Array<bigint | null>; latency_sum_ms: number; tokens_in: Prisma.Decimal; tokens_out: Prisma.Decimal; cost_usd: Prisma.Decimal; violations: bigint; blocked: bigint; feedback_count: bigint; feedback_score_sum: number }>
  >`
    select ${bucket} as bucket, use_case, model_id::text as model_id, role, ${Prisma.raw(rollupSumsSql('r.'))}
      from (${source}) r
     group by 1, 2, 3, 4
     order by 1, 2, 3, 4`;
  return rows.map((r) => {
    const calls = Number(r.calls);
    const hist = r.latency_buckets.map((x) => Number(x ?? 0));
    const feedbackCount = Number(r.feedback_count);
    return {
      bucket: r.bucket,
      useCaseId: r.use_case,
      modelId: r.model_id,
      role: r.role,
      calls,
      errors: Number(r.errors),
      errorRate: calls ? Number(r.errors) / calls : 0,
      firstAttemptFailures: r.first_attempt_failures === null ? null : Number(r.first_attempt_failures),
      latencyBuckets: hist,
      latencyMeanMs: calls ? r.latency_sum_ms / calls : null,
      latencyP50Ms: histogramQuantile(hist, 0.5),
      latencyP95Ms: histogramQuantile(hist, 0.95),
      latencyP99Ms: histogramQuantile(hist, 0.99),
      tokensIn: Number(r.tokens_in),
      tokensOut: Number(r.tokens_out),
      costUsd: Number(r.cost_usd),
      violations: Number(r.violations),
      blocked: Number(r.blocked),
      feedbackCount,
      feedbackMean: feedbackCount ? r.feedback_score_sum / feedbackCount : null,
    };
  });
}
