import type { ChatMessage, ChatParams } from '../src/providers/types';
import type { UseCasePolicy } from './registry-cache';

/**
 * The body of POST /v1/chat/completions, checked by hand (this is the hot path): every field is known,
 * typed and in range, or the request is refused with an OpenAI-style error naming the field. No field
 * can name an upstream host, path or credential: those come only from the gateway's configuration.
 */
export class RequestError extends Error {
  override name = 'RequestError';
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly type = status === 401 ? 'authentication_error' : status === 403 ? 'permission_error' : status === 404 ? 'not_found_error' : 'invalid_request_error',
  ) {
    super(message);
  }
}

export interface ChatRequest {
  useCaseId: string;
  messages: ChatMessage[];
  stream: boolean;
  includeUsage: boolean;
  user?: string;
  metadata?: Record<string, string>;
  responseFormat?: unknown;
  /** Sampling parameters the caller set, in our names (temperature, maxTokens, …). */
  overrides: Partial<Record<OverridableParam, unknown>>;
}

export type OverridableParam = 'temperature' | 'maxTokens' | 'topP' | 'topK' | 'stop' | 'seed' | 'frequencyPenalty' | 'presencePenalty';

/** Fields other gateways honour to reroute a call or attach a credential (LiteLLM CVE-2024-6587 and kin). */
const upstreamFields = new Set([
  'api_base',
  'base_url',
  'baseURL',
  'baseUrl',
  'api_key',
  'apiKey',
  'api_version',
  'api_type',
  'custom_llm_provider',
  'extra_headers',
  'headers',
  'url',
  'endpoint',
  'host',
  'proxy',
  'organization',
  'deployment_id',
  'aws_access_key_id',
  'aws_secret_access_key',
  'vertex_credentials',
]);

const knownFields = new Set([
  'model',
  'messages',
  'stream',
  'stream_options',
  'temperature',
  'max_tokens',
  'max_completion_tokens',
  'top_p',
  'top_k',
  'stop',
  'seed',
  'frequency_penalty',
  'presence_penalty',
  'user',
  'metadata',
  'n',
  'response_format',
]);

const roles = new Set(['system', 'developer', 'user', 'assistant']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function numberIn(body: Record<string, unknown>, field: string, min: number, max: number, integer = false, exclusiveMin = false): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RequestError(400, `${field}: must be a number`, field);
  if (integer && !Number.isInteger(v)) throw new RequestError(400, `${field}: must be an integer`, field);
  if (exclusiveMin ? v <= min : v < min) throw new RequestError(400, `${field}: must be ${exclusiveMin ? '>' : '>='} ${min}`, field);
  if (v > max) throw new RequestError(400, `${field}: must be <= ${max}`, field);
  return v;
}

function messageContent(content: unknown, at: string): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    let text = '';
    content.forEach((part, j) => {
      if (!isObject(part)) throw new RequestError(400, `${at}[${j}]: must be an object`, `${at}[${j}]`);
      if (part.type !== 'text') throw new RequestError(400, `${at}[${j}].type: only "text" parts are supported by the gateway, got ${JSON.stringify(part.type)}`, `${at}[${j}].type`);
      if (typeof part.text !== 'string') throw new RequestError(400, `${at}[${j}].text: must be a string`, `${at}[${j}].text`);
      text += part.text;
    });
    return text;
  }
  throw new RequestError(400, `${at}: must be a string or an array of text parts`, at);
}

export function parseChatRequest(body: unknown): ChatRequest {
  if (!isObject(body)) throw new RequestError(400, 'the request body must be a JSON object');
  for (const key in body) {
    if (knownFields.has(key)) continue;
    if (upstreamFields.has(key)) {
      throw new RequestError(400, `${key}: cannot be set by a caller: the upstream URL and its credentials come only from the gateway's configuration`, key, 'upstream_override_forbidden');
    }
    throw new RequestError(400, `${key}: unknown field`, key, 'unknown_parameter');
  }
  const model = body.model;
  if (typeof model !== 'string' || model.length === 0) throw new RequestError(400, 'model: must be the id of a use case (e.g. "npc_dialogue")', 'model');
  const rawMessages = body.messages;
  if (!Array.isArray(rawMessages) || rawMessages.length === 0) throw new RequestError(400, 'messages: must be a non-empty array', 'messages');
  const messages: ChatMessage[] = new Array(rawMessages.length);
  for (let i = 0; i < rawMessages.length; i++) {
    const m = rawMessages[i];
    if (!isObject(m)) throw new RequestError(400, `messages[${i}]: must be an object`, `messages[${i}]`);
    for (const key in m) {
      if (key !== 'role' && key !== 'content' && key !== 'name') throw new RequestError(400, `messages[${i}].${key}: unknown field (tool calls are not supported by the gateway)`, `messages[${i}].${key}`);
    }
    if (typeof m.role !== 'string' || !roles.has(m.role)) throw new RequestError(400, `messages[${i}].role: must be one of "system", "developer", "user", "assistant"`, `messages[${i}].role`);
    const role = m.role === 'developer' ? 'system' : (m.role as ChatMessage['role']);
    messages[i] = { role, content: messageContent(m.content, `messages[${i}].content`) };
  }
  const stream = body.stream;
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') throw new RequestError(400, 'stream: must be a boolean', 'stream');
  let includeUsage = false;
  if (body.stream_options !== undefined && body.stream_options !== null) {
    const so = body.stream_options;
    if (!isObject(so)) throw new RequestError(400, 'stream_options: must be an object', 'stream_options');
    for (const key in so) if (key !== 'include_usage') throw new RequestError(400, `stream_options.${key}: unknown field`, `stream_options.${key}`);
    if (so.include_usage !== undefined && typeof so.include_usage !== 'boolean') throw new RequestError(400, 'stream_options.include_usage: must be a boolean', 'stream_options.include_usage');
    includeUsage = so.include_usage === true;
  }
  if (body.n !== undefined && body.n !== null && body.n !== 1) throw new RequestError(400, 'n: only 1 is supported', 'n');
  const user = body.user;
  if (user !== undefined && user !== null && (typeof user !== 'string' || user.length > 512)) throw new RequestError(400, 'user: must be a string of at most 512 characters', 'user');
  let metadata: Record<string, string> | undefined;
  if (body.metadata !== undefined && body.metadata !== null) {
    if (!isObject(body.metadata)) throw new RequestError(400, 'metadata: must be an object of strings', 'metadata');
    metadata = {};
    let count = 0;
    for (const key in body.metadata) {
      const v = body.metadata[key];
      if (++count > 16) throw new RequestError(400, 'metadata: at most 16 keys', 'metadata');
      if (key.length > 64) throw new RequestError(400, `metadata.${key.slice(0, 64)}…: keys are at most 64 characters`, 'metadata');
      if (typeof v !== 'string' || v.length > 512) throw new RequestError(400, `metadata.${key}: must be a string of at most 512 characters`, `metadata.${key}`);
      metadata[key] = v;
    }
  }
  if (body.response_format !== undefined && body.response_format !== null && !isObject(body.response_format)) throw new RequestError(400, 'response_format: must be an object', 'response_format');

  const overrides: ChatRequest['overrides'] = {};
  const temperature = numberIn(body, 'temperature', 0, 2);
  if (temperature !== undefined) overrides.temperature = temperature;
  if (body.max_tokens !== undefined && body.max_tokens !== null && body.max_completion_tokens !== undefined && body.max_completion_tokens !== null) {
    throw new RequestError(400, 'max_tokens: set either max_tokens or max_completion_tokens, not both', 'max_tokens');
  }
  const maxTokens = numberIn(body, 'max_tokens', 1, 1_000_000, true) ?? numberIn(body, 'max_completion_tokens', 1, 1_000_000, true);
  if (maxTokens !== undefined) overrides.maxTokens = maxTokens;
  const topP = numberIn(body, 'top_p', 0, 1, false, true);
  if (topP !== undefined) overrides.topP = topP;
  const topK = numberIn(body, 'top_k', 1, 1_000_000, true);
  if (topK !== undefined) overrides.topK = topK;
  const seed = numberIn(body, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true);
  if (seed !== undefined) overrides.seed = seed;
  const frequencyPenalty = numberIn(body, 'frequency_penalty', -2, 2);
  if (frequencyPenalty !== undefined) overrides.frequencyPenalty = frequencyPenalty;
  const presencePenalty = numberIn(body, 'presence_penalty', -2, 2);
  if (presencePenalty !== undefined) overrides.presencePenalty = presencePenalty;
  if (body.stop !== undefined && body.stop !== null) {
    const stop = typeof body.stop === 'string' ? [body.stop] : body.stop;
    if (!Array.isArray(stop) || stop.length > 4 || stop.some((s) => typeof s !== 'string' || s.length === 0)) {
      throw new RequestError(400, 'stop: must be a non-empty string or an array of at most 4 non-empty strings', 'stop');
    }
    overrides.stop = stop;
  }
  return {
    useCaseId: model,
    messages,
    stream: stream === true,
    includeUsage,
    user: typeof user === 'string' ? user : undefined,
    metadata,
    responseFormat: body.response_format ?? undefined,
    overrides,
  };
}

/** The system prompt of the use case, with `{{variables}}` filled from the request's metadata. */
export function renderSystemPrompt(policy: UseCasePolicy, metadata: Record<string, string> | undefined): string {
  let out = '';
  for (const part of policy.systemPrompt) {
    if ('text' in part) out += part.text;
    else {
      const value = metadata?.[part.variable];
      if (value === undefined) {
        throw new RequestError(400, `metadata.${part.variable}: required by the use case's system prompt template (variables: ${policy.variables.join(', ')})`, `metadata.${part.variable}`);
      }
      out += value;
    }
  }
  return out;
}

export interface AppliedPolicy {
  /** With `model` when applyPolicy was told the served model: the provider is then handed this object itself, not a copy. */
  params: Omit<ChatParams, 'model'> & { model?: string };
  /** Parameters the caller set that the policy pins: the policy's value was used (header x-mms-pinned-params). */
  pinned: string[];
  systemPrompt: string;
}

const wireName: Record<OverridableParam, string> = {
  temperature: 'temperature',
  maxTokens: 'max_tokens',
  topP: 'top_p',
  topK: 'top_k',
  stop: 'stop',
  seed: 'seed',
  frequencyPenalty: 'frequency_penalty',
  presencePenalty: 'presence_penalty',
};

/**
 * The use case's config applied to a request: its system prompt first, then the caller's messages;
 * its sampling parameters, except those its `callerMayOverride` lets the caller set. With
 * `upstreamModel`, the params are those of a call to that model (ChatParams).
 */
export function applyPolicy(policy: UseCasePolicy, request: ChatRequest, upstreamModel?: string): AppliedPolicy {
  const systemPrompt = renderSystemPrompt(policy, request.metadata);
  const params: AppliedPolicy['params'] = {
    messages: [{ role: 'system', content: systemPrompt }, ...request.messages],
    temperature: policy.temperature,
    maxTokens: policy.maxTokens,
  };
  if (upstreamModel !== undefined) params.model = upstreamModel;
  if (policy.topP !== undefined) params.topP = policy.topP;
  if (policy.topK !== undefined) params.topK = policy.topK;
  if (policy.stop !== undefined) params.stop = policy.stop;
  if (policy.seed !== undefined) params.seed = policy.seed;
  if (policy.frequencyPenalty !== undefined) params.frequencyPenalty = policy.frequencyPenalty;
  if (policy.presencePenalty !== undefined) params.presencePenalty = policy.presencePenalty;
  if (request.responseFormat !== undefined) params.responseFormat = request.responseFormat;
  const pinned: string[] = [];
  for (const key in request.overrides) {
    const name = key as OverridableParam;
    if (policy.callerMayOverride.has(name)) (params as Record<string, unknown>)[name] = request.overrides[name];
    else pinned.push(wireName[name]);
  }
  return { params, pinned, systemPrompt };
}
