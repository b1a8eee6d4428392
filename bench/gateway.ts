/**
 * `npm run bench:gateway [-- --json] [--quick] [--rates 500,1000,3000] [--duration 10] [--pairs 3]`
 *
 * Open-loop load (requests sent on a clock, never waiting for answers) at fixed rates, against the
 * gateway and — alternating in the same run — against the fake upstream directly, at least three
 * alternating pairs per rate, with historical logging to PostgreSQL on. Three processes share the
 * machine with PostgreSQL: this load generator, the gateway (gateway/main.ts, as `mms gateway` runs
 * it) and the fake upstream (bench/fake-upstream.ts). Per rate it prints the added latency (gateway
 * minus direct, each percentile's median over the pairs), errors, requests sent and rows logged,
 * the gateway's CPU and peak RSS, and at the end the highest rate whose added p90 stayed under 5 ms
 * with no errors. With --json the last line is one JSON object.
 *
 * --baseline-proxy runs the same ladder against bench/bare-proxy.ts instead of the gateway: the floor
 * an extra Node hop costs on this machine. --profile writes a CPU profile of the gateway process to
 * .mms/bench/profiles/; --gateway-config '{"log":{"batchSize":200}}' overrides gateway settings;
 * MMS_BENCH_GATEWAY_NODE_FLAGS="--max-semi-space-size=64" passes Node flags to the gateway process.
 * --limits gives the bench key every limit (rpm, tpm, use-case rpm and tpm, a USD budget) set far above
 * the load, so every call goes through the limiter (admission, charge, leases, settles) and none is
 * refused; the run ends with what the shared counters recorded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { createPrisma } from '../src/db/prisma';
import { freshBenchDatabase } from './database';
import { parseConfig } from '../src/config/load';
import { syncUseCases } from '../src/registry/use-cases';
import { createApiKey } from '../src/auth/api-keys';
import { projectRoot, stateDir } from '../src/paths';
import os from 'node:os';

interface Options {
  json: boolean;
  rates: number[];
  durationS: number;
  longRate: number;
  longDurationS: number;
  pairs: number;
  upstreamLatencyMs: number;
  stopAfterFailure: boolean;
  profile: boolean;
  gatewayOverrides: Record<string, unknown>;
  baselineProxy: boolean;
  limits: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { json: false, rates: [500, 1000, 2000, 3000, 4000, 5000, 6000], durationS: 10, longRate: 3000, longDurationS: 30, pairs: 3, upstreamLatencyMs: 0, stopAfterFailure: true, profile: false, gatewayOverrides: {}, baselineProxy: false, limits: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a}: needs a value`);
      return v;
    };
    const positive = (name: string, v: string) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: must be a positive number, got "${v}"`);
      return n;
    };
    if (a === '--json') o.json = true;
    else if (a === '--quick') Object.assign(o, { rates: [1000, 3000], durationS: 5, longDurationS: 10 });
    else if (a === '--rates') o.rates = value().split(',').map((r) => positive('--rates', r));
    else if (a === '--duration') o.durationS = positive('--duration', value());
    else if (a === '--long-duration') o.longDurationS = positive('--long-duration', value());
    else if (a === '--pairs') o.pairs = Math.max(3, Math.round(positive('--pairs', value())));
    else if (a === '--upstream-latency-ms') o.upstreamLatencyMs = Number(value());
    else if (a === '--all-rates') o.stopAfterFailure = false;
    else if (a === '--profile') o.profile = true;
    else if (a === '--baseline-proxy') o.baselineProxy = true;
    else if (a === '--limits') o.limits = true;
    else if (a === '--gateway-config') {
      const v = value();
      try {
        o.gatewayOverrides = JSON.parse(v) as Record<string, unknown>;
      } catch {
        throw new Error(`--gateway-config: must be a JSON object of gateway settings, got ${v}`);
      }
    }
    else throw new Error(`unknown option ${a} (known: --json --quick --rates --duration --long-duration --pairs --upstream-latency-ms --all-rates --profile --gateway-config <json> --baseline-proxy --limits)`);
  }
  return o;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15)
}
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

// ---- one open-loop run
interface RunResult {
  target: 'gateway' | 'direct';
  rate: number;
  requests: number;
  errors: number;
  errorKinds: Record<string, number>;
  p50: number;
  p90: number;
  p99: number;
  lagP99: number;
  cpuPercent: number;
  peakRssMb: number;
  rowsLogged: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

async function openLoop(pool: Pool, pathName: string, headers: Record<string, string>, bodies: string[], rate: number, durationS: number, watchPid: number) {
  const total = Math.round(rate * durationS);
  const latencies = new Float64Array(total);
  const lags = new Float64Array(total);
  let completed = 0;
  let errors = 0;
  const errorKinds: Record<string, number> = {};
  const fail = (kind: string) => {
    errors++;
    errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
  };
  const interval = 1000 / rate;
  let peakRss = rssMb(watchPid);
  const rssTimer = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, rssMb(watchPid));
    } catch {
      // process gone
    }
  }, 100);
  const ticks0 = cpuTicks(watchPid);
  const t0 = performance.now();
  let allDone!: () => void;
  const finished = new Promise<void>((r) => (allDone = r));
  const done = () => {
    if (++completed === total) allDone();
  };
  let next = 0;
  while (next < total) {
    const now = performance.now();
    while (next < total && t0 + next * interval <= now) {
      const i = next++;
      // Latency is timed from the scheduled send (wrk2's coordinated-omission correction): when the
      // load generator itself falls behind, that wait counts against the target, never hides.
      const scheduled = t0 + i * interval;
      lags[i] = performance.now() - scheduled;
      pool
        .request({ path: pathName, method: 'POST', headers, body: bodies[i % bodies.length] })
        .then(async (res) => {
          if (res.statusCode === 200) await res.body.dump();
          latencies[i] = performance.now() - scheduled;
          if (res.statusCode !== 200) {
            // The error's code (rpm_limit_exceeded, upstream_timeout, …) says which refusal it was.
            const code = await res.body.json().then((b) => (b as { error?: { code?: string } }).error?.code, () => undefined);
            fail(`http ${res.statusCode}${code ? ` ${code}` : ''}`);
          }
          done();
        })
        .catch((err: { code?: string }) => {
          latencies[i] = performance.now() - scheduled;
          fail(err.code ?? 'error');
          done();
        });
    }
    // Sleep until the next request is due (timers fire at ≥1 ms: due requests go out together).
    const wait = t0 + next * interval - performance.now();
    await new Promise((r) => setTimeout(r, Math.max(0, Math.floor(wait))));
  }
  await finished;
  const elapsed = (performance.now() - t0) / 1000;
  clearInterval(rssTimer);
  const cpuPercent = ((cpuTicks(watchPid) - ticks0) / 100 / elapsed) * 100;
  latencies.sort();
  lags.sort();
  return { requests: total, errors, errorKinds, p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), lagP99: percentile(lags, 99), cpuPercent, peakRssMb: peakRss };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (n: number, d = 3) => Math.round(n * 10 ** d) / 10 ** d;

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const benchDir = path.join(stateDir, 'bench');
  fs.mkdirSync(benchDir, { recursive: true });
  const children: ChildProcess[] = [];
  const stops: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  process.on('SIGINT', () => void cleanup().finally(() => process.exit(130)));

  try {
    // PostgreSQL: DATABASE_URL's server, else an embedded one of the bench's own; a fresh database per run.
    const { url: databaseUrl, name: dbName } = await freshBenchDatabase('mms_bench', stops, log);

    const upstream = await spawnJsonLine('bench/fake-upstream.ts', [String(options.upstreamLatencyMs)], {});
    children.push(upstream.child);
    const upstreamUrl = upstream.info.url as string;

    const configObject = {
      gateway: { host: '127.0.0.1', port: 0, ...options.gatewayOverrides, log: { spillDir: path.join(benchDir, 'spill'), ...((options.gatewayOverrides.log as object) ?? {}) } },
      providers: { vllm: { kind: 'openai_compatible', baseUrl: upstream.info.baseUrl as string, prices: { 'llama-3.1-8b-instruct': { inputPerMTok: 0.05, outputPerMTok: 0.1 } } } },
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

    const gateway = await spawnJsonLine(options.baselineProxy ? 'bench/bare-proxy.ts' : 'gateway/main.ts', [], { DATABASE_URL: databaseUrl, MMS_CONFIG: configFile, MMS_GATEWAY_PORT: '0', MMS_GATEWAY_INTERNAL_PORT: '0', MMS_LOG_LEVEL: 'warn' }, [
      ...(process.env.MMS_BENCH_GATEWAY_NODE_FLAGS ? process.env.MMS_BENCH_GATEWAY_NODE_FLAGS.split(' ') : []),
      ...(options.profile ? ['--cpu-prof', `--cpu-prof-dir=${path.join(benchDir, 'profiles')}`] : []),
    ]);
    children.push(gateway.child);
    const gatewayUrl = gateway.info.address as string;
    const gatewayPid = gateway.child.pid!;
    const upstreamPid = upstream.child.pid!;
    log(`bench: gateway ${gatewayUrl} (pid ${gatewayPid}), upstream ${upstreamUrl} (pid ${upstreamPid}), database ${dbName}`);

    // What a game sends, and what the gateway sends upstream for it (so "direct" does the same work upstream).
    const players = 1000;
    const gatewayBodies = Array.from({ length: players }, (_, i) => JSON.stringify({ model: 'npc_dialogue', messages: [{ role: 'user', content: 'Good evening! Have you seen the blacksmith today?' }], metadata: { npc_name: 'Mara' }, user: `player-${i}` }));
    const directBodies = [JSON.stringify({ model: 'llama-3.1-8b-instruct', messages: [{ role: 'system', content: 'You are Mara, a character in the game. Stay in character.' }, { role: 'user', content: 'Good evening! Have you seen the blacksmith today?' }], temperature: 0.8, max_tokens: 256, top_p: 0.9 })];
    const gatewayHeaders = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
    const directHeaders = { 'content-type': 'application/json' };
    // A fixed pool, as wrk2-style open-loop generators use: latency is timed from the scheduled send, so a
    // request waiting for a free connection still counts; an unbounded pool would open a connection storm
    // at every latency blip and measure connection setup instead of the gateway.
    const poolOptions = { connections: 256, pipelining: 1, keepAliveTimeout: 60_000 };
    const gatewayPool = new Pool(gatewayUrl, poolOptions);
    const directPool = new Pool(upstreamUrl, poolOptions);
    stops.push(() => gatewayPool.close());
    stops.push(() => directPool.close());

    const rowCount = async () => (await prisma.modelHistoricalLog.count({ where: { useCase: 'npc_dialogue' } }));
    const waitForRows = async (expected: number) => {
      const deadline = Date.now() + 30_000;
      let count = await rowCount();
      while (count < expected && Date.now() < deadline) {
        await sleep(200);
        count = await rowCount();
      }
      return count;
    };

    const run = async (target: 'gateway' | 'direct', rate: number, durationS: number): Promise<RunResult> => {
      const before = target === 'gateway' ? await rowCount() : 0;
      const r = target === 'gateway'
        ? await openLoop(gatewayPool, '/v1/chat/completions', gatewayHeaders, gatewayBodies, rate, durationS, gatewayPid)
        : await openLoop(directPool, '/v1/chat/completions', directHeaders, directBodies, rate, durationS, upstreamPid);
      const rowsLogged = target === 'gateway' && !options.baselineProxy ? (await waitForRows(before + r.requests)) - before : 0;
      await sleep(500); // let the log writer and GC settle before the next run
      return { target, rate, rowsLogged, ...r };
    };

    // Warm-up (JIT, connection pools), both targets alike; not measured.
    log('bench: warm-up');
    await run('direct', 1000, 3);
    await run('gateway', 1000, 3);

    const perRate: Record<string, unknown> = {};
    let maxRate = 0;
    for (const rate of options.rates) {
      const durationS = rate === options.longRate ? options.longDurationS : options.durationS;
      const pairs: Array<{ gateway: RunResult; direct: RunResult }> = [];
      for (let p = 0; p < options.pairs; p++) {
        // Alternate the order inside each pair so neither side always runs on a warmer machine.
        const first = p % 2 === 0 ? 'direct' : 'gateway';
        const a = await run(first, rate, durationS);
        const b = await run(first === 'direct' ? 'gateway' : 'direct', rate, durationS);
        const pair = a.target === 'gateway' ? { gateway: a, direct: b } : { gateway: b, direct: a };
        pairs.push(pair);
        log(`  r${rate} pair ${p + 1}: gateway p50/p90/p99 ${pair.gateway.p50.toFixed(3)}/${pair.gateway.p90.toFixed(3)}/${pair.gateway.p99.toFixed(3)} ms, direct ${pair.direct.p50.toFixed(3)}/${pair.direct.p90.toFixed(3)}/${pair.direct.p99.toFixed(3)} ms, gateway errors ${pair.gateway.errors}, rows ${pair.gateway.rowsLogged}/${pair.gateway.requests}`);
      }
      const added = (k: 'p50' | 'p90' | 'p99') => round(median(pairs.map((p) => p.gateway[k] - p.direct[k])));
      const errors = pairs.reduce((s, p) => s + p.gateway.errors, 0);
      const errorKinds: Record<string, number> = {};
      for (const p of pairs) for (const [k, v] of Object.entries(p.gateway.errorKinds)) errorKinds[k] = (errorKinds[k] ?? 0) + v;
      const result = {
        added_p50_ms: added('p50'),
        added_p90_ms: added('p90'),
        added_p99_ms: added('p99'),
        errors,
        requests: pairs.reduce((s, p) => s + p.gateway.requests, 0),
        rows_logged: pairs.reduce((s, p) => s + p.gateway.rowsLogged, 0),
        direct_errors: pairs.reduce((s, p) => s + p.direct.errors, 0),
        error_kinds: errorKinds,
        duration_s: durationS,
        pairs: pairs.length,
        gateway_p50_ms: round(median(pairs.map((p) => p.gateway.p50))),
        gateway_p90_ms: round(median(pairs.map((p) => p.gateway.p90))),
        gateway_p99_ms: round(median(pairs.map((p) => p.gateway.p99))),
        direct_p50_ms: round(median(pairs.map((p) => p.direct.p50))),
        direct_p90_ms: round(median(pairs.map((p) => p.direct.p90))),
        direct_p99_ms: round(median(pairs.map((p) => p.direct.p99))),
        gateway_cpu_percent: round(median(pairs.map((p) => p.gateway.cpuPercent)), 1),
        gateway_peak_rss_mb: round(Math.max(...pairs.map((p) => p.gateway.peakRssMb)), 1),
        upstream_cpu_percent_direct: round(median(pairs.map((p) => p.direct.cpuPercent)), 1),
        load_generator_lag_p99_ms: round(median(pairs.map((p) => Math.max(p.gateway.lagP99, p.direct.lagP99)))),
      };
      perRate[`r${rate}`] = result;
      log(
        `r${rate}: added p50 ${result.added_p50_ms} ms, p90 ${result.added_p90_ms} ms, p99 ${result.added_p99_ms} ms | errors ${result.errors} | requests ${result.requests} | rows logged ${result.rows_logged} | gateway CPU ${result.gateway_cpu_percent}% of a core, peak RSS ${result.gateway_peak_rss_mb} MB`,
      );
      const ok = result.added_p90_ms < 5 && result.errors === 0;
      if (ok) maxRate = Math.max(maxRate, rate);
      else if (options.stopAfterFailure && rate >= options.longRate) break;
    }

    const summary: Record<string, unknown> = { ...perRate, max_rate_added_p90_under_5ms: maxRate, machine: { cpus: os.cpus().length, node: process.version }, upstream_latency_ms: options.upstreamLatencyMs, limits: options.limits };
    log(`highest rate with added p90 < 5 ms and no errors: ${maxRate} requests/s`);
    if (!options.json) {
      log('');
      log('rate    added p50  added p90  added p99  errors  requests  rows_logged  gw CPU%  gw peak RSS');
      for (const [name, r] of Object.entries(perRate) as Array<[string, Record<string, number>]>) {
        log(`${name.padEnd(7)} ${String(r.added_p50_ms).padStart(9)}  ${String(r.added_p90_ms).padStart(9)}  ${String(r.added_p99_ms).padStart(9)}  ${String(r.errors).padStart(6)}  ${String(r.requests).padStart(8)}  ${String(r.rows_logged).padStart(11)}  ${String(r.gateway_cpu_percent).padStart(7)}  ${r.gateway_peak_rss_mb} MB`);
      }
    }
    // Stop the gateway with SIGTERM (flushing its buffer) before the database goes.
    const gw = gateway.child;
    await new Promise<void>((resolve) => {
      gw.once('exit', () => resolve());
      gw.kill('SIGTERM');
    });
    if (options.limits) {
      // What the shared counters recorded (the gateway settled on SIGTERM): one count per admitted call.
      const counters = await prisma.apiKeyCounter.groupBy({ by: ['counter'], where: { keyId }, _sum: { used: true }, _count: true });
      summary.limit_counters = Object.fromEntries(counters.map((c) => [c.counter, { used: Number(c._sum.used ?? 0), windows: c._count }]));
      log(`limit counters: ${counters.map((c) => `${c.counter} used ${c.counter === 'spend' ? `$${(Number(c._sum.used ?? 0) / 1e9).toFixed(4)}` : Number(c._sum.used ?? 0)} over ${c._count} window(s)`).join(', ')}`);
    }
    if (options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    log(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
