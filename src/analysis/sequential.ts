/**
 * Sequential validity over a whole rollout: an always-valid mixture sequential probability ratio test
 * (mSPRT; Robbins 1970, Johari et al. "Always valid inference", as Optimizely, Eppo and Statsig run it).
 *
 * Each metric's difference canary − stable (positive = worse) is estimated with a variance V; its
 * information is I = 1/V. Stages are independent samples of the same comparison, so their estimates
 * combine by inverse-variance weighting: I = Σ Iₛ, Δ̂ = Σ Iₛ·Δ̂ₛ / I (the current stage enters with its
 * cumulative estimate so far, which is how its extension windows look at the same data again). In
 * information time that is a Gaussian process with drift Δ, and against the null "Δ = θ₀" the
 * likelihood ratio of drift δ, mixed over a half-normal prior of scale τ on δ − θ₀ > 0, is
 *
 *   Λ = 2 / √(1 + r) · exp( r·z² / (2(1 + r)) ) · Φ( z·√(r / (1 + r)) ),  r = τ²·I,  z = (Δ̂ − θ₀)·√I,
 *
 * and the test uses a weighted sum of three such mixtures, of scales τ, 4τ and 16τ (MIXTURE_COMPONENTS).
 * Λ starts at 1 and is a non-negative supermartingale whenever the true Δ ≤ θ₀, so by Ville's
 * inequality it ever reaches 1/α with probability at most α — however many windows are looked at,
 * extended or paused, and whenever the rollout stops. The lower bound of Δ is the smallest θ₀ not yet
 * rejected: Δ̂ − z*·√V, where z* solves Λ(z*) = 1/α; the upper bound mirrors it, with its own level
 * and prior. With the rollback side's α split evenly over the metrics a rollout judges (Bonferroni),
 * the chance that an identical candidate is ever shown worse on any metric, i.e. the false-rollback
 * rate of the whole rollout, is at most α.
 *
 * The pass side needs no split: a look passes only when *every* judged metric's upper bound is inside
 * its margin, so passing is an intersection–union test (Berger 1982) and the chance of passing a
 * candidate that is beyond the margin on some metric is at most that metric's own level α. Its prior
 * is the single half-normal of scale τ (the metric's usual margin): the distance between "no
 * difference" and "at the margin", which is the comparison a pass has to win; the wide components
 * exist for gross regressions, which only the rollback side looks for. Measured by `npm run
 * bench:analysis`: an identical candidate at the default 60 s windows was promoted without a person in
 * 82 % of rollouts with the split, shared prior on both sides (see the README for today's figures).
 *
 * Everything here is a pure function of the looks so far, so the workflow carries the state in its
 * history and a replay computes the same bounds.
 */
import { normalCdf } from './statistics';

/** The evidence of the stages already closed, per metric: Σ Iₛ and Σ Iₛ·Δ̂ₛ. */
export interface MetricEvidence {
  information: number;
  weightedSum: number;
}

export interface SequentialState {
  /** Stages whose final evidence has been added. */
  stagesClosed: number;
  metrics: Record<string, MetricEvidence>;
}

export const initialSequentialState = (): SequentialState => ({ stagesClosed: 0, metrics: {} });

/**
 * The mixing prior: half-normal components of scale τ·m for the multipliers m, with weights. One scale
 * is tuned to a regression the size of the metric's usual margin; the wider components keep a gross
 * regression on a noisy metric (a violation rate jumping from 0.3 % to 13 %) from needing hundreds of
 * calls, at the price of a slightly higher boundary for the first one. A mixture of mixtures is still a
 * mixture, so Ville's bound holds unchanged.
 */
export const MIXTURE_COMPONENTS: ReadonlyArray<{ scale: number; weight: number }> = [
  { scale: 1, weight: 0.6 },
  { scale: 4, weight: 0.25 },
  { scale: 16, weight: 0.15 },
];

/** The pass side's prior: one half-normal of scale τ (see the header). */
export const PASS_MIXTURE_COMPONENTS: ReadonlyArray<{ scale: number; weight: number }> = [{ scale: 1, weight: 1 }];

/** log Λ of one half-normal component at z for r = τ²·I. */
function componentLogRatio(z: number, r: number): number {
  return Math.LN2 - 0.5 * Math.log1p(r) + (r * z * z) / (2 * (1 + r)) + Math.log(normalCdf(z * Math.sqrt(r / (1 + r))));
}

/** The boundary z* where the one-sided mixture ratio reaches 1/α, for r = τ²·I (of the first component). */
export function mixtureBoundary(r: number, alpha: number, components: ReadonlyArray<{ scale: number; weight: number }> = MIXTURE_COMPONENTS): number {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (!(r > 0)) return Infinity;
  const target = Math.log(1 / alpha);
  const logRatio = (z: number) => {
    // log Σ wₖ·Λₖ, computed stably
    const terms = components.map((c) => Math.log(c.weight) + componentLogRatio(z, r * c.scale * c.scale));
    const top = Math.max(...terms);
    return top + Math.log(terms.reduce((acc, t) => acc + Math.exp(t - top), 0));
  };
  let lo = 0;
  let hi = 1;
  while (logRatio(hi) < target) hi *= 2;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (logRatio(mid) < target) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** The current stage's cumulative estimate of one metric combined with the closed stages'. */
export function combineEvidence(closed: MetricEvidence | undefined, current: { estimate: number; variance: number } | undefined): { estimate: number; variance: number; information: number } | null {
  let information = closed?.information ?? 0;
  let weightedSum = closed?.weightedSum ?? 0;
  if (current && Number.isFinite(current.estimate) && current.variance >= 0) {
    // a zero variance (identical constant samples) counts as very precise, not infinitely
    const info = 1 / Math.max(current.variance, 1e-18);
    information += info;
    weightedSum += info * current.estimate;
  }
  if (information <= 0) return null;
  return { estimate: weightedSum / information, variance: 1 / information, information };
}

export interface AlwaysValidBounds {
  estimate: number;
  lower: number;
  upper: number;
  /** z* of the lower (rollback) boundary at this information. */
  boundary: number;
  /** z* of the upper (pass) boundary. */
  upperBoundary: number;
}

/**
 * Always-valid one-sided bounds of a combined estimate, for mixing scale τ: the lower bound at level α
 * with the rollback prior (MIXTURE_COMPONENTS), the upper at `alphaUpper` (default α) with the pass
 * prior (PASS_MIXTURE_COMPONENTS).
 */
export function alwaysValidBounds(combined: { estimate: number; variance: number; information: number }, tau: number, alpha: number, alphaUpper = alpha): AlwaysValidBounds {
  const r = tau * tau * combined.information;
  const boundary = mixtureBoundary(r, alpha);
  const upperBoundary = mixtureBoundary(r, alphaUpper, PASS_MIXTURE_COMPONENTS);
  const sd = Math.sqrt(combined.variance);
  return { estimate: combined.estimate, lower: combined.estimate - boundary * sd, upper: combined.estimate + upperBoundary * sd, boundary, upperBoundary };
}

/**
 * Closes a stage: its last cumulative estimate per metric joins the evidence of the rollout. Called by
 * the workflow when a stage ends with a verdict (pass), never for a stage skipped without analysis.
 */
export function closeStage(state: SequentialState, stageEvidence: Record<string, { estimate: number; variance: number } | undefined>): SequentialState {
  const metrics: Record<string, MetricEvidence> = { ...state.metrics };
  for (const [name, e] of Object.entries(stageEvidence)) {
    if (!e || !Number.isFinite(e.estimate) || !(e.variance >= 0)) continue;
    const info = 1 / Math.max(e.variance, 1e-18);
    const prev = metrics[name] ?? { information: 0, weightedSum: 0 };
    metrics[name] = { information: prev.information + info, weightedSum: prev.weightedSum + info * e.estimate };
  }
  return { stagesClosed: state.stagesClosed + 1, metrics };
}
