import { performance } from 'node:perf_hooks';
import type { Prisma, PrismaClient } from '@prisma/client';
import { DAY_MS, logPartitionDays, policyRecords, violationPartitionDays, type RetentionPolicy } from './retention';

/**
 * Day partitions of the historical logs: created ahead of time, rows caught by the DEFAULT partition
 * given a partition of their own, expired partitions detached and dropped after the rows that must
 * live longer were copied to the long-term table. Never a DELETE over a big table: retention is a
 * partition drop, in the logs and in the long-term tables alike.
 *
 * Everything is read from the catalog (bounds, columns), so partitions made by the migration, by an
 * earlier interval setting or by hand are handled the same way, and columns added later are moved too.
 */
type Db = PrismaClient | Prisma.TransactionClient;

/** An error's first line, for a report row (PostgreSQL errors carry details on the next lines). */
const firstLine = (err: unknown) => (err as Error).message.split('\n')[0] ?? String(err);

export interface PartitionedTable {
  /** The logical table the application reads and writes. */
  name: string;
  /** Where rows that outlive their partition go (partitioned by expires_at). */
  longTerm: string;
  kind: 'logs' | 'violations';
}

export const LOG_TABLE: PartitionedTable = { name: 'model_historical_logs', longTerm: 'model_historical_logs_long_term', kind: 'logs' };
export const VIOLATION_TABLE: PartitionedTable = { name: 'guardrails_violations', longTerm: 'guardrails_violations_long_term', kind: 'violations' };
export const PARTITIONED_TABLES = [LOG_TABLE, VIOLATION_TABLE] as const;

export interface PartitionInfo {
  name: string;
  /** Range bounds; null for the DEFAULT partition. */
  from: Date | null;
  to: Date | null;
  isDefault: boolean;
  bytes: number;
  /** From pg_class.reltuples (as of the last ANALYZE/VACUUM): -1 when never analysed. */
  estimatedRows: number;
  /** When its long-lived rows were copied ahead of its drop (see precopyDuePartitions); null if not yet. */
  precopiedAt: Date | null;
}

export interface PartitionSettings {
  intervalHours: number;
  createAheadHours: number;
  lockTimeoutMs: number;
  /**
   * Copy a partition's long-lived rows to the long-term table this long before it is due, so that the
   * drop only copies the rows changed since (late feedback) and stays under a second. 0 or absent:
   * everything is copied at the drop.
   */
  precopyAheadHours?: number;
}

const HOUR_MS = 3_600_000;

/** The partition settings of `logs.partitions` in mms.config.yaml (the schedule's period is not one). */
export function partitionSettings(p: PartitionSettings): PartitionSettings {
  return { intervalHours: p.intervalHours, createAheadHours: p.createAheadHours, lockTimeoutMs: p.lockTimeoutMs, precopyAheadHours: p.precopyAheadHours ?? 0 };
}

/** Identifiers are built by this module from [a-z0-9_]; anything else is a bug, not input. */
function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a safe identifier: ${name}`);
  return `"${name}"`;
}
const lit = (d: Date) => `'${d.toISOString()}'`;

/** pg_get_expr prints bounds as timestamptz literals in the session time zone: '2026-11-30 00:00:00+00'. */
function parseBound(text: string): Date {
  const iso = text.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new Error(`cannot read partition bound ${text}`);
  return d;
}

export async function listPartitions(db: Db, table: string): Promise<PartitionInfo[]> {
  const rows = await db.$queryRawUnsafe<Array<{ name: string; bound: string; bytes: bigint; reltuples: number; note: string | null }>>(
    `select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound, pg_total_relation_size(c.oid) as bytes, c.reltuples::float8 as reltuples,
            obj_description(c.oid, 'pg_class') as note
       from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = $1::regclass`,
    table,
  );
  return rows
    .map((r) => {
      const m = /FROM \('([^']+)'\) TO \('([^']+)'\)/.exec(r.bound);
      return {
        name: r.name,
        from: m ? parseBound(m[1]!) : null,
        to: m ? parseBound(m[2]!) : null,
        isDefault: r.bound === 'DEFAULT',
        bytes: Number(r.bytes),
        estimatedRows: Math.round(r.reltuples),
        precopiedAt: readPrecopyNote(r.note),
      };
    })
    .sort((a, b) => (a.from?.getTime() ?? Infinity) - (b.from?.getTime() ?? Infinity));
}

export async function tableColumns(db: Db, table: string): Promise<string[]> {
  const rows = await db.$queryRawUnsafe<Array<{ attname: string }>>(
    `select attname from pg_attribute where attrelid = $1::regclass and attnum > 0 and not attisdropped order by attnum`,
    table,
  );
  return rows.map((r) => r.attname);
}

/** The start of the partition holding `at` (UTC; intervals divide the day). */
export function floorToInterval(at: Date, intervalHours: number): Date {
  const step = intervalHours * HOUR_MS;
  return new Date(Math.floor(at.getTime() / step) * step);
}

export function partitionName(table: string, from: Date, intervalHours: number): string {
  const iso = from.toISOString();
  const day = iso.slice(0, 10).replace(/-/g, '');
  return `${table}_p${day}${intervalHours < 24 ? `t${iso.slice(11, 13)}` : ''}`;
}

const overlaps = (p: PartitionInfo, from: Date, to: Date) => !p.isDefault && p.from! < to && p.to! > from;

/**
 * Creates the partition [from, to) of `table` without blocking writers: the new table is built beside
 * the parent and ATTACHed (SHARE UPDATE EXCLUSIVE on the parent, unlike CREATE … PARTITION OF, which
 * takes ACCESS EXCLUSIVE and would queue every gateway insert behind a long analysis query). Rows of
 * that range sitting in the DEFAULT partition are moved into it first: PostgreSQL refuses to attach a
 * range whose rows are in DEFAULT. The default is locked against inserts meanwhile (late rows only).
 */
export async function createPartition(prisma: PrismaClient, table: string, from: Date, to: Date, name: string, lockTimeoutMs: number): Promise<{ name: string; movedFromDefault: number }> {
  return prisma.$transaction(
    async (tx) => {
      await tx.$executeRawUnsafe(`set local lock_timeout = ${Math.round(lockTimeoutMs)}`);
      const range = `"timestamp_range_check"`;
      const key = table.endsWith('_long_term') ? 'expires_at' : 'timestamp';
      await tx.$executeRawUnsafe(`create table ${ident(name)} (like ${ident(table)} including defaults including constraints)`);
      const defaultPart = (await listPartitions(tx, table)).find((p) => p.isDefault);
      let moved = 0;
      if (defaultPart) {
        await tx.$executeRawUnsafe(`lock table ${ident(defaultPart.name)} in share row exclusive mode`);
        const cols = (await tableColumns(tx, table)).map(ident).join(', ');
        moved = await tx.$executeRawUnsafe(
          `with gone as (delete from ${ident(defaultPart.name)} where ${ident(key)} >= ${lit(from)} and ${ident(key)} < ${lit(to)} returning ${cols})
           insert into ${ident(name)} (${cols}) select ${cols} from gone`,
        );
      }
      // A matching CHECK lets ATTACH skip its validation scan of the new partition.
      await tx.$executeRawUnsafe(`alter table ${ident(name)} add constraint ${range} check (${ident(key)} >= ${lit(from)} and ${ident(key)} < ${lit(to)})`);
      await tx.$executeRawUnsafe(`alter table ${ident(table)} attach partition ${ident(name)} for values from (${lit(from)}) to (${lit(to)})`);
      await tx.$executeRawUnsafe(`alter table ${ident(name)} drop constraint ${range}`);
      return { name, movedFromDefault: moved };
    },
    { timeout: 30 * 60_000, maxWait: 30_000 },
  );
}

export interface CreateReport {
  table: string;
  created: string[];
  /** Rows moved out of the DEFAULT partition into a partition made for them. */
  movedFromDefault: number;
  /** Partitions that could not be created this run (lock timeout): retried next run. */
  failed: Array<{ name: string; error: string }>;
}

/**
 * Partitions from the current interval to `createAheadHours` ahead, plus one for every interval that
 * has rows in the DEFAULT partition (late rows, clock skew, a day that was never created).
 */
export async function ensurePartitions(prisma: PrismaClient, table: string, settings: PartitionSettings, now: Date): Promise<CreateReport> {
  const step = settings.intervalHours * HOUR_MS;
  const wanted: number[] = [];
  for (let t = floorToInterval(now, settings.intervalHours).getTime(); t < now.getTime() + settings.createAheadHours * HOUR_MS; t += step) wanted.push(t);
  return ensureRanges(prisma, table, wanted, settings);
}

/** Creates the partitions starting at `starts` (and those DEFAULT rows need) that do not exist yet. */
export async function ensureRanges(prisma: PrismaClient, table: string, starts: number[], settings: Omit<PartitionSettings, 'createAheadHours'>): Promise<CreateReport> {
  const report: CreateReport = { table, created: [], movedFromDefault: 0, failed: [] };
  const existing = await listPartitions(prisma, table);
  const step = settings.intervalHours * HOUR_MS;
  const wanted = new Set(starts);
  const defaultPart = existing.find((p) => p.isDefault);
  if (defaultPart) {
    const key = table.endsWith('_long_term') ? 'expires_at' : 'timestamp';
    const rows = await prisma.$queryRawUnsafe<Array<{ start: Date }>>(
      `select distinct to_timestamp(floor(extract(epoch from ${ident(key)}) / ${step / 1000}) * ${step / 1000}) as start from ${ident(defaultPart.name)}`,
    );
    for (const r of rows) wanted.add(r.start.getTime());
  }
  for (const t of [...wanted].sort((a, b) => a - b)) {
    let from = new Date(t);
    let to = new Date(t + step);
    // Never overlap a partition of another width (the migration's days, an older interval setting):
    // shrink to the uncovered part, which always exists for a row sitting in DEFAULT.
    const clash = existing.filter((p) => overlaps(p, from, to));
    if (clash.length > 0) {
      if (clash.some((p) => p.from! <= from && p.to! >= to)) continue;
      for (const p of clash) {
        if (p.from! <= from) from = p.to!;
        else if (p.to! >= to) to = p.from!;
      }
      if (from >= to || existing.some((p) => overlaps(p, from, to))) continue;
    }
    const name = partitionName(table, from, settings.intervalHours) + (clash.length ? `_${from.toISOString().slice(11, 13)}${from.toISOString().slice(14, 16)}` : '');
    try {
      const made = await createPartition(prisma, table, from, to, name, settings.lockTimeoutMs);
      report.created.push(made.name);
      report.movedFromDefault += made.movedFromDefault;
      existing.push({ name, from, to, isDefault: false, bytes: 0, estimatedRows: 0, precopiedAt: null });
    } catch (err) {
      report.failed.push({ name, error: firstLine(err) });
    }
  }
  return report;
}

/** When a partition of `table` expires: its end plus the shortest retention that applies to it. */
export function partitionDropAt(table: PartitionedTable, partitionEnd: Date, policy: RetentionPolicy): Date {
  const days = table.kind === 'logs' ? logPartitionDays(policy) : violationPartitionDays(policy);
  return new Date(partitionEnd.getTime() + days * DAY_MS);
}

/**
 * The rows that can outlive their partition by their own columns: the predicate of the partial index
 * idx_historical_logs_long_lived (migration …_long_lived_logs_index), written identically so the
 * planner uses it.
 */
export const LONG_LIVED_LOGS_SQL = `(user_feedback is not null or feedback_score is not null or corrected_output is not null or guardrail_verdict in ('redacted', 'blocked'))`;

const textArray = (values: string[]) => `array[${values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ')}]::text[]`;

/**
 * The rows of a due log partition that may still be plain-kept: those of use cases whose plain
 * retention is longer than the shortest (the one that made the partition due); null when none is.
 */
function longerPlainSql(policy: RetentionPolicy): string | null {
  const shortest = logPartitionDays(policy);
  const entries = Object.entries(policy.useCases);
  if (policy.defaults.plain > shortest) return `coalesce(use_case, '') <> all(${textArray(entries.filter(([, d]) => d.plain <= shortest).map(([id]) => id))})`;
  const longer = entries.filter(([, d]) => d.plain > shortest).map(([id]) => id);
  return longer.length > 0 ? `use_case = any(${textArray(longer)})` : null;
}

/**
 * The SELECT that picks the rows of one partition that outlive it, with their class and expiry. A
 * row is kept for the longest class it belongs to (plain; feedback: a score, feedback or correction;
 * violation: a guardrail verdict other than pass, or a guardrails_violations row), per its use case.
 * Only candidates are read, by row address: the partial index's rows, the rows with a violation row
 * (by primary key), and the rows of use cases kept plain longer; never the whole day.
 */
function keptRowsSql(table: PartitionedTable, partition: string, cols: string[], from: Date, to: Date, policy: RetentionPolicy, changedSince: Date | null = null): string {
  const c = cols.map((x) => `l.${ident(x)}`).join(', ');
  if (table.kind === 'violations') {
    return `select ${c}, k.days, 'violation' as retention_class
      from ${ident(partition)} l
      left join policy r on r.use_case = l.use_case_id
      cross join lateral (select coalesce(r.violation, $2::int) as days) k`;
  }
  const violated = `(select distinct log_id from guardrails_violations
                  where "timestamp" >= ${lit(new Date(from.getTime() - DAY_MS))} and "timestamp" < ${lit(new Date(to.getTime() + DAY_MS))})`;
  const longerPlain = longerPlainSql(policy);
  // Feedback marks a row long-lived (feedback_at is set with user_feedback): the partial index finds them.
  const candidates = changedSince
    ? `select ctid from ${ident(partition)} where ${LONG_LIVED_LOGS_SQL} and feedback_at >= ${lit(changedSince)}`
    : [
        `select ctid from ${ident(partition)} where ${LONG_LIVED_LOGS_SQL}`,
        `select v.ctid from ${ident(partition)} v join ${violated} g on g.log_id = v.log_id`,
        ...(longerPlain ? [`select ctid from ${ident(partition)} where ${longerPlain}`] : []),
      ].join(' union all ');
  return `select ${c}, k.days, k.retention_class
      from ${ident(partition)} l
      left join policy r on r.use_case = l.use_case
      left join ${violated} f on f.log_id = l.log_id
      cross join lateral (
        select coalesce(r.plain, $3::int) as plain,
               case when l.user_feedback is not null or l.feedback_score is not null or l.corrected_output is not null then coalesce(r.feedback, $4::int) end as feedback,
               case when f.log_id is not null or l.guardrail_verdict in ('redacted', 'blocked') then coalesce(r.violation, $2::int) end as violation) d
      cross join lateral (
        select greatest(d.plain, d.feedback, d.violation) as days,
               case when greatest(d.plain, d.feedback, d.violation) = d.violation then 'violation'
                    when greatest(d.plain, d.feedback, d.violation) = d.feedback then 'feedback' else 'plain' end as retention_class) k
     where l.ctid = any(array(${candidates}))`;
}

export interface ExpireReport {
  table: string;
  /**
   * ms: time spent creating long-term partitions, copying the long-lived rows, and detaching + dropping.
   * `precopied`: the rows had been copied ahead (precopyDuePartitions), so only those whose feedback
   * arrived since were copied at the drop.
   */
  dropped: Array<{ name: string; from: string; to: string; bytes: number; precopied: boolean; movedToLongTerm: number; ms: { longTermPartitions: number; copy: number; detachDrop: number } }>;
  /** Expired long-term partitions dropped. */
  droppedLongTerm: Array<{ name: string; bytes: number }>;
  failed: Array<{ name: string; error: string }>;
}

/**
 * The pre-copy stamp is the partition's own COMMENT: it goes with the partition (dropped, or detached
 * by hand), so no tracking row can go stale, and it needs no table of its own.
 */
const PRECOPY_NOTE = 'mms:precopied_at=';

function readPrecopyNote(note: string | null): Date | null {
  if (!note?.startsWith(PRECOPY_NOTE)) return null;
  const at = new Date(note.slice(PRECOPY_NOTE.length));
  return Number.isNaN(at.getTime()) ? null : at;
}

/**
 * Feedback stamped up to this long before a pre-copy is copied again at the drop: `feedback_at` is the
 * gateway's clock and the stamp the database's, and a request may be stamped before it commits.
 */
const PRECOPY_SKEW_MARGIN_MS = HOUR_MS;

/** What copying the kept rows of any partition of a table needs: column lists and the statement's parameters. */
interface KeptCopyPlan {
  table: PartitionedTable;
  policy: RetentionPolicy;
  common: string[];
  target: string;
  values: string;
  params: unknown[];
}

async function keptCopyPlan(db: Db, table: PartitionedTable, policy: RetentionPolicy): Promise<KeptCopyPlan> {
  const [cols, longTermCols] = await Promise.all([tableColumns(db, table.name), tableColumns(db, table.longTerm)]);
  // Columns the long-term table lacks (added to the logs later) cannot be kept: copy the common ones.
  const common = cols.filter((c) => longTermCols.includes(c));
  const withClass = longTermCols.includes('retention_class');
  return {
    table,
    policy,
    common,
    target: [...common.map(ident), 'expires_at', ...(withClass ? ['retention_class'] : [])].join(', '),
    values: [...common.map(ident), '"timestamp" + make_interval(days => days)', ...(withClass ? ['retention_class'] : [])].join(', '),
    // $1 the per-use-case policy, $2 the default violation days (+ $3 plain, $4 feedback for logs).
    params: [policyRecords(policy), ...(table.kind === 'logs' ? [policy.defaults.violation, policy.defaults.plain, policy.defaults.feedback] : [policy.defaults.violation])],
  };
}

/**
 * The long-term days the kept rows of partition `p` can expire on: [from, to) + N days, N one of the
 * policy's retentions. Exactly those must exist (no scan needed to know them).
 */
async function ensureLongTermDays(prisma: PrismaClient, plan: KeptCopyPlan, p: PartitionInfo, settings: PartitionSettings, now: Date): Promise<void> {
  const starts = new Set<number>();
  for (const n of retentionDayCounts(plan.table, plan.policy)) {
    for (let t = floorToInterval(new Date(p.from!.getTime() + n * DAY_MS), 24).getTime(); t < p.to!.getTime() + n * DAY_MS; t += DAY_MS) if (t + DAY_MS > now.getTime()) starts.add(t);
  }
  const made = await ensureRanges(prisma, plan.table.longTerm, [...starts], { intervalHours: 24, lockTimeoutMs: settings.lockTimeoutMs });
  if (made.failed.length > 0) throw new Error(`long-term partitions: ${made.failed.map((f) => f.error).join('; ')}`);
}

/**
 * Copies the rows of partition `p` that outlive it into the long-term table, under a SHARE lock on the
 * partition (writes to an expired day are rare: feedback, forget; they wait, so no copied row goes
 * stale). With `changedSince` (a pre-copy was made), only the log rows whose feedback arrived since:
 * their earlier copy, if any, is replaced, since feedback can lengthen a row's retention and so move
 * its expiry day. Violation rows are written with their call, long before any pre-copy.
 */
async function copyKeptRows(tx: Prisma.TransactionClient, plan: KeptCopyPlan, p: PartitionInfo, now: Date, changedSince: Date | null): Promise<number> {
  await tx.$executeRawUnsafe(`lock table ${ident(p.name)} in share mode`);
  if (changedSince && plan.table.kind !== 'logs') return 0;
  if (changedSince) {
    await tx.$executeRawUnsafe(
      `delete from ${ident(plan.table.longTerm)} where log_id = any(array(select log_id from ${ident(p.name)} where ${LONG_LIVED_LOGS_SQL} and feedback_at >= ${lit(changedSince)}))`,
    );
  }
  return tx.$executeRawUnsafe(
    `with policy as (select * from jsonb_to_recordset($1::jsonb) as r(use_case text, plain int, feedback int, violation int))
     insert into ${ident(plan.table.longTerm)} (${plan.target})
     select ${plan.values} from (${keptRowsSql(plan.table, p.name, plan.common, p.from!, p.to!, plan.policy, changedSince)}) kept
      where "timestamp" + make_interval(days => days) > ${lit(now)}
     on conflict do nothing`,
    ...plan.params,
  );
}

export interface PrecopyReport {
  table: string;
  precopied: Array<{ name: string; rows: number; ms: number }>;
  failed: Array<{ name: string; error: string }>;
}

/**
 * Copies the long-lived rows of the partitions due within `precopyAheadHours` to the long-term table
 * ahead of their drop, and stamps each partition with the time. Copying thousands of rows with their
 * TOASTed prompts takes seconds on a day of game traffic; done here, a maintenance run or more before
 * the drop, the drop itself only copies the rows whose feedback arrived since.
 */
export async function precopyDuePartitions(prisma: PrismaClient, table: PartitionedTable, policy: RetentionPolicy, settings: PartitionSettings, now: Date): Promise<PrecopyReport> {
  const report: PrecopyReport = { table: table.name, precopied: [], failed: [] };
  const ahead = (settings.precopyAheadHours ?? 0) * HOUR_MS;
  if (ahead <= 0) return report;
  const soon = (await listPartitions(prisma, table.name)).filter((p) => {
    if (p.isDefault || p.precopiedAt) return false;
    const dropAt = partitionDropAt(table, p.to!, policy).getTime();
    return dropAt > now.getTime() && dropAt - ahead <= now.getTime();
  });
  if (soon.length === 0) return report;
  const plan = await keptCopyPlan(prisma, table, policy);
  for (const p of soon) {
    try {
      const started = performance.now();
      await ensureLongTermDays(prisma, plan, p, settings, now);
      const rows = await prisma.$transaction(
        async (tx) => {
          const n = await copyKeptRows(tx, plan, p, now, null);
          // The database's clock, at the start of this transaction: no later write is in the copy.
          const at = (await tx.$queryRawUnsafe<Array<{ at: Date }>>('select now() as at'))[0]!.at;
          await tx.$executeRawUnsafe(`comment on table ${ident(p.name)} is '${PRECOPY_NOTE}${at.toISOString()}'`);
          return n;
        },
        { timeout: 60 * 60_000, maxWait: 30_000 },
      );
      report.precopied.push({ name: p.name, rows, ms: Math.round(performance.now() - started) });
    } catch (err) {
      report.failed.push({ name: p.name, error: firstLine(err) });
    }
  }
  return report;
}

/**
 * Drops every expired partition of `table`: in one transaction, copies the rows that must outlive it
 * into the long-term table (with their class and expiry; only those changed since its pre-copy when
 * it has one), then detaches and drops it. The detach takes ACCESS EXCLUSIVE on the parent for an
 * instant; lock_timeout bounds how long inserts can queue behind it when a long query holds the table
 * (the partition is then retried next run). Then drops the long-term partitions whose day of expiry
 * has passed.
 */
export async function expirePartitions(prisma: PrismaClient, table: PartitionedTable, policy: RetentionPolicy, settings: PartitionSettings, now: Date): Promise<ExpireReport> {
  const report: ExpireReport = { table: table.name, dropped: [], droppedLongTerm: [], failed: [] };
  const due = (await listPartitions(prisma, table.name)).filter((p) => !p.isDefault && partitionDropAt(table, p.to!, policy) <= now);
  if (due.length > 0) {
    const plan = await keptCopyPlan(prisma, table, policy);
    for (const p of due) {
      try {
        report.dropped.push(await dropDuePartition(prisma, table, plan, p, settings, now));
      } catch (err) {
        report.failed.push({ name: p.name, error: firstLine(err) });
      }
    }
  }
  for (const p of await listPartitions(prisma, table.longTerm)) {
    if (p.isDefault || p.to! > now) continue;
    try {
      await prisma.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(`set local lock_timeout = ${Math.round(settings.lockTimeoutMs)}`);
        await tx.$executeRawUnsafe(`alter table ${ident(table.longTerm)} detach partition ${ident(p.name)}`);
        await tx.$executeRawUnsafe(`drop table ${ident(p.name)}`);
      });
      report.droppedLongTerm.push({ name: p.name, bytes: p.bytes });
    } catch (err) {
      report.failed.push({ name: p.name, error: firstLine(err) });
    }
  }
  return report;
}

/**
 * Drops one due partition: its long-lived rows (those not copied ahead, or changed since) go to the
 * long-term table in the same transaction as the DETACH and DROP, so a failure keeps both.
 */
async function dropDuePartition(prisma: PrismaClient, table: PartitionedTable, plan: KeptCopyPlan, p: PartitionInfo, settings: PartitionSettings, now: Date): Promise<ExpireReport['dropped'][number]> {
  const started = performance.now();
  await ensureLongTermDays(prisma, plan, p, settings, now);
  const ensured = performance.now();
  let copied = ensured;
  const changedSince = p.precopiedAt && new Date(p.precopiedAt.getTime() - PRECOPY_SKEW_MARGIN_MS);
  const moved = await prisma.$transaction(
    async (tx) => {
      const n = await copyKeptRows(tx, plan, p, now, changedSince);
      copied = performance.now();
      await tx.$executeRawUnsafe(`set local lock_timeout = ${Math.round(settings.lockTimeoutMs)}`);
      await tx.$executeRawUnsafe(`alter table ${ident(table.name)} detach partition ${ident(p.name)}`);
      await tx.$executeRawUnsafe(`drop table ${ident(p.name)}`);
      return n;
    },
    { timeout: 60 * 60_000, maxWait: 30_000 },
  );
  const ms = { longTermPartitions: Math.round(ensured - started), copy: Math.round(copied - ensured), detachDrop: Math.round(performance.now() - copied) };
  return { name: p.name, from: p.from!.toISOString(), to: p.to!.toISOString(), bytes: p.bytes, precopied: p.precopiedAt !== null, movedToLongTerm: moved, ms };
}

/** Every retention (days) a row of `table` can have under the policy. */
function retentionDayCounts(table: PartitionedTable, policy: RetentionPolicy): number[] {
  const all = [policy.defaults, ...Object.values(policy.useCases)];
  return [...new Set(all.flatMap((d) => (table.kind === 'logs' ? [d.plain, d.feedback, d.violation] : [d.violation])))];
}

export interface MaintenanceReport {
  created: CreateReport[];
  precopied: PrecopyReport[];
  expired: ExpireReport[];
}

/** One maintenance run over both log tables and their long-term tables. */
export async function maintainPartitions(prisma: PrismaClient, policy: RetentionPolicy, settings: PartitionSettings, now = new Date()): Promise<MaintenanceReport> {
  const created: CreateReport[] = [];
  const precopied: PrecopyReport[] = [];
  const expired: ExpireReport[] = [];
  for (const table of PARTITIONED_TABLES) {
    created.push(await ensurePartitions(prisma, table.name, settings, now));
    // Long-term partitions (days of expiry) are made when rows move; here only DEFAULT rows get theirs.
    created.push(await ensureRanges(prisma, table.longTerm, [], { intervalHours: 24, lockTimeoutMs: settings.lockTimeoutMs }));
  }
  for (const table of PARTITIONED_TABLES) {
    expired.push(await expirePartitions(prisma, table, policy, settings, now));
    precopied.push(await precopyDuePartitions(prisma, table, policy, settings, now));
  }
  return { created, precopied, expired };
}
