import crypto from 'node:crypto';
import type { PrismaClient } from '@prisma/client';

/**
 * API keys of the gateway and the management API. A key is `mms_` + 43 random base64url characters,
 * shown once at creation; only its SHA-256 hash and a short prefix (to recognise it in a list) are
 * stored. Scopes say which surface a key opens (`gateway`: chat, models, feedback; `admin`: the
 * management API); use cases say which use cases a gateway key may call (`*` = all).
 */
export const API_KEY_PREFIX = 'mms_';
export const apiKeyScopes = ['gateway', 'admin'] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];
export const ALL_USE_CASES = '*';

const KEY_PATTERN = /^mms_[A-Za-z0-9_-]{43}$/;
/** Characters of the key kept in the `key_prefix` column: enough to tell keys apart, useless to an attacker. */
const SHOWN_PREFIX_LENGTH = 12;

export const hashApiKey = (key: string) => crypto.createHash('sha256').update(key).digest('hex');

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
  ) {
    super(message);
  }
}

const useCasePattern = /^(\*|[a-z][a-z0-9_]{0,99})$/;

export async function createApiKey(
  prisma: PrismaClient,
  input: { name: string; scopes: string[]; useCases?: string[] },
): Promise<CreatedApiKey> {
  const name = input.name.trim();
  if (!name || name.length > 255) throw new Error('name: must be 1 to 255 characters');
  if (input.scopes.length === 0) throw new Error(`scopes: at least one of ${apiKeyScopes.join(', ')} is required`);
  for (const [i, scope] of input.scopes.entries()) {
    if (!(apiKeyScopes as readonly string[]).includes(scope)) throw new Error(`scopes[${i}]: must be one of ${apiKeyScopes.join(', ')}, got "${scope}"`);
  }
  const useCases = input.useCases && input.useCases.length > 0 ? input.useCases : [ALL_USE_CASES];
  for (const [i, useCase] of useCases.entries()) {
    if (!useCasePattern.test(useCase)) throw new Error(`useCases[${i}]: must be a use case id (lower_snake_case) or "*", got "${useCase}"`);
  }
  const key = generateApiKey();
  const row = await prisma.apiKey.create({
    data: { name, keyHash: hashApiKey(key), keyPrefix: key.slice(0, SHOWN_PREFIX_LENGTH), scopes: [...new Set(input.scopes)], useCases: [...new Set(useCases)] },
  });
  return { id: row.id, name: row.name, keyPrefix: row.keyPrefix, scopes: row.scopes, useCases: row.useCases, key };
}

export async function listApiKeys(prisma: PrismaClient) {
  return prisma.apiKey.findMany({
    orderBy: { createdAt: 'asc' },
    select: { id: true, name: true, keyPrefix: true, scopes: true, useCases: true, createdAt: true, lastUsedAt: true, revokedAt: true },
  });
}

/** Revokes by id or by the shown prefix; returns how many keys were revoked (0 = none matched). */
export async function revokeApiKey(prisma: PrismaClient, idOrPrefix: string): Promise<number> {
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrPrefix);
  const where = isUuid ? { id: idOrPrefix } : { keyPrefix: idOrPrefix };
  const { count } = await prisma.apiKey.updateMany({ where: { ...where, revokedAt: null }, data: { revokedAt: new Date() } });
  return count;
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
  const row = await prisma.apiKey.findUnique({ where: { keyHash: hashApiKey(presented) } });
  if (!row || row.revokedAt) throw new ApiKeyError(401, 'invalid API key');
  return authorize({ id: row.id, name: row.name, keyPrefix: row.keyPrefix, scopes: row.scopes, useCases: row.useCases }, required.scope, required.useCase);
}

export const isWellFormedApiKey = (value: string) => KEY_PATTERN.test(value);
