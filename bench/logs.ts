/**
 * `npm run bench:logs [-- --rows 10000000] [--days 30] [--keep] [--json]`, or `-- --reuse <database>`
 * (the read-only figures again on a database a `--keep` run left, e.g. once the machine is quiet)
 *
 * Historical logs at game scale on a real PostgreSQL (DATABASE_URL's server, else an embedded one of
 * the bench's own; a fresh database per run, dropped at the end). Seeded and synthetic: it fills
 * `--days` daily partitions (30) with `--rows` rows (10 million) whose prompt, history, system prompt
 * and output sizes follow the distribution it prints, generated server-side (generate_series into a
 * table beside the parent, indexed, then ATTACHed, as a bulk load should be). Then it prints:
 *   - the gateway's insert path (PgLogStore, the log thread's one-unnest-INSERT-per-batch statement, at
 *     the gateway's batch size) on an empty database and on the full one, in alternating one-second
 *     slices: rows/s and per-batch p50/p99;
 *   - a rollout window's analysis query (src/analysis/samples.ts loadGroupSample, a 5-minute window);
 *   - a 30-day roll-up query (src/registry/rollups.ts readRollups, daily buckets, one use case);
 *   - dropping the oldest day through the retention code (its long-lived rows copied ahead by the
 *     maintenance run before, 100 rows given late feedback in between), with the table's size before
 *     and after and its dead tuples (no DELETE, no bloat);
 *   - forgetting one player who has 10,000 rows spread over every partition.
 * Not part of `npm test`. The machine may be shared: the figures say what they were measured under.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { PrismaClient } from '@prisma/client';
import { Client as PgClient } from 'pg';
import { PgLogStore, toLogRecord, type LogRow } from '../gateway/log-store';
import { loadGroupSample } from '../src/analysis/samples';
import { parseConfig } from '../src/config/load';
import { applyMigrations } from '../src/db/migrations';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres';
import { createPrisma } from '../src/db/prisma';
import { forgetPlayer, stickyKeyHash } from '../src/logs/forget';
import { LOG_TABLE, VIOLATION_TABLE, ensureRanges, expirePartitions, listPartitions, maintainPartitions, partitionDropAt, precopyDuePartitions } from '../src/logs/partitions';
import { retentionPolicy } from '../src/logs/retention';
import { rollUpMinutes } from '../src/logs/rollups';
import { readRollups } from '../src/registry/rollups';
import { syncUseCases } from '../src/registry/use-cases';
import { stateDir } from '../src/paths';
import { parseBenchArgs, type BenchOptions } from './support/args';

/** The flags of bench:logs (bench/support/args.ts parses them: errors name the flag and its bounds). */
const FLAGS = {
  rows: { type: 'number', default: 10_000_000, min: 10_000, max: 1e9, integer: true },
  days: { type: 'number', default: 30, min: 2, max: 400, integer: true },
  players: { type: 'number', default: 200_000, min: 100, max: 1e9, integer: true },
  parallel: { type: 'number', default: 2, min: 1, max: 16, integer: true },
  /** PostgreSQL setseed: the same rows every run. */
  seed: { type: 'number', default: 0.42, min: -1, max: 1 },
  /** Keep the filled database at the end (for EXPLAIN by hand, or --reuse); the next run drops it. */
  keep: { type: 'boolean' },
  /** Measure the read-only figures (window, roll-up query) again on a database a --keep run left. */
  reuse: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const log = (line: string) => process.stderr.write(`${line}\n`);
const DAY = 86_400_000;
const USE_CASES = ['npc_dialogue', 'faction_decision', 'personality', 'story_generation', 'narrative_coordination'];
const TARGET_PLAYER = 'bench-player-forgotten';
const TARGET_ROWS = 10_000;
const gb = (b: number) => `${(b / 1024 ** 3).toFixed(2)} GB`;
const pct = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/**
 * Sizes (characters) drawn from log-normal distributions, as a game's calls are: a short player line,
 * a history of earlier turns of a few KB, the use case's system prompt with its context, a reply.
 * exp(mu + sigma * N(0,1)), N by Box-Muller from the seeded random().
 */
const SIZES = {
  prompt: { median: 220, sigma: 0.8, max: 8_000 },
  history: { median: 1_800, sigma: 1.0, max: 48_000 },
  output: { median: 420, sigma: 0.7, max: 8_000 },
};
const lognormalSql = (s: { median: number; sigma: number; max: number }) =>
  `least(${s.max}, greatest(1, round(${s.median} * exp(${s.sigma} * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())))))::int`;

/**
 * One day of synthetic rows into a table shaped like the parent, by generate_series on the server. The
 * text pool and the system prompt are parameters ($1, $2): a parameter is an in-memory value, where a
 * column would be de-TOASTed (75 KB decompressed) by every substr call.
 */
function fillDaySql(table: string, dayStart: Date, n: number, every: number, modelIds: string[], players: number): string {
  const models = `array[${modelIds.map((m) => `'${m}'::uuid`).join(', ')}]`;
  return `
    insert into ${table} (log_id, model_id, use_case, prompt, context, generated_output, user_feedback, corrected_output, performance_metrics,
        "timestamp", request_id, role, allocation_version, status, error_class, latency_ms, ttft_ms, tokens_in, tokens_out, cost_usd,
        guardrail_verdict, sticky_key_hash, feedback_score, feedback_at)
    select gen_random_uuid(), (${models})[1 + (g % ${modelIds.length})], (array['${USE_CASES.join("','")}'])[1 + (g % ${USE_CASES.length})],
           substr(t.text, (1 + (g::bigint * 7919) % 20000)::int, ps), jsonb_build_object('system', s.system, 'history', substr(t.text, (1 + (g::bigint * 104729) % 20000)::int, hs),
             'params', jsonb_build_object('temperature', 0.8, 'max_tokens', 256), 'metadata', jsonb_build_object('npc_name', 'Mara', 'zone', g % 40)),
           substr(t.text, (1 + (g::bigint * 15485863) % 20000)::int, os),
           case when g % 50 = 0 then jsonb_build_object('score', (g % 10) / 10.0, 'feedback', 'nice') end,
           case when g % 500 = 0 then 'a corrected answer' end,
           jsonb_build_object('upstreamModel', 'llama-3.1-8b-instruct', 'provider', 'vllm'),
           '${dayStart.toISOString()}'::timestamptz + ((g - 1 + random()) / ${n}) * interval '1 day',
           md5(g::text || '${dayStart.toISOString()}'), case when g % 20 = 0 then 'canary' else 'stable' end, 3,
           case when g % 97 = 0 then 'error' when g % 211 = 0 then 'blocked' else 'ok' end,
           case when g % 97 = 0 then 'upstream_5xx' end,
           greatest(5, 200 * exp(0.6 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))), null,
           ps / 4 + hs / 4 + 300, os / 4, (ps / 4 + hs / 4 + 300) * 0.00000005 + (os / 4) * 0.0000001,
           case when g % 211 = 0 then 'blocked' when g % 401 = 0 then 'redacted' else 'pass' end,
           case when g % ${every} = 0 then '${stickyKeyHash(TARGET_PLAYER)}' else encode(sha256(('player-' || (g::bigint * 2654435761 % ${players}))::bytea), 'hex') end,
           case when g % 50 = 0 then (g % 10) / 10.0 end, case when g % 50 = 0 then '${dayStart.toISOString()}'::timestamptz + interval '1 day' end
      from (select g, ${lognormalSql(SIZES.prompt)} as ps, ${lognormalSql(SIZES.history)} as hs, ${lognormalSql(SIZES.output)} as os
              from generate_series(1, ${n}) g) z
      cross join (select $1::text as text) t
      cross join (select $2::text as system) s`;
}

/** Rows shaped like the gateway's, for the insert-path measurement (sizes from the same distributions). */
function gatewayRows(n: number, modelId: string, sample: Array<{ ps: number; hs: number; os: number }>, text: string): LogRow[] {
  return Array.from({ length: n }, (_v, i) => {
    const s = sample[(i * 31) % sample.length]!;
    const id = randomUUID();
    return {
      id, requestId: id, modelId, useCase: 'npc_dialogue', role: 'stable', allocationVersion: 3, status: 'ok', errorClass: null,
      prompt: text.slice(0, s.ps), context: { system: text.slice(100, 1300), history: [{ role: 'user', content: text.slice(7, 7 + s.hs) }] },
      generatedOutput: text.slice(3, 3 + s.os), latencyMs: 180, ttftMs: null, tokensIn: 500, tokensOut: 100, costUsd: 0.00004, guardrailVerdict: 'pass',
      stickyKey: `player-${i % 5000}`, performanceMetrics: { provider: 'vllm' }, timestamp: new Date(),
    };
  });
}

interface InsertFigures { rowsPerSecond: number; batchP50Ms: number; batchP99Ms: number; batches: number }

/**
 * The gateway's insert path on two stores in alternating one-second slices (the empty database, then
 * the full one, and so on), so both see the same machine: on a shared machine the load drifts over the
 * minutes a sequential "empty, fill, full" takes, and that drift, not the table, decided the ratio.
 */
async function insertPathInterleaved(targets: Array<{ store: PgLogStore; rows: LogRow[] }>, seconds: number): Promise<InsertFigures[]> {
  const batch = 500; // gateway.log.batchSize
  const state = targets.map((t) => ({ ...t, records: t.rows.map(toLogRecord), times: [] as number[], written: 0, busyMs: 0, next: 0 }));
  for (let slice = 0; slice < seconds * state.length; slice++) {
    const s = state[slice % state.length]!;
    const sliceStarted = performance.now();
    while (performance.now() - sliceStarted < 1000) {
      const from = (s.next++ * batch) % s.records.length;
      const rows = s.records.slice(from, from + batch).map((r) => ({ ...r, id: randomUUID(), requestId: randomUUID() }));
      const t0 = performance.now();
      await s.store.insertLogs(rows);
      s.times.push(performance.now() - t0);
      s.written += rows.length;
    }
    s.busyMs += performance.now() - sliceStarted;
  }
  return state.map((s) => {
    const times = [...s.times].sort((a, b) => a - b);
    return { rowsPerSecond: Math.round(s.written / (s.busyMs / 1000)), batchP50Ms: +pct(times, 0.5).toFixed(2), batchP99Ms: +pct(times, 0.99).toFixed(2), batches: times.length };
  });
}

async function timed<T>(runs: number, work: () => Promise<T>): Promise<{ medianMs: number; maxMs: number; result: T }> {
  const times: number[] = [];
  let result: T | undefined;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    result = await work();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { medianMs: +pct(times, 0.5).toFixed(1), maxMs: +times[times.length - 1]!.toFixed(1), result: result as T };
}

/** A rollout window's analysis query: 5 minutes of yesterday's noon, the stable calls of one model. */
async function measureWindowQuery(prisma: PrismaClient, modelId: string, today: number) {
  const windowStart = new Date(today - DAY + 12 * 3_600_000);
  const q = { useCaseId: USE_CASES[0]!, modelId, since: windowStart, until: new Date(windowStart.getTime() + 5 * 60_000) };
  await loadGroupSample(prisma, { ...q, roles: ['stable'] });
  const analysis = await timed(7, () => loadGroupSample(prisma, { ...q, roles: ['stable'] }));
  return { medianMs: analysis.medianMs, maxMs: analysis.maxMs, requestsInWindow: analysis.result.requests, target: '< 50 ms' };
}

/** The 30-day roll-up query of one use case in daily buckets (the roll-ups must have been written). */
async function measureRollupQuery(prisma: PrismaClient, today: number) {
  const thirty = { from: new Date(today - 30 * DAY), to: new Date(today), useCaseId: USE_CASES[0]!, bucketMinutes: 1440 };
  await readRollups(prisma, thirty);
  const rollupQuery = await timed(7, () => readRollups(prisma, thirty));
  return { medianMs: rollupQuery.medianMs, maxMs: rollupQuery.maxMs, points: rollupQuery.result.length, calls: rollupQuery.result.reduce((a, p) => a + p.calls, 0), target: '< 100 ms' };
}

/**
 * `--reuse <database>`: the read-only figures again on the rows a `--keep` run left (filled the same
 * day: the window is yesterday's noon), e.g. on a quiet machine after a fill on a busy one.
 */
async function measureReused(serverUrl: string, database: string, report: Record<string, unknown>, stops: Array<() => Promise<void>>) {
  if (!/^mms_bench_logs_\d+$/.test(database)) throw new Error(`--reuse: expected a database a --keep run left (mms_bench_logs_<digits>), got "${database}"`);
  const u = new URL(serverUrl);
  u.pathname = `/${database}`;
  const prisma = createPrisma(u.toString(), { max: 2 });
  stops.push(() => prisma.$disconnect());
  const rows = await prisma.$queryRawUnsafe<Array<{ n: bigint }>>('select count(*) as n from model_historical_logs');
  const today = Math.floor(Date.now() / DAY) * DAY;
  const modelIds = (await prisma.model.findMany({ select: { id: true } })).map((m) => m.id);
  report.reused = { database, rows: Number(rows[0]!.n) };
  report.rolloutWindowQuery = await measureWindowQuery(prisma, modelIds[0]!, today);
  log(`bench: rollout window ${JSON.stringify(report.rolloutWindowQuery)}`);
  report.rollups = { thirtyDayQuery: await measureRollupQuery(prisma, today) };
  log(`bench: roll-ups ${JSON.stringify(report.rollups)}`);
}

type Report = Record<string, unknown>;
type Stops = Array<() => Promise<void>>;
type Options = BenchOptions<typeof FLAGS>;
const load = () => os.loadavg().map((l) => l.toFixed(1)).join(' ');

/** The bench's two databases on the server: the one it fills and an empty one of the same schema. */
interface BenchDatabases {
  config: ReturnType<typeof parseConfig>;
  url: string;
  prisma: PrismaClient;
  /** A plain connection for the bulk SQL the fill runs. */
  pg: PgClient;
  modelIds: string[];
  emptyUrl: string;
  emptyPrisma: PrismaClient;
}

async function main() {
  const o = parseBenchArgs('bench:logs', process.argv.slice(2), FLAGS);
  const benchDir = path.join(stateDir, 'bench');
  fs.mkdirSync(benchDir, { recursive: true });
  const stops: Stops = [];
  const cleanup = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  process.on('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  const report: Report = { command: `npm run bench:logs -- --rows ${o.rows} --days ${o.days}`, machine: `${os.cpus().length} CPU, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GB RAM`, loadAtStart: load() };
  try {
    let serverUrl = process.env.DATABASE_URL;
    if (!serverUrl) {
      const pg = await startEmbeddedPostgres({ dataDir: path.join(benchDir, 'logs-postgres'), database: 'postgres', onProgress: log });
      if (pg.owned) stops.push(pg.stop);
      serverUrl = pg.url;
    }
    if (o.reuse) {
      report.command = `npm run bench:logs -- --reuse ${o.reuse}`;
      await measureReused(serverUrl, o.reuse, report, stops);
    } else {
      const db = await createBenchDatabases(serverUrl, o, stops);
      const pool = await createTextPool(db.pg, o.seed, report);
      const { days, today } = await fillPartitions(db, pool, o, report);
      await measureInsertPath(db, pool, report);
      report.rolloutWindowQuery = await measureWindowQuery(db.prisma, db.modelIds[0]!, today);
      log(`bench: rollout window ${JSON.stringify(report.rolloutWindowQuery)}`);
      await measureRollups(db, days, today, report);
      await measureForget(db, report);
      await measureDropOneDay(db, o, report);
    }
    report.loadAtEnd = load();
  } finally {
    await cleanup();
  }
  printReport(report, o.json);
}

/** A fresh database to fill and an empty twin, migrated and given the use cases; dropped at the end unless --keep. */
async function createBenchDatabases(serverUrl: string, o: Options, stops: Stops): Promise<BenchDatabases> {
  const dbName = `mms_bench_logs_${Date.now()}`;
  const admin = new PgClient({ connectionString: serverUrl });
  await admin.connect();
  // Databases of interrupted runs of this bench (each holds gigabytes).
  for (const r of (await admin.query<{ datname: string }>(`select datname from pg_database where datname like 'mms_bench_logs_%'`)).rows) await admin.query(`drop database ${r.datname} with (force)`);
  await admin.query(`create database ${dbName}`);
  // The same schema, left empty: the insert path is measured on both in alternation.
  await admin.query(`create database ${dbName}_empty`);
  await admin.end();
  stops.push(async () => {
    if (o.keep) {
      log(`bench: kept database ${dbName} (--keep)`);
      return;
    }
    const c = new PgClient({ connectionString: serverUrl });
    await c.connect();
    await c.query(`drop database if exists ${dbName} with (force)`);
    await c.query(`drop database if exists ${dbName}_empty with (force)`);
    await c.end();
  });
  const u = new URL(serverUrl);
  u.pathname = `/${dbName}`;
  const url = u.toString();
  log(`bench: migrations into ${dbName} and ${dbName}_empty`);
  await applyMigrations(url);
  u.pathname = `/${dbName}_empty`;
  const emptyUrl = u.toString();
  await applyMigrations(emptyUrl);
  const config = parseConfig({
    providers: { vllm: { kind: 'openai_compatible', baseUrl: 'http://127.0.0.1:9/v1' } },
    useCases: USE_CASES.map((id) => ({ id, kind: 'self_hosted', temperature: 0.8, maxTokens: 256, systemPromptTemplate: `You are ${id}.`, initialModel: { provider: 'vllm', model: 'llama-3.1-8b-instruct' } })),
  });
  const prisma = createPrisma(url, { max: 4 });
  stops.push(() => prisma.$disconnect());
  await syncUseCases(prisma, config);
  const emptyPrisma = createPrisma(emptyUrl, { max: 2 });
  stops.push(() => emptyPrisma.$disconnect());
  await syncUseCases(emptyPrisma, config);
  await maintainPartitions(emptyPrisma, retentionPolicy(config.logs, USE_CASES), { intervalHours: 24, createAheadHours: 72, lockTimeoutMs: 5000 });
  const modelIds = (await prisma.model.findMany({ select: { id: true } })).map((m) => m.id);
  const pg = new PgClient({ connectionString: url });
  await pg.connect();
  stops.push(() => pg.end());
  return { config, url, prisma, pg, modelIds, emptyUrl, emptyPrisma };
}

/** The text the rows cut their prompts from, and a sample of the size distribution (printed). */
interface TextPool {
  sample: Array<{ ps: number; hs: number; os: number }>;
  text: string;
  system: string;
}

async function createTextPool(pg: PgClient, seed: number, report: Report): Promise<TextPool> {
  // Seeded pseudo-words, so TOAST compresses it as it would prose.
  await pg.query(`select setseed(${seed})`);
  await pg.query(`create table bench_text as select string_agg(w, ' ') as text from (
      select (array['the','guard','of','north','gate','said','I','will','not','let','you','pass','until','you','bring','gold','sword','dragon','village',
        'merchant','quest','night','ale','tavern','king','spell','forest','river','stone','shadow','light','friend','enemy','coin','map','secret'])[1 + floor(random() * 36)::int]
        || case when random() < 0.1 then '.' else '' end as w
      from generate_series(1, 14000)) x`);
  await pg.query(`create table bench_system as select repeat('You are an NPC of the realm; stay in character; never mention the real world. ', 16) as system`);

  await pg.query(`select setseed(${seed})`);
  const sample = (await pg.query<{ ps: number; hs: number; os: number }>(
    `select ${lognormalSql(SIZES.prompt)} as ps, ${lognormalSql(SIZES.history)} as hs, ${lognormalSql(SIZES.output)} as os from generate_series(1, 20000)`,
  )).rows;
  const dist = (key: 'ps' | 'hs' | 'os') => {
    const v = sample.map((s) => s[key]).sort((a, b) => a - b);
    return { p10: pct(v, 0.1), p50: pct(v, 0.5), p90: pct(v, 0.9), p99: pct(v, 0.99), mean: Math.round(v.reduce((a, b) => a + b, 0) / v.length) };
  };
  const systemChars = (await pg.query<{ n: number }>('select length(system) as n from bench_system')).rows[0]!.n;
  report.sizeDistributionChars = { prompt: dist('ps'), history: dist('hs'), output: dist('os'), systemPrompt: systemChars, distribution: SIZES };
  log(`bench: sizes (chars) ${JSON.stringify(report.sizeDistributionChars)}`);
  const text = (await pg.query<{ text: string }>('select text from bench_text')).rows[0]!.text;
  const system = (await pg.query<{ system: string }>('select system from bench_system')).rows[0]!.system;
  return { sample, text, system };
}

const partitionOf = (day: Date) => `model_historical_logs_p${day.toISOString().slice(0, 10).replace(/-/g, '')}`;

/**
 * Fills --days daily partitions with --rows rows. The first day is generated; the others copy it with
 * their own ids and times (a copy moves the already-compressed TOAST values instead of generating and
 * compressing kilobytes per row again).
 */
async function fillPartitions(db: BenchDatabases, pool: TextPool, o: Options, report: Report): Promise<{ days: Date[]; today: number }> {
  const { pg, prisma, modelIds, url } = db;
  const perDay = Math.ceil(o.rows / o.days);
  const every = Math.max(1, Math.floor((perDay * o.days) / TARGET_ROWS));
  const today = Math.floor(Date.now() / DAY) * DAY;
  const fillStarted = performance.now();
  const days = Array.from({ length: o.days }, (_v, i) => new Date(today - (o.days - i) * DAY));
  await ensureRanges(prisma, VIOLATION_TABLE.name, days.map((d) => d.getTime()), { intervalHours: 24, lockTimeoutMs: 5000 });
  const genStarted = performance.now();
  await pg.query(`select setseed(${o.seed})`);
  await pg.query(`create table bench_day (like model_historical_logs including defaults including constraints)`);
  await pg.query(fillDaySql('bench_day', days[0]!, perDay, every, modelIds, o.players), [pool.text, pool.system]);
  log(`bench: generated ${perDay} rows in ${((performance.now() - genStarted) / 1000).toFixed(1)} s (load ${load()})`);
  report.storedSizesChars = await storedSizes(pg);
  log(`bench: stored sizes ${JSON.stringify(report.storedSizesChars)}`);
  const copyStarted = performance.now();
  const cols = (await pg.query<{ attname: string }>(`select attname from pg_attribute where attrelid = 'bench_day'::regclass and attnum > 0 and not attisdropped order by attnum`)).rows.map((r) => r.attname);
  const shifted = (offsetDays: number) =>
    cols.map((c) => (c === 'log_id' ? 'gen_random_uuid()' : c === 'request_id' ? `md5(request_id || '${offsetDays}')` : c === 'timestamp' ? `"timestamp" + interval '${offsetDays} days'` : `"${c}"`)).join(', ');
  let next = 0;
  const worker = async () => {
    const c = new PgClient({ connectionString: url });
    await c.connect();
    try {
      for (let i = next++; i < days.length; i = next++) {
        const day = days[i]!;
        const name = partitionOf(day);
        const started = performance.now();
        await c.query(`create table ${name} (like model_historical_logs including defaults including constraints)`);
        await c.query(`insert into ${name} (${cols.map((x) => `"${x}"`).join(', ')}) select ${shifted(i)} from bench_day`);
        await attachDay(c, name, day);
        log(`bench: ${name} filled with ${perDay} rows in ${((performance.now() - started) / 1000).toFixed(1)} s (${i + 1}/${days.length}, load ${load()})`);
      }
    } finally {
      await c.end();
    }
  };
  await Promise.all(Array.from({ length: o.parallel }, () => worker()));
  const copySeconds = +((performance.now() - copyStarted) / 1000).toFixed(0);
  await pg.query('drop table bench_day');
  await pg.query('analyze model_historical_logs');
  await pg.query('analyze guardrails_violations');
  const total = Number((await pg.query<{ n: string }>('select count(*) as n from model_historical_logs')).rows[0]!.n);
  const fullBytes = await logTableBytes(prisma);
  report.fill = {
    rows: total,
    partitions: (await listPartitions(prisma, LOG_TABLE.name)).filter((p) => !p.isDefault && p.estimatedRows > 0).length,
    seconds: +((performance.now() - fillStarted) / 1000).toFixed(0),
    copySeconds,
    generateSeconds: +((copyStarted - genStarted) / 1000).toFixed(0),
    tableSize: gb(fullBytes),
    bytesPerRowWithIndexes: Math.round(fullBytes / Math.max(1, total)),
  };
  log(`bench: filled ${JSON.stringify(report.fill)}`);
  return { days, today };
}

/** Attaches a filled day as a partition (the CHECK first, so ATTACH skips its scan) and logs its violations. */
async function attachDay(c: PgClient, name: string, day: Date) {
  await c.query(`alter table ${name} add constraint bench_range check ("timestamp" >= '${day.toISOString()}' and "timestamp" < '${new Date(day.getTime() + DAY).toISOString()}')`);
  await c.query(`alter table model_historical_logs attach partition ${name} for values from ('${day.toISOString()}') to ('${new Date(day.getTime() + DAY).toISOString()}')`);
  await c.query(`alter table ${name} drop constraint bench_range`);
  await c.query(`insert into guardrails_violations (model_id, log_id, use_case_id, violation_type, severity, violation_details, output_sample, intervention_taken, "timestamp")
                 select model_id, log_id, use_case, 'hate', 'high', '{}'::jsonb, left(generated_output, 200), 'blocked', "timestamp"
                   from ${name} where guardrail_verdict <> 'pass'`);
}

/** The sizes the generated rows really have (the printed distribution is a sample of the same generator). */
async function storedSizes(pg: PgClient) {
  const stored = (await pg.query<Record<string, number>>(
    `select ${['prompt', "context->>'history'", 'generated_output'].flatMap((c, i) => [0.1, 0.5, 0.9, 0.99].map((q) => `percentile_disc(${q}) within group (order by length(${c})) as c${i}_${q * 100}`)).join(', ')},
            avg(pg_column_size(bench_day.*))::int as row_bytes from bench_day`,
  )).rows[0]!;
  const quantiles = (i: number) => Object.fromEntries([10, 50, 90, 99].map((q) => [`p${q}`, stored[`c${i}_${q}`]]));
  return { prompt: quantiles(0), history: quantiles(1), output: quantiles(2), avgRowBytesCompressed: stored.row_bytes };
}

const logTableBytes = async (prisma: PrismaClient) => (await listPartitions(prisma, LOG_TABLE.name)).reduce((a, p) => a + p.bytes, 0);

/** The gateway's insert path into today's partition, on the empty and the full database in alternation. */
async function measureInsertPath(db: BenchDatabases, pool: TextPool, report: Report) {
  const store = new PgLogStore(db.url);
  const emptyStore = new PgLogStore(db.emptyUrl);
  try {
    const emptyModelId = (await db.emptyPrisma.model.findFirstOrThrow({ select: { id: true } })).id;
    const targets = [
      { store: emptyStore, rows: gatewayRows(20_000, emptyModelId, pool.sample, pool.text) },
      { store, rows: gatewayRows(20_000, db.modelIds[0]!, pool.sample, pool.text) },
    ];
    await insertPathInterleaved(targets, 3); // warm-up
    log(`bench: insert path, empty and full database in alternating 1 s slices (load ${load()})`);
    const [empty, full] = await insertPathInterleaved(targets, 20);
    report.insertPath = {
      batchRows: 500,
      method: 'alternating 1 s slices, 20 s each, same process and server',
      empty,
      full,
      fullVsEmptyP99: +(full!.batchP99Ms / empty!.batchP99Ms).toFixed(2),
      fullVsEmptyThroughput: +(full!.rowsPerSecond / empty!.rowsPerSecond).toFixed(2),
      target: 'full p99 within 10 % of empty',
    };
    log(`bench: insert path ${JSON.stringify(report.insertPath)}`);
  } finally {
    await store.close();
    await emptyStore.close();
  }
}

/** Roll-ups of every filled day (a day per statement: each reads its day partition once), then the 30-day query. */
async function measureRollups(db: BenchDatabases, days: Date[], today: number, report: Report) {
  const rollStarted = performance.now();
  for (let t = days[0]!.getTime(); t < today; t += DAY) await rollUpMinutes(db.prisma, new Date(t), new Date(t + DAY));
  const rollupRows = Number((await db.pg.query<{ n: string }>('select count(*) as n from model_call_rollups')).rows[0]!.n);
  await db.pg.query('analyze model_call_rollups');
  report.rollups = { writeSeconds: +((performance.now() - rollStarted) / 1000).toFixed(0), rows: rollupRows, thirtyDayQuery: await measureRollupQuery(db.prisma, today) };
  log(`bench: roll-ups ${JSON.stringify(report.rollups)}`);
}

/** Forgets the one player who has ~10,000 rows across every partition. */
async function measureForget(db: BenchDatabases, report: Report) {
  const count = async (table: string) =>
    Number((await db.pg.query<{ n: string }>(`select count(*) as n from ${table} where sticky_key_hash = $1`, [stickyKeyHash(TARGET_PLAYER)])).rows[0]!.n);
  const rowsBefore = (await count('model_historical_logs')) + (await count('model_historical_logs_long_term'));
  const forgotten = await forgetPlayer(db.prisma, { player: TARGET_PLAYER }, { actor: 'bench', reason: 'bench:logs' });
  report.forgetPlayer = {
    ms: Math.round(forgotten.durationMs),
    rowsBefore,
    deleted: { logs: forgotten.logs, longTerm: forgotten.longTermLogs, violations: forgotten.violations, evaluationReplays: forgotten.evaluationReplays },
    target: '< 5 s',
  };
  log(`bench: forget ${JSON.stringify(report.forgetPlayer)}`);
}

/**
 * Drops the oldest day through retention (plain rows kept days-1 days: exactly one partition is due),
 * after the maintenance run before it copied the day's long-lived rows ahead, and after late feedback
 * landed on some of that day's rows, which the drop must still keep.
 */
async function measureDropOneDay(db: BenchDatabases, o: Options, report: Report) {
  const { prisma, pg, config } = db;
  const policy = retentionPolicy({ ...config.logs, retention: { ...config.logs.retention, plainDays: o.days - 1 } }, USE_CASES);
  const partitionSettings = { intervalHours: 24, createAheadHours: 72, lockTimeoutMs: 5000, precopyAheadHours: config.logs.partitions.precopyAheadHours };
  const oldest = (await listPartitions(prisma, LOG_TABLE.name)).find((p) => !p.isDefault)!;
  const dropAt = partitionDropAt(LOG_TABLE, oldest.to!, policy);
  const p0 = performance.now();
  const precopied = await precopyDuePartitions(prisma, LOG_TABLE, policy, partitionSettings, new Date(dropAt.getTime() - 60 * 60_000));
  const precopyMs = performance.now() - p0;
  const lateFeedback = await pg.query(
    `update ${oldest.name} set user_feedback = '{"score": 0.1}', feedback_score = 0.1, feedback_at = now()
      where ctid = any(array(select ctid from ${oldest.name} where guardrail_verdict = 'pass' and user_feedback is null limit 100))`,
  );
  const deadTuples = async () =>
    Number((await pg.query<{ n: string }>(`select coalesce(sum(n_dead_tup), 0) as n from pg_stat_user_tables where relname like 'model_historical_logs_p%'`)).rows[0]!.n);
  const deadBefore = await deadTuples();
  const beforeBytes = await logTableBytes(prisma);
  const t0 = performance.now();
  const dropped = await expirePartitions(prisma, LOG_TABLE, policy, partitionSettings, new Date(Math.max(Date.now(), dropAt.getTime())));
  const dropMs = performance.now() - t0;
  report.dropOneDay = {
    ms: Math.round(dropMs),
    precopyAhead: { ms: Math.round(precopyMs), partitions: precopied.precopied, failed: precopied.failed, note: `a maintenance run ${partitionSettings.precopyAheadHours} h or less before the drop` },
    lateFeedbackRows: lateFeedback.rowCount,
    partitions: dropped.dropped.map((d) => ({ name: d.name, size: gb(d.bytes), precopied: d.precopied, rowsMovedToLongTerm: d.movedToLongTerm, ms: d.ms })),
    failed: dropped.failed,
    tableSizeBefore: gb(beforeBytes),
    tableSizeAfter: gb(await logTableBytes(prisma)),
    deadTuplesBefore: deadBefore,
    deadTuplesAfter: await deadTuples(),
    target: '< 1 s',
  };
  log(`bench: drop a day ${JSON.stringify(report.dropOneDay)}`);
}

function printReport(report: Record<string, unknown>, json: boolean) {
  const lines = [
    `bench:logs — ${report.command} (${report.machine}; load average at start ${report.loadAtStart}, at end ${report.loadAtEnd}; the machine is shared)`,
    JSON.stringify(report, null, 2),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (json) process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench:logs failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
