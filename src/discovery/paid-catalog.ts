import { ApiError, GoogleGenAI } from '@google/genai';
import type { Prisma, PrismaClient } from '@prisma/client';
import { z } from 'zod';
import type { MmsConfig, ProviderConfig } from '../config/schema';
import { registerSecret, redactSecrets } from '../logging/redact';
import { errorBodyMessage, parseRetryAfter } from '../providers/errors';
import { joinPath, parseAnthropicModelList, parseGeminiModelList, parseOpenAIModelList, parseOpenRouterModelList, ModelListError } from '../providers/model-lists';
import type { ProviderModelInfo } from '../providers/types';

/**
 * The paid-model catalog (issue 14): one scan reads the model lists of every configured
 * OpenAI, Anthropic, Google and OpenRouter provider, keeps each record it can use and says why it
 * rejects the others, fills the prices a provider's own list lacks (the config's price table, then
 * OpenRouter's listing of the same model), and is stored in the registry diffed against the last scan.
 * Ranking per use case is built on top of this catalog later.
 */

export const paidKinds = ['openai', 'anthropic', 'google', 'openrouter'] as const;
export type PaidKind = (typeof paidKinds)[number];

/** true / false when a source says so; null when no source knows. */
export interface Capabilities {
  tools: boolean | null;
  jsonMode: boolean | null;
  vision: boolean | null;
  reasoning: boolean | null;
  /** Where the flags came from: "provider" or "openrouter:<id>"; null when unknown. */
  source: string | null;
}

export interface CatalogEntry {
  /** The config's provider id. */
  provider: string;
  kind: PaidKind;
  upstreamId: string;
  displayName: string | null;
  contextLength: number | null;
  maxOutputTokens: number | null;
  /** USD per million tokens. */
  inputPerMTok: number | null;
  outputPerMTok: number | null;
  /** "provider" (its own list), "config:providers.<p>.prices" or "openrouter:<id>"; null when no source has a price. */
  priceSource: string | null;
  capabilities: Capabilities;
  upstreamCreatedAt: Date | null;
  shutdownAt: Date | null;
  shutdownSource: string | null;
}

export interface Rejection {
  /** Position of the record in the provider's list (across pages). */
  index: number;
  id?: string;
  reason: string;
}

export interface ProviderScan {
  provider: string;
  kind: PaidKind;
  status: 'scanned' | 'skipped' | 'failed';
  message?: string;
  records: number;
  parsed: number;
  rejected: Rejection[];
}

export interface CatalogScan {
  startedAt: Date;
  providers: ProviderScan[];
  entries: CatalogEntry[];
}

export interface PaidCatalogDeps {
  config: Pick<MmsConfig, 'providers'>;
  /** Where the keys named by apiKeyEnv are read (process.env in production). */
  env: Record<string, string | undefined>;
  /** Waits between rate-limited attempts (injected so tests see the waits without spending them). */
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
  /** Attempts per request when the provider answers 429/503/529 (default 5). */
  maxAttempts?: number;
  /** A retry-after longer than this fails the provider instead of waiting (default 60 s). */
  maxRetryWaitMs?: number;
}

class ScanError extends Error {
  override name = 'ScanError';
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A provider's key refused: the message names the provider and the environment variable, never the key. */
function authMessage(provider: string, config: ProviderConfig, status: number, detail: string) {
  return `provider "${provider}" refused the API key in ${config.apiKeyEnv ?? '(no apiKeyEnv)'} (HTTP ${status}): ${detail}; fix that variable, this is not retried`;
}

/**
 * fetch that honours rate limits: a 429, 503 or 529 is retried after the provider's retry-after
 * (retry-after-ms, seconds or a date; 1 s doubling without one), up to maxAttempts; any other answer
 * is returned as is. Used directly and as the fetch of @google/genai, so every provider waits alike.
 */
export function rateLimitedFetch(deps: PaidCatalogDeps, label: string): typeof fetch {
  const sleep = deps.sleep ?? defaultSleep;
  const maxAttempts = deps.maxAttempts ?? 5;
  const maxWait = deps.maxRetryWaitMs ?? 60_000;
  return async (input, init) => {
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(input, init);
      if (![429, 503, 529].includes(res.status) || attempt >= maxAttempts) return res;
      const wait = parseRetryAfter((n) => res.headers.get(n)) ?? 1000 * 2 ** (attempt - 1);
      if (wait > maxWait) throw new ScanError(`${label} is rate limited and asks to wait ${Math.ceil(wait / 1000)} s (more than ${maxWait / 1000} s): scan it later`);
      await res.body?.cancel();
      await sleep(wait);
    }
  };
}

async function getJson(deps: PaidCatalogDeps, provider: string, config: ProviderConfig, url: URL, headers: Record<string, string>, key: string | undefined): Promise<unknown> {
  const label = `provider "${provider}"`;
  const res = await rateLimitedFetch(deps, label)(url, { headers: { accept: 'application/json', ...headers }, signal: AbortSignal.timeout(config.timeoutSeconds * 1000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    if (res.ok) throw new ScanError(`${label} answered its model list with a body that is not JSON`);
  }
  const detail = () => scrub(errorBodyMessage(body, `HTTP ${res.status}`), key);
  if (res.status === 401 || res.status === 403) throw new ScanError(authMessage(provider, config, res.status, detail()));
  if (!res.ok) throw new ScanError(`${label} answered ${res.status} to ${url.pathname}: ${detail()}`);
  return body;
}

/** Providers echo the refused key back ("Incorrect API key provided: sk-…"): it never leaves here. */
const scrub = (text: string, key: string | undefined) => redactSecrets(key ? text.split(key).join('***') : text);

const MAX_PAGES = 100;

/** The raw records of a provider's list, every page, in the provider's order. */
async function fetchRecords(deps: PaidCatalogDeps, provider: string, config: ProviderConfig & { kind: PaidKind }, key: string | undefined): Promise<unknown[]> {
  switch (config.kind) {
    case 'openai': {
      const body = await getJson(deps, provider, config, joinPath(config.baseUrl, '/models'), { authorization: `Bearer ${key}` }, key);
      return recordsOf(body, 'data', provider);
    }
    case 'openrouter': {
      // The listing is public; a key, when set, is sent so account-specific models show too.
      const body = await getJson(deps, provider, config, joinPath(config.baseUrl, '/models'), key ? { authorization: `Bearer ${key}` } : {}, key);
      return recordsOf(body, 'data', provider);
    }
    case 'anthropic': {
      const out: unknown[] = [];
      let after: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const url = joinPath(config.baseUrl.replace(/\/v1\/?$/, ''), '/v1/models');
        url.searchParams.set('limit', '1000');
        if (after) url.searchParams.set('after_id', after);
        const body = await getJson(deps, provider, config, url, { 'anthropic-version': '2023-06-01', 'x-api-key': key ?? '' }, key);
        out.push(...recordsOf(body, 'data', provider));
        const { has_more: hasMore, last_id: lastId } = body as { has_more?: unknown; last_id?: unknown };
        if (hasMore !== true) return out;
        if (typeof lastId !== 'string' || !lastId) throw new ScanError(`provider "${provider}" said has_more without a last_id to continue from`);
        after = lastId;
      }
      throw new ScanError(`provider "${provider}" listed more than ${MAX_PAGES} pages of models`);
    }
    case 'google': {
      const ai = new GoogleGenAI({
        apiKey: key ?? '',
        // No SDK retries: rateLimitedFetch honours retry-after itself.
        httpOptions: { baseUrl: config.baseUrl.replace(/\/v1beta\/?$/, ''), timeout: config.timeoutSeconds * 1000, fetch: rateLimitedFetch(deps, `provider "${provider}"`) },
      });
      const out: unknown[] = [];
      try {
        const pager = await ai.models.list({ config: { pageSize: 1000 } });
        for await (const model of pager) {
          // The SDK renames supportedGenerationMethods; the parser reads the wire's name.
          const m = model as Record<string, unknown>;
          out.push({ ...m, supportedGenerationMethods: m.supportedGenerationMethods ?? m.supportedActions });
          if (out.length > MAX_PAGES * 1000) throw new ScanError(`provider "${provider}" listed more than ${MAX_PAGES * 1000} models`);
        }
      } catch (err) {
        if (err instanceof ApiError) {
          const detail = scrub(err.message, key).slice(0, 500);
          if (err.status === 401 || err.status === 403) throw new ScanError(authMessage(provider, config, err.status, detail));
          throw new ScanError(`provider "${provider}" answered ${err.status} to models.list: ${detail}`);
        }
        throw err;
      }
      return out;
    }
  }
}

function recordsOf(body: unknown, field: string, provider: string): unknown[] {
  const list = (body as Record<string, unknown> | null)?.[field];
  if (!Array.isArray(list)) throw new ScanError(`provider "${provider}" answered a model list without a "${field}" array`);
  return list;
}

/** OpenAI lists every model of the account; these families are not text chat models. */
const openAINonChat: Array<[RegExp, string]> = [
  [/embedding/, 'an embedding model'],
  [/^(whisper|tts)|transcribe|-tts|audio|realtime/, 'an audio or realtime model (not the chat completions API)'],
  [/^(dall-e|gpt-image|sora)|image/, 'an image or video model'],
  [/moderation/, 'a moderation model'],
  [/^(babbage|davinci)|instruct/, 'a legacy completions model'],
  [/search|computer-use|codex-mini/, 'a tool model of the Responses API'],
];

/** The wire's extras the shared parsers do not keep: OpenRouter's modalities, expiration and reasoning. */
const openRouterExtras = z.looseObject({
  canonical_slug: z.string().nullish(),
  expiration_date: z.string().nullish(),
  architecture: z.looseObject({ input_modalities: z.array(z.string()).nullish(), output_modalities: z.array(z.string()).nullish() }).nullish(),
  pricing: z.looseObject({ prompt: z.union([z.string(), z.number()]).nullish() }).nullish(),
});

interface Parsed {
  info: ProviderModelInfo;
  capabilities?: Capabilities;
  shutdownAt?: Date;
  canonicalSlug?: string;
}

/** One record → a model, or the reason it is not a usable chat model. */
function parseRecord(kind: PaidKind, record: unknown): Parsed | { reason: string } {
  try {
    switch (kind) {
      case 'openai': {
        const info = parseOpenAIModelList({ data: [record] })[0]!;
        const nonChat = openAINonChat.find(([re]) => re.test(info.id));
        return nonChat ? { reason: `${nonChat[1]}` } : { info };
      }
      case 'anthropic':
        return { info: parseAnthropicModelList({ data: [record] }).models[0]! };
      case 'google': {
        const info = parseGeminiModelList({ models: [record] }).models[0]!;
        const methods = (info.details?.supportedGenerationMethods as string[] | undefined) ?? [];
        if (!methods.includes('generateContent')) return { reason: `does not support generateContent (methods: ${methods.join(', ') || 'none'})` };
        const thinking = info.details?.thinking === true;
        return { info, capabilities: { tools: null, jsonMode: null, vision: null, reasoning: thinking, source: 'provider' } };
      }
      case 'openrouter': {
        const info = parseOpenRouterModelList({ data: [record] })[0]!;
        const extras = openRouterExtras.parse(record);
        if (extras.pricing?.prompt !== undefined && Number(extras.pricing.prompt) < 0) return { reason: 'variable price: a router, not a model' };
        const outputs = extras.architecture?.output_modalities;
        if (outputs && !outputs.includes('text')) return { reason: `does not output text (outputs: ${outputs.join(', ')})` };
        const params = (info.details?.supportedParameters as string[] | undefined) ?? [];
        const inputs = extras.architecture?.input_modalities;
        const shutdown = extras.expiration_date ? new Date(`${extras.expiration_date.slice(0, 10)}T00:00:00Z`) : undefined;
        if (shutdown && Number.isNaN(shutdown.getTime())) return { reason: `expiration_date "${extras.expiration_date}" is not a date` };
        return {
          info,
          shutdownAt: shutdown,
          canonicalSlug: extras.canonical_slug ?? undefined,
          capabilities: {
            tools: params.includes('tools'),
            jsonMode: params.includes('response_format') || params.includes('structured_outputs'),
            vision: inputs ? inputs.includes('image') : null,
            reasoning: params.includes('reasoning') || params.includes('include_reasoning'),
            source: 'provider',
          },
        };
      }
    }
  } catch (err) {
    if (err instanceof ModelListError || err instanceof z.ZodError) return { reason: err.message.replace(/^[A-Za-z]+ model list: /, '') };
    throw err;
  }
}

/** OpenRouter ids of a provider's model, most exact first: `anthropic/claude-3-5-sonnet-20241022` → `anthropic/claude-3.5-sonnet`. */
export function openRouterIdsFor(kind: PaidKind, upstreamId: string): string[] {
  const vendor = { openai: 'openai', anthropic: 'anthropic', google: 'google', openrouter: '' }[kind];
  if (!vendor) return [];
  const undated = upstreamId.replace(/-\d{8}$/, '').replace(/-\d{3}$/, '');
  const dotted = undated.replace(/(\d)-(\d)(?=$|-)/g, '$1.$2');
  return [...new Set([upstreamId, undated, dotted].map((id) => `${vendor}/${id}`))];
}

const unknownCapabilities: Capabilities = { tools: null, jsonMode: null, vision: null, reasoning: null, source: null };

/** Reads every paid provider of the config (or only `only`), one catalog. Never throws for one provider: its status says what happened. */
export async function scanPaidCatalog(deps: PaidCatalogDeps, only?: string[]): Promise<CatalogScan> {
  const startedAt = (deps.now ?? (() => new Date()))();
  const configured = Object.entries(deps.config.providers).filter((e): e is [string, ProviderConfig & { kind: PaidKind }] => (paidKinds as readonly string[]).includes(e[1].kind));
  if (only) {
    const unknown = only.filter((p) => !configured.some(([id]) => id === p));
    if (unknown.length > 0) throw new Error(`unknown paid provider ${unknown.map((p) => `"${p}"`).join(', ')} (paid providers in the config: ${configured.map(([id]) => id).join(', ') || 'none'})`);
  }
  const providers: ProviderScan[] = [];
  const parsed: Array<{ provider: string; kind: PaidKind; config: ProviderConfig; model: Parsed }> = [];
  // OpenRouter is read even when not asked for: its listing is where missing prices come from.
  const toRead = configured.filter(([id, c]) => !only || only.includes(id) || c.kind === 'openrouter');
  for (const [provider, config] of toRead) {
    const key = config.apiKeyEnv ? deps.env[config.apiKeyEnv] || undefined : undefined;
    registerSecret(key);
    const scan: ProviderScan = { provider, kind: config.kind, status: 'scanned', records: 0, parsed: 0, rejected: [] };
    providers.push(scan);
    if (!key && config.kind !== 'openrouter') {
      scan.status = 'skipped';
      scan.message = config.apiKeyEnv ? `skipped: ${config.apiKeyEnv} is not set` : `skipped: provider "${provider}" has no apiKeyEnv in the config`;
      continue;
    }
    let records: unknown[];
    try {
      records = await fetchRecords(deps, provider, config, key);
    } catch (err) {
      scan.status = 'failed';
      scan.message = scrub(err instanceof ScanError ? err.message : `provider "${provider}": ${err instanceof Error ? err.message : String(err)}`, key);
      continue;
    }
    scan.records = records.length;
    const seen = new Set<string>();
    records.forEach((record, index) => {
      const result = parseRecord(config.kind, record);
      const id = typeof (record as { id?: unknown })?.id === 'string' ? (record as { id: string }).id : typeof (record as { name?: unknown })?.name === 'string' ? (record as { name: string }).name : undefined;
      if ('reason' in result) return scan.rejected.push({ index, ...(id ? { id } : {}), reason: result.reason });
      if (seen.has(result.info.id)) return scan.rejected.push({ index, id: result.info.id, reason: 'listed twice: the first listing is kept' });
      seen.add(result.info.id);
      parsed.push({ provider, kind: config.kind, config, model: result });
    });
    scan.parsed = seen.size;
  }

  const openRouter = new Map<string, { id: string; model: Parsed }>();
  for (const p of parsed) {
    if (p.kind !== 'openrouter') continue;
    openRouter.set(p.model.info.id, { id: p.model.info.id, model: p.model });
    if (p.model.canonicalSlug && !openRouter.has(p.model.canonicalSlug)) openRouter.set(p.model.canonicalSlug, { id: p.model.info.id, model: p.model });
  }
  const wanted = new Set(only ?? configured.map(([id]) => id));
  const entries = parsed
    .filter((p) => wanted.has(p.provider))
    .map(({ provider, kind, config, model }): CatalogEntry => {
      const { info } = model;
      const listing = kind === 'openrouter' ? undefined : openRouterIdsFor(kind, info.id).map((id) => openRouter.get(id)).find(Boolean);
      const configPrice = config.prices[info.id];
      let price: { input: number | null; output: number | null; source: string | null } = { input: null, output: null, source: null };
      if (info.inputPerMTok !== undefined && info.outputPerMTok !== undefined) price = { input: info.inputPerMTok, output: info.outputPerMTok, source: 'provider' };
      else if (configPrice) price = { input: configPrice.inputPerMTok, output: configPrice.outputPerMTok, source: `config:providers.${provider}.prices` };
      else if (listing?.model.info.inputPerMTok !== undefined && listing.model.info.outputPerMTok !== undefined)
        price = { input: listing.model.info.inputPerMTok, output: listing.model.info.outputPerMTok, source: `openrouter:${listing.id}` };
      const ownCapabilities = model.capabilities;
      const capabilities = kind === 'openrouter' ? ownCapabilities! : mergeCapabilities(ownCapabilities, listing);
      const shutdown = model.shutdownAt ? { at: model.shutdownAt, source: 'provider' } : listing?.model.shutdownAt ? { at: listing.model.shutdownAt, source: `openrouter:${listing.id}` } : undefined;
      return {
        provider,
        kind,
        upstreamId: info.id,
        displayName: info.displayName ?? null,
        contextLength: info.contextLength ?? listing?.model.info.contextLength ?? null,
        maxOutputTokens: info.maxOutputTokens ?? listing?.model.info.maxOutputTokens ?? null,
        inputPerMTok: price.input,
        outputPerMTok: price.output,
        priceSource: price.source,
        capabilities,
        upstreamCreatedAt: info.createdAt && !Number.isNaN(info.createdAt.getTime()) ? info.createdAt : null,
        shutdownAt: shutdown?.at ?? null,
        shutdownSource: shutdown?.source ?? null,
      };
    });
  return { startedAt, providers: providers.filter((p) => wanted.has(p.provider)), entries };
}

/** The provider's own flags win; OpenRouter's listing of the same model fills what the provider does not say. */
function mergeCapabilities(own: Capabilities | undefined, listing: { id: string; model: Parsed } | undefined): Capabilities {
  const other = listing?.model.capabilities;
  if (!other) return own ?? unknownCapabilities;
  const base = own ?? unknownCapabilities;
  const pick = (k: 'tools' | 'jsonMode' | 'vision' | 'reasoning') => base[k] ?? other[k];
  const source = own ? `provider+openrouter:${listing.id}` : `openrouter:${listing.id}`;
  return { tools: pick('tools'), jsonMode: pick('jsonMode'), vision: pick('vision'), reasoning: pick('reasoning'), source };
}

// ---- the registry: one stored catalog per scan, diffed against the last scan that read each provider

export const changeKinds = ['new', 'price_changed', 'context_changed', 'gone', 'retirement_announced'] as const;
export type ChangeKind = (typeof changeKinds)[number];

export interface CatalogChange {
  provider: string;
  upstreamId: string;
  change: ChangeKind;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

type Comparable = Pick<CatalogEntry, 'upstreamId' | 'inputPerMTok' | 'outputPerMTok' | 'priceSource' | 'contextLength' | 'shutdownAt'>;

/** What changed for one provider between its previous catalog and this one. */
export function diffCatalog(provider: string, previous: Comparable[], current: Comparable[]): CatalogChange[] {
  const before = new Map(previous.map((e) => [e.upstreamId, e]));
  const after = new Map(current.map((e) => [e.upstreamId, e]));
  const changes: CatalogChange[] = [];
  const priceOf = (e: Comparable) => ({ inputPerMTok: e.inputPerMTok, outputPerMTok: e.outputPerMTok, priceSource: e.priceSource });
  for (const [id, now] of after) {
    const was = before.get(id);
    if (!was) {
      changes.push({ provider, upstreamId: id, change: 'new', before: null, after: { ...priceOf(now), contextLength: now.contextLength } });
      continue;
    }
    if (was.inputPerMTok !== now.inputPerMTok || was.outputPerMTok !== now.outputPerMTok) changes.push({ provider, upstreamId: id, change: 'price_changed', before: priceOf(was), after: priceOf(now) });
    if (was.contextLength !== now.contextLength) changes.push({ provider, upstreamId: id, change: 'context_changed', before: { contextLength: was.contextLength }, after: { contextLength: now.contextLength } });
    if (now.shutdownAt && now.shutdownAt.getTime() !== was.shutdownAt?.getTime())
      changes.push({ provider, upstreamId: id, change: 'retirement_announced', before: { shutdownAt: was.shutdownAt?.toISOString() ?? null }, after: { shutdownAt: now.shutdownAt.toISOString() } });
  }
  for (const [id, was] of before) if (!after.has(id)) changes.push({ provider, upstreamId: id, change: 'gone', before: { ...priceOf(was), contextLength: was.contextLength }, after: null });
  return changes;
}

export interface StoredScan {
  scanId: string;
  providers: ProviderScan[];
  entries: number;
  changes: CatalogChange[];
  /** Providers scanned for the first time: their catalog is the baseline, with no changes. */
  baseline: string[];
}

/**
 * Stores a scan and its changes in one transaction. A provider that was skipped or failed this time is
 * not diffed (its models are not "gone"); a provider is diffed against the last scan that read it.
 */
export async function storeCatalogScan(prisma: PrismaClient, scan: CatalogScan): Promise<StoredScan> {
  return prisma.$transaction(async (tx) => {
    const changes: CatalogChange[] = [];
    const baseline: string[] = [];
    const earlier = await tx.paidCatalogScan.findMany({ where: { finishedAt: { not: null } }, orderBy: { startedAt: 'desc' }, take: 50, select: { id: true, providers: true } });
    for (const p of scan.providers.filter((s) => s.status === 'scanned')) {
      const last = earlier.find((s) => (s.providers as unknown as ProviderScan[]).some((q) => q.provider === p.provider && q.status === 'scanned'));
      if (!last) {
        baseline.push(p.provider);
        continue;
      }
      const previous = await tx.paidCatalogEntry.findMany({ where: { scanId: last.id, provider: p.provider } });
      changes.push(...diffCatalog(p.provider, previous, scan.entries.filter((e) => e.provider === p.provider)));
    }
    const created = await tx.paidCatalogScan.create({ data: { startedAt: scan.startedAt, providers: scan.providers as unknown as Prisma.InputJsonValue } });
    await tx.paidCatalogEntry.createMany({
      data: scan.entries.map((e) => ({ ...e, scanId: created.id, capabilities: e.capabilities as unknown as Prisma.InputJsonValue })),
    });
    await tx.paidCatalogChange.createMany({
      data: changes.map((c) => ({ scanId: created.id, provider: c.provider, upstreamId: c.upstreamId, change: c.change, before: (c.before ?? undefined) as Prisma.InputJsonValue | undefined, after: (c.after ?? undefined) as Prisma.InputJsonValue | undefined })),
    });
    await tx.paidCatalogScan.update({ where: { id: created.id }, data: { finishedAt: new Date() } });
    return { scanId: created.id, providers: scan.providers, entries: scan.entries.length, changes, baseline };
  }, { timeout: 60_000 });
}

/** The catalog of the latest stored scan, or of `scanId` (optionally one provider), with that scan's changes. */
export async function latestCatalog(prisma: PrismaClient, options: { provider?: string; scanId?: string } = {}) {
  const scan = await prisma.paidCatalogScan.findFirst({ where: { finishedAt: { not: null }, ...(options.scanId ? { id: options.scanId } : {}) }, orderBy: { startedAt: 'desc' } });
  if (!scan) return undefined;
  const where = { scanId: scan.id, ...(options.provider ? { provider: options.provider } : {}) };
  const [entries, changes] = await Promise.all([
    prisma.paidCatalogEntry.findMany({ where, orderBy: [{ provider: 'asc' }, { upstreamId: 'asc' }] }),
    prisma.paidCatalogChange.findMany({ where, orderBy: [{ provider: 'asc' }, { upstreamId: 'asc' }, { change: 'asc' }] }),
  ]);
  return { scanId: scan.id, startedAt: scan.startedAt, providers: scan.providers as unknown as ProviderScan[], entries, changes };
}
