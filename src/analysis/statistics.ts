/**
 * The normal distribution and a mean: what the estimators and the sequential test need. Pure and
 * deterministic, tested against published values.
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

export function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return xs.length ? s / xs.length : NaN;
}
