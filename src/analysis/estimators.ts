/**
 * Estimators of canary − stable differences with players as the unit. Sticky routing keeps a player on
 * one side, and one player's calls resemble each other (the same prompts, device, region), so calls are
 * not independent: treating them as such makes every interval too narrow. Each estimator here computes
 * a cluster-robust (sandwich) variance over players, the linearisation survey statistics use for ratio
 * estimators, with the small-sample factor G/(G−1); a call without a sticky key is its own cluster.
 * The variance is never taken below the one that assumes independent calls: with few players the
 * sandwich is noisy, and a design effect below 1 is not a risk worth betting a rollout on.
 *
 * Pure and deterministic (no resampling), so a window can be re-analysed to the same numbers.
 */
/** Values of one side with the player (cluster) each came from; ids are any integers. */
export interface ClusteredValues {
  values: number[];
  clusters: number[];
}

/** A difference on the regression scale (positive = the canary is worse) with its variance. */
export interface DifferenceEstimate {
  estimate: number;
  variance: number;
}

/**
 * The values in ascending order. A look re-analyses its stage's calls so far, and a sample only ever
 * grows by appending (GroupSampleBuilder), so the sorted copy is remembered per array and extended by
 * merging the sorted new tail: each look costs the new calls' sort plus one merge, not a full sort.
 */
const sortedMemo = new WeakMap<readonly number[], Float64Array>();
export function sortedValues(values: readonly number[]): Float64Array {
  const known = sortedMemo.get(values);
  if (known && known.length === values.length) return known;
  let sorted: Float64Array;
  if (known && known.length < values.length) {
    const tail = Float64Array.from(values.slice(known.length)).sort();
    sorted = new Float64Array(values.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < known.length && j < tail.length) sorted[k++] = known[i]! <= tail[j]! ? known[i++]! : tail[j++]!;
    while (i < known.length) sorted[k++] = known[i++]!;
    while (j < tail.length) sorted[k++] = tail[j++]!;
  } else sorted = Float64Array.from(values).sort();
  sortedMemo.set(values, sorted);
  return sorted;
}

/** Index of the first element ≥ x (strict: > x) in an ascending array. */
function bound(sorted: Float64Array, x: number, strict: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (strict ? sorted[mid]! <= x : sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Sandwich variance of the ratio Σy/Σn over clusters (the linearised ratio estimator). */
export function clusteredRatioVariance(n: ArrayLike<number>, y: ArrayLike<number>): { ratio: number; variance: number; clusters: number; total: number } {
  let total = 0;
  let sum = 0;
  let clusters = 0;
  for (let i = 0; i < n.length; i++) {
    if (n[i]! <= 0) continue;
    total += n[i]!;
    sum += y[i]!;
    clusters++;
  }
  if (total === 0) return { ratio: NaN, variance: NaN, clusters: 0, total: 0 };
  const ratio = sum / total;
  if (clusters < 2) return { ratio, variance: 0, clusters, total };
  let ss = 0;
  for (let i = 0; i < n.length; i++) {
    if (n[i]! <= 0) continue;
    const r = y[i]! - ratio * n[i]!;
    ss += r * r;
  }
  return { ratio, variance: ((clusters / (clusters - 1)) * ss) / (total * total), clusters, total };
}

/** One side of a rate: exact totals and, when known, the same counts per player. */
export interface RateSide {
  calls: number;
  events: number;
  perPlayer?: { calls: ArrayLike<number>; events: ArrayLike<number> };
}

/**
 * The difference of two rates (canary − stable) with its variance. Each side's variance is the
 * largest of:
 * - its own cluster-robust (sandwich) variance over players;
 * - the binomial variance of its Agresti–Caffo adjusted rate (one success and one failure added), so
 *   0 of n keeps a usable width;
 * - the pooled floor: the two sides' pooled rate, with the design effect measured on both sides'
 *   players together, over this side's calls. A side with few players and rare events (the 5 % stable
 *   holdback: 18 players, often 0 errors) cannot estimate its own variance — its sandwich and its
 *   binomial are both near 0 — while under "no difference" both sides share one rate and one design
 *   effect that the pooled sample measures well. Without this floor the bench measured 5 % false
 *   rollbacks from the error rate alone with correlated players.
 */
export function rateDifference(canary: RateSide, stable: RateSide): { estimate: number; variance: number; canary: number; stable: number } {
  const own = (s: RateSide) => {
    const adjusted = (s.events + 1) / (s.calls + 2);
    const binomial = (adjusted * (1 - adjusted)) / (s.calls + 2);
    const clustered = s.perPlayer ? clusteredRatioVariance(s.perPlayer.calls, s.perPlayer.events).variance : 0;
    return Math.max(binomial, Number.isFinite(clustered) ? clustered : 0);
  };
  const calls = canary.calls + stable.calls;
  const pooled = (canary.events + stable.events) / calls;
  let designEffect = 1;
  if (canary.perPlayer && stable.perPlayer && pooled > 0 && pooled < 1) {
    const n = [...Array.from(canary.perPlayer.calls), ...Array.from(stable.perPlayer.calls)];
    const y = [...Array.from(canary.perPlayer.events), ...Array.from(stable.perPlayer.events)];
    designEffect = Math.max(1, clusteredRatioVariance(n, y).variance / ((pooled * (1 - pooled)) / calls));
  }
  const floor = (s: RateSide) => (designEffect * pooled * (1 - pooled)) / s.calls;
  const c = canary.events / canary.calls;
  const b = stable.events / stable.calls;
  return { estimate: c - b, variance: Math.max(own(canary), floor(canary)) + Math.max(own(stable), floor(stable)), canary: c, stable: b };
}

/** Dense 0..G−1 cluster indices for arbitrary integer ids, in order of first appearance. */
export function denseClusters(ids: ArrayLike<number>): { index: Int32Array; count: number } {
  const map = new Map<number, number>();
  const index = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    let k = map.get(ids[i]!);
    if (k === undefined) {
      k = map.size;
      map.set(ids[i]!, k);
    }
    index[i] = k;
  }
  return { index, count: map.size };
}

/** Sandwich variance of a mean of per-observation scores u (already centred on their mean) over clusters. */
function clusteredMeanVariance(centred: ArrayLike<number>, clusterIndex: Int32Array, clusterCount: number): number {
  const n = centred.length;
  if (clusterCount < 2 || n === 0) return 0;
  const sums = new Float64Array(clusterCount);
  for (let i = 0; i < n; i++) {
    const k = clusterIndex[i]!;
    sums[k] = sums[k]! + centred[i]!;
  }
  let ss = 0;
  for (let k = 0; k < clusterCount; k++) ss += sums[k]! * sums[k]!;
  return ((clusterCount / (clusterCount - 1)) * ss) / (n * n);
}

/** Plain variance of the mean assuming independent observations (the floor under the sandwich). */
function independentMeanVariance(centred: ArrayLike<number>): number {
  const n = centred.length;
  if (n < 2) return 0;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += centred[i]! * centred[i]!;
  return ss / (n - 1) / n;
}

export interface QuantileEstimate {
  value: number;
  /** Variance of the estimated quantile (Woodruff). */
  variance: number;
}

/** Fewest observations beyond a quantile before it is judged (below that the tail is a handful of calls). */
export const MIN_TAIL_OBSERVATIONS = 10;

/** Observations a side needs before quantile p is judged. */
export const quantileMinSamples = (p: number) => Math.ceil(MIN_TAIL_OBSERVATIONS / (1 - p));

/**
 * Quantile p with the Woodruff variance: the cluster-robust standard error of the share of calls at or
 * below the estimate, mapped back through the empirical quantile function (a ±1.96 SE interval of the
 * share, halved). This is how survey software (R `survey::svyquantile`) gives quantiles of clustered
 * samples a standard error without resampling. Undefined (null) when the tail is too thin to judge.
 */
export function woodruffQuantile(sample: ClusteredValues, p: number): QuantileEstimate | null {
  const n = sample.values.length;
  if (n < quantileMinSamples(p)) return null;
  const sorted = sortedValues(sample.values);
  const at = (q: number) => {
    const pos = Math.min(1, Math.max(0, q)) * (n - 1);
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
  };
  const value = at(p);
  const { index, count } = denseClusters(sample.clusters);
  const centred = new Float64Array(n);
  let below = 0;
  for (let i = 0; i < n; i++) if (sample.values[i]! <= value) below++;
  const share = below / n;
  for (let i = 0; i < n; i++) centred[i] = (sample.values[i]! <= value ? 1 : 0) - share;
  const shareVariance = Math.max(clusteredMeanVariance(centred, index, count), (p * (1 - p)) / n);
  const z = 1.959964;
  const halfWidth = z * Math.sqrt(shareVariance);
  if (p + halfWidth >= 1) return null;
  const se = (at(p + halfWidth) - at(p - halfWidth)) / (2 * z);
  return { value, variance: se * se };
}

/**
 * log(quantile_canary / quantile_stable) (so a margin is a percentage) with the delta-method variance
 * of the two independent Woodruff estimates. Null when either tail is too thin.
 */
export function quantileLogRatio(canary: ClusteredValues, stable: ClusteredValues, p: number): (DifferenceEstimate & { canary: number; stable: number }) | null {
  const c = woodruffQuantile(canary, p);
  const s = woodruffQuantile(stable, p);
  if (!c || !s) return null;
  // latencies are positive; a floor of 1 µs keeps the logarithm finite for a degenerate sample
  const cv = Math.max(c.value, 1e-3);
  const sv = Math.max(s.value, 1e-3);
  return { estimate: Math.log(cv / sv), variance: c.variance / (cv * cv) + s.variance / (sv * sv), canary: c.value, stable: s.value };
}

/**
 * Mann–Whitney as an estimate: θ = P(canary > stable) + ½·P(tie) − ½ (0 when the two distributions
 * match; the "common-language effect size" Kayenta's classifier tests), with the DeLong variance made
 * cluster-robust by summing each player's placement values (Obuchowski 1997).
 */
export function mannWhitneyShift(canary: ClusteredValues, stable: ClusteredValues): (DifferenceEstimate & { probabilityCanarySlower: number }) | null {
  const nc = canary.values.length;
  const ns = stable.values.length;
  if (nc < 2 || ns < 2) return null;
  const sortedC = sortedValues(canary.values);
  const sortedS = sortedValues(stable.values);
  // placement of a canary call: share of stable calls below it (ties ½); of a stable call: share of canary calls above it
  const placeC = new Float64Array(nc);
  const placeS = new Float64Array(ns);
  for (let i = 0; i < nc; i++) {
    const x = canary.values[i]!;
    const below = bound(sortedS, x, false);
    placeC[i] = (below + 0.5 * (bound(sortedS, x, true) - below)) / ns;
  }
  for (let i = 0; i < ns; i++) {
    const y = stable.values[i]!;
    const atOrBelow = bound(sortedC, y, true);
    placeS[i] = (nc - atOrBelow + 0.5 * (atOrBelow - bound(sortedC, y, false))) / nc;
  }
  let auc = 0;
  for (let i = 0; i < nc; i++) auc += placeC[i]!;
  auc /= nc;
  for (let i = 0; i < nc; i++) placeC[i] = placeC[i]! - auc;
  for (let i = 0; i < ns; i++) placeS[i] = placeS[i]! - auc;
  const cc = denseClusters(canary.clusters);
  const sc = denseClusters(stable.clusters);
  const variance = Math.max(
    clusteredMeanVariance(placeC, cc.index, cc.count) + clusteredMeanVariance(placeS, sc.index, sc.count),
    independentMeanVariance(placeC) + independentMeanVariance(placeS),
    // floor for identical constant samples: the variance of θ̂ under independence with no ties
    1 / (12 * nc) / ns,
  );
  return { estimate: auc - 0.5, variance, probabilityCanarySlower: auc };
}

/** Mean of one side with its cluster-robust variance (never below the independent one). */
export function clusteredMean(sample: ClusteredValues): { mean: number; variance: number } | null {
  const n = sample.values.length;
  if (n < 2) return null;
  let m = 0;
  for (const v of sample.values) m += v;
  m /= n;
  const centred = new Float64Array(n);
  for (let i = 0; i < n; i++) centred[i] = sample.values[i]! - m;
  const { index, count } = denseClusters(sample.clusters);
  return { mean: m, variance: Math.max(clusteredMeanVariance(centred, index, count), independentMeanVariance(centred)) };
}

/**
 * log(mean_canary / mean_stable), or its negative when lower is worse (feedback), with the delta-method
 * variance. A side whose mean is 0 (a free model) is floored at `floor` so a move from free to paid is
 * judged (and fails any percentage margin) instead of dividing by zero.
 */
export function meanLogRatio(canary: ClusteredValues, stable: ClusteredValues, options: { lowerIsWorse?: boolean; floor?: number } = {}): (DifferenceEstimate & { canary: number; stable: number }) | null {
  const c = clusteredMean(canary);
  const s = clusteredMean(stable);
  if (!c || !s) return null;
  const floor = options.floor ?? 1e-12;
  const cm = Math.max(c.mean, floor);
  const sm = Math.max(s.mean, floor);
  const estimate = options.lowerIsWorse ? Math.log(sm / cm) : Math.log(cm / sm);
  return { estimate, variance: c.variance / (cm * cm) + s.variance / (sm * sm), canary: c.mean, stable: s.mean };
}
