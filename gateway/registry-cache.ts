import type { PrismaClient } from '@prisma/client';
import type { Logger } from 'pino';
import type { MmsConfig } from '../src/config/schema';
import { allocationEntriesSchema, type AllocationEntry } from '../src/registry/allocations';
import { modelParamsOf, type ModelParams } from '../src/registry/models';
import { parseGuardrailsOverride, type GuardrailsOverride } from '../src/guardrails/policy';
import { findKeyRecord, hashApiKey, isWellFormedApiKey, recordsOfRow, type ApiKeyRecord } from '../src/auth/api-keys';
import { safeErrorMessage } from '../src/logging/redact';
import type { ChatProvider } from '../src/providers/types';
import { buildBucketTable } from '../src/routing/buckets';
import type { GatewayMetrics } from './metrics';
import { readFingerprint } from './registry-poller';

/** A model as the hot path calls it: its provider client, upstream name, price and own parameters. */
export interface ResolvedModel {
  id: string;
  name: string;
  providerId: string | null;
  upstreamModel: string;
  provider: ChatProvider | undefined;
  inputPerMTok: number | undefined;
  outputPerMTok: number | undefined;
  /** The model's own sampling parameters (`mms model register --param`), applied over the use case's. */
  params?: ModelParams;
}

export type TemplatePart = { text: string } | { variable: string };

export interface UseCasePolicy {
  temperature: number;
  maxTokens: number;
  systemPrompt: TemplatePart[];
  variables: string[];
  topP?: number;
  topK?: number;
  stop?: string[];
  seed?: number;
  frequencyPenalty?: number;
  presencePenalty?: number;
  callerMayOverride: ReadonlySet<string>;
}

export interface UseCaseRoute {
  useCaseId: string;
  version: number;
  entries: AllocationEntry[];
  served: Array<{ model: ResolvedModel; role: 'stable' | 'canary' }>;
  table: Uint16Array;
  shadows: Array<{ model: ResolvedModel; weight: number }>;
  policy: UseCasePolicy;
  fallback: ResolvedModel | undefined;
  /** The guardrails policy an update_guardrails decision put in force over policies.guardrails (tier 1 applies it). */
  guardrails?: GuardrailsOverride;
}

/** `You are {{npc_name}}.` → parts; variables are [a-zA-Z_][a-zA-Z0-9_.-]*. */
export function compileTemplate(template: string): { parts: TemplatePart[]; variables: string[] } {
  const parts: TemplatePart[] = [];
  const variables = new Set<string>();
  const re = /\{\{\s*([a-zA-Z_][a-zA-Z0-9_.-]*)\s*\}\}/g;
  let last = 0;
  for (let m = re.exec(template); m; m = re.exec(template)) {
    if (m.index > last) parts.push({ text: template.slice(last, m.index) });
    parts.push({ variable: m[1]! });
    variables.add(m[1]!);
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push({ text: template.slice(last) });
  return { parts, variables: [...variables] };
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export function policyOf(row: { temperature: number; maxTokens: number; systemPromptTemplate: string; samplingParams: unknown }): UseCasePolicy {
  const sampling = (row.samplingParams && typeof row.samplingParams === 'object' ? row.samplingParams : {}) as Record<string, unknown>;
  const template = compileTemplate(row.systemPromptTemplate);
  const stop = Array.isArray(sampling.stop) ? sampling.stop.filter((s): s is string => typeof s === 'string') : undefined;
  return {
    temperature: row.temperature,
    maxTokens: row.maxTokens,
    systemPrompt: template.parts,
    variables: template.variables,
    topP: num(sampling.topP),
    topK: num(sampling.topK),
    stop,
    seed: num(sampling.seed),
    frequencyPenalty: num(sampling.frequencyPenalty),
    presencePenalty: num(sampling.presencePenalty),
    callerMayOverride: new Set(Array.isArray(sampling.callerMayOverride) ? sampling.callerMayOverride.filter((s): s is string => typeof s === 'string') : []),
  };
}

/** The model as this allocation serves it: the entry's parameters (a guardrails adjustment) over the model's own. */
export function withEntryParams(model: ResolvedModel, entry: AllocationEntry): ResolvedModel {
  if (!entry.params || Object.keys(entry.params).length === 0) return model;
  return { ...model, params: { ...model.params, ...entry.params } };
}

export interface RegistryCacheOptions {
  prisma: PrismaClient;
  config: MmsConfig;
  providers: Map<string, ChatProvider>;
  logger: Logger;
  metrics: GatewayMetrics;
  pollMs: number;
  /** A full reload at least this often, even if the fingerprint did not move (ms). */
  fullReloadMs?: number;
  /**
   * Fingerprints come from elsewhere (the log thread polls them off the request thread) through
   * onFingerprint / onPollError; this cache then only runs the periodic full reload itself.
   */
  externalFingerprints?: boolean;
}

/**
 * Everything the hot path needs, in memory: per use case the allocation version it serves (with its
 * bucket table), the generation policy, the models behind each entry with their provider client and
 * price; and the active API keys by hash. A poll every allocationPollMs compares a fingerprint of the
 * registry (latest allocation versions, use-case and model changes, keys) and reloads when it moved,
 * so an allocation change reaches every replica within one poll (250 ms by default), without restart.
 * When the database is unreachable the last loaded state keeps serving.
 */
export class RegistryCache {
  private routes = new Map<string, UseCaseRoute>();
  private keys = new Map<string, ApiKeyRecord>();
  private fingerprint = '';
  private lastFullLoad = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private loading: Promise<void> | undefined;
  private reloadAgain: { fingerprint?: string } | undefined;
  private readonly misses = new Map<string, number>();
  loaded = false;
  databaseReachable = false;
  lastError: string | undefined;

  constructor(private readonly options: RegistryCacheOptions) {}

  route(useCaseId: string): UseCaseRoute | undefined {
    return this.routes.get(useCaseId);
  }

  useCaseIds(): string[] {
    return [...this.routes.keys()].sort();
  }

  /**
   * The key record for a presented key, from memory; undefined if unknown or revoked. Keys are held
   * by their SHA-256 only (a hash costs ~1 µs), so no presented secret is ever kept in memory.
   */
  keyFor(presented: string): ApiKeyRecord | undefined {
    return this.keys.get(hashApiKey(presented));
  }

  /**
   * A key just created may not be loaded yet: ask the database once (misses are remembered for a
   * few seconds, so unknown keys cannot make every request query the database).
   */
  async lookupMissingKey(presented: string): Promise<ApiKeyRecord | undefined> {
    if (!isWellFormedApiKey(presented)) return undefined;
    const hash = hashApiKey(presented);
    const now = Date.now();
    const missedAt = this.misses.get(hash);
    if (missedAt !== undefined && now - missedAt < 5000) return undefined;
    try {
      const record = await findKeyRecord(this.options.prisma, hash, Date.now());
      if (record) {
        this.keys.set(hash, record);
        return record;
      }
    } catch {
      return undefined;
    }
    if (this.misses.size > 10_000) this.misses.clear();
    this.misses.set(hash, now);
    return undefined;
  }

  async start(): Promise<void> {
    await this.reload();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule() {
    if (this.stopped) return;
    const external = this.options.externalFingerprints;
    this.timer = setTimeout(
      () => {
        const next = () => this.schedule();
        if (external) this.reload().catch((err) => this.pollFailed(err)).finally(next);
        else this.poll().finally(next);
      },
      external ? (this.options.fullReloadMs ?? 30_000) : this.options.pollMs,
    );
    this.timer.unref();
  }

  /** The external fingerprint source is gone (the log thread died): poll the registry from here again. */
  pollYourself(): void {
    if (!this.options.externalFingerprints) return;
    this.options.externalFingerprints = false;
    if (this.timer) clearTimeout(this.timer);
    this.schedule();
  }

  /** A fingerprint read elsewhere: reload if it moved. */
  onFingerprint(fingerprint: string): void {
    this.databaseReachable = true;
    this.lastError = undefined;
    if (fingerprint !== this.fingerprint && !this.stopped) this.reload(fingerprint).catch((err) => this.pollFailed(err));
  }

  onPollError(message: string): void {
    this.pollFailed(new Error(message));
  }

  private pollFailed(err: unknown) {
    this.databaseReachable = false;
    const message = safeErrorMessage(err);
    if (message !== this.lastError) this.options.logger.warn({ err: message }, 'registry poll failed: serving the last loaded allocations');
    this.lastError = message;
    this.options.metrics.registryLoads.inc({ result: 'error' });
  }

  private readFingerprint(): Promise<string> {
    return readFingerprint((sql) => this.options.prisma.$queryRawUnsafe<Array<Record<string, string>>>(sql));
  }

  /** Reloads now if the registry changed (tests and the feedback path use it to skip a poll). */
  async poll(): Promise<void> {
    try {
      const fp = await this.readFingerprint();
      this.databaseReachable = true;
      if (fp !== this.fingerprint || Date.now() - this.lastFullLoad > (this.options.fullReloadMs ?? 30_000)) await this.reload(fp);
    } catch (err) {
      this.pollFailed(err);
    }
  }

  async reload(fingerprint?: string): Promise<void> {
    if (this.loading) {
      // A change seen while loading: load once more after this load, so it is never lost.
      this.reloadAgain = { fingerprint };
      return this.loading;
    }
    this.loading = (async () => {
      try {
        await this.load(fingerprint);
      } finally {
        this.loading = undefined;
      }
      const again = this.reloadAgain;
      this.reloadAgain = undefined;
      if (again) await this.reload(again.fingerprint);
    })();
    return this.loading;
  }

  private async load(fingerprint?: string): Promise<void> {
    const { prisma, config, providers, logger, metrics } = this.options;
    // The fingerprint is read before the data: a change landing in between triggers one more reload.
    const fp = fingerprint ?? (await this.readFingerprint());
    const [useCases, allocations, keyRows] = await Promise.all([
      prisma.useCase.findMany(),
      prisma.trafficAllocation.findMany({ distinct: ['useCaseId'], orderBy: [{ useCaseId: 'asc' }, { version: 'desc' }] }),
      prisma.apiKey.findMany({ where: { revokedAt: null } }),
    ]);
    const modelIds = new Set<string>();
    const parsed = new Map<string, { version: number; entries: AllocationEntry[] }>();
    for (const a of allocations) {
      const result = allocationEntriesSchema.safeParse(a.entries);
      if (!result.success) {
        logger.error({ useCase: a.useCaseId, version: a.version }, 'allocation entries are invalid: keeping the previous allocation');
        continue;
      }
      parsed.set(a.useCaseId, { version: a.version, entries: result.data });
      for (const e of result.data) modelIds.add(e.modelId);
    }
    for (const u of useCases) if (u.fallbackModelId) modelIds.add(u.fallbackModelId);
    const modelRows = await prisma.model.findMany({ where: { id: { in: [...modelIds] } } });
    const models = new Map<string, ResolvedModel>();
    for (const m of modelRows) {
      const upstreamModel = m.upstreamModel ?? m.modelName;
      const providerConfig = m.provider ? config.providers[m.provider] : undefined;
      const price = providerConfig?.prices[upstreamModel];
      const params = modelParamsOf(m.configuration);
      models.set(m.id, {
        id: m.id,
        name: m.modelName,
        providerId: m.provider,
        upstreamModel,
        provider: m.provider ? providers.get(m.provider) : undefined,
        inputPerMTok: price?.inputPerMTok,
        outputPerMTok: price?.outputPerMTok,
        // undefined, not {}, keeps the hot path's parameter merge to models that have their own
        params: Object.keys(params).length > 0 ? params : undefined,
      });
    }
    const missingModel = (id: string): ResolvedModel => ({ id, name: `missing-${id}`, providerId: null, upstreamModel: id, provider: undefined, inputPerMTok: undefined, outputPerMTok: undefined });

    const routes = new Map<string, UseCaseRoute>();
    for (const u of useCases) {
      const allocation = parsed.get(u.id);
      if (!allocation) {
        const previous = this.routes.get(u.id);
        if (previous) routes.set(u.id, previous);
        continue;
      }
      let table;
      try {
        table = buildBucketTable(allocation.entries);
      } catch (err) {
        logger.error({ useCase: u.id, version: allocation.version, err: safeErrorMessage(err) }, 'cannot route this allocation: keeping the previous one');
        const previous = this.routes.get(u.id);
        if (previous) routes.set(u.id, previous);
        continue;
      }
      routes.set(u.id, {
        useCaseId: u.id,
        version: allocation.version,
        entries: allocation.entries,
        served: table.served.map((e) => ({ model: withEntryParams(models.get(e.modelId) ?? missingModel(e.modelId), e), role: e.role as 'stable' | 'canary' })),
        table: table.table,
        shadows: table.shadows.map((e) => ({ model: withEntryParams(models.get(e.modelId) ?? missingModel(e.modelId), e), weight: e.weight })),
        policy: policyOf(u),
        fallback: u.fallbackModelId ? models.get(u.fallbackModelId) : undefined,
        guardrails: parseGuardrailsOverride(u.guardrailsOverride),
      });
      metrics.allocationVersion.set({ use_case: u.id }, allocation.version);
    }
    const keys = new Map<string, ApiKeyRecord>();
    const now = Date.now();
    for (const row of keyRows) for (const { hash, record } of recordsOfRow(row, now)) keys.set(hash, record);

    const changed = [...routes.values()].filter((r) => this.routes.get(r.useCaseId)?.version !== r.version);
    this.routes = routes;
    this.keys = keys;
    this.fingerprint = fp;
    this.lastFullLoad = Date.now();
    this.databaseReachable = true;
    this.lastError = undefined;
    metrics.registryLoads.inc({ result: 'ok' });
    if (this.loaded && changed.length > 0) logger.info({ allocations: changed.map((r) => `${r.useCaseId}@v${r.version}`) }, 'serving new allocations');
    this.loaded = true;
  }
}
