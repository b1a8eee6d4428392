/**
 * `npm run bench:rollout [-- --json] [--runs 20] [--window 5] [--rate 120] [--concurrency 4]`
 *
 * The two figures that say whether automated rollouts can be trusted, measured on the real system:
 * PostgreSQL (embedded unless DATABASE_URL), a Temporal dev server, the control worker, the gateway
 * (with guardrail-free fake providers on 127.0.0.1) and open-loop player traffic through it.
 *
 * 1. Fault to rollback: a canary whose provider fails `--fault-error-rate` of calls (stable fails
 *    `--base-error-rate`) is rolled out with the default policy; the time from the canary's first
 *    traffic to the allocation that restores stable (and to the gateway serving it) is printed.
 * 2. False rollbacks: `--runs` rollouts of a candidate identical to stable (same provider, same
 *    behaviour), default analysis policy, `--concurrency` at a time on separate use cases; every
 *    rollback among them is a false one. Target 0.
 *
 * Windows are `--window` seconds instead of the default 300 so the bench ends in minutes; every other
 * policy key (steps 10/25/50/75/100, minSamples 50, confidence 0.95, margins) is the default.
 * With --json the last line is one JSON object.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { Agent, request } from 'undici';
import pino from 'pino';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import type { PrismaClient } from '@prisma/client';
import { parseConfig } from '../src/config/load';
import { createPrisma } from '../src/db/prisma';
import { applyMigrations } from '../src/db/migrations';
import { freePort, startEmbeddedPostgres } from '../src/db/embedded-postgres';
import { resolveTemporal, startDevServer } from '../src/temporal/server';
import { stateDir } from '../src/paths';
import { syncUseCases } from '../src/registry/use-cases';
import { createApiKey } from '../src/auth/api-keys';
import { createGatewayServer } from '../gateway';
import { createControlWorker } from '../workers/control';
import { startRollout } from '../clients/rollout';
import { abortUpdate, rolloutStatusQuery, type RolloutStatus } from '../workflows/rollout-messages';
import { startFakeProvider } from '../testkit/fake-providers';

interface Options {
  json: boolean;
  runs: number;
  windowS: number;
  rate: number;
  concurrency: number;
  faultErrorRate: number;
  baseErrorRate: number;
  latencyMs: number;
  /** analysis.graceSeconds: the bench's calls take ~20 ms and the log flushes every 50 ms. */
  graceS: number;
  /** stableHoldbackPercent: the default 5 % of a 5 s window at 120 calls/s is 30 calls, below minSamples. */
  holdbackPercent: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { json: false, runs: 20, windowS: 5, rate: 120, concurrency: 4, faultErrorRate: 0.3, baseErrorRate: 0.01, latencyMs: 20, graceS: 1, holdbackPercent: 20 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = (min: number, max: number) => {
      const v = argv[++i];
      const n = Number(v);
      if (v === undefined || !Number.isFinite(n) || n < min || n > max) throw new Error(`${a}: must be a number from ${min} to ${max}, got "${v ?? ''}"`);
      return n;
    };
    if (a === '--json') o.json = true;
    else if (a === '--runs') o.runs = Math.round(num(1, 1000));
    else if (a === '--window') o.windowS = num(0.5, 3600);
    else if (a === '--rate') o.rate = num(1, 5000);
    else if (a === '--concurrency') o.concurrency = Math.round(num(1, 50));
    else if (a === '--fault-error-rate') o.faultErrorRate = num(0, 1);
    else if (a === '--base-error-rate') o.baseErrorRate = num(0, 1);
    else if (a === '--latency-ms') o.latencyMs = num(0, 10_000);
    else if (a === '--grace') o.graceS = num(0, 3600);
    else if (a === '--holdback') o.holdbackPercent = num(0, 50);
    else throw new Error(`unknown option ${a} (known: --json --runs --window --rate --concurrency --fault-error-rate --base-error-rate --latency-ms --grace --holdback)`);
  }
  return o;
}

const say = (line: string) => process.stderr.write(`[bench:rollout] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Players of one use case: `rate` calls a second on a clock (open loop), each with its own sticky key. */
function startPlayers(url: string, key: string, useCase: string, rate: number, agent: Agent) {
  let stopped = false;
  let n = 0;
  const counts = { sent: 0, ok: 0, failed: 0 };
  const inFlight = new Set<Promise<void>>();
  const loop = (async () => {
    const started = Date.now();
    let tick = 0;
    while (!stopped) {
      tick++;
      const due = Math.floor(((Date.now() - started) / 1000) * rate) - counts.sent;
      for (let i = 0; i < due; i++) {
        counts.sent++;
        const p = request(`${url}/v1/chat/completions`, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-mms-sticky-key': `player-${useCase}-${n++}` },
          body: JSON.stringify({ model: useCase, messages: [{ role: 'user', content: `line ${n % 50}` }] }),
        })
          .then(async (res) => {
            await res.body.dump();
            if (res.statusCode === 200) counts.ok++;
            else counts.failed++;
          })
          .catch(() => void counts.failed++);
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      }
      await sleep(Math.max(1, started + tick * 20 - Date.now()));
    }
  })();
  return {
    counts,
    async stop() {
      stopped = true;
      await loop;
      await Promise.allSettled([...inFlight]);
    },
  };
}

async function allocationTimes(prisma: PrismaClient, useCaseId: string, candidateId: string) {
  const rows = await prisma.trafficAllocation.findMany({ where: { useCaseId }, orderBy: { version: 'asc' } });
  const canaryOn = rows.find((r) => (r.entries as Array<{ modelId: string; weight: number; role: string }>).some((e) => e.modelId === candidateId && e.role === 'canary' && e.weight > 0));
  const last = rows[rows.length - 1]!;
  return { canaryOn, last };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const stops: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const stop of stops.reverse()) await stop().catch((err) => say(`cleanup: ${(err as Error).message}`));
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

  try {
    // ---- infrastructure
    const benchDir = path.join(stateDir, 'bench');
    fs.mkdirSync(benchDir, { recursive: true });
    let serverUrl = process.env.DATABASE_URL;
    if (!serverUrl) {
      const dataDir = path.join(benchDir, `rollout-pg-${process.pid}`);
      const pg = await startEmbeddedPostgres({ dataDir, database: 'postgres', onProgress: say });
      stops.push(async () => {
        await pg.stop();
        fs.rmSync(dataDir, { recursive: true, force: true });
        fs.rmSync(`${dataDir}.json`, { force: true });
      });
      serverUrl = pg.url;
    }
    const dbName = `mms_bench_rollout_${process.pid}`;
    const admin = new PgClient({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`drop database if exists ${dbName}`);
    await admin.query(`create database ${dbName}`);
    await admin.end();
    const dbUrl = (() => {
      const u = new URL(serverUrl);
      u.pathname = `/${dbName}`;
      return u.toString();
    })();
    stops.push(async () => {
      const c = new PgClient({ connectionString: serverUrl });
      await c.connect();
      await c.query(`drop database if exists ${dbName} with (force)`);
      await c.end();
    });
    say('database: applying migrations');
    await applyMigrations(dbUrl);
    const prisma = createPrisma(dbUrl, { max: 16 });
    stops.push(() => prisma.$disconnect());

    const target = resolveTemporal({ onProgress: say });
    let temporalAddress: string;
    if (target.kind === 'address') temporalAddress = target.address;
    else {
      const server = await startDevServer({ binary: target.path, port: await freePort(), headless: true, logFile: path.join(benchDir, 'rollout-temporal.log') });
      stops.push(server.stop);
      temporalAddress = server.address;
    }
    say(`temporal: ${temporalAddress}`);

    const good = await startFakeProvider({ record: false, latencyMs: o.latencyMs, errorRate: o.baseErrorRate });
    const flaky = await startFakeProvider({ record: false, latencyMs: o.latencyMs, errorRate: o.faultErrorRate });
    stops.push(() => good.close());
    stops.push(() => flaky.close());

    const lanes = Array.from({ length: o.concurrency }, (_, i) => `bench_identical_${i}`);
    const useCase = (id: string) => ({ id, kind: 'self_hosted', temperature: 0.7, maxTokens: 64, systemPromptTemplate: 'You are an NPC.', initialModel: { provider: 'good', model: 'llama-3.1-8b-instruct' } });
    const taskQueue = `bench-rollout-${process.pid}`;
    const config = parseConfig({
      temporal: { controlTaskQueue: taskQueue },
      gateway: { host: '127.0.0.1', port: 0, allocationPollMs: 100, retry: { maxAttempts: 1 }, log: { spillDir: fs.mkdtempSync(path.join(os.tmpdir(), 'mms-bench-spill-')), flushIntervalMs: 50 } },
      providers: {
        good: { kind: 'openai_compatible', baseUrl: good.baseUrls.openai_compatible },
        flaky: { kind: 'openai_compatible', baseUrl: flaky.baseUrls.openai_compatible },
      },
      useCases: [useCase('bench_fault'), ...lanes.map(useCase)],
      policies: { rollout: { windowSeconds: o.windowS, stableHoldbackPercent: o.holdbackPercent, analysis: { graceSeconds: o.graceS } } },
    });
    const policy = config.policies.rollout;
    await syncUseCases(prisma, config);

    const gateway = createGatewayServer({ prisma, config, logger: pino({ level: 'silent' }), internalPort: 0 });
    const gatewayUrl = await gateway.listen();
    stops.push(() => gateway.close());
    const { key } = await createApiKey(prisma, { name: 'bench players', scopes: ['gateway'] });
    await gateway.cache.reload();
    const agent = new Agent({ connections: 256, keepAliveTimeout: 10_000 });
    stops.push(() => agent.close());

    say('worker: bundling workflows');
    const connection = await NativeConnection.connect({ address: temporalAddress });
    const worker = await createControlWorker({ connection, namespace: 'default', taskQueue, prisma, gatewayReplicaUrls: [gateway.internalAddress!] });
    const running = worker.run();
    stops.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    });
    const clientConnection = await Connection.connect({ address: temporalAddress });
    const client = new Client({ connection: clientConnection, namespace: 'default' });
    stops.push(() => clientConnection.close());

    const newCandidate = async (useCaseId: string, provider: 'good' | 'flaky', name: string) =>
      (await prisma.model.create({ data: { modelName: name, version: '1', useCase: useCaseId, modelType: 'self_hosted', provider, upstreamModel: name, status: 'candidate' } })).id;

    /** Runs one rollout to its end; a pause (inconclusive windows beyond the limit) is aborted and counted. */
    async function rollout(useCaseId: string, candidateId: string) {
      const started = await startRollout(client, config, { useCaseId, candidate: candidateId, strategy: 'canary', policy, requestedBy: 'bench' });
      let pausedOnce = false;
      const result = started.handle.result();
      for (;;) {
        const done = await Promise.race([result, sleep(1000).then(() => undefined)]);
        if (done) {
          const status: RolloutStatus = await started.handle.query(rolloutStatusQuery);
          return { result: done, status, paused: pausedOnce };
        }
        const status = await started.handle.query(rolloutStatusQuery).catch(() => undefined);
        if (status?.paused && !pausedOnce) {
          pausedOnce = true;
          say(`  ${useCaseId}: paused (${status.pauseReason}); aborting it`);
          await started.handle.executeUpdate(abortUpdate, { args: [{ reason: 'bench: paused for a person', by: 'bench' }] });
        }
      }
    }

    // ---- 1. seeded fault
    say(`fault: canary provider fails ${o.faultErrorRate * 100}% of calls, stable ${o.baseErrorRate * 100}%; ${o.rate} calls/s; window ${o.windowS} s`);
    const faultPlayers = startPlayers(gatewayUrl, key, 'bench_fault', o.rate, agent);
    await sleep(2000);
    const faultCandidate = await newCandidate('bench_fault', 'flaky', 'flaky-candidate');
    let servedRestoredAt: number | undefined;
    const watch = (async () => {
      let restoredVersion: number | undefined;
      while (servedRestoredAt === undefined) {
        const route = gateway.cache.route('bench_fault');
        if (restoredVersion === undefined) {
          const last = await prisma.trafficAllocation.findFirst({ where: { useCaseId: 'bench_fault', reason: { startsWith: 'rollback' } } });
          restoredVersion = last?.version;
        }
        if (restoredVersion !== undefined && route && route.version >= restoredVersion) servedRestoredAt = Date.now();
        await sleep(20);
      }
    })();
    const fault = await rollout('bench_fault', faultCandidate);
    await Promise.race([watch, sleep(5000)]);
    // Not seen within 5 s of the rollout's end: reported as not observed, never as a made-up time.
    const servedObserved = servedRestoredAt;
    servedRestoredAt = -1; // stops the watcher
    await faultPlayers.stop();
    const times = await allocationTimes(prisma, 'bench_fault', faultCandidate);
    const faultToRollback = times.canaryOn ? (times.last.createdAt.getTime() - times.canaryOn.createdAt.getTime()) / 1000 : null;
    const faultToServed = times.canaryOn && servedObserved !== undefined ? (servedObserved - times.canaryOn.createdAt.getTime()) / 1000 : null;
    const firstVerdict = fault.status.verdicts.find((v) => v.verdict !== 'inconclusive');
    say(`fault: ${fault.result.outcome} — ${fault.result.reason}`);
    say(
      `fault: ${fault.status.verdicts.length} window(s); canary ${firstVerdict?.canary.requests ?? '?'} calls at ${((firstVerdict?.canary.errorRate ?? 0) * 100).toFixed(1)}% errors vs stable ${firstVerdict?.baseline.requests ?? '?'} at ${((firstVerdict?.baseline.errorRate ?? 0) * 100).toFixed(1)}%`,
    );

    // ---- 2. identical candidates
    say(`identical: ${o.runs} rollouts of a candidate identical to stable, ${o.concurrency} at a time, ${o.rate} calls/s each, default analysis policy, steps ${policy.steps.join('/')}`);
    const outcomes: Array<{ run: number; useCase: string; outcome: string; paused: boolean; windows: number; inconclusive: number; seconds: number; reason: string }> = [];
    let next = 0;
    await Promise.all(
      lanes.map(async (lane) => {
        const players = startPlayers(gatewayUrl, key, lane, o.rate, agent);
        try {
          await sleep(2000);
          for (let run = next++; run < o.runs; run = next++) {
            const candidate = await newCandidate(lane, 'good', `identical-${run}`);
            const t0 = Date.now();
            const r = await rollout(lane, candidate);
            const entry = {
              run,
              useCase: lane,
              outcome: r.result.outcome,
              paused: r.paused,
              windows: r.status.verdicts.length,
              inconclusive: r.status.verdicts.filter((v) => v.verdict === 'inconclusive').length,
              seconds: (Date.now() - t0) / 1000,
              reason: r.result.reason,
            };
            outcomes.push(entry);
            say(`  run ${run + 1}/${o.runs} (${lane}): ${entry.outcome}${entry.paused ? ' after a pause' : ''}, ${entry.windows} windows (${entry.inconclusive} inconclusive), ${entry.seconds.toFixed(1)} s${entry.outcome === 'rolled_back' ? ` — ${entry.reason}` : ''}`);
          }
        } finally {
          await players.stop();
        }
      }),
    );

    const falseRollbacks = outcomes.filter((r) => r.outcome === 'rolled_back' && !r.paused).length;
    const paused = outcomes.filter((r) => r.paused).length;
    const promoted = outcomes.filter((r) => r.outcome === 'promoted').length;
    const summary = {
      fault_to_rollback_s: faultToRollback === null ? null : Number(faultToRollback.toFixed(2)),
      fault_to_gateway_serving_stable_s: faultToServed === null ? null : Number(faultToServed.toFixed(2)),
      fault_outcome: fault.result.outcome,
      fault_windows: fault.status.verdicts.length,
      window_s: o.windowS,
      identical_runs: outcomes.length,
      false_rollbacks: falseRollbacks,
      false_rollback_rate: outcomes.length ? falseRollbacks / outcomes.length : null,
      identical_promoted: promoted,
      identical_paused: paused,
      identical_windows: outcomes.reduce((s, r) => s + r.windows, 0),
      identical_inconclusive_windows: outcomes.reduce((s, r) => s + r.inconclusive, 0),
      rate_per_use_case: o.rate,
      fault_error_rate: o.faultErrorRate,
      base_error_rate: o.baseErrorRate,
      policy: { steps: policy.steps, minSamples: policy.analysis.minSamples, confidence: policy.analysis.confidence, maxErrorRateIncrease: policy.analysis.maxErrorRateIncrease, maxLatencyP95IncreasePercent: policy.analysis.maxLatencyP95IncreasePercent, graceSeconds: policy.analysis.graceSeconds, stableHoldbackPercent: policy.stableHoldbackPercent },
      machine: { cpus: os.cpus().length, node: process.version },
    };
    const lines = [
      `fault to rollback:      ${summary.fault_to_rollback_s} s (window ${o.windowS} s; gateway serving stable ${summary.fault_to_gateway_serving_stable_s === null ? 'not observed' : `after ${summary.fault_to_gateway_serving_stable_s} s`}; ${fault.result.outcome} after ${fault.status.verdicts.length} window(s))`,
      `false rollbacks:        ${falseRollbacks} of ${outcomes.length} identical rollouts (${promoted} promoted, ${paused} paused for a person)`,
      `windows judged:         ${summary.identical_windows} (${summary.identical_inconclusive_windows} inconclusive, extended)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench:rollout failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
