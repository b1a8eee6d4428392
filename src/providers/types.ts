/**
 * One interface over every provider the gateway and the evaluation activities call. Requests and
 * answers are in a provider-neutral shape; the OpenAI wire format is the lingua franca of the API.
 */

import { EventEmitter } from 'node:events';
import type { ProviderConfig } from '../config/schema';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface ChatParams {
  /** The model id the provider knows (e.g. "gpt-4o-mini", "claude-3-5-haiku-latest"). */
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  topK?: number;
  stop?: string[];
  seed?: number;
  frequencyPenalty?: number;
  presencePenalty?: number;
  /** OpenAI `response_format`, passed to OpenAI-wire providers only. */
  responseFormat?: unknown;
}

/** OpenAI's finish reasons; every provider's stop reason maps onto one of these. */
export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls' | 'error';

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface ChatResult {
  content: string;
  finishReason: FinishReason;
  usage?: Usage;
  /** The upstream model id the provider reports (may differ from the requested one, e.g. an alias). */
  model?: string;
  /** For OpenAI-wire providers: the upstream body as received, so unknown fields reach the caller. */
  raw?: Record<string, unknown>;
  /** With `raw` from the raw undici provider: the body's text as received (the gateway sends it on unchanged but for its id). */
  rawText?: string;
}

/** One choice of a multi-choice call, in the provider's index order. */
export interface ChatChoice {
  content: string;
  finishReason: FinishReason;
  /** This choice's own output tokens, where the provider reports them per choice (Gemini's `tokenCount`). */
  outputTokens?: number;
}

export interface ChatChoicesResult {
  /** Choices 0, 1, … as the provider indexed them; fewer than asked when a server ignores the parameter. */
  choices: ChatChoice[];
  /** As billed: the prompt once, the output tokens of every choice. */
  usage?: Usage;
  model?: string;
}

export type StreamEvent =
  | { type: 'delta'; text: string; raw?: Record<string, unknown> }
  /** `carried`: the finish reason arrived in the same raw chunk as the last delta (already forwarded with it). */
  | { type: 'finish'; finishReason: FinishReason; raw?: Record<string, unknown>; carried?: boolean }
  | { type: 'usage'; usage: Usage }
  /** The provider said the stream is complete ([DONE], message_stop, last Gemini chunk). */
  | { type: 'done' };

/**
 * Cancellation without AbortController's cost on the hot path (creating one and listening to it takes
 * microseconds per call in Node 20): an EventEmitter with `aborted` that emits 'abort' — undici takes
 * it as a signal as is; the SDK-based providers get a real AbortSignal made on demand (asAbortSignal).
 */
export class Cancellation extends EventEmitter {
  aborted = false;
  private controller: AbortController | undefined;
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.controller?.abort();
    this.emit('abort');
  }
  /** An AbortSignal that aborts with this cancellation (made once, on first use). */
  get abortSignal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort();
    }
    return this.controller.signal;
  }
}

export type CancelSignal = AbortSignal | Cancellation;

export const asAbortSignal = (signal: CancelSignal | undefined): AbortSignal | undefined => (signal instanceof Cancellation ? signal.abortSignal : signal);

/** Calls `fn` once when the signal aborts; returns a function that stops listening. */
export function onCancel(signal: CancelSignal, fn: () => void): () => void {
  if (signal instanceof Cancellation) {
    signal.once('abort', fn);
    return () => signal.off('abort', fn);
  }
  signal.addEventListener('abort', fn, { once: true });
  return () => signal.removeEventListener('abort', fn);
}

export interface CallOptions {
  signal?: CancelSignal;
  /** Time allowed for this attempt (ms); the provider's timeoutSeconds caps it. */
  timeoutMs?: number;
}

/** A model as a provider's model-list endpoint describes it, normalised. */
export interface ProviderModelInfo {
  id: string;
  displayName?: string;
  description?: string;
  createdAt?: Date;
  ownedBy?: string;
  contextLength?: number;
  maxOutputTokens?: number;
  /** USD per million tokens, when the provider publishes a price in its list. */
  inputPerMTok?: number;
  outputPerMTok?: number;
  /** Free-form facts a ranking may use (parameter size, quantisation, supported methods…). */
  details?: Record<string, unknown>;
}

export interface ChatProvider {
  readonly id: string;
  readonly kind: ProviderConfig['kind'];
  chat(params: ChatParams, options: CallOptions): Promise<ChatResult>;
  /**
   * `n` independent samples of the same request in one call (OpenAI `n`, Gemini `candidateCount`):
   * the prompt is sent and billed once. Absent where the API has no such parameter (Anthropic).
   */
  chatChoices?(params: ChatParams, n: number, options: CallOptions): Promise<ChatChoicesResult>;
  /**
   * Opens a stream: resolves once the provider accepted the call (so a retry budget can still retry
   * a refused one), then yields events, in batches: the events of one upstream read (one network read
   * for the raw OpenAI-wire provider, one SDK chunk for the others), so the gateway judges and writes
   * once per read instead of once per event. An iterator that ends without a `done` event was cut.
   */
  openStream(params: ChatParams, options: CallOptions): Promise<AsyncIterable<StreamEvent[]>>;
  listModels(options?: CallOptions): Promise<ProviderModelInfo[]>;
  close(): Promise<void>;
}
