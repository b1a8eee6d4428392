/**
 * Fake provider servers on 127.0.0.1 that speak the real wire formats, so the gateway's provider code
 * runs unchanged against them:
 *   OpenAI / OpenAI-compatible (vLLM, llama.cpp, Ollama /v1):  POST /v1/chat/completions, GET /v1/models
 *   OpenRouter:  POST /api/v1/chat/completions, GET /api/v1/models
 *   Ollama:      GET /api/tags
 *   Anthropic:   POST /v1/messages (SSE with event: lines), GET /v1/models
 *   Google:      POST /v1beta/models/{m}:generateContent, :streamGenerateContent?alt=sse, GET /v1beta/models
 * Model lists are the real responses in test/fixtures/real-api/. Behaviour is scriptable: latency,
 * error rate, a queue of next answers (429 with retry-after, 5xx, 529), streams cut mid-way, hangs.
 * The answer is deterministic: `reply from <model>: <last user message>`.
 * Several choices in one call as the real APIs give them (non-streamed): OpenAI-wire `n` →
 * `choices[i]` with `index` i, `usage.completion_tokens` summing every choice and the prompt counted
 * once; Gemini `generationConfig.candidateCount` → `candidates[i]` with `index`, `candidatesTokenCount`
 * summing them. Anthropic's Messages API has no such parameter and refuses an `n` field (400).
 */

import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface Behaviour {
  /** Answer with this status and an error body of the wire's shape. */
  status?: number;
  retryAfter?: string;
  /** Delay before the answer (ms). */
  latencyMs?: number;
  /** Streams: delay between chunks (ms). */
  chunkDelayMs?: number;
  /** Streams: destroy the connection after this many content chunks. */
  cutAfterChunks?: number;
  /** Never answer (until the client goes away). */
  hang?: boolean;
  /** Answer only once this settles: a test holds a model's answers back and proves what did not wait for them. */
  until?: Promise<unknown>;
  /** Override the answer text. */
  content?: string;
  /** The answer as a function of the last user message, the request body and the choice index (`n` > 1): a scripted model or judge. */
  respond?: (lastUserMessage: string, body: Record<string, unknown>, choice: number) => string;
  /** Answer one choice whatever `n` asks (as servers that ignore the parameter do, e.g. Ollama's /v1). */
  ignoreChoices?: boolean;
  /** Error message (for status answers); `{auth}` is replaced by the credential received. */
  message?: string;
}

export interface RecordedRequest {
  wire: 'openai' | 'anthropic' | 'google';
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
  model: string;
  stream: boolean;
  at: number;
  /** The caller's port: requests that came over one keep-alive connection share it. */
  clientPort: number;
}

export interface FakeProviderOptions {
  /** Keep every request (tests); off in the bench. */
  record?: boolean;
  latencyMs?: number;
  chunkDelayMs?: number;
  /** Probability (0..1) of a 500 answer. */
  errorRate?: number;
  /** Credentials the fake accepts (per wire); unset = any. */
  keys?: { openai?: string; anthropic?: string; google?: string };
  /** Directory of the real model-list responses. */
  fixturesDir?: string;
  /**
   * Largest page of the paginated model lists (Anthropic `limit`, Google `pageSize`). The real APIs cap
   * at 1000 (defaults 20 and 50); a smaller cap makes a client walk several pages of the fixtures.
   */
  listPageCap?: { anthropic?: number; google?: number };
}

export interface ListRequest {
  wire: RecordedRequest['wire'] | 'openrouter' | 'ollama';
  path: string;
  query: Record<string, string>;
}

const fixturesDefault = path.resolve(__dirname, '../test/fixtures/real-api');

export interface FakeProvider {
  url: string;
  port: number;
  /** Base URLs per provider kind, as mms.config.yaml would name them. */
  baseUrls: { openai: string; openai_compatible: string; openrouter: string; ollama: string; anthropic: string; google: string };
  requests: RecordedRequest[];
  /** chat: requests; choices: the answers those requests returned (more than one each with `n`/`candidateCount`). */
  counts: { chat: number; choices: number; aborted: number; byModel: Map<string, number> };
  options: FakeProviderOptions;
  /** The next chat requests (of any wire) get these behaviours, in order. */
  enqueue(...behaviours: Behaviour[]): void;
  /** Every request for this model gets the behaviour (until cleared with undefined). */
  forModel(model: string, behaviour: Behaviour | undefined): void;
  /** The next model-list requests (of any wire) get these behaviours (status, retryAfter), in order. */
  enqueueList(...behaviours: Behaviour[]): void;
  /** Serve a model-list fixture (e.g. 'openrouter-models.json') edited by this function; undefined restores it. */
  editModelList(file: string, edit: ((body: Record<string, unknown>) => Record<string, unknown>) | undefined): void;
  /** Every model-list request, page by page. */
  listRequests: ListRequest[];
  reset(): void;
  close(): Promise<void>;
}

function answerFor(model: string, body: Record<string, unknown>, wire: RecordedRequest['wire'], choice: number): string {
  return `reply from ${model}${choice > 0 ? ` (choice ${choice})` : ''}: ${lastUserText(body, wire)}`;
}

function lastUserText(body: Record<string, unknown>, wire: RecordedRequest['wire']): string {
  let last = '';
  if (wire === 'google') {
    const contents = (body.contents as Array<{ role?: string; parts?: Array<{ text?: string }> }>) ?? [];
    const user = [...contents].reverse().find((c) => c.role === 'user');
    last = user?.parts?.map((p) => p.text ?? '').join('') ?? '';
  } else {
    const messages = (body.messages as Array<{ role: string; content: unknown }>) ?? [];
    const user = [...messages].reverse().find((m) => m.role === 'user');
    last = typeof user?.content === 'string' ? user.content : Array.isArray(user?.content) ? (user!.content as Array<{ text?: string }>).map((p) => p.text ?? '').join('') : '';
  }
  return last;
}

const words = (text: string) => (text.trim() ? text.trim().split(/\s+/).length : 0);

function promptTokens(body: Record<string, unknown>): number {
  return words(JSON.stringify(body.messages ?? body.contents ?? '').replace(/[{}[\]":,]/g, ' '));
}

/** Content split in pieces that keep their spaces, so the pieces join back to the text. */
const pieces = (text: string) => text.match(/\S+\s*/g) ?? [text];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function errorPayload(wire: RecordedRequest['wire'], status: number, message: string) {
  if (wire === 'anthropic') {
    const type = status === 429 ? 'rate_limit_error' : status === 529 ? 'overloaded_error' : status === 401 ? 'authentication_error' : status === 404 ? 'not_found_error' : status >= 500 ? 'api_error' : 'invalid_request_error';
    return { type: 'error', error: { type, message } };
  }
  if (wire === 'google') {
    const s = status === 429 ? 'RESOURCE_EXHAUSTED' : status === 401 ? 'UNAUTHENTICATED' : status === 403 ? 'PERMISSION_DENIED' : status === 404 ? 'NOT_FOUND' : status >= 500 ? 'UNAVAILABLE' : 'INVALID_ARGUMENT';
    return { error: { code: status, message, status: s } };
  }
  const type = status === 429 ? 'rate_limit_exceeded' : status === 401 ? 'invalid_api_key' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return { error: { message, type, param: null, code: type } };
}

/** The credential a request carries, where each wire format puts it. */
function credentialOf(req: IncomingMessage, wire: RecordedRequest['wire']): string | undefined {
  // API version 2026-10-21 (SDK 1.x) sends Authorization: Bearer; older clients send x-api-key.
  if (wire === 'anthropic') return (req.headers['x-api-key'] as string | undefined) ?? req.headers.authorization?.replace(/^Bearer\s+/i, '');
  if (wire === 'google') return (req.headers['x-goog-api-key'] as string | undefined) ?? new URL(req.url ?? '/', 'http://x').searchParams.get('key') ?? undefined;
  const auth = req.headers.authorization;
  return auth?.replace(/^Bearer\s+/i, '');
}

/** One answer of a fake provider, in whichever wire format it is sent. */
interface FakeAnswer {
  id: string;
  created: number;
  model: string;
  content: string;
  inTokens: number;
  outTokens: number;
}

/** How many choices a chat request asks for: OpenAI-wire `n`, Gemini `generationConfig.candidateCount` (1 when absent). */
function choicesAsked(wire: RecordedRequest['wire'], body: Record<string, unknown>): unknown {
  if (wire === 'openai') return body.n ?? 1;
  if (wire === 'google') return (body.generationConfig as { candidateCount?: unknown } | undefined)?.candidateCount ?? 1;
  return 1;
}

/** A non-streamed answer in the wire format's own shape: one entry per choice, usage over all of them. */
function completionPayload(wire: RecordedRequest['wire'], answer: FakeAnswer, more: string[] = []): unknown {
  const { id, created, model, content, inTokens } = answer;
  const contents = [content, ...more];
  const outTokens = answer.outTokens + more.reduce((sum, text) => sum + words(text), 0);
  if (wire === 'openai') {
    const choices = contents.map((text, index) => ({ index, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }));
    return { id: `chatcmpl-${id}`, object: 'chat.completion', created, model, system_fingerprint: 'fp_fake', choices, usage: { prompt_tokens: inTokens, completion_tokens: outTokens, total_tokens: inTokens + outTokens } };
  } else if (wire === 'anthropic') {
    return { id: `msg_${id}`, type: 'message', role: 'assistant', model, content: [{ type: 'text', text: content }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: inTokens, output_tokens: outTokens } };
  } else {
    const candidates = contents.map((text, index) => ({ content: { parts: [{ text }], role: 'model' }, finishReason: 'STOP', index }));
    return { candidates, usageMetadata: { promptTokenCount: inTokens, candidatesTokenCount: outTokens, totalTokenCount: inTokens + outTokens }, modelVersion: model, responseId: id };
  }
}

/** A streamed answer in the wire format's own events; false when it was cut mid-way (`cutAfterChunks`). */
async function streamAnswer(res: ServerResponse, wire: RecordedRequest['wire'], { id, created, model, content, inTokens, outTokens }: FakeAnswer, how: { cutAfterChunks?: number; chunkDelayMs: number; includeUsage: boolean }): Promise<boolean> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const parts = pieces(content);
  const send = async (data: string, event?: string) => {
    if (res.destroyed) return;
    res.write(`${event ? `event: ${event}\n` : ''}data: ${data}\n\n`);
    if (how.chunkDelayMs > 0) await sleep(how.chunkDelayMs);
  };
  const cut = () => {
    // A cut mid-body: the connection dies without the end of the chunked body.
    res.socket?.destroy();
  };
  if (wire === 'openai') {
    const base = { id: `chatcmpl-${id}`, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_fake' };
    await send(JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] }));
    for (let i = 0; i < parts.length; i++) {
      if (how.cutAfterChunks !== undefined && i >= how.cutAfterChunks) {
        cut();
        return false;
      }
      await send(JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: parts[i] }, logprobs: null, finish_reason: null }] }));
    }
    await send(JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] }));
    if (how.includeUsage) await send(JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: inTokens, completion_tokens: outTokens, total_tokens: inTokens + outTokens } }));
    await send('[DONE]');
  } else if (wire === 'anthropic') {
    await send(JSON.stringify({ type: 'message_start', message: { id: `msg_${id}`, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: inTokens, output_tokens: 1 } } }), 'message_start');
    await send(JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }), 'content_block_start');
    await send(JSON.stringify({ type: 'ping' }), 'ping');
    for (let i = 0; i < parts.length; i++) {
      if (how.cutAfterChunks !== undefined && i >= how.cutAfterChunks) {
        cut();
        return false;
      }
      await send(JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: parts[i] } }), 'content_block_delta');
    }
    await send(JSON.stringify({ type: 'content_block_stop', index: 0 }), 'content_block_stop');
    await send(JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: outTokens } }), 'message_delta');
    await send(JSON.stringify({ type: 'message_stop' }), 'message_stop');
  } else {
    for (let i = 0; i < parts.length; i++) {
      if (how.cutAfterChunks !== undefined && i >= how.cutAfterChunks) {
        cut();
        return false;
      }
      const last = i === parts.length - 1;
      const chunk: Record<string, unknown> = { candidates: [{ content: { parts: [{ text: parts[i] }], role: 'model' }, index: 0, ...(last ? { finishReason: 'STOP' } : {}) }], modelVersion: model, responseId: id };
      if (last) chunk.usageMetadata = { promptTokenCount: inTokens, candidatesTokenCount: outTokens, totalTokenCount: inTokens + outTokens };
      if (!res.destroyed) res.write(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
      if (how.chunkDelayMs > 0) await sleep(how.chunkDelayMs);
    }
  }
  return true;
}

/** A request without the credential the fake expects is refused as the real API does: 401, `{auth}` naming what was sent. */
function refuseWrongKey(behaviour: Behaviour, expected: string | undefined, credential: string | undefined): void {
  if (expected !== undefined && credential !== expected) {
    behaviour.status = 401;
    behaviour.message ??= 'Incorrect API key provided: {auth}';
  }
}

/** A scripted error answer (its status, retry-after and message) in the wire format's error shape. */
function sendScriptedError(res: ServerResponse, wire: RecordedRequest['wire'], status: number, behaviour: Behaviour, credential: string | undefined): void {
  const message = (behaviour.message ?? `fake ${status}`).replace('{auth}', credential ?? '');
  const text = JSON.stringify(errorPayload(wire, status, message));
  const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) };
  if (behaviour.retryAfter !== undefined) headers['retry-after'] = behaviour.retryAfter;
  res.writeHead(status, headers).end(text);
}

/** Which fake endpoint a request is for: a chat call of a wire format, or a model list (its fixture). */
function routeOf(req: IncomingMessage, url: URL): { kind: 'chat'; wire: RecordedRequest['wire']; model?: string; stream?: boolean } | { kind: 'list'; file: string; wire: ListRequest['wire'] } | undefined {
  const p = url.pathname;
  if (req.method === 'POST' && (p === '/v1/chat/completions' || p === '/api/v1/chat/completions' || p === '/chat/completions')) return { kind: 'chat', wire: 'openai' };
  if (req.method === 'POST' && p === '/v1/messages') return { kind: 'chat', wire: 'anthropic' };
  const g = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/.exec(p);
  if (req.method === 'POST' && g) return { kind: 'chat', wire: 'google', model: decodeURIComponent(g[1]!), stream: g[2] === 'streamGenerateContent' };
  if (req.method !== 'GET') return undefined;
  if (p === '/v1/models') return req.headers['anthropic-version'] ? { kind: 'list', file: 'anthropic-models.json', wire: 'anthropic' } : { kind: 'list', file: 'openai-models.json', wire: 'openai' };
  if (p === '/api/v1/models') return { kind: 'list', file: 'openrouter-models.json', wire: 'openrouter' };
  if (p === '/v1beta/models') return { kind: 'list', file: 'gemini-models.json', wire: 'google' };
  if (p === '/api/tags') return { kind: 'list', file: 'ollama-tags.json', wire: 'ollama' };
  return undefined;
}

/** One page of a model list where the real API pages it (Anthropic, Google); the whole list elsewhere. */
function modelListPage(wire: ListRequest['wire'], body: Record<string, unknown>, url: URL, pageCap: FakeProviderOptions['listPageCap']): { status: number; payload: unknown } {
  if (wire === 'anthropic') {
    // GET /v1/models?limit=&after_id=: newest first, limit 1..1000 (default 20), has_more/first_id/last_id
    const all = body.data as Array<{ id: string }>;
    const limit = Math.min(Number(url.searchParams.get('limit') ?? 20), 1000, pageCap?.anthropic ?? Infinity);
    const after = url.searchParams.get('after_id');
    const start = after ? all.findIndex((m) => m.id === after) + 1 : 0;
    if (after && start === 0) return { status: 400, payload: errorPayload('anthropic', 400, `after_id ${after} is not a model id`) };
    const page = all.slice(start, start + limit);
    return { status: 200, payload: { data: page, has_more: start + limit < all.length, first_id: page[0]?.id ?? null, last_id: page.at(-1)?.id ?? null } };
  }
  if (wire === 'google') {
    // GET /v1beta/models?pageSize=&pageToken=: pageSize default 50, max 1000; an opaque nextPageToken
    const all = body.models as unknown[];
    const size = Math.min(Number(url.searchParams.get('pageSize') ?? 50), 1000, pageCap?.google ?? Infinity);
    const token = url.searchParams.get('pageToken');
    const start = token ? Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^offset:/, '')) : 0;
    if (!Number.isInteger(start) || start < 0) return { status: 400, payload: errorPayload('google', 400, 'Invalid page token.') };
    const next = start + size < all.length ? Buffer.from(`offset:${start + size}`).toString('base64url') : undefined;
    return { status: 200, payload: { models: all.slice(start, start + size), ...(next ? { nextPageToken: next } : {}) } };
  }
  return { status: 200, payload: body };
}

export async function startFakeProvider(options: FakeProviderOptions = {}): Promise<FakeProvider> {
  const fixturesDir = options.fixturesDir ?? fixturesDefault;
  const fixture = (name: string) => fs.readFileSync(path.join(fixturesDir, name));
  const queue: Behaviour[] = [];
  const perModel = new Map<string, Behaviour>();
  const requests: RecordedRequest[] = [];
  const counts = { chat: 0, choices: 0, aborted: 0, byModel: new Map<string, number>() };
  const listQueue: Behaviour[] = [];
  const listEdits = new Map<string, (body: Record<string, unknown>) => Record<string, unknown>>();
  const listRequests: ListRequest[] = [];
  let seq = 0;

  async function chat(req: IncomingMessage, res: ServerResponse, wire: RecordedRequest['wire'], modelFromPath?: string, streamFromPath?: boolean) {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(await readBody(req)) as Record<string, unknown>;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify(errorPayload(wire, 400, 'body is not JSON')));
      return;
    }
    const model = modelFromPath ?? String(body.model);
    const stream = streamFromPath ?? body.stream === true;
    counts.chat++;
    counts.byModel.set(model, (counts.byModel.get(model) ?? 0) + 1);
    if (options.record !== false) requests.push({ wire, path: req.url ?? '', headers: req.headers, body, model, stream, at: Date.now(), clientPort: req.socket.remotePort ?? 0 });
    let finished = false;
    res.on('close', () => {
      if (!finished && !res.writableEnded) counts.aborted++;
    });
    const behaviour: Behaviour = { ...(perModel.get(model) ?? {}), ...(queue.shift() ?? {}) };
    const credential = credentialOf(req, wire);
    refuseWrongKey(behaviour, options.keys?.[wire], credential);
    if (behaviour.status === undefined && options.errorRate && Math.random() < options.errorRate) behaviour.status = 500;
    const latency = behaviour.latencyMs ?? options.latencyMs ?? 0;
    if (behaviour.hang) return; // the client must give up (and its abort is counted)
    if (latency > 0) await sleep(latency);
    if (behaviour.until) await behaviour.until;
    if (res.destroyed) return;
    if (behaviour.status !== undefined && behaviour.status !== 200) {
      finished = true;
      return sendScriptedError(res, wire, behaviour.status, behaviour, credential);
    }
    const asked = behaviour.ignoreChoices ? 1 : choicesAsked(wire, body);
    // the real APIs' refusals: OpenAI n is 1…128, Gemini candidateCount 1…8; Anthropic knows no n; no n > 1 stream here
    const refusal =
      wire === 'anthropic' && body.n !== undefined
        ? 'n: Extra inputs are not permitted'
        : typeof asked !== 'number' || !Number.isInteger(asked) || asked < 1 || asked > (wire === 'google' ? 8 : 128)
          ? `${wire === 'google' ? 'candidateCount' : 'n'}: ${JSON.stringify(asked)} is not a whole number from 1 to ${wire === 'google' ? 8 : 128}`
          : stream && asked > 1
            ? 'fake: streams of several choices are not implemented'
            : undefined;
    if (refusal) {
      finished = true;
      return sendScriptedError(res, wire, 400, { message: refusal }, credential);
    }
    const choices = asked as number;
    const contentOf = (choice: number) => behaviour.content ?? (behaviour.respond ? behaviour.respond(lastUserText(body, wire), body, choice) : answerFor(model, body, wire, choice));
    const content = contentOf(0);
    const answer: FakeAnswer = { id: `fake-${++seq}`, created: Math.floor(Date.now() / 1000), model, content, inTokens: promptTokens(body), outTokens: words(content) };
    counts.choices += choices;
    if (!stream) {
      const text = JSON.stringify(completionPayload(wire, answer, Array.from({ length: choices - 1 }, (_, i) => contentOf(i + 1))));
      finished = true;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
      return;
    }
    if (!(await streamAnswer(res, wire, answer, { cutAfterChunks: behaviour.cutAfterChunks, chunkDelayMs: behaviour.chunkDelayMs ?? options.chunkDelayMs ?? 0, includeUsage: Boolean((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage) }))) return;
    finished = true;
    if (!res.destroyed) res.end();
  }

  function listBody(file: string): Record<string, unknown> {
    const body = JSON.parse(fixture(file).toString('utf8')) as Record<string, unknown>;
    return listEdits.get(file)?.(body) ?? body;
  }

  /** A model list as the real API serves it: credentials checked, scripted refusals, pages where the API pages. */
  function list(req: IncomingMessage, res: ServerResponse, url: URL, file: string, wire: ListRequest['wire']) {
    listRequests.push({ wire, path: url.pathname, query: Object.fromEntries(url.searchParams) });
    const keyed = wire === 'openrouter' || wire === 'ollama' ? undefined : wire; // OpenRouter's list is public; Ollama has no keys
    const behaviour = listQueue.shift() ?? {};
    const credential = keyed ? credentialOf(req, keyed) : undefined;
    refuseWrongKey(behaviour, keyed ? options.keys?.[keyed] : undefined, credential);
    if (behaviour.status !== undefined && behaviour.status !== 200) return sendScriptedError(res, keyed ?? 'openai', behaviour.status, behaviour, credential);
    const page = modelListPage(wire, listBody(file), url, options.listPageCap);
    const text = JSON.stringify(page.payload);
    res.writeHead(page.status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) }).end(text);
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = routeOf(req, url);
    const handle = async () => {
      if (route?.kind === 'chat') return chat(req, res, route.wire, route.model, route.stream);
      if (route?.kind === 'list') return list(req, res, url, route.file, route.wire);
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `fake: no route ${req.method} ${url.pathname}` } }));
    };
    handle().catch((err) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    baseUrls: { openai: `${url}/v1`, openai_compatible: `${url}/v1`, openrouter: `${url}/api/v1`, ollama: url, anthropic: url, google: url },
    requests,
    counts,
    options,
    enqueue: (...b) => queue.push(...b),
    forModel: (model, b) => (b ? perModel.set(model, b) : perModel.delete(model)),
    enqueueList: (...b) => listQueue.push(...b),
    editModelList: (file, edit) => (edit ? listEdits.set(file, edit) : listEdits.delete(file)),
    listRequests,
    reset() {
      listQueue.length = 0;
      listEdits.clear();
      listRequests.length = 0;
      queue.length = 0;
      perModel.clear();
      requests.length = 0;
      counts.chat = 0;
      counts.choices = 0;
      counts.aborted = 0;
      counts.byModel.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A listener that must never be reached: SSRF tests assert it saw no connection. */
export async function startTrap(): Promise<{ url: string; host: string; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const server = http.createServer((_req, res) => res.end('trap'));
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
