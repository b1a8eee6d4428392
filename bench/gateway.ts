/**
 * `npm run bench:gateway [-- --json] [--quick] [--rates 1000,3000,5000] [--duration 10] [--long-rate 5000]
 *  [--long-duration 60] [--pairs 3] [--upstream-latency-ms 20] [--no-streams] [--no-overload] [--limits]
 *  [--profile] [--gateway-config <json>] [--tier1 on|off] [--cpu-per-call <n> [--cpu-rate 1000] [--cpu-stream]]`
 * (the default flags run in about 9 minutes on 2 cores).
 *
 * Open-loop load (requests sent on a clock, never waiting for answers; each call timed from its
 * scheduled send, so the load generator's own lag counts) against three targets in one sitting,
 * alternating: the fake upstream directly, the gateway (gateway/main.ts, as `mms gateway` runs it, with
 * every call logged to PostgreSQL), and a bare fastify + undici proxy (bench/bare-proxy.ts: the floor an
 * extra Node hop costs here). Four processes besides PostgreSQL: this load generator, the gateway, the
 * bare proxy and the fake upstream (bench/fake-upstream.ts, `--upstream-latency-ms` per answer).
 *
 * Per rate, at least three rounds (each runs direct, gateway and proxy in a rotating order; `--duration`
 * seconds per run, and at `--long-rate` `--long-duration` seconds per target in all, split over the rounds): "added"
 * latency (target minus direct, each percentile's median over the rounds), errors, rows logged (counted
 * in the database), the gateway's CPU and peak RSS. Then, unless turned off:
 * - streams at `--stream-rate` (1,000/s): added time to first token and to the end of the stream;
 * - overload: twice the highest rate that met the capacity targets, for `--overload-duration` (30 s),
 *   against the gateway alone: how much was shed with 503 and how fast, the admitted calls' p99 against
 *   the normal p99, every admitted call and every shed call logged, and the first second after the burst
 *   (`--overload-base-rate <r>` doubles that rate instead; it should be one of --rates, for its normal p99).
 * At the end the targets of issue 17 are judged (met / missed) with the figures. --json prints one JSON
 * object as the last line. --profile writes CPU profiles of the gateway and the bare proxy to .mms/bench/profiles/;
 * --gateway-config '{"log":{"batchSize":200}}' overrides gateway settings; MMS_BENCH_GATEWAY_NODE_FLAGS
 * passes Node flags to the gateway. --tier1 on|off runs the gateway with policies.guardrails.tier1 on (the
 * shipped default) or off: what tier 1 costs the gateway, measured as the same bench both ways. --limits gives the bench key every limit (far above the load), so
 * every call goes through the limiter, and prints what the shared counters recorded.
 * --cpu-per-call <n> measures only the CPU time (user + system) the gateway and the bare proxy spend per
 * call, over n calls at --cpu-rate (admission control off, so no call is shed): unlike latency, that
 * figure holds on a loaded machine. --cpu-stream measures streamed (SSE) calls instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import type { PrismaClient } from '@prisma/client';
import { createPrisma } from '../src/db/prisma';
import { freshBenchDatabase } from './database';
import { parseConfig } from '../src/config/load';
import { syncUseCases } from '../src/registry/use-cases';
import { createApiKey } from '../src/auth/api-keys';
import { projectRoot, stateDir } from '../src/paths';

interface Options {
  json: boolean;
  rates: number[];
  durationS: number;
  longRate: number;
  longDurationS: number;
  pairs: number;
  upstreamLatencyMs: number;
  streams: boolean;
  streamRate: number;
  overload: boolean;
  overloadDurationS: number;
  /** The good rate the overload doubles; default: the highest rate that met the capacity targets. */
  overloadBaseRate?: number;
  profile: boolean;
  gatewayOverrides: Record<string, unknown>;
  /** --tier1 on|off: policies.guardrails.tier1 of the gateway under test (on, as shipped). */
  tier1: boolean;
  limits: boolean;
  /** --cpu-per-call <n>: only the CPU each target spends per call, over n calls at `cpuRate`. */
  cpuPerCall?: number;
  cpuRate: number;
  /** --cpu-stream: the --cpu-per-call calls are streamed (SSE) calls. */
  cpuStream: boolean;
}

const USAGE = '--json --quick --rates <r,…> --duration <s> --long-rate <r> --long-duration <s> --pairs <n> --upstream-latency-ms <ms> --no-streams --stream-rate <r> --no-overload --overload-duration <s> --overload-base-rate <r> --profile --gateway-config <json> --tier1 on|off --limits --cpu-per-call <n> --cpu-rate <r> --cpu-stream';

function parseArgs(argv: string[]): Options {
  const o: Options = { json: false, rates: [1000, 3000, 5000], durationS: 10, longRate: 5000, longDurationS: 60, pairs: 3, upstreamLatencyMs: 20, streams: true, streamRate: 1000, overload: true, overloadDurationS: 30, profile: false, gatewayOverrides: {}, tier1: true, limits: false, cpuRate: 1000, cpuStream: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a}: needs a value`);
      return v;
    };
    const positive = (v: string) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${a}: must be a positive number, got "${v}"`);
      return n;
    };
    if (a === '--json') o.json = true;
    else if (a === '--quick') Object.assign(o, { rates: [1000, 5000], durationS: 5, longDurationS: 10, overloadDurationS: 10 });
    else if (a === '--rates') o.rates = value().split(',').map(positive);
    else if (a === '--duration') o.durationS = positive(value());
    else if (a === '--long-rate') o.longRate = positive(value());
    else if (a === '--long-duration') o.longDurationS = positive(value());
    else if (a === '--pairs') o.pairs = Math.max(3, Math.round(positive(value())));
    else if (a === '--upstream-latency-ms') o.upstreamLatencyMs = Number(value());
    else if (a === '--no-streams') o.streams = false;
    else if (a === '--stream-rate') o.streamRate = positive(value());
    else if (a === '--no-overload') o.overload = false;
    else if (a === '--overload-duration') o.overloadDurationS = positive(value());
    else if (a === '--overload-base-rate') o.overloadBaseRate = positive(value());
    else if (a === '--profile') o.profile = true;
    else if (a === '--limits') o.limits = true;
    else if (a === '--tier1') {
      const v = value();
      if (v !== 'on' && v !== 'off') throw new Error(`--tier1: must be on or off, got "${v}"`);
      o.tier1 = v === 'on';
    }
    else if (a === '--cpu-per-call') o.cpuPerCall = Math.round(positive(value()));
    else if (a === '--cpu-rate') o.cpuRate = positive(value());
    else if (a === '--cpu-stream') o.cpuStream = true;
    else if (a === '--gateway-config') {
      const v = value();
      try {
        o.gatewayOverrides = JSON.parse(v) as Record<string, unknown>;
      } catch {
        throw new Error(`--gateway-config: must be a JSON object of gateway settings, got ${v}`);
      }
    } else throw new Error(`unknown option ${a} (known: ${USAGE})`);
  }
  // Shed calls cost almost nothing: counting them would flatter the per-call figure (a loaded machine lags).
  if (o.cpuPerCall) o.gatewayOverrides = { ...o.gatewayOverrides, admission: { maxEventLoopDelayMs: 0, maxInFlight: 0, ...((o.gatewayOverrides.admission as object) ?? {}) } };
  return o;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, d = 3) => Math.round(n * 10 ** d) / 10 ** d;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function spawnJsonLine(file: string, args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Promise<{ child: ChildProcess; info: Record<string, unknown> }> {
  const child = spawn(process.execPath, [...nodeArgs, path.join(projectRoot, 'bin/run-ts.js'), path.join(projectRoot, file), ...args], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, info: JSON.parse(line) as Record<string, unknown> }));
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code} before it was ready`)));
  });
}

// ---- process CPU and memory, from /proc
/** The fields of a /proc stat file after the command name (field 3 of proc(5) first: state, ppid, …). */
function procStatFields(file: string): string[] {
  const stat = fs.readFileSync(file, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
function cpuTicks(pid: number, thread?: number): number {
  const fields = procStatFields(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`);
  return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15)
}
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

// ---- one open-loop run
type Target = 'direct' | 'gateway' | 'proxy';

interface LoadTarget {
  pool: Pool;
  headers: Record<string, string>;
  bodies: string[];
  streamBodies: string[];
  pid: number;
}

interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
}

interface RunStats {
  requests: number;
  /** Anything but 200 (and, with `shedOk`, 503). */
  errors: number;
  errorKinds: Record<string, number>;
  /** Every call (what a normal run is judged on). */
  all: Percentiles;
  /** 200 answers only, and 503 answers only (overload). */
  admitted: Percentiles;
  shed: Percentiles;
  /** Streams: time to the first content token. */
  ttft?: Percentiles;
  lagP99: number;
  cpuPercent: number;
  peakRssMb: number;
}

function percentiles(values: number[] | Float64Array): Percentiles {
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!);
  return { count: sorted.length, p50: at(50), p90: at(90), p99: at(99) };
}

/** The first SSE event carrying content text (a token), not the role chunk. */
const CONTENT_TOKEN = /"content":"[^"]/;

async function openLoop(target: LoadTarget, rate: number, durationS: number, stream = false): Promise<RunStats> {
  const total = Math.round(rate * durationS);
  const latencies = new Float64Array(total);
  const ttfts = new Float64Array(total).fill(NaN);
  const statuses = new Int32Array(total);
  const lags = new Float64Array(total);
  const errorKinds: Record<string, number> = {};
  const bodies = stream ? target.streamBodies : target.bodies;
  const interval = 1000 / rate;
  let peakRss = rssMb(target.pid);
  const rssTimer = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, rssMb(target.pid));
    } catch {
      // process gone
    }
  }, 100);
  const ticks0 = cpuTicks(target.pid);
  let completed = 0;
  let allDone!: () => void;
  const finished = new Promise<void>((r) => (allDone = r));
  const t0 = performance.now();
  const send = async (i: number, scheduled: number) => {
    try {
      const res = await target.pool.request({ path: '/v1/chat/completions', method: 'POST', headers: target.headers, body: bodies[i % bodies.length] });
      statuses[i] = res.statusCode;
      if (res.statusCode !== 200 && res.statusCode !== 503) {
        const text = await res.body.text();
        const code = /"code":"([^"]+)"/.exec(text)?.[1];
        errorKinds[`http ${res.statusCode}${code ? ` ${code}` : ''}`] = (errorKinds[`http ${res.statusCode}${code ? ` ${code}` : ''}`] ?? 0) + 1;
      } else if (stream && res.statusCode === 200) {
        for await (const chunk of res.body) if (Number.isNaN(ttfts[i]!) && CONTENT_TOKEN.test(String(chunk))) ttfts[i] = performance.now() - scheduled;
      } else await res.body.dump();
    } catch (err) {
      statuses[i] = -1;
      const kind = (err as { code?: string }).code ?? 'error';
      errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
    }
    latencies[i] = performance.now() - scheduled;
    if (++completed === total) allDone();
  };
  let next = 0;
  while (next < total) {
    const now = performance.now();
    while (next < total && t0 + next * interval <= now) {
      const i = next++;
      // Timed from the scheduled send (wrk2's coordinated-omission correction): when the load
      // generator itself falls behind, that wait counts against the target, never hides.
      const scheduled = t0 + i * interval;
      lags[i] = now - scheduled;
      void send(i, scheduled);
    }
    // Sleep until the next request is due (timers fire at ≥1 ms: due requests go out together).
    await sleep(Math.max(0, Math.floor(t0 + next * interval - performance.now())));
  }
  await finished;
  const elapsed = (performance.now() - t0) / 1000;
  clearInterval(rssTimer);
  const pick = (keep: (status: number) => boolean) => Array.from(latencies).filter((_, i) => keep(statuses[i]!));
  return {
    requests: total,
    errors: Array.from(statuses).filter((s) => s !== 200 && s !== 503).length,
    errorKinds,
    all: percentiles(latencies),
    admitted: percentiles(pick((s) => s === 200)),
    shed: percentiles(pick((s) => s === 503)),
    ttft: stream ? percentiles(Array.from(ttfts).filter((t) => !Number.isNaN(t))) : undefined,
    lagP99: percentiles(lags).p99,
    cpuPercent: ((cpuTicks(target.pid) - ticks0) / 100 / elapsed) * 100,
    peakRssMb: peakRss,
  };
}

// ---- the processes and the database of one sitting
interface Stack {
  targets: Record<Target, LoadTarget>;
  prisma: PrismaClient;
  gateway: ChildProcess;
  keyId: string;
  /** Rows of the bench's use case, and rows of shed calls. */
  rows(): Promise<{ logged: number; shed: number }>;
  /** The gateway's shed counters by reason (from its /metrics). */
  shedByReason(): Promise<Record<string, number>>;
}

function benchConfig(options: Options, upstreamBaseUrl: string, spillDir: string) {
  return {
    gateway: {
      host: '127.0.0.1',
      port: 0,
      // Admission control as a dedicated gateway host runs it: an event-loop bound, and an in-flight
      // bound about 5× what the top rate keeps in flight (5,000/s × 21 ms ≈ 105), under the load
      // generator's connections so that it can be reached.
      admission: { maxEventLoopDelayMs: 20, maxInFlight: 512 },
      ...options.gatewayOverrides,
      log: { spillDir, ...((options.gatewayOverrides.log as object) ?? {}) },
    },
    policies: { guardrails: { tier1: options.tier1 } },
    providers: { vllm: { kind: 'openai_compatible', baseUrl: upstreamBaseUrl, prices: { 'llama-3.1-8b-instruct': { inputPerMTok: 0.05, outputPerMTok: 0.1 } } } },
    useCases: [
      {
        id: 'npc_dialogue',
        kind: 'self_hosted',
        temperature: 0.8,
        maxTokens: 256,
        systemPromptTemplate: 'You are {{npc_name}}, a character in the game. Stay in character.',
        sampling: { topP: 0.9 },
        initialModel: { provider: 'vllm', model: 'llama-3.1-8b-instruct' },
      },
    ],
  };
}

async function startStack(options: Options, children: ChildProcess[], stops: Array<() => Promise<void>>): Promise<Stack> {
  const benchDir = path.join(stateDir, 'bench');
  fs.mkdirSync(benchDir, { recursive: true });
  // PostgreSQL: DATABASE_URL's server, else an embedded one of the bench's own; a fresh database per run.
  const { url: databaseUrl, name: dbName } = await freshBenchDatabase('mms_bench', stops, log);
  const upstream = await spawnJsonLine('bench/fake-upstream.ts', [String(options.upstreamLatencyMs)], {});
  children.push(upstream.child);
  // A spill directory of this run's database, removed with it: rows spilled for one run's database are
  // never replayed into another's (the fresh database has other model ids; the FK refuses them).
  const spillDir = path.join(benchDir, 'spill', dbName);
  stops.push(async () => fs.rmSync(spillDir, { recursive: true, force: true }));
  const configObject = benchConfig(options, upstream.info.baseUrl as string, spillDir);
  const config = parseConfig(configObject);
  const configFile = path.join(benchDir, 'mms.config.yaml');
  fs.writeFileSync(configFile, JSON.stringify(configObject));
  const prisma = createPrisma(databaseUrl, { max: 2 });
  stops.push(() => prisma.$disconnect());
  await syncUseCases(prisma, config);
  const { key, id: keyId } = await createApiKey(prisma, {
    name: 'bench',
    scopes: ['gateway'],
    useCases: ['npc_dialogue'],
    ...(options.limits ? { rpm: 10_000_000, tpm: 1_000_000_000, useCaseLimits: { npc_dialogue: { rpm: 10_000_000, tpm: 1_000_000_000 } }, budgetUsd: 1_000_000, budgetPeriod: 'monthly' as const } : {}),
  });
  const env = { DATABASE_URL: databaseUrl, MMS_CONFIG: configFile, MMS_GATEWAY_PORT: '0', MMS_GATEWAY_INTERNAL_PORT: '0', MMS_LOG_LEVEL: 'warn' };
  const profileFlags = options.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(benchDir, 'profiles')}`] : [];
  const gateway = await spawnJsonLine('gateway/main.ts', [], env, [...(process.env.MMS_BENCH_GATEWAY_NODE_FLAGS ? process.env.MMS_BENCH_GATEWAY_NODE_FLAGS.split(' ') : []), ...profileFlags]);
  children.push(gateway.child);
  // Profiled too with --profile (the file names carry the pids printed below): what the floor spends, frame by frame, beside the gateway.
  const proxy = await spawnJsonLine('bench/bare-proxy.ts', [], env, profileFlags);
  children.push(proxy.child);
  log(`bench: gateway ${String(gateway.info.address)} (pid ${gateway.child.pid}), bare proxy ${String(proxy.info.address)} (pid ${proxy.child.pid}), upstream ${String(upstream.info.url)} (pid ${upstream.child.pid}), database ${dbName}; tier 1 ${options.tier1 ? 'on' : 'off'}`);

  // A fixed pool, as wrk2-style open-loop generators use: a request waiting for a free connection still
  // counts (timed from its scheduled send); an unbounded pool would open a connection storm at every
  // latency blip and measure connection setup instead of the target. 1,024 connections: above the
  // gateway's in-flight bound (512), so an overloaded gateway sees the excess and sheds it; with 256
  // the excess queued inside this load generator, where no gateway can shed it (5,000/s: p50 4 s).
  const pool = (url: string) => {
    const p = new Pool(url, { connections: 1024, pipelining: 1, keepAliveTimeout: 60_000 });
    stops.push(() => p.close());
    return p;
  };
  // What a game sends, and what the gateway sends upstream for it (so "direct" does the same work upstream).
  const players = 1000;
  const gatewayBody = (i: number, stream: boolean) => JSON.stringify({ model: 'npc_dialogue', messages: [{ role: 'user', content: 'Good evening! Have you seen the blacksmith today?' }], metadata: { npc_name: 'Mara' }, user: `player-${i}`, ...(stream ? { stream: true } : {}) });
  const directBody = (stream: boolean) => JSON.stringify({ model: 'llama-3.1-8b-instruct', messages: [{ role: 'system', content: 'You are Mara, a character in the game. Stay in character.' }, { role: 'user', content: 'Good evening! Have you seen the blacksmith today?' }], temperature: 0.8, max_tokens: 256, top_p: 0.9, ...(stream ? { stream: true } : {}) });
  const json = { 'content-type': 'application/json' };
  const targets: Record<Target, LoadTarget> = {
    direct: { pool: pool(upstream.info.url as string), headers: json, bodies: [directBody(false)], streamBodies: [directBody(true)], pid: upstream.child.pid! },
    gateway: {
      pool: pool(gateway.info.address as string),
      headers: { ...json, authorization: `Bearer ${key}` },
      bodies: Array.from({ length: players }, (_, i) => gatewayBody(i, false)),
      streamBodies: Array.from({ length: players }, (_, i) => gatewayBody(i, true)),
      pid: gateway.child.pid!,
    },
    proxy: { pool: pool(proxy.info.address as string), headers: json, bodies: [directBody(false)], streamBodies: [directBody(true)], pid: proxy.child.pid! },
  };
  const rows = async () => ({
    logged: await prisma.modelHistoricalLog.count({ where: { useCase: 'npc_dialogue' } }),
    shed: await prisma.modelHistoricalLog.count({ where: { status: 'shed' } }),
  });
  const metricsPool = new Pool(gateway.info.internalAddress as string, { connections: 1 });
  stops.push(() => metricsPool.close());
  const shedByReason = async () => {
    const text = await (await metricsPool.request({ path: '/metrics', method: 'GET' })).body.text();
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^mms_gateway_shed_requests_total\{reason="([^"]+)"\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
    return out;
  };
  return { targets, prisma, gateway: gateway.child, keyId, rows, shedByReason };
}

/** Waits until the database holds `expected` rows of the bench's use case and shed rows (30 s at most). */
async function waitForRows(stack: Stack, expected: { logged: number; shed: number }) {
  const deadline = Date.now() + 30_000;
  let rows = await stack.rows();
  while ((rows.logged < expected.logged || rows.shed < expected.shed) && Date.now() < deadline) {
    await sleep(200);
    rows = await stack.rows();
  }
  return rows;
}

/** One run against one target; for the gateway, the rows it logged (and shed) during it. */
async function run(stack: Stack, target: Target, rate: number, durationS: number, stream = false) {
  const before = target === 'gateway' ? await stack.rows() : { logged: 0, shed: 0 };
  const shedBefore = target === 'gateway' ? await stack.shedByReason() : {};
  const stats = await openLoop(stack.targets[target], rate, durationS, stream);
  let rowsLogged = 0;
  let shedRows = 0;
  const shedReasons: Record<string, number> = {};
  if (target === 'gateway') {
    for (const [reason, n] of Object.entries(await stack.shedByReason())) if (n - (shedBefore[reason] ?? 0) > 0) shedReasons[reason] = n - (shedBefore[reason] ?? 0);
    const shed = stats.shed.count;
    const after = await waitForRows(stack, { logged: before.logged + stats.requests - shed, shed: before.shed + shed });
    rowsLogged = after.logged - before.logged;
    shedRows = after.shed - before.shed;
  }
  await sleep(500); // let the log writer and GC settle before the next run
  return { ...stats, rowsLogged, shedRows, shedReasons };
}
type Run = Awaited<ReturnType<typeof run>>;

/** Rounds of direct / gateway / proxy at one rate, in a rotating order; percentiles are medians over rounds. */
async function measureRate(stack: Stack, rate: number, durationS: number, rounds: number, stream: boolean) {
  const order: Target[] = ['direct', 'gateway', 'proxy'];
  const runs: Array<Record<Target, Run>> = [];
  for (let r = 0; r < rounds; r++) {
    const round_ = {} as Record<Target, Run>;
    for (let k = 0; k < order.length; k++) {
      const target = order[(r + k) % order.length]!;
      round_[target] = await run(stack, target, rate, durationS, stream);
    }
    runs.push(round_);
    const g = round_.gateway;
    log(`  ${stream ? 'stream ' : ''}r${rate} round ${r + 1}: gateway p50/p99 ${g.all.p50.toFixed(2)}/${g.all.p99.toFixed(2)} ms, proxy ${round_.proxy.all.p50.toFixed(2)}/${round_.proxy.all.p99.toFixed(2)}, direct ${round_.direct.all.p50.toFixed(2)}/${round_.direct.all.p99.toFixed(2)}; gateway errors ${g.errors}, shed ${g.shed.count} ${JSON.stringify(g.shedReasons)}, rows ${g.rowsLogged}/${g.requests}`);
  }
  const added = (target: Target, k: 'p50' | 'p90' | 'p99', of: 'all' | 'ttft' = 'all') => round(median(runs.map((x) => (x[target][of]?.[k] ?? NaN) - (x.direct[of]?.[k] ?? NaN))));
  const sum = (f: (x: Record<Target, Run>) => number) => runs.reduce((s, x) => s + f(x), 0);
  const errorKinds: Record<string, number> = {};
  for (const x of runs) for (const [k, v] of Object.entries(x.gateway.errorKinds)) errorKinds[k] = (errorKinds[k] ?? 0) + v;
  return {
    rate,
    duration_s: durationS,
    rounds,
    /** Seconds each target ran at this rate, over all rounds. */
    total_s: durationS * rounds,
    added_p50_ms: added('gateway', 'p50'),
    added_p90_ms: added('gateway', 'p90'),
    added_p99_ms: added('gateway', 'p99'),
    proxy_added_p50_ms: added('proxy', 'p50'),
    proxy_added_p90_ms: added('proxy', 'p90'),
    proxy_added_p99_ms: added('proxy', 'p99'),
    ...(stream ? { added_ttft_p50_ms: added('gateway', 'p50', 'ttft'), added_ttft_p99_ms: added('gateway', 'p99', 'ttft'), proxy_added_ttft_p50_ms: added('proxy', 'p50', 'ttft'), proxy_added_ttft_p99_ms: added('proxy', 'p99', 'ttft') } : {}),
    errors: sum((x) => x.gateway.errors + x.gateway.shed.count),
    shed_by_reason: runs.reduce<Record<string, number>>((acc, x) => {
      for (const [k, v] of Object.entries(x.gateway.shedReasons)) acc[k] = (acc[k] ?? 0) + v;
      return acc;
    }, {}),
    error_kinds: { ...errorKinds, ...(sum((x) => x.gateway.shed.count) > 0 ? { 'http 503 shed': sum((x) => x.gateway.shed.count) } : {}) },
    proxy_errors: sum((x) => x.proxy.errors),
    direct_errors: sum((x) => x.direct.errors),
    requests: sum((x) => x.gateway.requests),
    rows_logged: sum((x) => x.gateway.rowsLogged),
    gateway_p99_ms: round(median(runs.map((x) => x.gateway.all.p99))),
    direct_p50_ms: round(median(runs.map((x) => x.direct.all.p50))),
    gateway_cpu_percent: round(median(runs.map((x) => x.gateway.cpuPercent)), 1),
    gateway_peak_rss_mb: round(Math.max(...runs.map((x) => x.gateway.peakRssMb)), 1),
    load_generator_lag_p99_ms: round(median(runs.map((x) => Math.max(x.gateway.lagP99, x.direct.lagP99, x.proxy.lagP99)))),
  };
}
type RateResult = Awaited<ReturnType<typeof measureRate>>;

/** The capacity targets at a rate: no errors, every call logged, added p50 ≤ 2 ms, p99 within 2× the bare proxy's. */
const meetsCapacity = (r: RateResult) => r.errors === 0 && r.rows_logged === r.requests && r.added_p50_ms <= 2 && r.added_p99_ms <= 2 * Math.max(r.proxy_added_p99_ms, 0.5);

/**
 * Twice the highest good rate against the gateway alone, then one second at the good rate: the excess
 * is shed with 503 at once, the admitted calls keep their latency, nothing admitted or shed goes unlogged.
 */
async function measureOverload(stack: Stack, goodRate: number, normal: RateResult | undefined, durationS: number) {
  const rate = goodRate * 2;
  log(`bench: overload at ${rate}/s for ${durationS} s (twice ${goodRate}/s), then 1 s at ${goodRate}/s`);
  const burst = await run(stack, 'gateway', rate, durationS);
  const after = await openLoop(stack.targets.gateway, goodRate, 1);
  const direct = await openLoop(stack.targets.direct, goodRate, 1);
  const normalP99 = normal ? normal.gateway_p99_ms : NaN;
  return {
    rate,
    duration_s: durationS,
    requests: burst.requests,
    admitted: burst.admitted.count,
    shed: burst.shed.count,
    other_errors: burst.errors,
    error_kinds: burst.errorKinds,
    shed_by_reason: burst.shedReasons,
    shed_p50_ms: round(burst.shed.p50),
    shed_p99_ms: round(burst.shed.p99),
    admitted_p50_ms: round(burst.admitted.p50),
    admitted_p99_ms: round(burst.admitted.p99),
    normal_p99_ms: normalP99,
    /** Rows of the calls not shed (answered or failed): every one of them is logged. */
    rows_logged: burst.rowsLogged,
    shed_rows_logged: burst.shedRows,
    after_burst_p50_ms: round(after.all.p50),
    after_burst_p99_ms: round(after.all.p99),
    after_burst_errors: after.errors + after.shed.count,
    after_burst_added_p50_ms: round(after.all.p50 - direct.all.p50),
  };
}
type OverloadResult = Awaited<ReturnType<typeof measureOverload>>;

/**
 * CPU ticks of the bench's embedded PostgreSQL: the postmaster with the children it has reaped (a
 * backend that exits moves its time into the postmaster's cutime/cstime, so the sum never loses it)
 * plus its live backends. Undefined when DATABASE_URL names another server (its CPU is not on /proc).
 */
function postgresTicks(): number | undefined {
  if (process.env.DATABASE_URL) return undefined;
  let postmaster: number;
  try {
    postmaster = Number(fs.readFileSync(path.join(stateDir, 'bench', 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
  const fieldsOf = (pid: number | string) => procStatFields(`/proc/${pid}/stat`);
  const own = fieldsOf(postmaster);
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]); // utime stime cutime cstime
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = fieldsOf(entry);
      if (Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12]); // ppid, utime, stime
    } catch {
      // exited meanwhile: its time is in the postmaster's cutime now
    }
  }
  return ticks;
}

/** The load generator's own CPU (this process), in the ticks /proc uses (10 ms). */
const loadGeneratorTicks = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 10_000;
};

/**
 * CPU time per call (user + system, from /proc, i.e. the target's own process.cpuUsage()), over `calls`
 * calls at `rate` and until every row is logged: a figure that holds on a loaded machine, unlike
 * latency. The gateway's main thread is shown apart from its other threads (log thread, GC, libuv).
 * Three rounds of direct, gateway and bare proxy in rotating order; medians. Each run also counts what
 * the rest of the machine spent on its calls (the load generator, the fake upstream and, for the
 * gateway, PostgreSQL): their sum is the whole machine's CPU per call, and the cores divided by it is
 * the highest rate this host could serve even if nothing ever waited (its ceiling).
 */
async function measureCpuPerCall(stack: Stack, calls: number, rate: number, stream: boolean) {
  const targets = ['direct', 'gateway', 'proxy'] as const;
  type Sample = { total: number; main: number; upstream: number; loadGenerator: number; postgres: number | undefined; machine: number; errors: number };
  const samples: Record<(typeof targets)[number], Sample[]> = { direct: [], gateway: [], proxy: [] };
  const upstreamPid = stack.targets.direct.pid;
  for (let r = 0; r < 3; r++) {
    for (let k = 0; k < targets.length; k++) {
      const target = targets[(r + k) % targets.length]!;
      const pid = stack.targets[target].pid;
      const total0 = cpuTicks(pid);
      const main0 = cpuTicks(pid, pid);
      const upstream0 = cpuTicks(upstreamPid);
      const loadGenerator0 = loadGeneratorTicks();
      const postgres0 = postgresTicks();
      const result = await run(stack, target, rate, calls / rate, stream);
      const postgres1 = postgresTicks();
      // Ticks are 10 ms (CLK_TCK 100): µs per call = ticks × 10,000 / calls.
      const perCall = (ticks: number) => round((ticks * 10_000) / result.requests, 1);
      // "direct" has no process between the load generator and the upstream: its own figure is the upstream's.
      const total = target === 'direct' ? 0 : perCall(cpuTicks(pid) - total0);
      const upstream = perCall(cpuTicks(upstreamPid) - upstream0);
      const loadGenerator = perCall(loadGeneratorTicks() - loadGenerator0);
      const postgres = postgres0 === undefined || postgres1 === undefined ? undefined : perCall(postgres1 - postgres0);
      const sample: Sample = { total, main: target === 'direct' ? 0 : perCall(cpuTicks(pid, pid) - main0), upstream, loadGenerator, postgres, machine: round(total + upstream + loadGenerator + (postgres ?? 0), 1), errors: result.errors + result.shed.count };
      samples[target].push(sample);
      log(`  cpu round ${r + 1} ${target}: ${target === 'direct' ? '' : `${sample.total} µs per call (main thread ${sample.main} µs); `}upstream ${upstream} µs, load generator ${loadGenerator} µs, PostgreSQL ${postgres ?? 'not measured'} µs; machine ${sample.machine} µs per call; errors ${sample.errors}`);
    }
  }
  const med = (target: (typeof targets)[number], k: 'total' | 'main' | 'machine' | 'upstream' | 'loadGenerator' | 'postgres') => round(median(samples[target].map((x) => x[k] ?? 0)), 1);
  const cores = os.cpus().length;
  const ceiling = (target: (typeof targets)[number]) => Math.floor((cores * 1_000_000) / med(target, 'machine'));
  return {
    calls,
    rate,
    stream,
    gateway_cpu_us_per_call: med('gateway', 'total'),
    gateway_main_thread_cpu_us_per_call: med('gateway', 'main'),
    proxy_cpu_us_per_call: med('proxy', 'total'),
    /** The whole machine per call (target + upstream + load generator + PostgreSQL), per target. */
    machine_cpu_us_per_call: { direct: med('direct', 'machine'), gateway: med('gateway', 'machine'), proxy: med('proxy', 'machine') },
    upstream_cpu_us_per_call: med('direct', 'upstream'),
    load_generator_cpu_us_per_call: med('direct', 'loadGenerator'),
    postgres_cpu_us_per_call_gateway: samples.gateway.some((x) => x.postgres === undefined) ? null : med('gateway', 'postgres'),
    /** cores × 1 s / machine CPU per call: no rate above this can be served on this host, whatever the latency. */
    ceiling_calls_per_s: { cores, direct: ceiling('direct'), gateway: ceiling('gateway'), proxy: ceiling('proxy') },
    errors: samples.gateway.reduce((s, x) => s + x.errors, 0),
  };
}

/** Issue 17's "done when", judged on this sitting's figures. */
function judge(perRate: RateResult[], streams: RateResult | undefined, overload: OverloadResult | undefined, longRate: number) {
  const at = (rate: number) => perRate.find((r) => r.rate === rate);
  const r1000 = at(1000);
  const long = at(longRate);
  const verdict = (ok: boolean | undefined, what: string) => ({ met: ok === undefined ? null : ok, what });
  return [
    verdict(r1000 && r1000.added_p50_ms - r1000.proxy_added_p50_ms <= 0.2, `1,000/s: added p50 within 0.2 ms of the bare proxy (${r1000?.added_p50_ms} vs ${r1000?.proxy_added_p50_ms} ms)`),
    verdict(r1000 && r1000.added_p99_ms <= 3, `1,000/s: added p99 ≤ 3 ms (${r1000?.added_p99_ms} ms)`),
    verdict(streams && (streams.added_ttft_p50_ms ?? Infinity) <= 1, `streams at ${streams?.rate ?? '—'}/s: added time to first token p50 ≤ 1 ms (${streams?.added_ttft_p50_ms} ms)`),
    verdict(long && long.errors === 0 && long.rows_logged === long.requests, `${longRate}/s for ${long?.total_s} s (${long?.rounds} rounds of ${long?.duration_s} s): 0 errors (${long?.errors}) and every call logged (${long?.rows_logged}/${long?.requests})`),
    verdict(long && long.added_p50_ms <= 2 && long.added_p99_ms <= 2 * long.proxy_added_p99_ms, `${longRate}/s: added p50 ≤ 2 ms (${long?.added_p50_ms}) and p99 within 2× the bare proxy's (${long?.added_p99_ms} vs ${long?.proxy_added_p99_ms} ms)`),
    ...(overload ? overloadVerdicts(overload, verdict) : [verdict(undefined, 'overload (its four targets): not run, no rate met the capacity targets (`--overload-base-rate R` runs it at 2 × R anyway)')]),
  ];
}

/** The overload phase's targets, judged only when it ran (its figures would otherwise print as undefined). */
function overloadVerdicts(overload: OverloadResult, verdict: (ok: boolean | undefined, what: string) => { met: boolean | null; what: string }) {
  return [
    verdict(overload.shed > 0 && overload.shed_p99_ms <= 5 && overload.other_errors === 0, `overload ${overload.rate}/s: excess shed with 503 within 5 ms (${overload.shed} shed, p99 ${overload.shed_p99_ms} ms; other errors ${overload.other_errors})`),
    verdict(overload.admitted_p99_ms <= 2 * overload.normal_p99_ms, `overload: admitted p99 within 2× normal (${overload.admitted_p99_ms} vs ${overload.normal_p99_ms} ms)`),
    verdict(overload.rows_logged === overload.requests - overload.shed && overload.shed_rows_logged === overload.shed, `overload: every admitted and shed call logged (${overload.rows_logged}/${overload.requests - overload.shed} admitted, ${overload.shed_rows_logged}/${overload.shed} shed)`),
    verdict(overload.after_burst_errors === 0 && overload.after_burst_p99_ms <= 2 * overload.normal_p99_ms, `first second after the burst: normal (p99 ${overload.after_burst_p99_ms} ms, errors ${overload.after_burst_errors})`),
  ];
}

function printTable(perRate: RateResult[], streams: RateResult | undefined) {
  log('');
  log('rate     added p50/p90/p99 (ms)   bare proxy p50/p90/p99   errors  requests  rows_logged  gw CPU%  gw peak RSS');
  for (const r of perRate) {
    log(`${`${r.rate}/s`.padEnd(8)} ${`${r.added_p50_ms}/${r.added_p90_ms}/${r.added_p99_ms}`.padEnd(24)} ${`${r.proxy_added_p50_ms}/${r.proxy_added_p90_ms}/${r.proxy_added_p99_ms}`.padEnd(24)} ${String(r.errors).padStart(6)}  ${String(r.requests).padStart(8)}  ${String(r.rows_logged).padStart(11)}  ${String(r.gateway_cpu_percent).padStart(7)}  ${r.gateway_peak_rss_mb} MB`);
  }
  if (streams) log(`streams ${streams.rate}/s: added TTFT p50/p99 ${streams.added_ttft_p50_ms}/${streams.added_ttft_p99_ms} ms (proxy ${streams.proxy_added_ttft_p50_ms}/${streams.proxy_added_ttft_p99_ms}), whole stream p50/p99 ${streams.added_p50_ms}/${streams.added_p99_ms} ms (proxy ${streams.proxy_added_p50_ms}/${streams.proxy_added_p99_ms})`);
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const children: ChildProcess[] = [];
  const stops: Array<() => Promise<void>> = [];
  // The children exit before the database is dropped: a gateway still flushing its logs into a dropped
  // database would spill them (and fail its close).
  const cleanup = async () => {
    const exits = children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => new Promise((resolve) => c.once('exit', resolve)));
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.race([Promise.all(exits), sleep(15_000)]);
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  process.on('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    const stack = await startStack(options, children, stops);
    log('bench: warm-up (JIT, connection pools), every target alike; not measured');
    for (const target of ['direct', 'gateway', 'proxy'] as const) await run(stack, target, 1000, 3);
    if (options.cpuPerCall) {
      const cpu = await measureCpuPerCall(stack, options.cpuPerCall, options.cpuRate, options.cpuStream);
      log(`cpu per call, tier 1 ${options.tier1 ? 'on' : 'off'} (${cpu.calls} ${cpu.stream ? 'streamed ' : ''}calls at ${cpu.rate}/s, medians of 3 rounds): gateway ${cpu.gateway_cpu_us_per_call} µs (main thread ${cpu.gateway_main_thread_cpu_us_per_call} µs), bare proxy ${cpu.proxy_cpu_us_per_call} µs; gateway errors ${cpu.errors}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
      log(`whole machine per call (load generator + upstream + target + PostgreSQL): direct ${cpu.machine_cpu_us_per_call.direct} µs, bare proxy ${cpu.machine_cpu_us_per_call.proxy} µs, gateway ${cpu.machine_cpu_us_per_call.gateway} µs (PostgreSQL ${cpu.postgres_cpu_us_per_call_gateway ?? 'not measured'} µs of it)`);
      log(`ceiling of this host (${cpu.ceiling_calls_per_s.cores} cores ÷ machine CPU per call, nothing waiting): direct ${cpu.ceiling_calls_per_s.direct}/s, bare proxy ${cpu.ceiling_calls_per_s.proxy}/s, gateway ${cpu.ceiling_calls_per_s.gateway}/s`);
      await stopGateway(stack, options, {});
      if (options.json) process.stdout.write(`${JSON.stringify({ cpu_per_call: cpu, tier1: options.tier1, limits: options.limits, loadavg_at_end: os.loadavg().map((l) => round(l, 2)), command: `npm run bench:gateway -- ${process.argv.slice(2).join(' ')}`.trim() })}\n`);
      return;
    }

    const perRate: RateResult[] = [];
    let goodRate = 0;
    for (const rate of options.rates) {
      // The long rate's --long-duration is each target's total time at it, split over the rounds (so a
      // default run stays within 12 minutes); other rates run --duration per round.
      const result = await measureRate(stack, rate, rate === options.longRate ? Math.max(options.durationS, options.longDurationS / options.pairs) : options.durationS, options.pairs, false);
      perRate.push(result);
      log(`r${rate}: added p50/p90/p99 ${result.added_p50_ms}/${result.added_p90_ms}/${result.added_p99_ms} ms (bare proxy ${result.proxy_added_p50_ms}/${result.proxy_added_p90_ms}/${result.proxy_added_p99_ms}) | errors ${result.errors} ${JSON.stringify(result.error_kinds)} | rows logged ${result.rows_logged}/${result.requests} | gateway CPU ${result.gateway_cpu_percent}%`);
      if (meetsCapacity(result)) goodRate = Math.max(goodRate, rate);
    }
    const streams = options.streams ? await measureRate(stack, options.streamRate, options.durationS, options.pairs, true) : undefined;
    const baseRate = options.overloadBaseRate ?? goodRate;
    const overload = options.overload && baseRate > 0 ? await measureOverload(stack, baseRate, perRate.find((r) => r.rate === baseRate), options.overloadDurationS) : undefined;
    if (options.overload && baseRate === 0) log('bench: no rate met the capacity targets, so there is no overload rate (twice the highest good one) to run');

    const targets = judge(perRate, streams, overload, options.longRate);
    if (!options.json) printTable(perRate, streams);
    if (overload) log(`overload: ${JSON.stringify(overload)}`);
    log(`highest rate meeting the capacity targets (0 errors, all logged, added p50 ≤ 2 ms, p99 ≤ 2× bare proxy): ${goodRate || 'none'}/s`);
    for (const t of targets) log(`${t.met === null ? 'not run' : t.met ? 'MET   ' : 'MISSED'}  ${t.what}`);
    const summary: Record<string, unknown> = {
      rates: perRate,
      streams,
      overload,
      highest_good_rate: goodRate,
      targets,
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, loadavg_at_end: os.loadavg().map((l) => round(l, 2)) },
      upstream_latency_ms: options.upstreamLatencyMs,
      tier1: options.tier1,
      limits: options.limits,
      command: `npm run bench:gateway -- ${process.argv.slice(2).join(' ')}`.trim(),
    };
    await stopGateway(stack, options, summary);
    if (options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  } finally {
    await cleanup();
  }
}

/** SIGTERM (the gateway flushes its buffer) before the database goes; with --limits, what the counters recorded. */
async function stopGateway(stack: Stack, options: Options, summary: Record<string, unknown>) {
  await new Promise<void>((resolve) => {
    stack.gateway.once('exit', () => resolve());
    stack.gateway.kill('SIGTERM');
  });
  if (!options.limits) return;
  // One count per admitted call (the gateway settled on SIGTERM).
  const counters = await stack.prisma.apiKeyCounter.groupBy({ by: ['counter'], where: { keyId: stack.keyId }, _sum: { used: true }, _count: true });
  summary.limit_counters = Object.fromEntries(counters.map((c) => [c.counter, { used: Number(c._sum.used ?? 0), windows: c._count }]));
  log(`limit counters: ${counters.map((c) => `${c.counter} used ${c.counter === 'spend' ? `$${(Number(c._sum.used ?? 0) / 1e9).toFixed(4)}` : Number(c._sum.used ?? 0)} over ${c._count} window(s)`).join(', ')}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    log(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
