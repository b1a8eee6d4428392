import { TOTAL_BUCKETS, type AllocationEntry } from '../registry/allocations';

/**
 * Sticky routing. A sticky key (player or session id) hashes to one of 10,000 buckets; each allocation
 * version has a precomputed table bucket → served entry, so routing a request is a hash and an array
 * read. The hash is salted with the use case only, not the version: when a canary grows from 10% to
 * 25%, every player already on the canary stays on it. The canary's bucket range starts at an offset
 * derived from the canary's model id, so successive rollouts do not test on the same players.
 */

/** FNV-1a over UTF-16 code units, finished with murmur3's fmix32 so nearby keys spread evenly. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export const stickyBucket = (useCaseId: string, stickyKey: string) => hash32(`${useCaseId}\u0000${stickyKey}`) % TOTAL_BUCKETS;

export const randomBucket = () => Math.floor(Math.random() * TOTAL_BUCKETS);

export interface BucketTable {
  /** Served (stable and canary) entries, in table order. */
  served: AllocationEntry[];
  /** bucket → index into `served`. */
  table: Uint16Array;
  /** Shadow entries: their weight is the share of requests (of 10,000) mirrored to them. */
  shadows: AllocationEntry[];
}

export function buildBucketTable(entries: readonly AllocationEntry[]): BucketTable {
  const byId = (a: AllocationEntry, b: AllocationEntry) => (a.modelId < b.modelId ? -1 : a.modelId > b.modelId ? 1 : 0);
  const canaries = entries.filter((e) => e.role === 'canary' && e.weight > 0).sort(byId);
  const stables = entries.filter((e) => e.role === 'stable' && e.weight > 0).sort(byId);
  const served = [...canaries, ...stables];
  if (served.length === 0) throw new Error('an allocation must serve at least one stable or canary model with a weight above 0');
  const total = served.reduce((sum, e) => sum + e.weight, 0);
  if (total !== TOTAL_BUCKETS) throw new Error(`stable and canary weights must sum to ${TOTAL_BUCKETS} (they sum to ${total})`);
  const offset = canaries.length > 0 ? hash32(canaries[0]!.modelId) % TOTAL_BUCKETS : 0;
  const table = new Uint16Array(TOTAL_BUCKETS);
  let index = 0;
  let limit = served[0]!.weight;
  for (let position = 0; position < TOTAL_BUCKETS; position++) {
    while (position >= limit) limit += served[++index]!.weight;
    table[(position + offset) % TOTAL_BUCKETS] = index;
  }
  return { served, table, shadows: entries.filter((e) => e.role === 'shadow' && e.weight > 0).sort(byId) };
}

/**
 * The sticky keys evaluation traffic sends, searched from n = 0 up (a 1% canary needs about 3,200 to
 * find its 32). Forgetting a player finds the replays of their prompts by these keys.
 */
export const evaluationStickyKey = (n: number) => `mms-eval-${n}`;
export const EVALUATION_KEY_SEARCH_LIMIT = 1_000_000;
/** Evaluation keys sent per target model: the first this many keys the allocation routes to it. */
export const EVALUATION_KEYS_PER_MODEL = 32;

/**
 * Evaluation sticky keys that the gateway routes to `modelId` under this allocation: what evaluation
 * traffic sends, and so (over every allocation version) all the keys a replay of a prompt can carry.
 */
export function stickyKeysFor(useCaseId: string, entries: readonly AllocationEntry[], modelId: string, count = EVALUATION_KEYS_PER_MODEL): string[] {
  const { served, table } = buildBucketTable(entries);
  const target = served.findIndex((e) => e.modelId === modelId);
  if (target < 0) return [];
  const keys: string[] = [];
  for (let n = 0; keys.length < count && n < EVALUATION_KEY_SEARCH_LIMIT; n++) {
    const key = evaluationStickyKey(n);
    if (table[stickyBucket(useCaseId, key)] === target) keys.push(key);
  }
  return keys;
}
