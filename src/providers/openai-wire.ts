/**
 * The OpenAI chat-completions wire format, shared by OpenAI, OpenRouter and every OpenAI-compatible
 * server (vLLM, llama.cpp, Ollama's /v1). This file builds request bodies, reads answers and stream
 * chunks, and holds the lean provider used for self-hosted servers: a keep-alive undici pool and no
 * SDK layers on the hot path.
 */

import { Pool, type Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import type { ProviderConfig } from '../config/schema';
import { ProviderError, httpError, networkError, parseRetryAfter } from './errors';
import { parseSseReads } from './sse';
import { onCancel, type CallOptions, type CancelSignal, type ChatChoice, type ChatChoicesResult, type ChatParams, type ChatProvider, type ChatResult, type FinishReason, type StreamEvent, type Usage } from './types';
import { fetchModelList } from './model-lists';

export function openAIRequestBody(params: ChatParams, options: { stream: boolean; dialect: 'openai' | 'compatible' }): Record<string, unknown> {
  const body: Record<string, unknown> = { model: params.model, messages: params.messages };
  if (params.temperature !== undefined) body.temperature = params.temperature;
  // OpenAI's own API deprecated max_tokens (reasoning models refuse it); servers that copy the API
  // often only know max_tokens.
  if (params.maxTokens !== undefined) body[options.dialect === 'openai' ? 'max_completion_tokens' : 'max_tokens'] = params.maxTokens;
  if (params.topP !== undefined) body.top_p = params.topP;
  if (params.topK !== undefined && options.dialect === 'compatible') body.top_k = params.topK;
  if (params.stop !== undefined && params.stop.length > 0) body.stop = params.stop;
  if (params.seed !== undefined) body.seed = params.seed;
  if (params.frequencyPenalty !== undefined) body.frequency_penalty = params.frequencyPenalty;
  if (params.presencePenalty !== undefined) body.presence_penalty = params.presencePenalty;
  if (params.responseFormat !== undefined) body.response_format = params.responseFormat;
  if (options.stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return body;
}

const finishReasons = new Set<FinishReason>(['stop', 'length', 'content_filter', 'tool_calls']);
export function openAIFinishReason(value: unknown): FinishReason {
  if (value === 'function_call') return 'tool_calls';
  return typeof value === 'string' && finishReasons.has(value as FinishReason) ? (value as FinishReason) : 'stop';
}

function usageOf(u: unknown): Usage | undefined {
  if (!u || typeof u !== 'object') return undefined;
  const { prompt_tokens: input, completion_tokens: output } = u as { prompt_tokens?: unknown; completion_tokens?: unknown };
  if (typeof input !== 'number' && typeof output !== 'number') return undefined;
  return { inputTokens: typeof input === 'number' ? input : 0, outputTokens: typeof output === 'number' ? output : 0 };
}

function contentText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (Array.isArray(content)) {
    return content.map((part) => (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string' ? (part as { text: string }).text : '')).join('');
  }
  return undefined;
}

/** A chat.completion body → ChatResult; a body of another shape is an invalid_response naming what is missing. */
export function parseOpenAIChatCompletion(providerId: string, body: unknown): ChatResult {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ProviderError('invalid_response', `provider "${providerId}" answered with a body that is not a JSON object`);
  const b = body as Record<string, unknown>;
  const choices = b.choices;
  if (!Array.isArray(choices) || choices.length === 0) throw new ProviderError('invalid_response', `provider "${providerId}" answered without choices[0]`);
  const choice = choices[0] as Record<string, unknown> | undefined;
  const message = choice?.message as Record<string, unknown> | undefined;
  if (!message || typeof message !== 'object') throw new ProviderError('invalid_response', `provider "${providerId}" answered without choices[0].message`);
  const content = contentText(message.content);
  if (content === undefined) throw new ProviderError('invalid_response', `provider "${providerId}" answered with choices[0].message.content that is not text`);
  return { content, finishReason: openAIFinishReason(choice?.finish_reason), usage: usageOf(b.usage), model: typeof b.model === 'string' ? b.model : undefined, raw: b };
}

/**
 * A chat.completion body of a multi-choice call (`n`) → its choices ordered by `choices[i].index`
 * (the wire does not promise array order), with the usage of all of them. Indexes must be 0…k-1, each
 * once: a server that ignored `n` answers with choice 0 alone, which is k = 1.
 */
export function parseOpenAIChoices(providerId: string, body: unknown): ChatChoicesResult {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new ProviderError('invalid_response', `provider "${providerId}" answered with a body that is not a JSON object`);
  const b = body as Record<string, unknown>;
  const all: unknown = b.choices;
  if (!Array.isArray(all) || all.length === 0) throw new ProviderError('invalid_response', `provider "${providerId}" answered without choices[0]`);
  const choices: ChatChoice[] = [];
  all.forEach((raw: unknown, position) => {
    const choice = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
    const index = choice.index ?? position;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= all.length || choices[index]) {
      throw new ProviderError('invalid_response', `provider "${providerId}" answered with choices[${position}].index ${JSON.stringify(choice.index)}: not one of 0…${all.length - 1} once each`);
    }
    const message = choice.message as Record<string, unknown> | undefined;
    const content = message && typeof message === 'object' ? contentText(message.content) : undefined;
    if (content === undefined) throw new ProviderError('invalid_response', `provider "${providerId}" answered with choices[${position}].message.content that is not text`);
    choices[index] = { content, finishReason: openAIFinishReason(choice.finish_reason) };
  });
  return { choices, usage: usageOf(b.usage), model: typeof b.model === 'string' ? b.model : undefined };
}

/** One chat.completion.chunk → events (a chunk may carry text, a finish reason and usage at once). */
export function openAIChunkEvents(providerId: string, chunk: unknown, out: StreamEvent[]): void {
  if (!chunk || typeof chunk !== 'object') throw new ProviderError('invalid_response', `provider "${providerId}" streamed a chunk that is not a JSON object`);
  const c = chunk as Record<string, unknown>;
  if (c.error) {
    const e = c.error as { message?: unknown; code?: unknown };
    throw new ProviderError('provider_error', `provider "${providerId}" reported an error mid-stream: ${typeof e.message === 'string' ? e.message : JSON.stringify(c.error)}`);
  }
  const choice = Array.isArray(c.choices) ? (c.choices[0] as Record<string, unknown> | undefined) : undefined;
  if (choice) {
    const delta = choice.delta as Record<string, unknown> | undefined;
    const text = delta ? contentText(delta.content) : undefined;
    if (text) out.push({ type: 'delta', text, raw: c });
    if (choice.finish_reason !== null && choice.finish_reason !== undefined) out.push(text ? { type: 'finish', finishReason: openAIFinishReason(choice.finish_reason), carried: true } : { type: 'finish', finishReason: openAIFinishReason(choice.finish_reason), raw: c });
    else if (!text) out.push({ type: 'delta', text: '', raw: c }); // role-only or empty chunk: forwarded as is
  }
  const usage = usageOf(c.usage);
  if (usage) out.push({ type: 'usage', usage });
}

export function splitBaseUrl(baseUrl: string): { origin: string; basePath: string } {
  const u = new URL(baseUrl);
  return { origin: u.origin, basePath: u.pathname.replace(/\/+$/, '') };
}

/** An aborted call, as undici reports one (so networkError classifies it as aborted). */
class CallAborted extends Error {
  override name = 'AbortError';
}

/** A whole upstream answer: status, headers and the body's text. */
interface WholeResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A whole (small) response through undici's dispatch API: no Readable stream, no AbortSignal, just the
 * bytes — the non-streaming hot path. `read` turns the response into the call's result inside the
 * handler, so a call settles one promise (the awaits of an async reader cost two microtask hops and a
 * promise per call); what it throws rejects the call. A transport failure is mapped by `failed`.
 * Cancellation comes from a Cancellation or an AbortSignal.
 */
function dispatchWhole<T>(pool: Pool, options: Dispatcher.DispatchOptions, signal: CancelSignal | undefined, read: (res: WholeResponse) => T, failed: (err: unknown) => unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    let stop: (() => void) | undefined;
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(controller) {
        if (!signal) return;
        if (signal.aborted) return controller.abort(new CallAborted('aborted'));
        stop = onCancel(signal, () => controller.abort(new CallAborted('aborted')));
      },
      onResponseStart(_controller, statusCode, responseHeaders) {
        status = statusCode;
        headers = responseHeaders;
      },
      onResponseData(_controller, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        stop?.();
        const body = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
        try {
          resolve(read({ status, headers, body }));
        } catch (err) {
          reject(err);
        }
      },
      onResponseError(_controller, error) {
        stop?.();
        reject(failed(error));
      },
    };
    try {
      pool.dispatch(options, handler);
    } catch (err) {
      reject(failed(err));
    }
  });
}

async function readBody(body: Dispatcher.ResponseData['body']): Promise<unknown> {
  const text = await body.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * OpenAI-compatible servers (vLLM, llama.cpp, Ollama /v1, LM Studio…) and, by choice, OpenAI-wire
 * SaaS: a raw keep-alive pool. Only config decides the origin, path and key.
 */
export class OpenAICompatibleProvider implements ChatProvider {
  readonly kind: ProviderConfig['kind'];
  private readonly pool: Pool;
  private readonly chatPath: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly dialect: 'openai' | 'compatible';

  constructor(
    readonly id: string,
    private readonly config: ProviderConfig,
    options: { apiKey?: string; connections?: number; dialect?: 'openai' | 'compatible' } = {},
  ) {
    this.kind = config.kind;
    const { origin, basePath } = splitBaseUrl(config.baseUrl);
    // Ollama's base URL is the server root; its OpenAI-compatible API lives under /v1.
    const apiBase = config.kind === 'ollama' && !/\/v1$/.test(basePath) ? `${basePath}/v1` : basePath;
    this.chatPath = `${apiBase}/chat/completions`;
    this.pool = new Pool(origin, { connections: options.connections ?? 256, pipelining: 1, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });
    this.headers = { 'content-type': 'application/json', accept: 'application/json' };
    if (options.apiKey) this.headers.authorization = `Bearer ${options.apiKey}`;
    this.timeoutMs = config.timeoutSeconds * 1000;
    this.dialect = options.dialect ?? 'compatible';
  }

  private async post(params: ChatParams, stream: boolean, options: CallOptions) {
    const timeout = Math.min(this.timeoutMs, options.timeoutMs ?? this.timeoutMs);
    let res: Dispatcher.ResponseData;
    try {
      res = await this.pool.request({
        path: this.chatPath,
        method: 'POST',
        headers: stream ? { ...this.headers, accept: 'text/event-stream' } : this.headers,
        body: JSON.stringify(openAIRequestBody(params, { stream, dialect: this.dialect })),
        signal: options.signal,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    } catch (err) {
      throw networkError(this.id, err, options.signal);
    }
    if (res.statusCode !== 200) {
      const retryAfterMs = parseRetryAfter((name) => {
        const v = res.headers[name];
        return Array.isArray(v) ? v[0] : v;
      });
      const body = await readBody(res.body).catch(() => undefined);
      throw httpError(this.id, res.statusCode, body, retryAfterMs);
    }
    return res;
  }

  chat(params: ChatParams, options: CallOptions): Promise<ChatResult> {
    return this.completion(openAIRequestBody(params, { stream: false, dialect: this.dialect }), options, this.readChat);
  }

  chatChoices(params: ChatParams, n: number, options: CallOptions): Promise<ChatChoicesResult> {
    return this.completion({ ...openAIRequestBody(params, { stream: false, dialect: this.dialect }), n }, options, this.readChoices);
  }

  /** A chat completion's answer: the parsed result, with the body's text as received (the gateway relays it). */
  private readonly readChat = (text: string, json: unknown): ChatResult => {
    const result = parseOpenAIChatCompletion(this.id, json);
    result.rawText = text;
    return result;
  };

  private readonly readChoices = (_text: string, json: unknown): ChatChoicesResult => parseOpenAIChoices(this.id, json);

  /**
   * A non-streamed chat completion, its 200 answer given to `read` (as text and parsed); any other
   * status, a body that is not JSON, or a transport failure is a ProviderError. One promise per call.
   */
  private completion<T>(requestBody: Record<string, unknown>, options: CallOptions, read: (text: string, json: unknown) => T): Promise<T> {
    const timeout = Math.min(this.timeoutMs, options.timeoutMs ?? this.timeoutMs);
    const signal = options.signal;
    const dispatchOptions: Dispatcher.DispatchOptions = { path: this.chatPath, method: 'POST', headers: this.headers, body: JSON.stringify(requestBody), headersTimeout: timeout, bodyTimeout: timeout };
    return dispatchWhole(
      this.pool,
      dispatchOptions,
      signal,
      (res) => {
        let body: unknown;
        try {
          body = JSON.parse(res.body);
        } catch {
          body = res.body;
          if (res.status === 200) throw new ProviderError('invalid_response', `provider "${this.id}" answered with a body that is not JSON`);
        }
        if (res.status !== 200) {
          const retryAfterMs = parseRetryAfter((name) => {
            const v = res.headers[name];
            return Array.isArray(v) ? v[0] : v;
          });
          throw httpError(this.id, res.status, body, retryAfterMs);
        }
        return read(res.body, body);
      },
      (err) => networkError(this.id, err, signal),
    );
  }

  async openStream(params: ChatParams, options: CallOptions): Promise<AsyncIterable<StreamEvent[]>> {
    const res = await this.post(params, true, options);
    const id = this.id;
    const signal = options.signal;
    // Anonymous: a named function expression gets a `__name` property definition per stream under tsx.
    return (async function* (): AsyncGenerator<StreamEvent[]> {
      // After [DONE] the body is read to its end (a server ends the response right after it) instead of
      // returning at once: returning destroyed the body before its last bytes were read, which made an
      // AbortError (with its stack trace) and cost the keep-alive connection (undici closes a socket whose
      // response was not read to the end) on every stream: a new upstream connection per streamed call.
      let done = false;
      try {
        for await (const messages of parseSseReads(res.body)) {
          if (done) continue;
          // One batch per network read: the gateway judges and writes once per read, not once per event.
          const batch: StreamEvent[] = [];
          let bad = false;
          for (const message of messages) {
            if (message.data === '[DONE]') {
              done = true;
              batch.push({ type: 'done' });
              break;
            }
            let chunk: unknown;
            try {
              chunk = JSON.parse(message.data);
            } catch {
              bad = true;
              break;
            }
            try {
              openAIChunkEvents(id, chunk, batch);
            } catch (err) {
              // The events before a bad one still count (a cut stream gives what came before the cut).
              if (batch.length > 0) yield batch;
              throw err;
            }
          }
          if (batch.length > 0) yield batch;
          if (bad) throw new ProviderError('invalid_response', `provider "${id}" streamed an event that is not JSON`);
        }
      } catch (err) {
        throw err instanceof ProviderError ? err : networkError(id, err, signal);
      } finally {
        if (!res.body.readableEnded) res.body.destroy();
      }
    })();
  }

  listModels(options: CallOptions = {}) {
    return fetchModelList(this.id, this.config, this.headers.authorization ? { authorization: this.headers.authorization } : {}, options);
  }

  async close() {
    await this.pool.close();
  }
}
