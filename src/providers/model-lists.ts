/**
 * Parsers of each provider's model-list response, tested on real responses
 * (test/fixtures/real-api/). They accept every shape quirk those responses show (missing optional
 * fields, prices as strings, nulls) and refuse a body without the fields that identify a model, with
 * an error naming the field.
 */

import { request } from 'undici';
import { z } from 'zod';
import type { ProviderConfig } from '../config/schema';
import { formatPath } from '../config/load';
import { ProviderError, httpError, networkError } from './errors';
import type { CallOptions, ProviderModelInfo } from './types';

export class ModelListError extends Error {
  override name = 'ModelListError';
}

function parseWith<T extends z.ZodType>(schema: T, body: unknown, what: string): z.infer<T> {
  const result = schema.safeParse(body);
  if (!result.success) {
    const problems = result.error.issues.slice(0, 5).map((i) => `${formatPath(i.path)}: ${i.message}`);
    throw new ModelListError(`${what}: ${problems.join('; ')}`);
  }
  return result.data;
}

const optionalString = z.string().nullish();
const optionalNumber = z.number().nullish();

// ---- OpenAI (and every OpenAI-compatible server: vLLM, llama.cpp, Ollama /v1) GET /v1/models
const openAIListSchema = z.looseObject({
  data: z.array(z.looseObject({ id: z.string().min(1), created: optionalNumber, owned_by: optionalString })),
});
export function parseOpenAIModelList(body: unknown): ProviderModelInfo[] {
  const parsed = parseWith(openAIListSchema, body, 'OpenAI model list');
  return parsed.data.map((m) => ({
    id: m.id,
    createdAt: typeof m.created === 'number' ? new Date(m.created * 1000) : undefined,
    ownedBy: m.owned_by ?? undefined,
    // vLLM reports max_model_len on each model.
    contextLength: typeof m.max_model_len === 'number' ? m.max_model_len : undefined,
  }));
}

// ---- Anthropic GET /v1/models
const anthropicListSchema = z.looseObject({
  data: z.array(
    z.looseObject({
      id: z.string().min(1),
      type: z.string().optional(),
      display_name: optionalString,
      created_at: optionalString,
      max_input_tokens: optionalNumber,
      max_tokens: optionalNumber,
    }),
  ),
  has_more: z.boolean().optional(),
  last_id: optionalString,
});
export function parseAnthropicModelList(body: unknown): { models: ProviderModelInfo[]; hasMore: boolean; lastId?: string } {
  const parsed = parseWith(anthropicListSchema, body, 'Anthropic model list');
  return {
    models: parsed.data.map((m) => ({
      id: m.id,
      displayName: m.display_name ?? undefined,
      createdAt: m.created_at ? new Date(m.created_at) : undefined,
      contextLength: m.max_input_tokens ?? undefined,
      maxOutputTokens: m.max_tokens ?? undefined,
    })),
    hasMore: parsed.has_more ?? false,
    lastId: parsed.last_id ?? undefined,
  };
}

// ---- Google Gemini GET /v1beta/models
const geminiListSchema = z.looseObject({
  models: z.array(
    z.looseObject({
      name: z.string().min(1),
      version: optionalString,
      displayName: optionalString,
      description: optionalString,
      inputTokenLimit: optionalNumber,
      outputTokenLimit: optionalNumber,
      supportedGenerationMethods: z.array(z.string()).nullish(),
      thinking: z.boolean().nullish(),
    }),
  ),
  nextPageToken: optionalString,
});
export function parseGeminiModelList(body: unknown): { models: ProviderModelInfo[]; nextPageToken?: string } {
  const parsed = parseWith(geminiListSchema, body, 'Gemini model list');
  return {
    models: parsed.models.map((m) => ({
      id: m.name.replace(/^models\//, ''),
      displayName: m.displayName ?? undefined,
      description: m.description ?? undefined,
      contextLength: m.inputTokenLimit ?? undefined,
      maxOutputTokens: m.outputTokenLimit ?? undefined,
      details: {
        version: m.version ?? undefined,
        supportedGenerationMethods: m.supportedGenerationMethods ?? [],
        thinking: m.thinking ?? false,
      },
    })),
    nextPageToken: parsed.nextPageToken || undefined,
  };
}

// ---- OpenRouter GET /api/v1/models: prices are decimal strings in USD per token; "-1" = variable (routers)
const priceString = z.union([z.string(), z.number()]).nullish();
const openRouterListSchema = z.looseObject({
  data: z.array(
    z.looseObject({
      id: z.string().min(1),
      name: optionalString,
      description: optionalString,
      created: optionalNumber,
      context_length: optionalNumber,
      hugging_face_id: optionalString,
      pricing: z.looseObject({ prompt: priceString, completion: priceString }).nullish(),
      top_provider: z.looseObject({ context_length: optionalNumber, max_completion_tokens: optionalNumber }).nullish(),
      supported_parameters: z.array(z.string()).nullish(),
    }),
  ),
});

/** USD per token as a string → USD per million tokens; undefined for missing or negative (variable) prices. */
export function perTokenToPerMTok(value: string | number | null | undefined): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n) || n < 0) return undefined;
  // Round away binary noise: 0.00000045 * 1e6 = 0.44999999999999996.
  return Math.round(n * 1e6 * 1e9) / 1e9;
}

export function parseOpenRouterModelList(body: unknown): ProviderModelInfo[] {
  const parsed = parseWith(openRouterListSchema, body, 'OpenRouter model list');
  return parsed.data.map((m) => ({
    id: m.id,
    displayName: m.name ?? undefined,
    description: m.description ?? undefined,
    createdAt: typeof m.created === 'number' ? new Date(m.created * 1000) : undefined,
    contextLength: m.context_length ?? m.top_provider?.context_length ?? undefined,
    maxOutputTokens: m.top_provider?.max_completion_tokens ?? undefined,
    inputPerMTok: perTokenToPerMTok(m.pricing?.prompt),
    outputPerMTok: perTokenToPerMTok(m.pricing?.completion),
    details: { huggingFaceId: m.hugging_face_id || undefined, supportedParameters: m.supported_parameters ?? [] },
  }));
}

// ---- Ollama GET /api/tags
const ollamaTagsSchema = z.looseObject({
  models: z.array(
    z.looseObject({
      name: z.string().min(1),
      model: optionalString,
      modified_at: optionalString,
      size: optionalNumber,
      digest: optionalString,
      remote_model: optionalString,
      remote_host: optionalString,
      details: z
        .looseObject({
          family: optionalString,
          families: z.array(z.string()).nullish(),
          parameter_size: optionalString,
          quantization_level: optionalString,
          format: optionalString,
        })
        .nullish(),
    }),
  ),
});

/** "671.0B" / "671B" / "8.0B" / "270M" → parameters; undefined for "" or unreadable. */
export function parseParameterSize(value: string | null | undefined): number | undefined {
  const m = value ? /^\s*(\d+(?:\.\d+)?)\s*([KMBT])\s*$/i.exec(value) : null;
  if (!m) return undefined;
  const scale = { K: 1e3, M: 1e6, B: 1e9, T: 1e12 }[m[2]!.toUpperCase() as 'K' | 'M' | 'B' | 'T'];
  return Math.round(Number(m[1]) * scale);
}

export function parseOllamaTags(body: unknown): ProviderModelInfo[] {
  const parsed = parseWith(ollamaTagsSchema, body, 'Ollama tag list');
  return parsed.models.map((m) => ({
    id: m.name,
    createdAt: m.modified_at ? new Date(m.modified_at) : undefined,
    details: {
      family: m.details?.family || undefined,
      parameters: parseParameterSize(m.details?.parameter_size),
      quantization: m.details?.quantization_level ? m.details.quantization_level.toUpperCase() : undefined,
      sizeBytes: m.size ?? undefined,
      digest: m.digest ?? undefined,
      // Cloud stubs: the model runs on a remote host, not on this machine.
      remote: Boolean(m.remote_host),
    },
  }));
}

// ---- fetching
async function getJson(providerId: string, url: URL, headers: Record<string, string>, options: CallOptions, timeoutMs: number): Promise<unknown> {
  let res;
  try {
    res = await request(url, { method: 'GET', headers: { accept: 'application/json', ...headers }, signal: options.signal, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  } catch (err) {
    throw networkError(providerId, err, options.signal);
  }
  const text = await res.body.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    if (res.statusCode === 200) throw new ProviderError('invalid_response', `provider "${providerId}" answered its model list with a body that is not JSON`);
  }
  if (res.statusCode !== 200) throw httpError(providerId, res.statusCode, body);
  return body;
}

/** `base` with `suffix` appended to its path (a trailing slash of the base is not doubled). */
export const joinPath = (base: string, suffix: string) => {
  const u = new URL(base);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}${suffix}`;
  return u;
};

const MAX_PAGES = 50;

/** Lists the models of a provider; the base URL and credentials come from config only. */
export async function fetchModelList(providerId: string, config: ProviderConfig, authHeaders: Record<string, string>, options: CallOptions = {}): Promise<ProviderModelInfo[]> {
  const timeoutMs = Math.min(config.timeoutSeconds * 1000, options.timeoutMs ?? Infinity);
  const wrap = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ModelListError) throw new ProviderError('invalid_response', `provider "${providerId}": ${err.message}`);
      throw err;
    }
  };
  switch (config.kind) {
    case 'openai':
    case 'openai_compatible':
      return wrap(async () => parseOpenAIModelList(await getJson(providerId, joinPath(config.baseUrl, '/models'), authHeaders, options, timeoutMs)));
    case 'openrouter':
      return wrap(async () => parseOpenRouterModelList(await getJson(providerId, joinPath(config.baseUrl, '/models'), authHeaders, options, timeoutMs)));
    case 'ollama': {
      const root = new URL(config.baseUrl);
      root.pathname = root.pathname.replace(/\/v1\/?$/, '');
      return wrap(async () => parseOllamaTags(await getJson(providerId, joinPath(root.toString(), '/api/tags'), {}, options, timeoutMs)));
    }
    case 'anthropic': {
      const out: ProviderModelInfo[] = [];
      let after: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const url = joinPath(config.baseUrl.replace(/\/v1\/?$/, ''), '/v1/models');
        url.searchParams.set('limit', '1000');
        if (after) url.searchParams.set('after_id', after);
        const parsed = await wrap(async () => parseAnthropicModelList(await getJson(providerId, url, { 'anthropic-version': '2023-06-01', ...authHeaders }, options, timeoutMs)));
        out.push(...parsed.models);
        if (!parsed.hasMore || !parsed.lastId) break;
        after = parsed.lastId;
      }
      return out;
    }
    case 'google': {
      const out: ProviderModelInfo[] = [];
      let token: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const url = joinPath(config.baseUrl.replace(/\/v1beta\/?$/, ''), '/v1beta/models');
        url.searchParams.set('pageSize', '1000');
        if (token) url.searchParams.set('pageToken', token);
        const parsed = await wrap(async () => parseGeminiModelList(await getJson(providerId, url, authHeaders, options, timeoutMs)));
        out.push(...parsed.models);
        if (!parsed.nextPageToken) break;
        token = parsed.nextPageToken;
      }
      return out;
    }
    case 'huggingface':
      throw new ProviderError('bad_request', `provider "${providerId}" is a Hugging Face hub: its models are listed by discovery, not by the chat providers`);
  }
}
