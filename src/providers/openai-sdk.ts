import OpenAI, { APIError, APIConnectionError, APIConnectionTimeoutError, APIUserAbortError } from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import type { ProviderConfig } from '../config/schema';
import { ProviderError, httpError, networkError, parseRetryAfter } from './errors';
import { openAIChunkEvents, openAIRequestBody, parseOpenAIChatCompletion, parseOpenAIChoices } from './openai-wire';
import { fetchModelList } from './model-lists';
import { asAbortSignal, type CallOptions, type ChatChoicesResult, type ChatParams, type ChatProvider, type ChatResult, type StreamEvent } from './types';

/** Maps what the openai SDK throws onto ProviderError (status, retry-after, class). */
export function fromOpenAISdkError(providerId: string, err: unknown, signal?: { readonly aborted: boolean }): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof APIUserAbortError) return new ProviderError('aborted', `call to provider "${providerId}" was aborted`, { providerId });
  if (err instanceof APIConnectionTimeoutError) return new ProviderError('timeout', `provider "${providerId}" did not answer in time`, { providerId });
  if (err instanceof APIConnectionError) return networkError(providerId, err.cause ?? err, signal);
  if (err instanceof APIError && typeof err.status === 'number') {
    const retryAfterMs = err.headers ? parseRetryAfter((n) => err.headers!.get(n)) : undefined;
    return httpError(providerId, err.status, err.error ?? err.message, retryAfterMs);
  }
  if (err instanceof APIError) return new ProviderError('provider_error', `provider "${providerId}" reported an error mid-stream: ${err.message}`, { providerId });
  return networkError(providerId, err, signal);
}

/**
 * OpenAI and OpenRouter through the official `openai` SDK, with its retries off (the gateway's one
 * budget retries) and a keep-alive undici agent.
 */
export class OpenAISdkProvider implements ChatProvider {
  readonly kind: ProviderConfig['kind'];
  private readonly client: OpenAI;
  private readonly agent: Agent;
  private readonly apiKey?: string;

  constructor(
    readonly id: string,
    private readonly config: ProviderConfig,
    options: { apiKey?: string; connections?: number } = {},
  ) {
    this.kind = config.kind;
    this.apiKey = options.apiKey;
    this.agent = new Agent({ connections: options.connections ?? 256, keepAliveTimeout: 30_000 });
    this.client = new OpenAI({
      // The SDK refuses to start without a key; a missing one fails at call time with a clear message.
      apiKey: options.apiKey ?? 'missing',
      baseURL: config.baseUrl,
      maxRetries: 0,
      timeout: config.timeoutSeconds * 1000,
      fetch: undiciFetch as unknown as typeof globalThis.fetch,
      fetchOptions: { dispatcher: this.agent } as Record<string, unknown>,
    });
  }

  private requireKey() {
    if (!this.apiKey) {
      throw new ProviderError('upstream_auth', `provider "${this.id}" has no API key: set ${this.config.apiKeyEnv ?? 'apiKeyEnv in its config'}`, { providerId: this.id });
    }
  }

  private dialect() {
    return this.config.kind === 'openai' ? ('openai' as const) : ('compatible' as const);
  }

  async chat(params: ChatParams, options: CallOptions): Promise<ChatResult> {
    return parseOpenAIChatCompletion(this.id, await this.completion(openAIRequestBody(params, { stream: false, dialect: this.dialect() }), options));
  }

  async chatChoices(params: ChatParams, n: number, options: CallOptions): Promise<ChatChoicesResult> {
    return parseOpenAIChoices(this.id, await this.completion({ ...openAIRequestBody(params, { stream: false, dialect: this.dialect() }), n }, options));
  }

  private async completion(body: Record<string, unknown>, options: CallOptions): Promise<OpenAI.ChatCompletion> {
    this.requireKey();
    try {
      return await this.client.chat.completions.create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming, {
        signal: asAbortSignal(options.signal),
        timeout: Math.min(this.config.timeoutSeconds * 1000, options.timeoutMs ?? Infinity),
      });
    } catch (err) {
      throw fromOpenAISdkError(this.id, err, options.signal);
    }
  }

  async openStream(params: ChatParams, options: CallOptions): Promise<AsyncIterable<StreamEvent[]>> {
    this.requireKey();
    let stream: AsyncIterable<unknown> & { controller: AbortController };
    try {
      const body = openAIRequestBody(params, { stream: true, dialect: this.dialect() });
      stream = await this.client.chat.completions.create(body as unknown as OpenAI.ChatCompletionCreateParamsStreaming, {
        signal: asAbortSignal(options.signal),
        timeout: Math.min(this.config.timeoutSeconds * 1000, options.timeoutMs ?? Infinity),
      });
    } catch (err) {
      throw fromOpenAISdkError(this.id, err, options.signal);
    }
    const id = this.id;
    return (async function* events(): AsyncGenerator<StreamEvent[]> {
      // The SDK swallows [DONE] and ends quietly on EOF: a stream is complete only if it said why it finished.
      let finished = false;
      try {
        for await (const chunk of stream) {
          const batch: StreamEvent[] = [];
          openAIChunkEvents(id, chunk, batch);
          for (const e of batch) if (e.type === 'finish') finished = true;
          if (batch.length > 0) yield batch;
        }
      } catch (err) {
        throw fromOpenAISdkError(id, err, options.signal);
      } finally {
        stream.controller.abort();
      }
      if (options.signal?.aborted) throw new ProviderError('aborted', `call to provider "${id}" was aborted`);
      if (finished) yield [{ type: 'done' }];
    })();
  }

  listModels(options: CallOptions = {}) {
    return fetchModelList(this.id, this.config, this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}, options);
  }

  async close() {
    await this.agent.close();
  }
}
