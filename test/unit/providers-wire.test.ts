import { Readable } from 'node:stream';
import { parseSseReads } from '../../src/providers/sse';
import { ProviderError, classForStatus, httpError, parseRetryAfter } from '../../src/providers/errors';
import { RetryBudget, backoffDelay, withRetries } from '../../src/providers/retry';
import { openAIChunkEvents, openAIRequestBody, parseOpenAIChatCompletion, parseOpenAIChoices } from '../../src/providers/openai-wire';
import { anthropicFinishReason, anthropicRequest } from '../../src/providers/anthropic';
import { geminiChoices, geminiFinishReason, geminiRequest } from '../../src/providers/google';
import { registerSecret } from '../../src/logging/redact';
import type { StreamEvent } from '../../src/providers/types';

/** The events of every read, in order. */
async function eventsOf(body: Readable) {
  const out = [];
  for await (const messages of parseSseReads(body)) out.push(...messages);
  return out;
}
const collect = (chunks: string[]) => eventsOf(Readable.from(chunks.map((c) => Buffer.from(c))));

describe('SSE parser', () => {
  test('events split across chunks, CRLF, comments, event names and multi-line data', async () => {
    const events = await collect(['data: {"a"', ':1}\r\n\r\n: keep-alive\n\nevent: message_start\ndata: x\ndata: y\n\n', 'data: [DONE]\n', '\n']);
    expect(events).toEqual([{ event: undefined, data: '{"a":1}' }, { event: 'message_start', data: 'x\ny' }, { event: undefined, data: '[DONE]' }]);
  });
  test('a CR at a chunk boundary is not a blank line; a cut last event is discarded', async () => {
    expect(await collect(['data: 1\r', '\n\r\n', 'data: cut-mid-ev'])).toEqual([{ event: undefined, data: '1' }]);
  });
  test('per read: the events a read completes come as one array; a read that completes none yields nothing', async () => {
    const reads = [];
    for await (const messages of parseSseReads(Readable.from(['data: 1\n\ndata: 2\n\ndata: 3', '\n', '\ndata: 4\n\n'].map((c) => Buffer.from(c))))) reads.push(messages.map((m) => m.data));
    expect(reads).toEqual([['1', '2'], ['3', '4']]);
    const none = [];
    for await (const messages of parseSseReads(Readable.from([Buffer.from('data: par'), Buffer.from('tial')]))) none.push(messages);
    expect(none).toEqual([]);
  });
  test('multi-byte characters split across chunks survive', async () => {
    const bytes = Buffer.from('data: héllo 🐉\n\n');
    expect(await eventsOf(Readable.from([bytes.subarray(0, 9), bytes.subarray(9, 15), bytes.subarray(15)]))).toEqual([{ event: undefined, data: 'héllo 🐉' }]);
  });
});

describe('errors and retry-after', () => {
  test('status classes: 429, 529, 5xx and 408 retryable; 400/401/403/404 not', () => {
    expect([429, 529, 500, 503, 408].map((s) => new ProviderError(classForStatus(s), 'x').retryable)).toEqual([true, true, true, true, true]);
    expect([400, 401, 403, 404, 422].map((s) => new ProviderError(classForStatus(s), 'x').retryable)).toEqual([false, false, false, false, false]);
  });
  test('retry-after in seconds, as an HTTP date, and retry-after-ms', () => {
    const h = (v: Record<string, string>) => (n: string) => v[n];
    expect(parseRetryAfter(h({ 'retry-after': '2' }))).toBe(2000);
    expect(parseRetryAfter(h({ 'retry-after': '0.5' }))).toBe(500);
    expect(parseRetryAfter(h({ 'retry-after-ms': '150', 'retry-after': '9' }))).toBe(150);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter(h({ 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), now)).toBe(3000);
    expect(parseRetryAfter(h({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(parseRetryAfter(h({}))).toBeUndefined();
  });
  test('error messages are redacted: a provider echoing a registered key never leaks it', () => {
    registerSecret('unit-test-secret-abcdef123');
    const err = httpError('p', 401, { error: { message: 'Incorrect API key provided: unit-test-secret-abcdef123' } });
    expect(err.message).toBe('provider "p" answered 401: Incorrect API key provided: [REDACTED]');
    expect(err.errorClass).toBe('upstream_auth');
  });
});

describe('retry budget', () => {
  const policy = { maxAttempts: 3, budgetMs: 1000, baseDelayMs: 10, maxDelayMs: 50 };
  test('retries retryable errors up to maxAttempts, honouring retry-after', async () => {
    let calls = 0;
    const t0 = Date.now();
    const result = await withRetries(new RetryBudget(policy), async () => {
      calls++;
      if (calls < 3) throw new ProviderError('rate_limited', '429', { retryAfterMs: 100 });
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
  });
  test('fails fast on non-retryable errors and when retry-after exceeds the budget', async () => {
    let calls = 0;
    await expect(withRetries(new RetryBudget(policy), async () => {
      calls++;
      throw new ProviderError('bad_request', '400');
    })).rejects.toMatchObject({ errorClass: 'bad_request' });
    expect(calls).toBe(1);
    calls = 0;
    const t0 = Date.now();
    await expect(withRetries(new RetryBudget(policy), async () => {
      calls++;
      throw new ProviderError('rate_limited', '429', { retryAfterMs: 5000 });
    })).rejects.toMatchObject({ retryAfterMs: 5000 });
    expect(calls).toBe(1);
    expect(Date.now() - t0).toBeLessThan(100);
  });
  test('each attempt gets at most what is left of the budget; an abort stops the wait', async () => {
    const seen: number[] = [];
    const controller = new AbortController();
    const p = withRetries(new RetryBudget({ ...policy, baseDelayMs: 500, maxDelayMs: 500 }), async (timeoutMs) => {
      seen.push(timeoutMs);
      setTimeout(() => controller.abort(), 10);
      throw new ProviderError('server_error', '500');
    }, { signal: controller.signal });
    await expect(p).rejects.toMatchObject({ errorClass: 'aborted' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeLessThanOrEqual(1000);
  });
  test('exponential backoff with jitter, capped', () => {
    expect(backoffDelay(policy, 1, () => 1)).toBe(10);
    expect(backoffDelay(policy, 3, () => 1)).toBe(40);
    expect(backoffDelay(policy, 10, () => 1)).toBe(50);
    expect(backoffDelay(policy, 3, () => 0)).toBe(20);
  });
});

describe('wire mapping', () => {
  const params = { model: 'm', messages: [{ role: 'system' as const, content: 'S' }, { role: 'user' as const, content: 'U' }, { role: 'assistant' as const, content: 'A' }, { role: 'user' as const, content: 'U2' }], temperature: 0.4, maxTokens: 10, topP: 0.9, topK: 40, stop: ['X'], seed: 1 };
  test('OpenAI body: max_completion_tokens for OpenAI itself, max_tokens and top_k for compatible servers', () => {
    expect(openAIRequestBody(params, { stream: false, dialect: 'openai' })).toEqual({ model: 'm', messages: params.messages, temperature: 0.4, max_completion_tokens: 10, top_p: 0.9, stop: ['X'], seed: 1 });
    expect(openAIRequestBody(params, { stream: true, dialect: 'compatible' })).toMatchObject({ max_tokens: 10, top_k: 40, stream: true, stream_options: { include_usage: true } });
  });
  test('Anthropic: system prompts lifted out, stop_sequences, stop reasons mapped', () => {
    const body = anthropicRequest(params, 1024);
    expect(body).toEqual({ model: 'm', max_tokens: 10, system: 'S', stop_sequences: ['X'], messages: [{ role: 'user', content: 'U' }, { role: 'assistant', content: 'A' }, { role: 'user', content: 'U2' }] });
    expect(['end_turn', 'max_tokens', 'stop_sequence', 'tool_use', 'refusal', 'model_context_window_exceeded'].map(anthropicFinishReason)).toEqual(['stop', 'length', 'stop', 'tool_calls', 'content_filter', 'length']);
  });
  test('Gemini: systemInstruction, model role, generation config, finish reasons mapped', () => {
    const req = geminiRequest(params);
    expect(req.contents).toEqual([{ role: 'user', parts: [{ text: 'U' }] }, { role: 'model', parts: [{ text: 'A' }] }, { role: 'user', parts: [{ text: 'U2' }] }]);
    expect(req.config).toMatchObject({ systemInstruction: 'S', temperature: 0.4, maxOutputTokens: 10, topP: 0.9, topK: 40, stopSequences: ['X'], seed: 1, automaticFunctionCalling: { disable: true }, automaticContinuation: false });
    expect(['STOP', 'MAX_TOKENS', 'SAFETY', 'RECITATION', 'OTHER'].map(geminiFinishReason)).toEqual(['stop', 'length', 'content_filter', 'content_filter', 'stop']);
  });
  test('OpenAI answers: a body without choices[0].message is an invalid_response naming it', () => {
    expect(() => parseOpenAIChatCompletion('p', { choices: [] })).toThrow(/choices\[0\]/);
    expect(() => parseOpenAIChatCompletion('p', { choices: [{ index: 0 }] })).toThrow(/choices\[0\]\.message/);
    expect(parseOpenAIChatCompletion('p', { choices: [{ message: { content: null }, finish_reason: 'length' }] })).toMatchObject({ content: '', finishReason: 'length' });
  });
  test('OpenAI n: choices ordered by their index, usage over all of them; a missing or repeated index is an invalid_response naming it', () => {
    const choice = (index: unknown, content: string, finish = 'stop') => ({ index, message: { role: 'assistant', content }, logprobs: null, finish_reason: finish });
    const parsed = parseOpenAIChoices('p', { model: 'gpt-x', choices: [choice(1, 'second', 'length'), choice(0, 'first')], usage: { prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 } });
    expect(parsed).toEqual({ model: 'gpt-x', choices: [{ content: 'first', finishReason: 'stop' }, { content: 'second', finishReason: 'length' }], usage: { inputTokens: 9, outputTokens: 5 } });
    // a server that ignored n: one choice (what it answered is still one sample)
    expect(parseOpenAIChoices('p', { choices: [{ message: { content: 'only' } }] }).choices).toEqual([{ content: 'only', finishReason: 'stop' }]);
    expect(() => parseOpenAIChoices('p', { choices: [choice(0, 'a'), choice(0, 'b')] })).toThrow('choices[1].index 0: not one of 0…1 once each');
    expect(() => parseOpenAIChoices('p', { choices: [choice(0, 'a'), choice(2, 'b')] })).toThrow('choices[1].index 2');
    expect(() => parseOpenAIChoices('p', { choices: [choice(0, 'a'), { index: 1, message: { content: 7 } }] })).toThrow('choices[1].message.content that is not text');
    expect(() => parseOpenAIChoices('p', { choices: [] })).toThrow(ProviderError);
  });
  test('Gemini candidateCount: candidates ordered by index (an omitted index is 0, once), each with its own tokenCount', () => {
    const candidate = (index: number | undefined, text: string, tokenCount?: number) => ({ content: { parts: [{ text }], role: 'model' }, finishReason: 'STOP' as never, ...(index === undefined ? {} : { index }), ...(tokenCount === undefined ? {} : { tokenCount }) });
    expect(geminiChoices('g', { candidates: [candidate(1, 'two', 4), candidate(undefined, 'one', 3)] } as never)).toEqual([
      { content: 'one', finishReason: 'stop', outputTokens: 3 },
      { content: 'two', finishReason: 'stop', outputTokens: 4 },
    ]);
    expect(() => geminiChoices('g', { candidates: [candidate(0, 'one'), candidate(undefined, 'two')] } as never)).toThrow('candidates[1].index undefined');
  });
  test('OpenAI chunks: text, finish reason carried in the same chunk, usage, mid-stream errors', () => {
    const out: StreamEvent[] = [];
    openAIChunkEvents('p', { choices: [{ delta: { content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1 } }, out);
    expect(out.map((e) => e.type)).toEqual(['delta', 'finish', 'usage']);
    expect(out[1]).toMatchObject({ carried: true, finishReason: 'stop' });
    expect(() => openAIChunkEvents('p', { error: { message: 'overloaded' } }, [])).toThrow(/overloaded/);
  });
});
