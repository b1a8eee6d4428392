/**
 * API keys of the gateway and the management API. A key is `mms_` + 43 random base64url characters,
 * shown once at creation; only its SHA-256 hash and a short prefix (to recognise it in a list) are
 * stored. Scopes say which surface a key opens (`gateway`: chat, models, feedback; `admin`: the
 * management API); use cases say which use cases a gateway key may call (`*` = all).
 */

import crypto from 'node:crypto';
import type { Prisma, PrismaClient } from '@prisma/client';
import { NO_LIMITS, budgetPeriods, budgetWindow, parseKeyLimits, type BudgetPeriod, type KeyLimits } from './limits';

export const API_KEY_PREFIX = 'mms_';
export const apiKeyScopes = ['gateway', 'admin'] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];
export const ALL_USE_CASES = '*';

const KEY_PATTERN = /^mms_[A-Za-z0-9_-]{43}$/;
/** Characters of the key kept in the `key_prefix` column: enough to tell keys apart, useless to an attacker. */
const SHOWN_PREFIX_LENGTH = 12;

/** SHA-256, hex. One-shot `crypto.hash` (Node ≥ 20.12): the gateway hashes the presented key on every call, and a Hash object per call cost about twice as much. */
export const hashApiKey = (key: string) => crypto.hash('sha256', key, 'hex');

export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${crypto.randomBytes(32).toString('base64url')}`;
}

/** The key of an `Authorization: Bearer <key>` header (or a bare `x-api-key`), if any. */
export function presentedKey(headers: { authorization?: string | string[]; 'x-api-key'?: string | string[] }): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m ? m[1] : undefined;
  }
  const x = headers['x-api-key'];
  return typeof x === 'string' && x.length > 0 ? x : undefined;
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  keyPrefix: string;
  scopes: string[];
  useCases: string[];
  /** Rate limits and budget (src/auth/limits.ts); NO_LIMITS when none is set. */
  limits: KeyLimits;
  /** Epoch ms after which this secret is refused (the key's expiry, or a rotated-out secret's grace end). */
  notAfter?: number;
  /** This secret was replaced by `mms apikey rotate` and is in its grace period. */
  rotatedOut?: boolean;
}

type ApiKeyRow = Prisma.ApiKeyGetPayload<object>;

/** The records a key row stands for, by hash: its secret, and a rotated-out secret still in its grace period. */
export function recordsOfRow(row: ApiKeyRow, now: number): Array<{ hash: string; record: ApiKeyRecord }> {
  if (row.revokedAt) return [];
  const limits = parseKeyLimits(row);
  const base: ApiKeyRecord = {
    id: row.id,
    name: row.name,
    keyPrefix: row.keyPrefix,
    scopes: row.scopes,
    useCases: row.useCases,
    limits: limits.rpm === undefined && limits.tpm === undefined && limits.budgetUsd === undefined && Object.keys(limits.useCases).length === 0 ? NO_LIMITS : limits,
    notAfter: row.expiresAt ? row.expiresAt.getTime() : undefined,
  };
  const out = [{ hash: row.keyHash, record: base }];
  if (row.previousKeyHash && row.previousKeyExpiresAt && row.previousKeyExpiresAt.getTime() > now) {
    const graceEnd = row.previousKeyExpiresAt.getTime();
    out.push({ hash: row.previousKeyHash, record: { ...base, notAfter: base.notAfter === undefined ? graceEnd : Math.min(base.notAfter, graceEnd), rotatedOut: true } });
  }
  return out;
}

/** Throws 401 when the presented secret is past its expiry (or its rotation grace period). */
export function checkNotExpired(record: ApiKeyRecord, now: number): ApiKeyRecord {
  if (record.notAfter !== undefined && now >= record.notAfter) {
    const at = new Date(record.notAfter).toISOString();
    throw new ApiKeyError(401, record.rotatedOut ? `API key ${record.keyPrefix}… was rotated and its grace period ended at ${at}: use the new key` : `API key ${record.keyPrefix}… expired at ${at}`, 'expired_api_key');
  }
  return record;
}

export interface CreatedApiKey extends ApiKeyRecord {
  /** The key itself: shown once, never stored. */
  key: string;
}

/** A refused key: `status` is 401 (no or unknown key) or 403 (known key, wrong scope or use case). */
export class ApiKeyError extends Error {
  override name = 'ApiKeyError';
  constructor(
    readonly status: 401 | 403,
    message: string,
    readonly code: string = status === 401 ? 'invalid_api_key' : 'insufficient_scope',
  ) {
    super(message);
  }
}

/** Limits, expiry and access as `mms apikey create|update` and the REST API set them. */
export interface ApiKeySettings {
  useCases?: string[];
  rpm?: number | null;
  tpm?: number | null;
  /** Per use case; a use case mapped to null drops its limits. */
  useCaseLimits?: Record<string, { rpm?: number | null; tpm?: number | null } | null>;
  budgetUsd?: number | null;
  budgetPeriod?: BudgetPeriod;
  expiresAt?: Date | null;
}

const useCasePattern = /^(\*|[a-z][a-z0-9_]{0,99})$/;

const limitValue = (value: number | null | undefined, field: string) => {
  if (value === undefined || value === null) return value;
  if (!Number.isInteger(value) || value < 1 || value > 1_000_000_000) throw new Error(`${field}: must be a whole number from 1 to 1000000000, got ${value}`);
  return value;
};

function validUseCases(useCases: string[]): string[] {
  for (const [i, useCase] of useCases.entries()) {
    if (!useCasePattern.test(useCase)) throw new Error(`useCases[${i}]: must be a use case id (lower_snake_case) or "*", got "${useCase}"`);
  }
  return [...new Set(useCases)];
}

/** The column values of settings (only the fields given), validated; `current` is the stored per-use-case map. */
function settingsData(settings: ApiKeySettings, current: unknown, now: number): Prisma.ApiKeyUpdateInput {
  const data: Prisma.ApiKeyUpdateInput = {};
  if (settings.useCases !== undefined) data.useCases = validUseCases(settings.useCases.length > 0 ? settings.useCases : [ALL_USE_CASES]);
  if (settings.rpm !== undefined) data.rpmLimit = limitValue(settings.rpm, 'rpm');
  if (settings.tpm !== undefined) data.tpmLimit = limitValue(settings.tpm, 'tpm');
  if (settings.useCaseLimits !== undefined) {
    const merged: Record<string, { rpm?: number; tpm?: number }> = { ...((current && typeof current === 'object' ? current : {}) as Record<string, { rpm?: number; tpm?: number }>) };
    for (const [id, limits] of Object.entries(settings.useCaseLimits)) {
      if (!useCasePattern.test(id) || id === ALL_USE_CASES) throw new Error(`useCaseLimits.${id}: must be a use case id (lower_snake_case)`);
      if (limits === null) {
        delete merged[id];
        continue;
      }
      const next = { ...merged[id] };
      if (limits.rpm !== undefined) {
        if (limits.rpm === null) delete next.rpm;
        else next.rpm = limitValue(limits.rpm, `useCaseLimits.${id}.rpm`)!;
      }
      if (limits.tpm !== undefined) {
        if (limits.tpm === null) delete next.tpm;
        else next.tpm = limitValue(limits.tpm, `useCaseLimits.${id}.tpm`)!;
      }
      if (next.rpm === undefined && next.tpm === undefined) delete merged[id];
      else merged[id] = next;
    }
    data.useCaseLimits = Object.keys(merged).length > 0 ? merged : (null as unknown as Prisma.InputJsonValue);
  }
  if (settings.budgetUsd !== undefined) {
    if (settings.budgetUsd !== null && !(Number.isFinite(settings.budgetUsd) && settings.budgetUsd > 0 && settings.budgetUsd <= 1_000_000)) {
      throw new Error(`budgetUsd: must be a number of USD above 0 and at most 1000000, got ${settings.budgetUsd}`);
    }
    data.budgetUsd = settings.budgetUsd === null ? null : settings.budgetUsd.toFixed(6);
    if (settings.budgetUsd === null) data.budgetPeriod = null;
  }
  if (settings.budgetPeriod !== undefined) {
    if (!(budgetPeriods as readonly string[]).includes(settings.budgetPeriod)) throw new Error(`budgetPeriod: must be one of ${budgetPeriods.join(', ')}, got "${settings.budgetPeriod}"`);
    data.budgetPeriod = settings.budgetPeriod;
  }
  if (settings.expiresAt !== undefined) {
    if (settings.expiresAt !== null && (Number.isNaN(settings.expiresAt.getTime()) || settings.expiresAt.getTime() <= now)) throw new Error('expiresAt: must be in the future');
    data.expiresAt = settings.expiresAt;
  }
  return data;
}

export async function createApiKey(
  prisma: PrismaClient,
  input: { name: string; scopes: string[]; useCases?: string[] } & Omit<ApiKeySettings, 'useCases'>,
): Promise<CreatedApiKey> {
  const name = input.name.trim();
  if (!name || name.length > 255) throw new Error('name: must be 1 to 255 characters');
  if (input.scopes.length === 0) throw new Error(`scopes: at least one of ${apiKeyScopes.join(', ')} is required`);
  for (const [i, scope] of input.scopes.entries()) {
    if (!(apiKeyScopes as readonly string[]).includes(scope)) throw new Error(`scopes[${i}]: must be one of ${apiKeyScopes.join(', ')}, got "${scope}"`);
  }
  const settings = settingsData({ ...input, useCases: input.useCases ?? [] }, undefined, Date.now());
  if (input.budgetUsd && !input.budgetPeriod) settings.budgetPeriod = 'monthly';
  if (input.budgetPeriod && !input.budgetUsd) throw new Error('budgetPeriod: needs a budget (--budget-usd)');
  const key = generateApiKey();
  const row = await prisma.apiKey.create({
    data: { ...(settings as Prisma.ApiKeyCreateInput), name, keyHash: hashApiKey(key), keyPrefix: key.slice(0, SHOWN_PREFIX_LENGTH), scopes: [...new Set(input.scopes)] },
  });
  return { ...recordsOfRow(row, Date.now())[0]!.record, key };
}

/** Finds one active key by id or shown prefix (an ambiguous prefix is an error). */
async function findActiveKey(prisma: PrismaClient, idOrPrefix: string): Promise<ApiKeyRow> {
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrPrefix);
  const rows = await prisma.apiKey.findMany({ where: { ...(isUuid ? { id: idOrPrefix } : { keyPrefix: idOrPrefix }), revokedAt: null }, take: 2 });
  if (rows.length === 0) throw new ApiKeyNotFoundError(`no active API key matches "${idOrPrefix}"`);
  if (rows.length > 1) throw new Error(`"${idOrPrefix}" matches more than one key: use the id`);
  return rows[0]!;
}

export class ApiKeyNotFoundError extends Error {
  override name = 'ApiKeyNotFoundError';
}

/** Changes limits, expiry or use cases of an active key; gateways load the change within one poll. */
export async function updateApiKey(prisma: PrismaClient, idOrPrefix: string, settings: ApiKeySettings): Promise<ApiKeyRecord & { changed: string[] }> {
  const row = await findActiveKey(prisma, idOrPrefix);
  const data = settingsData(settings, row.useCaseLimits, Date.now());
  if (settings.budgetUsd && !settings.budgetPeriod && !row.budgetPeriod) data.budgetPeriod = 'monthly';
  if (settings.budgetPeriod && !settings.budgetUsd && row.budgetUsd === null) throw new Error('budgetPeriod: needs a budget (--budget-usd)');
  const changed = Object.keys(data);
  if (changed.length === 0) throw new Error('nothing to change: give at least one limit, --expires or --use-case');
  const updated = await prisma.apiKey.update({ where: { id: row.id }, data: { ...data, updatedAt: new Date() } });
  return { ...recordsOfRow(updated, Date.now())[0]!.record, changed };
}

/**
 * Rotation: a new secret (returned once) replaces the key's hash; the old secret stays valid for
 * `graceMs` (0 = refused at once). Limits, spend and the id carry over. A secret rotated out earlier
 * and still in its grace period is replaced by this one (one grace secret at a time).
 */
export async function rotateApiKey(prisma: PrismaClient, idOrPrefix: string, graceMs: number): Promise<CreatedApiKey & { previousValidUntil: Date }> {
  if (!Number.isFinite(graceMs) || graceMs < 0 || graceMs > 90 * 86_400_000) throw new Error('grace: must be from 0 to 90 days');
  const row = await findActiveKey(prisma, idOrPrefix);
  const key = generateApiKey();
  const now = new Date();
  const previousValidUntil = new Date(now.getTime() + graceMs);
  const updated = await prisma.apiKey.update({
    where: { id: row.id, keyHash: row.keyHash },
    data: { keyHash: hashApiKey(key), keyPrefix: key.slice(0, SHOWN_PREFIX_LENGTH), previousKeyHash: graceMs > 0 ? row.keyHash : null, previousKeyExpiresAt: graceMs > 0 ? previousValidUntil : null, rotatedAt: now, updatedAt: now },
  });
  return { ...recordsOfRow(updated, now.getTime())[0]!.record, key, previousValidUntil };
}

export interface ApiKeyListing extends Pick<ApiKeyRecord, 'id' | 'name' | 'keyPrefix' | 'scopes' | 'useCases' | 'limits'> {
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  rotatedAt: Date | null;
  previousKeyExpiresAt: Date | null;
  /** Settled spend of the current budget period (USD); null without a budget. */
  spendUsd: number | null;
  budgetResetsAt: Date | null;
}

export async function listApiKeys(prisma: PrismaClient, now = Date.now()): Promise<ApiKeyListing[]> {
  const rows = await prisma.apiKey.findMany({ orderBy: { createdAt: 'asc' } });
  const withBudget = rows.filter((r) => r.budgetUsd !== null);
  const windows = new Map(withBudget.map((r) => [r.id, budgetWindow((r.budgetPeriod as BudgetPeriod | null) ?? 'monthly', now)]));
  const counters = withBudget.length
    ? await prisma.apiKeyCounter.findMany({ where: { OR: withBudget.map((r) => ({ keyId: r.id, counter: 'spend', windowStart: new Date(windows.get(r.id)!.start) })) } })
    : [];
  const spent = new Map(counters.map((c) => [c.keyId, Number(c.used) / 1e9]));
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    keyPrefix: r.keyPrefix,
    scopes: r.scopes,
    useCases: r.useCases,
    limits: parseKeyLimits(r),
    createdAt: r.createdAt,
    lastUsedAt: r.lastUsedAt,
    expiresAt: r.expiresAt,
    revokedAt: r.revokedAt,
    rotatedAt: r.rotatedAt,
    previousKeyExpiresAt: r.previousKeyExpiresAt,
    spendUsd: r.budgetUsd !== null ? (spent.get(r.id) ?? 0) : null,
    budgetResetsAt: windows.has(r.id) ? new Date(windows.get(r.id)!.end) : null,
  }));
}

/** Revokes by id or by the shown prefix; returns the revoked keys (none = nothing matched). */
export async function revokeApiKey(prisma: PrismaClient, idOrPrefix: string): Promise<Array<{ id: string; keyPrefix: string; name: string }>> {
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrPrefix);
  const where = { ...(isUuid ? { id: idOrPrefix } : { keyPrefix: idOrPrefix }), revokedAt: null };
  const matched = await prisma.apiKey.findMany({ where, select: { id: true, keyPrefix: true, name: true } });
  if (matched.length === 0) return [];
  const now = new Date();
  await prisma.apiKey.updateMany({ where: { id: { in: matched.map((m) => m.id) }, revokedAt: null }, data: { revokedAt: now, updatedAt: now } });
  return matched;
}

/** Does this key's record allow the scope (and, when given, the use case)? Throws ApiKeyError if not. */
export function authorize(record: ApiKeyRecord, scope: ApiKeyScope, useCase?: string): ApiKeyRecord {
  if (!record.scopes.includes(scope)) throw new ApiKeyError(403, `API key ${record.keyPrefix}… does not have the "${scope}" scope`);
  if (useCase !== undefined && !keyAllowsUseCase(record, useCase)) {
    throw new ApiKeyError(403, `API key ${record.keyPrefix}… may not use use case "${useCase}"`);
  }
  return record;
}

export const keyAllowsUseCase = (record: Pick<ApiKeyRecord, 'useCases'>, useCase: string) =>
  record.useCases.includes(ALL_USE_CASES) || record.useCases.includes(useCase);

/**
 * Verifies a presented key against the database: shape, hash, not revoked, scope, use case. The
 * management API calls it with scope `admin`. A key of the wrong shape is refused before any query.
 */
export async function verifyApiKey(
  prisma: PrismaClient,
  presented: string | undefined,
  required: { scope: ApiKeyScope; useCase?: string },
): Promise<ApiKeyRecord> {
  if (!presented) throw new ApiKeyError(401, 'missing API key: send "Authorization: Bearer mms_…"');
  if (!KEY_PATTERN.test(presented)) throw new ApiKeyError(401, 'invalid API key');
  const record = await findKeyRecord(prisma, hashApiKey(presented), Date.now());
  if (!record) throw new ApiKeyError(401, 'invalid API key');
  return authorize(checkNotExpired(record, Date.now()), required.scope, required.useCase);
}

/** The record a hash stands for (current secret, or a rotated-out one in its grace period), from the database. */
export async function findKeyRecord(prisma: PrismaClient, hash: string, now: number): Promise<ApiKeyRecord | undefined> {
  const row = await prisma.apiKey.findFirst({ where: { OR: [{ keyHash: hash }, { previousKeyHash: hash }], revokedAt: null } });
  if (!row) return undefined;
  return recordsOfRow(row, now).find((r) => r.hash === hash)?.record;
}

export const isWellFormedApiKey = (value: string) => KEY_PATTERN.test(value);
