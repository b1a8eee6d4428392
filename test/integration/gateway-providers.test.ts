import { parseConfig } from '../../src/config/load';
import { syncUseCases } from '../../src/registry/use-cases';
import { createTestDatabase, type TestDatabase } from '../support/stack';
import { startFakeProvider, type FakeProvider } from '../../testkit/fake-providers';
import { sseData, startTestGateway, type TestGateway } from '../fixtures/gateway-harness';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Every provider kind behind the one interface, through the gateway, against fake servers speaking
 * each real wire format: non-streaming and streaming, with usage, finish reasons and credentials in
 * the header each provider expects.
 */
const KEYS = { OPENAI_KEY: 'sk-openai-test-1234567890', OPENROUTER_KEY: 'sk-or-test-1234567890', ANTHROPIC_KEY: 'sk-ant-test-1234567890', GEMINI_KEY: 'AIzaTestKey1234567890abcdefghij', VLLM_KEY: 'vllm-token-1234567890' };

const kinds = [
  { useCase: 'uc_openai', provider: 'openai', model: 'gpt-4o-mini', wire: 'openai', auth: ['authorization', `Bearer ${KEYS.OPENAI_KEY}`] },
  { useCase: 'uc_openrouter', provider: 'openrouter', model: 'meta-llama/llama-3.1-8b-instruct', wire: 'openai', auth: ['authorization', `Bearer ${KEYS.OPENROUTER_KEY}`] },
  { useCase: 'uc_vllm', provider: 'vllm', model: 'llama-3.1-8b-instruct', wire: 'openai', auth: ['authorization', `Bearer ${KEYS.VLLM_KEY}`] },
  { useCase: 'uc_ollama', provider: 'ollama', model: 'llama3.1:8b', wire: 'openai', auth: ['authorization', undefined] },
  { useCase: 'uc_anthropic', provider: 'anthropic', model: 'claude-3-5-haiku-latest', wire: 'anthropic', auth: ['authorization', `Bearer ${KEYS.ANTHROPIC_KEY}`] },
  { useCase: 'uc_google', provider: 'google', model: 'gemini-2.5-flash', wire: 'google', auth: ['x-goog-api-key', KEYS.GEMINI_KEY] },
] as const;

let db: TestDatabase;
let fake: FakeProvider;
let gw: TestGateway;

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeProvider();
  const config = parseConfig({
    gateway: { port: 0, internal: { port: 0 }, allocationPollMs: 100, log: { flushIntervalMs: 20, spillDir: fs.mkdtempSync(path.join(os.tmpdir(), 'mms-spill-')) } },
    providers: {
      openai: { kind: 'openai', baseUrl: fake.baseUrls.openai, apiKeyEnv: 'OPENAI_KEY', prices: { 'gpt-4o-mini': { inputPerMTok: 0.15, outputPerMTok: 0.6 } } },
      openrouter: { kind: 'openrouter', baseUrl: fake.baseUrls.openrouter, apiKeyEnv: 'OPENROUTER_KEY' },
      vllm: { kind: 'openai_compatible', baseUrl: fake.baseUrls.openai_compatible, apiKeyEnv: 'VLLM_KEY' },
      ollama: { kind: 'ollama', baseUrl: fake.baseUrls.ollama },
      anthropic: { kind: 'anthropic', baseUrl: fake.baseUrls.anthropic, apiKeyEnv: 'ANTHROPIC_KEY' },
      google: { kind: 'google', baseUrl: fake.baseUrls.google, apiKeyEnv: 'GEMINI_KEY' },
    },
    useCases: kinds.map((k) => ({
      id: k.useCase,
      kind: 'paid',
      temperature: 0.5,
      maxTokens: 100,
      systemPromptTemplate: `System prompt of ${k.useCase}.`,
      sampling: { stop: ['END'] },
      initialModel: { provider: k.provider, model: k.model },
    })),
  });
  await syncUseCases(db.prisma, config);
  gw = await startTestGateway(db.prisma, config, { env: { ...process.env, ...KEYS } });
});
afterAll(async () => {
  await gw.close();
  await fake.close();
  await db.drop();
});
beforeEach(() => fake.reset());

const body = (useCase: string, extra: Record<string, unknown> = {}) => ({ model: useCase, messages: [{ role: 'user', content: 'Name three potions' }], ...extra });

describe.each(kinds)('$provider ($wire wire)', (k) => {
  test('non-streaming: answer, usage and log row', async () => {
    const res = await gw.call(body(k.useCase));
    expect(res.status).toBe(200);
    const expected = `reply from ${k.model}: Name three potions`;
    expect(res.body.choices[0]).toMatchObject({ index: 0, message: { role: 'assistant', content: expected }, finish_reason: 'stop' });
    expect(res.body.usage.prompt_tokens).toBeGreaterThan(0);
    expect(res.body.usage.completion_tokens).toBe(expected.split(' ').length);

    expect(fake.requests).toHaveLength(1);
    const sent = fake.requests[0]!;
    expect(sent.wire).toBe(k.wire);
    expect(sent.headers[k.auth[0]]).toBe(k.auth[1]);
    // The system prompt goes where each API wants it.
    if (k.wire === 'anthropic') {
      expect(sent.body).toMatchObject({ system: `System prompt of ${k.useCase}.`, max_tokens: 100, stop_sequences: ['END'], messages: [{ role: 'user', content: 'Name three potions' }] });
    } else if (k.wire === 'google') {
      expect(sent.body).toMatchObject({ systemInstruction: { parts: [{ text: `System prompt of ${k.useCase}.` }] }, generationConfig: { temperature: 0.5, maxOutputTokens: 100, stopSequences: ['END'] } });
      expect(sent.body.contents).toEqual([{ role: 'user', parts: [{ text: 'Name three potions' }] }]);
    } else {
      expect((sent.body.messages as unknown[])[0]).toEqual({ role: 'system', content: `System prompt of ${k.useCase}.` });
      expect(sent.body.temperature).toBe(0.5);
      // OpenAI's own API takes max_completion_tokens; compatible servers max_tokens.
      expect(sent.body[k.provider === 'openai' ? 'max_completion_tokens' : 'max_tokens']).toBe(100);
    }

    await gw.gateway.logWriter.flush();
    const row = await db.prisma.modelHistoricalLog.findFirstOrThrow({ where: { requestId: res.body.id } });
    expect(row).toMatchObject({ useCase: k.useCase, status: 'ok', generatedOutput: expected, tokensOut: res.body.usage.completion_tokens, tokensIn: res.body.usage.prompt_tokens });
    if (k.provider === 'openai') expect(Number(row.costUsd)).toBeGreaterThan(0);
    else expect(row.costUsd).toBeNull(); // no price in the table: unknown, not zero
  });

  test('streaming: SSE chunks in the OpenAI format, [DONE], usage on request, TTFT logged', async () => {
    const res = await gw.call(body(k.useCase, { stream: true, stream_options: { include_usage: true } }));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/event-stream');
    const data = sseData(res.text);
    expect(data[data.length - 1]).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    for (const c of chunks) {
      expect(c.object).toBe('chat.completion.chunk');
      expect(c.id).toBe(res.headers['x-request-id']);
    }
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    const expected = `reply from ${k.model}: Name three potions`;
    expect(text).toBe(expected);
    expect(chunks.filter((c) => c.choices[0]?.finish_reason).map((c) => c.choices[0].finish_reason)).toEqual(['stop']);
    const usageChunk = chunks[chunks.length - 1];
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage.completion_tokens).toBe(expected.split(' ').length);
    expect(fake.requests[0]!.stream).toBe(true);

    await gw.gateway.logWriter.flush();
    const row = await db.prisma.modelHistoricalLog.findFirstOrThrow({ where: { requestId: res.headers['x-request-id'] as string } });
    expect(row).toMatchObject({ status: 'ok', generatedOutput: expected, tokensOut: expected.split(' ').length });
    expect(row.ttftMs).toBeGreaterThan(0);
    expect(row.ttftMs!).toBeLessThanOrEqual(row.latencyMs!);
    expect((row.context as { stream: boolean }).stream).toBe(true);
  });

  test('streaming without include_usage sends no usage chunk', async () => {
    const res = await gw.call(body(k.useCase, { stream: true }));
    const chunks = sseData(res.text).slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks.some((c) => c.usage)).toBe(false);
  });

  test('the provider model list parses the real response served by the fake', async () => {
    const provider = gw.gateway.cache.route(k.useCase)!.served[0]!.model.provider!;
    const models = await provider.listModels();
    expect(models.length).toBeGreaterThan(0);
    for (const m of models) expect(typeof m.id).toBe('string');
  });
});

test('a streamed answer is read to its end after [DONE], so its keep-alive upstream connection serves the next calls (openai_compatible)', async () => {
  // The server ends each body a while after its [DONE] (a separate packet). Cutting the body at [DONE]
  // destroyed the connection before that end arrived: each streamed call opened a new one.
  fake.forModel('llama-3.1-8b-instruct', { chunkDelayMs: 20 });
  for (let i = 0; i < 3; i++) {
    const res = await gw.call(body('uc_vllm', { stream: true }));
    expect(sseData(res.text).pop()).toBe('[DONE]');
  }
  const ports = fake.requests.map((r) => r.clientPort);
  expect(ports).toHaveLength(3);
  expect(new Set(ports).size).toBe(1);
  fake.forModel('llama-3.1-8b-instruct', undefined);
});
