import fs from 'node:fs';
import path from 'node:path';
import { embeddingsContentHash, type EmbeddingsClient } from '../embeddings/client';
import { stateDir } from '../paths';

/**
 * Embeddings of the labelled set kept in .mms/guardrails-vectors.json (per embeddings model, by text
 * hash) for `npm run guardrails:train` and `npm run bench:guardrails`, which run without a database
 * (the `embeddings` table is the cache of the running system): a second run embeds nothing.
 */
const FILE = path.join(stateDir, 'guardrails-vectors.json');

export async function embedWithFileCache(client: EmbeddingsClient, texts: string[]): Promise<Float32Array[]> {
  let cache: Record<string, Record<string, number[]>> = {};
  try {
    cache = JSON.parse(fs.readFileSync(FILE, 'utf8')) as typeof cache;
  } catch {
    // no cache yet (or an unreadable one): embed everything
  }
  const model = client.endpoint.model;
  const known = (cache[model] ??= {});
  const hashes = texts.map(embeddingsContentHash);
  const missing = [...new Set(hashes.filter((h) => !known[h]))];
  if (missing.length) {
    const byHash = new Map(texts.map((t, i) => [hashes[i]!, t]));
    const vectors = await client.embed(missing.map((h) => byHash.get(h)!));
    missing.forEach((h, i) => (known[h] = Array.from(vectors[i]!)));
    fs.mkdirSync(path.dirname(FILE), { recursive: true });
    fs.writeFileSync(FILE, JSON.stringify(cache));
  }
  return hashes.map((h) => Float32Array.from(known[h]!));
}
