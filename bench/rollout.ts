/**
 * `npm run bench:rollout [-- --json] [--runs 20] [--concurrency 20] [--deadline 13] [--window 75] [--rate 40] [--fault-window 5] [--fault-rate 120]`
 *
 * The two figures that say whether automated rollouts can be trusted, measured on the real system:
 * PostgreSQL (embedded unless DATABASE_URL), a Temporal dev server, the control worker, the gateway
 * (with guardrail-free fake providers on 127.0.0.1) and open-loop player traffic through it.
 *
 * 1. Fault to rollback: a canary whose provider fails `--fault-error-rate` of calls (stable fails
 *    `--base-error-rate`) is rolled out with the default policy; the time from the canary's first
 *    traffic to the allocation that restores stable (and to the gateway serving it) is printed.
 * 2. False rollbacks and promotion: `--runs` rollouts of a candidate identical to stable (same
 *    provider, same behaviour), default analysis policy, `--concurrency` at a time (by default all 20
 *    at once) on separate use cases of `--rate` calls/s each, served by the one gateway and the one
 *    control worker; every rollback among them is a false one (target 0), and each should be promoted
 *    without a person. The wall time of the whole batch is printed.
 *
 * The fault is watched in `--fault-window` s windows (5) so its figure is the reaction time; the
 * identical rollouts in `--window` s windows (75; the default policy's 300 would take 30 minutes), long
 * enough that a 10 % canary of `--rate` calls/s can show non-inferiority within its extensions. Every
 * other policy key (steps 10/25/50/75/100, minSamples 50, confidence 0.95, margins, the 5 % stable
 * holdback) is the default; the grace is `--grace` s since the bench's calls take ~20 ms.
 * With --json the last line is one JSON object.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import pino from 'pino';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { PrismaClient } from '@prisma/client';
import { parseConfig } from '../src/config/load';
import type { MmsConfig, RolloutPolicy } from '../src/config/schema';
import { syncUseCases } from '../src/registry/use-cases';
import { createApiKey } from '../src/auth/api-keys';
import { createGatewayServer } from '../gateway';
import { createControlWorker } from '../workers/control';
import { startRollout } from '../clients/rollout';
import { abortUpdate, rolloutStatusQuery, type RolloutStatus } from '../workflows/rollout-messages';
import { startFakeProvider } from '../testkit/fake-providers';
import { parseBenchArgs, type BenchFlag, type BenchOptions } from './support/args';
import { benchTeardown, startBenchDatabase, startBenchTemporal, type Stops } from './support/stack';

const FLAGS = {
  json: { type: 'boolean' },
  runs: { type: 'number', default: 20, min: 1, max: 1000, integer: true },
  /** Window of the identical rollouts: long enough for a 10 % canary of `--rate` to show non-inferiority. */
  window: { type: 'number', default: 75, min: 0.5, max: 3600 },
  /** Calls/s of each identical rollout's use case (20 × 40 = 800 calls/s through the gateway). */
  rate: { type: 'number', default: 40, min: 1, max: 5000 },
  concurrency: { type: 'number', default: 20, min: 1, max: 50, integer: true },
  'fault-window': { type: 'number', default: 5, min: 0.5, max: 3600 },
  /** Minutes after which identical rollouts still running are aborted and counted as unfinished (bounds the bench). */
  deadline: { type: 'number', default: 13, min: 1, max: 1440 },
  'fault-rate': { type: 'number', default: 120, min: 1, max: 5000 },
  'fault-error-rate': { type: 'number', default: 0.3, min: 0, max: 1 },
  'base-error-rate': { type: 'number', default: 0.01, min: 0, max: 1 },
  'latency-ms': { type: 'number', default: 20, min: 0, max: 10_000 },
  /** analysis.graceSeconds: the bench's calls take ~20 ms and the log flushes every 50 ms. */
  grace: { type: 'number', default: 1, min: 0, max: 3600 },
  /**
   * stableHoldbackPercent for the identical rollouts (the default 5 %: 150 stable calls in a 75 s window at
   * 40 calls/s); the fault is rolled back at 10 % and never reaches it.
   */
  holdback: { type: 'number', default: 5, min: 0, max: 50 },
} satisfies Record<string, BenchFlag>;
type Options = BenchOptions<typeof FLAGS>;

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

/** Everything a rollout of the bench runs on: the gateway in front of two fake providers, the control worker and a client. */
interface BenchSystem {
  prisma: PrismaClient;
  config: MmsConfig;
  gateway: ReturnType<typeof createGatewayServer>;
  gatewayUrl: string;
  key: string;
  agent: Agent;
  client: Client;
  /** The use cases of the identical-candidate runs, one per concurrent rollout. */
  lanes: string[];
}

async function startSystem(o: Options, stops: Stops): Promise<BenchSystem> {
  const prisma = await startBenchDatabase('rollout', stops, say);
  const temporalAddress = await startBenchTemporal('rollout', stops, say);
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
    policies: { rollout: { windowSeconds: o.window, stableHoldbackPercent: o.holdback, analysis: { graceSeconds: o.grace } } },
  });
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
  return { prisma, config, gateway, gatewayUrl, key, agent, client, lanes };
}

const newCandidate = async (prisma: PrismaClient, useCaseId: string, provider: 'good' | 'flaky', name: string) =>
  (await prisma.model.create({ data: { modelName: name, version: '1', useCase: useCaseId, modelType: 'self_hosted', provider, upstreamModel: name, status: 'candidate' } })).id;

/** Runs one rollout to its end; a pause (inconclusive windows beyond the limit) is aborted and counted. */
async function runRollout(sys: BenchSystem, useCaseId: string, candidateId: string, policy: RolloutPolicy = sys.config.policies.rollout, deadline = Infinity) {
  const started = await startRollout(sys.client, sys.config, { useCaseId, candidate: candidateId, strategy: 'canary', policy, requestedBy: 'bench' });
  let pausedOnce = false;
  let cutOff = false;
  const result = started.handle.result();
  for (;;) {
    const done = await Promise.race([result, sleep(1000).then(() => undefined)]);
    if (done) {
      const status: RolloutStatus = await started.handle.query(rolloutStatusQuery);
      return { result: done, status, paused: pausedOnce, cutOff };
    }
    const status = await started.handle.query(rolloutStatusQuery).catch(() => undefined);
    if (Date.now() > deadline && !cutOff && !pausedOnce && status && status.phase !== 'rolling_back' && status.phase !== 'promoting') {
      // the bench's time is up: an unfinished rollout is aborted and counted as unfinished, not as an outcome
      cutOff = true;
      say(`  ${useCaseId}: still running at the deadline (${status.stages[status.stageIndex]?.label ?? 'preparing'}); aborting it`);
      await started.handle.executeUpdate(abortUpdate, { args: [{ reason: 'bench: deadline', by: 'bench' }] }).catch(() => undefined);
    } else if (status?.paused && !pausedOnce && !cutOff) {
      pausedOnce = true;
      say(`  ${useCaseId}: paused (${status.pauseReason}); aborting it`);
      await started.handle.executeUpdate(abortUpdate, { args: [{ reason: 'bench: paused for a person', by: 'bench' }] });
    }
  }
}

/**
 * Watches the gateway's routing table until it serves the rollback's allocation version; `stop()`
 * returns when that was seen (the time) or after `graceMs` more (undefined: not observed).
 */
function watchServedRollback(sys: BenchSystem, useCaseId: string) {
  let servedAt: number | undefined;
  let stopped = false;
  const watch = (async () => {
    let restoredVersion: number | undefined;
    while (servedAt === undefined && !stopped) {
      const route = sys.gateway.cache.route(useCaseId);
      if (restoredVersion === undefined) {
        const last = await sys.prisma.trafficAllocation.findFirst({ where: { useCaseId, reason: { startsWith: 'rollback' } } });
        restoredVersion = last?.version;
      }
      if (restoredVersion !== undefined && route && route.version >= restoredVersion) servedAt = Date.now();
      await sleep(20);
    }
  })();
  return {
    async stop(graceMs: number): Promise<number | undefined> {
      await Promise.race([watch, sleep(graceMs)]);
      // Not seen within the grace: reported as not observed, never as a made-up time.
      const observed = servedAt;
      stopped = true;
      await watch;
      return observed;
    },
  };
}

/** 1. A seeded fault: a canary whose provider fails often, from its first traffic to the rollback (and to the gateway serving stable). */
async function measureFaultToRollback(sys: BenchSystem, o: Options) {
  say(`fault: canary provider fails ${o.faultErrorRate * 100}% of calls, stable ${o.baseErrorRate * 100}%; ${o.faultRate} calls/s; window ${o.faultWindow} s`);
  const players = startPlayers(sys.gatewayUrl, sys.key, 'bench_fault', o.faultRate, sys.agent);
  await sleep(2000);
  const candidate = await newCandidate(sys.prisma, 'bench_fault', 'flaky', 'flaky-candidate');
  const watcher = watchServedRollback(sys, 'bench_fault');
  const fault = await runRollout(sys, 'bench_fault', candidate, { ...sys.config.policies.rollout, windowSeconds: o.faultWindow });
  const servedObserved = await watcher.stop(5000);
  await players.stop();
  const times = await allocationTimes(sys.prisma, 'bench_fault', candidate);
  const toRollbackS = times.canaryOn ? (times.last.createdAt.getTime() - times.canaryOn.createdAt.getTime()) / 1000 : null;
  const toServedS = times.canaryOn && servedObserved !== undefined ? (servedObserved - times.canaryOn.createdAt.getTime()) / 1000 : null;
  const firstVerdict = fault.status.verdicts.find((v) => v.verdict !== 'inconclusive');
  say(`fault: ${fault.result.outcome} — ${fault.result.reason}`);
  say(
    `fault: ${fault.status.verdicts.length} window(s); canary ${firstVerdict?.canary.requests ?? '?'} calls at ${((firstVerdict?.canary.errorRate ?? 0) * 100).toFixed(1)}% errors vs stable ${firstVerdict?.baseline.requests ?? '?'} at ${((firstVerdict?.baseline.errorRate ?? 0) * 100).toFixed(1)}%`,
  );
  return { outcome: fault.result.outcome, windows: fault.status.verdicts.length, toRollbackS, toServedS };
}

interface IdenticalRun {
  run: number;
  useCase: string;
  outcome: string;
  paused: boolean;
  /** Still running at `--deadline`: aborted, no outcome. */
  unfinished: boolean;
  windows: number;
  inconclusive: number;
  seconds: number;
  reason: string;
}

/** 2. `--runs` rollouts of a candidate identical to stable, one lane (use case) per concurrent rollout: every rollback is a false one. */
async function runIdenticalCandidates(sys: BenchSystem, o: Options): Promise<IdenticalRun[]> {
  say(`identical: ${o.runs} rollouts of a candidate identical to stable, ${o.concurrency} at a time, ${o.rate} calls/s each (${o.rate * sys.lanes.length} calls/s in all), ${o.window} s windows, default analysis policy, steps ${sys.config.policies.rollout.steps.join('/')}`);
  const outcomes: IdenticalRun[] = [];
  let next = 0;
  const deadline = Date.now() + o.deadline * 60_000;
  await Promise.all(
    sys.lanes.map(async (lane) => {
      const players = startPlayers(sys.gatewayUrl, sys.key, lane, o.rate, sys.agent);
      try {
        await sleep(2000);
        for (let run = next++; run < o.runs; run = next++) {
          const candidate = await newCandidate(sys.prisma, lane, 'good', `identical-${run}`);
          const t0 = Date.now();
          if (Date.now() > deadline) break;
          const r = await runRollout(sys, lane, candidate, sys.config.policies.rollout, deadline);
          const entry: IdenticalRun = {
            run,
            useCase: lane,
            outcome: r.result.outcome,
            paused: r.paused,
            unfinished: r.cutOff,
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
  return outcomes;
}

function printSummary(o: Options, policy: RolloutPolicy, fault: Awaited<ReturnType<typeof measureFaultToRollback>>, outcomes: IdenticalRun[], wallSeconds: number) {
  const falseRollbacks = outcomes.filter((r) => r.outcome === 'rolled_back' && !r.paused && !r.unfinished).length;
  const unfinished = outcomes.filter((r) => r.unfinished).length;
  const paused = outcomes.filter((r) => r.paused).length;
  const promoted = outcomes.filter((r) => r.outcome === 'promoted').length;
  const promotedSeconds = outcomes.filter((r) => r.outcome === 'promoted' && !r.paused).map((r) => r.seconds);
  const summary = {
    fault_to_rollback_s: fault.toRollbackS === null ? null : Number(fault.toRollbackS.toFixed(2)),
    fault_to_gateway_serving_stable_s: fault.toServedS === null ? null : Number(fault.toServedS.toFixed(2)),
    fault_outcome: fault.outcome,
    fault_windows: fault.windows,
    fault_window_s: o.faultWindow,
    window_s: o.window,
    identical_runs: outcomes.length,
    identical_concurrency: o.concurrency,
    identical_wall_s: Number(wallSeconds.toFixed(1)),
    identical_promotion_mean_s: promotedSeconds.length ? Number((promotedSeconds.reduce((a, b) => a + b, 0) / promotedSeconds.length).toFixed(1)) : null,
    identical_promotion_max_s: promotedSeconds.length ? Number(Math.max(...promotedSeconds).toFixed(1)) : null,
    false_rollbacks: falseRollbacks,
    false_rollback_rate: outcomes.length ? falseRollbacks / outcomes.length : null,
    identical_promoted: promoted,
    identical_paused: paused,
    identical_unfinished_at_deadline: unfinished,
    identical_windows: outcomes.reduce((s, r) => s + r.windows, 0),
    identical_inconclusive_windows: outcomes.reduce((s, r) => s + r.inconclusive, 0),
    rate_per_use_case: o.rate,
    fault_rate: o.faultRate,
    fault_error_rate: o.faultErrorRate,
    base_error_rate: o.baseErrorRate,
    policy: { steps: policy.steps, minSamples: policy.analysis.minSamples, confidence: policy.analysis.confidence, maxErrorRateIncrease: policy.analysis.maxErrorRateIncrease, maxLatencyP95IncreasePercent: policy.analysis.maxLatencyP95IncreasePercent, graceSeconds: policy.analysis.graceSeconds, stableHoldbackPercent: policy.stableHoldbackPercent },
    machine: { cpus: os.cpus().length, node: process.version },
  };
  const lines = [
    `fault to rollback:      ${summary.fault_to_rollback_s} s (window ${o.faultWindow} s, ${o.faultRate} calls/s; gateway serving stable ${summary.fault_to_gateway_serving_stable_s === null ? 'not observed' : `after ${summary.fault_to_gateway_serving_stable_s} s`}; ${fault.outcome} after ${fault.windows} window(s))`,
    `false rollbacks:        ${falseRollbacks} of ${outcomes.length} identical rollouts (${promoted} promoted, ${paused} paused for a person, ${unfinished} unfinished at the ${o.deadline}-minute deadline)`,
    `identical rollouts:     ${o.concurrency} at a time, ${o.rate} calls/s each, ${o.window} s windows: ${wallSeconds.toFixed(0)} s wall time; promoted in ${summary.identical_promotion_mean_s ?? '-'} s on average (at most ${summary.identical_promotion_max_s ?? '-'} s)`,
    `windows judged:         ${summary.identical_windows} (${summary.identical_inconclusive_windows} inconclusive, extended)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (o.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
}

async function main() {
  const o = parseBenchArgs('bench:rollout', process.argv.slice(2), FLAGS);
  const { stops, cleanup } = benchTeardown(say);
  try {
    const sys = await startSystem(o, stops);
    const fault = await measureFaultToRollback(sys, o);
    const t0 = Date.now();
    const outcomes = await runIdenticalCandidates(sys, o);
    printSummary(o, sys.config.policies.rollout, fault, outcomes, (Date.now() - t0) / 1000);
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
