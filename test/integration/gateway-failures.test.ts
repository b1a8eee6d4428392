import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { parseConfig } from '../../src/config/load';
import { syncUseCases } from '../../src/registry/use-cases';
import { createTestDatabase, type TestDatabase } from '../support/stack';
import { startFakeProvider, type FakeProvider } from '../../testkit/fake-providers';
import { agent, sseData, startTestGateway, waitFor, type TestGateway } from '../fixtures/gateway-harness';

/**
 * Failure handling (anchor tests 5 and 12): one retry budget honouring retry-after, with the SDKs' own
 * retries off; fail-fast statuses; the fallback model; stream cuts and client disconnects.
 */
const KEYS = { OPENAI_KEY: 'sk-openai-test-1234567890', ANTHROPIC_KEY: 'sk-ant-test-1234567890', GEMINI_KEY: 'AIzaTestKey1234567890abcdefghij' };

let db: TestDatabase;
let fake: FakeProvider;
let gw: TestGateway;

const wires = [
  { useCase: 'uc_compatible', model: 'llama-3.1-8b-instruct', kind: 'openai_compatible (undici)' },
  { useCase: 'uc_openai', model: 'gpt-4o-mini', kind: 'openai (SDK)' },
  { useCase: 'uc_anthropic', model: 'claude-3-5-haiku-latest', kind: 'anthropic (SDK)' },
  { useCase: 'uc_google', model: 'gemini-2.5-flash', kind: 'google (SDK)' },
] as const;

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeProvider();
  const uc = (id: string, provider: string, model: string, extra: Record<string, unknown> = {}) => ({ id, kind: 'paid', temperature: 0.5, maxTokens: 50, systemPromptTemplate: `You are ${id}.`, initialModel: { provider, model }, ...extra });
  const config = parseConfig({
    gateway: {
      port: 0,
      allocationPollMs: 100,
      retry: { maxAttempts: 3, budgetSeconds: 5, baseDelayMs: 20, maxDelayMs: 100 },
      log: { flushIntervalMs: 20, spillDir: fs.mkdtempSync(path.join(os.tmpdir(), 'mms-spill-')) },
    },
    providers: {
      local: { kind: 'openai_compatible', baseUrl: fake.baseUrls.openai_compatible, timeoutSeconds: 0.5 },
      openai: { kind: 'openai', baseUrl: fake.baseUrls.openai, apiKeyEnv: 'OPENAI_KEY', timeoutSeconds: 0.5 },
      anthropic: { kind: 'anthropic', baseUrl: fake.baseUrls.anthropic, apiKeyEnv: 'ANTHROPIC_KEY', timeoutSeconds: 0.5 },
      google: { kind: 'google', baseUrl: fake.baseUrls.google, apiKeyEnv: 'GEMINI_KEY', timeoutSeconds: 0.5 },
    },
    useCases: [
      uc('uc_compatible', 'local', 'llama-3.1-8b-instruct'),
      uc('uc_openai', 'openai', 'gpt-4o-mini'),
      uc('uc_anthropic', 'anthropic', 'claude-3-5-haiku-latest'),
      uc('uc_google', 'google', 'gemini-2.5-flash'),
      uc('uc_fallback', 'local', 'primary-model', { fallbackModel: { provider: 'local', model: 'fallback-model' } }),
    ],
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

const body = (useCase: string, extra: Record<string, unknown> = {}) => ({ model: useCase, messages: [{ role: 'user', content: 'one two three four five six' }], ...extra });

async function rowOf(requestId: string) {
  await gw.gateway.logWriter.flush();
  return db.prisma.modelHistoricalLog.findFirstOrThrow({ where: { requestId } });
}

describe.each(wires)('$kind', (w) => {
  test('429 with retry-after is honoured: one retry after the wait, inside one budget', async () => {
    fake.enqueue({ status: 429, retryAfter: '1' });
    const t0 = Date.now();
    const res = await gw.call(body(w.useCase));
    const elapsed = Date.now() - t0;
    expect(res.status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    // Exactly two attempts, the second at least the retry-after later: one retry after the wait (no
    // upper bound on the wall clock: a loaded machine took 4.2 s for this 1 s wait).
    // Exactly two attempts: the SDK did not retry on its own.
    expect(fake.counts.chat).toBe(2);
    const [first, second] = fake.requests;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
    // the player saw success; the row still says the first attempt failed (canary analysis counts it)
    expect(await rowOf(res.body.id)).toMatchObject({ status: 'ok', attempts: 2, firstAttemptError: 'rate_limited' });
  });

  test('a retry-after longer than the budget fails at once with 429 and the retry-after passed on', async () => {
    fake.enqueue({ status: 429, retryAfter: '30' });
    const t0 = Date.now();
    const res = await gw.call(body(w.useCase));
    // At once: far from the 30 s it was asked to wait, whatever the machine's load.
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('30');
    expect(res.body.error.type).toBe('rate_limit_error');
    expect(fake.counts.chat).toBe(1);
    const row = await rowOf(res.headers['x-request-id'] as string);
    expect(row).toMatchObject({ status: 'error', errorClass: 'rate_limited', generatedOutput: '' });
  });

  test('5xx is retried up to maxAttempts (3) and no more; then 502', async () => {
    fake.forModel(w.model, { status: 500 });
    const res = await gw.call(body(w.useCase));
    fake.forModel(w.model, undefined);
    expect(res.status).toBe(502);
    expect(res.body.error.type).toBe('upstream_error');
    expect(fake.counts.chat).toBe(3);
    expect(await rowOf(res.headers['x-request-id'] as string)).toMatchObject({ errorClass: 'server_error', attempts: 3, firstAttemptError: 'server_error' });
  });

  test.each([
    [400, 400, 'bad_request'],
    [401, 502, 'upstream_auth'],
    [403, 502, 'upstream_auth'],
    [404, 502, 'upstream_not_found'],
  ])('%i fails fast: one attempt, answered %i', async (upstream, answered, errorClass) => {
    fake.enqueue({ status: upstream });
    const res = await gw.call(body(w.useCase));
    expect(res.status).toBe(answered);
    expect(fake.counts.chat).toBe(1);
    expect(await rowOf(res.headers['x-request-id'] as string)).toMatchObject({ errorClass, attempts: 1, firstAttemptError: errorClass });
  });

  test('a stream cut mid-way reaches the client as an explicit error and is logged as incomplete', async () => {
    fake.enqueue({ cutAfterChunks: 3, chunkDelayMs: 5 });
    const res = await gw.call(body(w.useCase, { stream: true }));
    expect(res.status).toBe(200);
    const data = sseData(res.text);
    expect(data).not.toContain('[DONE]');
    const last = JSON.parse(data[data.length - 1]!);
    expect(last.error).toMatchObject({ type: 'upstream_error', code: 'stream_incomplete' });
    const streamed = data.slice(0, -1).map((d) => JSON.parse(d).choices?.[0]?.delta?.content ?? '').join('');
    // The three pieces sent before the cut, and nothing else.
    const partial = `reply from ${w.model}: `;
    expect(streamed).toBe(partial);
    const row = await rowOf(res.headers['x-request-id'] as string);
    expect(row).toMatchObject({ status: 'incomplete', errorClass: 'stream_incomplete', generatedOutput: partial, guardrailVerdict: null });
  });

  test('a client that disconnects aborts the upstream call (streaming)', async () => {
    fake.enqueue({ chunkDelayMs: 300 });
    const controller = new AbortController();
    const res = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.key}` },
      body: JSON.stringify(body(w.useCase, { stream: true })),
      signal: controller.signal,
      dispatcher: agent,
    });
    const requestId = res.headers['x-request-id'] as string;
    for await (const chunk of res.body) {
      if (String(chunk).includes('data:')) break;
    }
    controller.abort();
    await waitFor('the upstream stream to be aborted', () => fake.counts.aborted === 1, 3000);
    const row = await waitFor('the row', async () => {
      await gw.gateway.logWriter.flush();
      return db.prisma.modelHistoricalLog.findFirst({ where: { requestId } });
    });
    expect(row).toMatchObject({ status: 'incomplete', errorClass: 'client_disconnected' });
  });
});

test('a timeout counts against the budget: each attempt bounded by the provider timeout, then 504', async () => {
  fake.forModel('llama-3.1-8b-instruct', { hang: true });
  const t0 = Date.now();
  const res = await gw.call(body('uc_compatible'));
  fake.forModel('llama-3.1-8b-instruct', undefined);
  expect(res.status).toBe(504);
  // Three attempts of 0.5 s plus backoff take ~1.6 s; the bound is loose for a loaded machine (3.1 s
  // was seen at load 18) and still far below what one unbounded attempt (the fake never answers) takes.
  expect(Date.now() - t0).toBeLessThan(10_000);
  expect(fake.counts.chat).toBe(3);
  await waitFor('the hung attempts to be aborted', () => fake.counts.aborted === 3, 2000);
});

test('a client that disconnects aborts the upstream call (non-streaming)', async () => {
  fake.enqueue({ latencyMs: 400 });
  const controller = new AbortController();
  const pending = request(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.key}` },
    body: JSON.stringify(body('uc_compatible')),
    signal: controller.signal,
    dispatcher: agent,
  }).catch((e: unknown) => e);
  await waitFor('the upstream call', () => fake.counts.chat === 1, 2000, 5);
  controller.abort();
  expect(((await pending) as Error).name).toBe('AbortError');
  await waitFor('the upstream call to be aborted', () => fake.counts.aborted === 1, 1000, 5);
  const row = await waitFor('the row', async () => {
    await gw.gateway.logWriter.flush();
    return db.prisma.modelHistoricalLog.findFirst({ where: { useCase: 'uc_compatible', errorClass: 'client_disconnected' } });
  });
  expect(row!.status).toBe('incomplete');
});

test('when the primary is down, the use case fallback model answers within the same budget and the row says so', async () => {
  fake.forModel('primary-model', { status: 503 });
  const res = await gw.call(body('uc_fallback'));
  fake.forModel('primary-model', undefined);
  expect(res.status).toBe(200);
  expect(res.body.choices[0].message.content).toBe('reply from fallback-model: one two three four five six');
  expect(res.headers['x-mms-model']).toBe('fallback-model-uc-fallback');
  expect(fake.counts.byModel.get('primary-model')).toBe(3);
  expect(fake.counts.byModel.get('fallback-model')).toBe(1);
  const row = await rowOf(res.body.id);
  const fallback = await db.prisma.model.findFirstOrThrow({ where: { modelName: 'fallback-model-uc-fallback' } });
  expect(row.modelId).toBe(fallback.id);
  expect(row.status).toBe('ok');
  expect((row.context as { fallbackFrom: unknown }).fallbackFrom).toMatchObject({ model: 'primary-model-uc-fallback', errorClass: 'overloaded' });
});

test('fail-fast errors do not go to the fallback model', async () => {
  fake.enqueue({ status: 400 });
  const res = await gw.call(body('uc_fallback'));
  expect(res.status).toBe(400);
  expect(fake.counts.chat).toBe(1);
});

test('Anthropic 529 (overloaded) is retried', async () => {
  fake.enqueue({ status: 529 });
  const res = await gw.call(body('uc_anthropic'));
  expect(res.status).toBe(200);
  expect(fake.counts.chat).toBe(2);
});
