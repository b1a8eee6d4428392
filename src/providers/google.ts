import { AsyncLocalStorage } from 'node:async_hooks';
import { ApiError, GoogleGenAI, type GenerateContentConfig, type GenerateContentResponse } from '@google/genai';
import type { ProviderConfig } from '../config/schema';
import { ProviderError, httpError, networkError, parseRetryAfter } from './errors';
import { fetchModelList } from './model-lists';
import { asAbortSignal, type CallOptions, type ChatChoice, type ChatChoicesResult, type ChatParams, type ChatProvider, type ChatResult, type FinishReason, type StreamEvent, type Usage } from './types';

/** Gemini's finish reasons in OpenAI's words. */
export function geminiFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'MAX_TOKENS':
      return 'length';
    case 'SAFETY':
    case 'RECITATION':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
    case 'IMAGE_SAFETY':
    case 'LANGUAGE':
      return 'content_filter';
    case 'MALFORMED_FUNCTION_CALL':
    case 'UNEXPECTED_TOOL_CALL':
      return 'error';
    default: // STOP, OTHER, FINISH_REASON_UNSPECIFIED
      return 'stop';
  }
}

export function geminiRequest(params: ChatParams, signal?: AbortSignal) {
  const system = params.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
  const contents = params.messages
    .filter((m) => m.role !== 'system')
    .map((m) => ({ role: m.role === 'assistant' ? 'model' : 'user', parts: [{ text: m.content }] }));
  const config: GenerateContentConfig = {
    // No hidden second requests: no automatic function calling, no automatic stream continuation.
    automaticFunctionCalling: { disable: true },
    abortSignal: signal,
  };
  (config as { automaticContinuation?: boolean }).automaticContinuation = false;
  if (system) config.systemInstruction = system;
  if (params.temperature !== undefined) config.temperature = params.temperature;
  if (params.maxTokens !== undefined) config.maxOutputTokens = params.maxTokens;
  if (params.topP !== undefined) config.topP = params.topP;
  if (params.topK !== undefined) config.topK = params.topK;
  if (params.stop && params.stop.length > 0) config.stopSequences = params.stop;
  if (params.seed !== undefined) config.seed = params.seed;
  if (params.frequencyPenalty !== undefined) config.frequencyPenalty = params.frequencyPenalty;
  if (params.presencePenalty !== undefined) config.presencePenalty = params.presencePenalty;
  return { model: params.model, contents, config };
}

type GeminiCandidate = NonNullable<GenerateContentResponse['candidates']>[number];

function candidateText(candidate: GeminiCandidate | undefined): string {
  const parts = candidate?.content?.parts ?? [];
  return parts.map((p) => (typeof p.text === 'string' && !p.thought ? p.text : '')).join('');
}

function responseText(response: GenerateContentResponse): string {
  return candidateText(response.candidates?.[0]);
}

/**
 * The candidates of a `candidateCount` call, ordered by their `index` (proto3 JSON omits an index of
 * 0: a missing one is 0, so only one may miss it); each with its own `tokenCount` where given.
 */
export function geminiChoices(providerId: string, response: GenerateContentResponse): ChatChoice[] {
  const candidates = response.candidates ?? [];
  const out: ChatChoice[] = [];
  candidates.forEach((candidate, position) => {
    const index = candidate.index ?? 0;
    if (!Number.isInteger(index) || index < 0 || index >= candidates.length || out[index]) {
      throw new ProviderError('invalid_response', `provider "${providerId}" answered with candidates[${position}].index ${JSON.stringify(candidate.index)}: not one of 0…${candidates.length - 1} once each`);
    }
    out[index] = { content: candidateText(candidate), finishReason: geminiFinishReason(candidate.finishReason), ...(typeof candidate.tokenCount === 'number' ? { outputTokens: candidate.tokenCount } : {}) };
  });
  return out;
}

function usageOf(response: GenerateContentResponse): Usage | undefined {
  const u = response.usageMetadata;
  if (!u) return undefined;
  return { inputTokens: u.promptTokenCount ?? 0, outputTokens: (u.candidatesTokenCount ?? 0) + (u.thoughtsTokenCount ?? 0) };
}

/** Per call: the retry-after of the last refused response (the SDK's ApiError drops the headers). */
const callState = new AsyncLocalStorage<{ retryAfterMs?: number }>();

/** Google Gemini through @google/genai (Gemini Developer API). */
export class GoogleProvider implements ChatProvider {
  readonly kind = 'google' as const;
  private readonly client: GoogleGenAI;
  private readonly apiKey?: string;

  constructor(
    readonly id: string,
    private readonly config: ProviderConfig,
    options: { apiKey?: string } = {},
  ) {
    this.apiKey = options.apiKey;
    const fetchWithRetryAfter: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!res.ok) {
        const state = callState.getStore();
        if (state) state.retryAfterMs = parseRetryAfter((n) => res.headers.get(n));
      }
      return res;
    };
    this.client = new GoogleGenAI({
      apiKey: options.apiKey ?? 'missing',
      // No retryOptions: the SDK then makes exactly one attempt.
      httpOptions: { baseUrl: config.baseUrl.replace(/\/v1beta\/?$/, ''), timeout: config.timeoutSeconds * 1000, fetch: fetchWithRetryAfter },
    });
  }

  private requireKey() {
    if (!this.apiKey) throw new ProviderError('upstream_auth', `provider "${this.id}" has no API key: set ${this.config.apiKeyEnv ?? 'apiKeyEnv in its config'}`, { providerId: this.id });
  }

  private toError(err: unknown, state: { retryAfterMs?: number }, signal?: { readonly aborted: boolean }): ProviderError {
    if (err instanceof ProviderError) return err;
    if (err instanceof ApiError) {
      let body: unknown = err.message;
      try {
        body = JSON.parse(err.message);
      } catch {
        // not JSON: keep the text
      }
      return httpError(this.id, err.status, body, state.retryAfterMs);
    }
    return networkError(this.id, err, signal);
  }

  private async generate(params: ChatParams, candidateCount: number | undefined, options: CallOptions): Promise<GenerateContentResponse> {
    this.requireKey();
    const state: { retryAfterMs?: number } = {};
    const request = geminiRequest(params, asAbortSignal(options.signal));
    if (candidateCount !== undefined) request.config.candidateCount = candidateCount;
    if (options.timeoutMs) request.config.httpOptions = { timeout: Math.min(this.config.timeoutSeconds * 1000, options.timeoutMs) };
    try {
      return await callState.run(state, () => this.client.models.generateContent(request));
    } catch (err) {
      throw this.toError(err, state, options.signal);
    }
  }

  async chatChoices(params: ChatParams, n: number, options: CallOptions): Promise<ChatChoicesResult> {
    const response = await this.generate(params, n, options);
    if (!response.candidates?.length) {
      // a blocked prompt blocks every candidate: n empty choices (not a server that ignored candidateCount)
      if (response.promptFeedback?.blockReason) return { choices: Array.from({ length: n }, () => ({ content: '', finishReason: 'content_filter' as const })), usage: usageOf(response), model: response.modelVersion ?? undefined };
      throw new ProviderError('invalid_response', `provider "${this.id}" answered without candidates[0]`);
    }
    return { choices: geminiChoices(this.id, response), usage: usageOf(response), model: response.modelVersion ?? undefined };
  }

  async chat(params: ChatParams, options: CallOptions): Promise<ChatResult> {
    const response = await this.generate(params, undefined, options);
    const candidate = response.candidates?.[0];
    if (!candidate && !response.promptFeedback?.blockReason) throw new ProviderError('invalid_response', `provider "${this.id}" answered without candidates[0]`);
    return {
      content: candidate ? responseText(response) : '',
      finishReason: candidate ? geminiFinishReason(candidate.finishReason) : 'content_filter',
      usage: usageOf(response),
      model: response.modelVersion ?? undefined,
    };
  }

  async openStream(params: ChatParams, options: CallOptions): Promise<AsyncIterable<StreamEvent[]>> {
    this.requireKey();
    const state: { retryAfterMs?: number } = {};
    const request = geminiRequest(params, asAbortSignal(options.signal));
    if (options.timeoutMs) request.config.httpOptions = { timeout: Math.min(this.config.timeoutSeconds * 1000, options.timeoutMs) };
    let stream: AsyncGenerator<GenerateContentResponse>;
    try {
      stream = await callState.run(state, () => this.client.models.generateContentStream(request));
    } catch (err) {
      throw this.toError(err, state, options.signal);
    }
    const id = this.id;
    const toError = (err: unknown) => this.toError(err, state, options.signal);
    return (async function* events(): AsyncGenerator<StreamEvent[]> {
      let usage: Usage | undefined;
      let finished = false;
      try {
        for await (const chunk of stream) {
          const text = responseText(chunk);
          if (text) yield [{ type: 'delta', text }];
          usage = usageOf(chunk) ?? usage;
          const reason = chunk.candidates?.[0]?.finishReason;
          if (reason) {
            finished = true;
            yield [{ type: 'finish', finishReason: geminiFinishReason(reason) }];
          } else if (chunk.promptFeedback?.blockReason) {
            finished = true;
            yield [{ type: 'finish', finishReason: 'content_filter' }];
          }
        }
      } catch (err) {
        throw toError(err);
      } finally {
        await stream.return(undefined).catch(() => undefined);
      }
      if (options.signal?.aborted) throw new ProviderError('aborted', `call to provider "${id}" was aborted`);
      if (usage) yield [{ type: 'usage', usage }];
      // Gemini has no end-of-stream marker: the stream is complete when its last chunk said why it finished.
      if (finished) yield [{ type: 'done' }];
    })();
  }

  listModels(options: CallOptions = {}) {
    return fetchModelList(this.id, this.config, this.apiKey ? { 'x-goog-api-key': this.apiKey } : {}, options);
  }

  async close() {
    // global fetch: nothing to close
  }
}
