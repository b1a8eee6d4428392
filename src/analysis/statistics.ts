/**
 * Small, dependency-free statistics for canary analysis. Everything here is pure and deterministic so
 * the verdicts it feeds can be unit-tested against published values.
 */

/** Complementary error function (Numerical Recipes `erfcc`, fractional error < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Standard normal cumulative distribution Φ(x). */
export const normalCdf = (x: number): number => 0.5 * erfc(-x / Math.SQRT2);

/** Upper tail 1 − Φ(x), accurate in the far tail (no cancellation). */
export const normalSf = (x: number): number => 0.5 * erfc(x / Math.SQRT2);

/** Inverse of Φ (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile needs 0 < p < 1, got ${p}`);
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** ln Γ(x) (Lanczos approximation, g = 7, n = 9). */
export function logGamma(x: number): number {
  const g = 7;
  const coef = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const xx = x - 1;
  let a = coef[0]!;
  const t = xx + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += coef[i]! / (xx + i);
  return 0.5 * Math.log(2 * Math.PI) + (xx + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (Numerical Recipes `betacf`). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const maxIterations = 300;
  const eps = 3e-14;
  const tiny = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= maxIterations; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < eps) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** Upper tail P(T > t) of Student's t with `df` degrees of freedom (df may be fractional, as Welch's). */
export function studentTSf(t: number, df: number): number {
  if (!Number.isFinite(df) || df <= 0) throw new RangeError(`degrees of freedom must be positive, got ${df}`);
  if (df > 1e7) return normalSf(t);
  const x = df / (df + t * t);
  const tail = 0.5 * incompleteBeta(x, df / 2, 0.5);
  return t >= 0 ? tail : 1 - tail;
}

export function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return xs.length ? s / xs.length : NaN;
}

/** Unbiased sample variance. */
export function variance(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return s / (xs.length - 1);
}

/** Quantile with linear interpolation between order statistics: PostgreSQL's percentile_cont. */
export function quantile(xs: readonly number[], q: number): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export interface ProportionTest {
  /** Observed rates x/n. */
  rateA: number;
  rateB: number;
  /** Agresti–Caffo adjusted difference A − B and its standard error. */
  difference: number;
  standardError: number;
  z: number;
  /** One-sided p-value of "A's rate exceeds B's by more than `margin`". */
  pValue: number;
}

/**
 * Two-proportion test of H1: pA − pB > margin (one-sided), with the Agresti–Caffo adjustment (one
 * success and one failure added to each group) so that 0/n and n/n samples keep a usable variance.
 */
export function twoProportionTest(a: { x: number; n: number }, b: { x: number; n: number }, margin = 0): ProportionTest {
  if (a.n <= 0 || b.n <= 0) throw new RangeError('both groups need at least one observation');
  const pa = (a.x + 1) / (a.n + 2);
  const pb = (b.x + 1) / (b.n + 2);
  const difference = pa - pb;
  const standardError = Math.sqrt((pa * (1 - pa)) / (a.n + 2) + (pb * (1 - pb)) / (b.n + 2));
  const z = (difference - margin) / standardError;
  return { rateA: a.x / a.n, rateB: b.x / b.n, difference, standardError, z, pValue: normalSf(z) };
}

export interface MannWhitneyResult {
  /** U of sample A: the number of (a, b) pairs with a > b, ties counting one half. */
  u: number;
  /** U / (nA·nB): the probability that a random A exceeds a random B (common-language effect size). */
  probabilityAGreater: number;
  z: number;
  /** One-sided p-value of "A tends to be larger than B" (normal approximation, tie and continuity corrected). */
  pValue: number;
}

/** Mann–Whitney U test (as Kayenta judges canary metrics): distribution-free, robust to latency's long tail. */
export function mannWhitneyU(a: readonly number[], b: readonly number[]): MannWhitneyResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('both samples need at least one value');
  const all = new Float64Array(n1 + n2);
  const fromA = new Uint8Array(n1 + n2);
  a.forEach((v, i) => {
    all[i] = v;
    fromA[i] = 1;
  });
  b.forEach((v, i) => (all[n1 + i] = v));
  const order = Array.from({ length: n1 + n2 }, (_, i) => i).sort((i, j) => all[i]! - all[j]!);
  const n = n1 + n2;
  let rankSumA = 0;
  let tieTerm = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && all[order[j + 1]!] === all[order[i]!]) j++;
    const rank = (i + j) / 2 + 1; // average of ranks i+1..j+1
    const t = j - i + 1;
    if (t > 1) tieTerm += t * t * t - t;
    for (let k = i; k <= j; k++) if (fromA[order[k]!]) rankSumA += rank;
    i = j + 1;
  }
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  const mu = (n1 * n2) / 2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1) || 1)));
  const z = sigma > 0 ? (u - mu - 0.5) / sigma : 0;
  return { u, probabilityAGreater: u / (n1 * n2), z, pValue: sigma > 0 ? normalSf(z) : 1 };
}

export interface MeanRatioTest {
  meanA: number;
  meanB: number;
  t: number;
  degreesOfFreedom: number;
  /** One-sided p-value of the alternative named by `direction`. */
  pValue: number;
}

/**
 * Welch's t-test against a ratio margin: `greater` tests H1: mean(A) > ratio·mean(B) (cost that grew
 * by more than allowed); `less` tests H1: mean(A) < ratio·mean(B) (feedback that fell below the
 * allowed share of the baseline's).
 */
export function welchRatioTest(a: readonly number[], b: readonly number[], ratio: number, direction: 'greater' | 'less'): MeanRatioTest {
  if (a.length < 2 || b.length < 2) throw new RangeError('both samples need at least two values');
  const meanA = mean(a);
  const meanB = mean(b);
  const va = variance(a) / a.length;
  const vb = (ratio * ratio * variance(b)) / b.length;
  const diff = direction === 'greater' ? meanA - ratio * meanB : ratio * meanB - meanA;
  const se = Math.sqrt(va + vb);
  if (se === 0) return { meanA, meanB, t: diff > 0 ? Infinity : diff < 0 ? -Infinity : 0, degreesOfFreedom: a.length + b.length - 2, pValue: diff > 0 ? 0 : 1 };
  const df = (va + vb) ** 2 / ((va * va) / (a.length - 1) + (vb * vb) / (b.length - 1));
  const t = diff / se;
  return { meanA, meanB, t, degreesOfFreedom: df, pValue: studentTSf(t, df) };
}
