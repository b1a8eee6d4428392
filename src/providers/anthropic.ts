import Anthropic, { APIError, APIConnectionError, APIConnectionTimeoutError, APIUserAbortError } from '@anthropic-ai/sdk';
import type { ProviderConfig } from '../config/schema';
import { ProviderError, httpError, networkError, parseRetryAfter } from './errors';
import { fetchModelList } from './model-lists';
import { asAbortSignal, type CallOptions, type ChatParams, type ChatProvider, type ChatResult, type FinishReason, type StreamEvent } from './types';

/** Anthropic's stop reasons in OpenAI's words. */
export function anthropicFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default: // end_turn, stop_sequence, pause_turn
      return 'stop';
  }
}

export function fromAnthropicError(providerId: string, err: unknown, signal?: { readonly aborted: boolean }): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof APIUserAbortError) return new ProviderError('aborted', `call to provider "${providerId}" was aborted`, { providerId });
  if (err instanceof APIConnectionTimeoutError) return new ProviderError('timeout', `provider "${providerId}" did not answer in time`, { providerId });
  if (err instanceof APIConnectionError) return networkError(providerId, err.cause ?? err, signal);
  if (err instanceof APIError && typeof err.status === 'number') {
    const retryAfterMs = err.headers ? parseRetryAfter((n) => err.headers!.get(n)) : undefined;
    return httpError(providerId, err.status, err.error ?? err.message, retryAfterMs);
  }
  // An `event: error` inside a stream (e.g. overloaded_error) arrives as an APIError without a status.
  if (err instanceof APIError) {
    const type = (err.error as { error?: { type?: string } } | undefined)?.error?.type;
    return new ProviderError(type === 'overloaded_error' ? 'overloaded' : 'provider_error', `provider "${providerId}" reported an error mid-stream: ${err.message}`, { providerId });
  }
  return networkError(providerId, err, signal);
}

export function anthropicRequest(params: ChatParams, defaultMaxTokens: number) {
  const system = params.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
  const messages = params.messages.filter((m) => m.role !== 'system').map((m) => ({ role: m.role as 'user' | 'assistant', content: m.content }));
  const body: Anthropic.MessageCreateParamsNonStreaming = {
    model: params.model,
    // Anthropic requires max_tokens.
    max_tokens: params.maxTokens ?? defaultMaxTokens,
    messages,
  };
  if (system) body.system = system;
  // API version 2026-10-21 (the SDK 1.x default) retired temperature, top_p and top_k: the Messages
  // API no longer takes sampling parameters, so a use case's sampling settings do not apply here.
  if (params.stop && params.stop.length > 0) body.stop_sequences = params.stop;
  return body;
}

/** Anthropic's Messages API through @anthropic-ai/sdk: system prompt, stop reasons and usage mapped. */
export class AnthropicProvider implements ChatProvider {
  readonly kind = 'anthropic' as const;
  private readonly client: Anthropic;
  private readonly apiKey?: string;

  constructor(
    readonly id: string,
    private readonly config: ProviderConfig,
    options: { apiKey?: string } = {},
  ) {
    this.apiKey = options.apiKey;
    this.client = new Anthropic({
      apiKey: options.apiKey ?? 'missing',
      // The SDK appends /v1/messages itself.
      baseURL: config.baseUrl.replace(/\/v1\/?$/, ''),
      maxRetries: 0,
      timeout: config.timeoutSeconds * 1000,
    });
  }

  private requireKey() {
    if (!this.apiKey) throw new ProviderError('upstream_auth', `provider "${this.id}" has no API key: set ${this.config.apiKeyEnv ?? 'apiKeyEnv in its config'}`, { providerId: this.id });
  }

  async chat(params: ChatParams, options: CallOptions): Promise<ChatResult> {
    this.requireKey();
    let message: Anthropic.Message;
    try {
      message = await this.client.messages.create(anthropicRequest(params, 1024), {
        signal: asAbortSignal(options.signal),
        timeout: Math.min(this.config.timeoutSeconds * 1000, options.timeoutMs ?? Infinity),
      });
    } catch (err) {
      throw fromAnthropicError(this.id, err, options.signal);
    }
    if (!message || !Array.isArray(message.content)) throw new ProviderError('invalid_response', `provider "${this.id}" answered without content[]`);
    const content = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
    return {
      content,
      finishReason: anthropicFinishReason(message.stop_reason),
      usage: message.usage ? { inputTokens: message.usage.input_tokens ?? 0, outputTokens: message.usage.output_tokens ?? 0 } : undefined,
      model: message.model,
    };
  }

  async openStream(params: ChatParams, options: CallOptions): Promise<AsyncIterable<StreamEvent[]>> {
    this.requireKey();
    let stream: AsyncIterable<Anthropic.RawMessageStreamEvent> & { controller: AbortController };
    try {
      stream = await this.client.messages.create(
        { ...anthropicRequest(params, 1024), stream: true },
        { signal: asAbortSignal(options.signal), timeout: Math.min(this.config.timeoutSeconds * 1000, options.timeoutMs ?? Infinity) },
      );
    } catch (err) {
      throw fromAnthropicError(this.id, err, options.signal);
    }
    const id = this.id;
    return (async function* events(): AsyncGenerator<StreamEvent[]> {
      let inputTokens = 0;
      let outputTokens = 0;
      let stopped = false;
      try {
        for await (const event of stream) {
          switch (event.type) {
            case 'message_start':
              inputTokens = event.message.usage?.input_tokens ?? 0;
              outputTokens = event.message.usage?.output_tokens ?? 0;
              break;
            case 'content_block_delta':
              if (event.delta.type === 'text_delta' && event.delta.text) yield [{ type: 'delta', text: event.delta.text }];
              break;
            case 'message_delta':
              if (event.usage?.output_tokens !== undefined && event.usage.output_tokens !== null) outputTokens = event.usage.output_tokens;
              if (event.delta.stop_reason) yield [{ type: 'finish', finishReason: anthropicFinishReason(event.delta.stop_reason) }];
              break;
            case 'message_stop':
              stopped = true;
              break;
            default:
              break;
          }
        }
      } catch (err) {
        throw fromAnthropicError(id, err, options.signal);
      } finally {
        stream.controller.abort();
      }
      if (options.signal?.aborted) throw new ProviderError('aborted', `call to provider "${id}" was aborted`);
      yield [{ type: 'usage', usage: { inputTokens, outputTokens } }];
      if (stopped) yield [{ type: 'done' }];
    })();
  }

  listModels(options: CallOptions = {}) {
    return fetchModelList(this.id, this.config, this.apiKey ? { 'x-api-key': this.apiKey } : {}, options);
  }

  async close() {
    // The SDK's fetch keeps no pool of its own to close.
  }
}
