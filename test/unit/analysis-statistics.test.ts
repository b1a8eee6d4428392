import {
  incompleteBeta,
  logGamma,
  mannWhitneyU,
  normalCdf,
  normalQuantile,
  normalSf,
  quantile,
  studentTSf,
  twoProportionTest,
  welchRatioTest,
} from '../../src/analysis/statistics';

describe('distributions against published tables', () => {
  test('standard normal', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1.644854)).toBeCloseTo(0.05, 6);
    expect(normalSf(3.090232)).toBeCloseTo(0.001, 6);
    expect(normalSf(8)).toBeGreaterThan(0);
    expect(normalSf(8)).toBeLessThan(1e-14);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.05)).toBeCloseTo(-1.644854, 5);
    expect(normalQuantile(0.999)).toBeCloseTo(3.090232, 5);
    expect(() => normalQuantile(1)).toThrow(RangeError);
  });

  test('gamma and incomplete beta', () => {
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 10);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 10);
    // I_x(1, 1) = x; I_x(a, 1) = x^a
    expect(incompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 10);
    expect(incompleteBeta(0.3, 3, 1)).toBeCloseTo(0.027, 10);
    expect(incompleteBeta(0.5, 4, 4)).toBeCloseTo(0.5, 10);
  });

  test("Student's t upper tail matches the critical values of the t table", () => {
    expect(studentTSf(2.228139, 10)).toBeCloseTo(0.025, 5);
    expect(studentTSf(2.015048, 5)).toBeCloseTo(0.05, 5);
    expect(studentTSf(2.749996, 30)).toBeCloseTo(0.005, 5);
    expect(studentTSf(-2.015048, 5)).toBeCloseTo(0.95, 5);
    expect(studentTSf(0, 7.3)).toBeCloseTo(0.5, 10);
  });
});

test('quantile interpolates like PostgreSQL percentile_cont', () => {
  expect(quantile([], 0.5)).toBeNull();
  expect(quantile([5], 0.95)).toBe(5);
  expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
  expect(quantile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.95)).toBeCloseTo(95.5, 10);
});

describe('Mann-Whitney U', () => {
  test('matches scipy’s documented example (males vs females, asymptotic, continuity corrected)', () => {
    // scipy.stats.mannwhitneyu([19, 22, 16, 29, 24], [20, 11, 17, 12], method='asymptotic') → U=17, two-sided p=0.11134688653314041
    const r = mannWhitneyU([19, 22, 16, 29, 24], [20, 11, 17, 12]);
    expect(r.u).toBe(17);
    expect(r.pValue * 2).toBeCloseTo(0.11134688653314041, 6);
  });

  test('handles ties and identical samples', () => {
    const r = mannWhitneyU([1, 1, 1], [1, 1, 1]);
    expect(r.u).toBe(4.5);
    expect(r.pValue).toBe(1);
    const s = mannWhitneyU([2, 2, 3, 3], [1, 2, 2, 3]);
    expect(s.probabilityAGreater).toBeCloseTo((1 + 0.5 + 0.5 + 0 + 1 + 0.5 + 0.5 + 0 + 1 + 1 + 1 + 0.5 + 1 + 1 + 1 + 0.5) / 16, 10);
  });

  test('is one-sided: a faster sample is never "slower"', () => {
    const slow = Array.from({ length: 40 }, (_, i) => 200 + i);
    const fast = Array.from({ length: 40 }, (_, i) => 100 + i);
    expect(mannWhitneyU(slow, fast).pValue).toBeLessThan(1e-10);
    expect(mannWhitneyU(fast, slow).pValue).toBeGreaterThan(0.999);
  });
});

describe('two-proportion test with a margin', () => {
  test('Agresti–Caffo adjusted numbers', () => {
    const r = twoProportionTest({ x: 15, n: 50 }, { x: 1, n: 50 }, 0.02);
    const pa = 16 / 52;
    const pb = 2 / 52;
    expect(r.rateA).toBeCloseTo(0.3, 12);
    expect(r.rateB).toBeCloseTo(0.02, 12);
    expect(r.difference).toBeCloseTo(pa - pb, 12);
    expect(r.standardError).toBeCloseTo(Math.sqrt((pa * (1 - pa)) / 52 + (pb * (1 - pb)) / 52), 12);
    expect(r.pValue).toBeLessThan(0.001);
  });

  test('zero errors on both sides keep a usable variance and never look worse', () => {
    const r = twoProportionTest({ x: 0, n: 100 }, { x: 0, n: 100 }, 0.02);
    expect(Number.isFinite(r.z)).toBe(true);
    expect(r.pValue).toBeGreaterThan(0.9);
  });

  test('an increase inside the margin is not significant however large the sample', () => {
    const r = twoProportionTest({ x: 300, n: 10_000 }, { x: 200, n: 10_000 }, 0.02); // +1 point, margin 2 points
    expect(r.pValue).toBeGreaterThan(0.99);
  });
});

describe("Welch's ratio test", () => {
  test('greater: costs that doubled exceed a +50% margin', () => {
    const base = Array.from({ length: 30 }, (_, i) => 0.001 + (i % 5) * 0.0001);
    const doubled = base.map((x) => x * 2);
    expect(welchRatioTest(doubled, base, 1.5, 'greater').pValue).toBeLessThan(1e-6);
    expect(welchRatioTest(base, base, 1.5, 'greater').pValue).toBeGreaterThan(0.999);
  });

  test('less: feedback below 90% of stable', () => {
    const base = Array.from({ length: 40 }, (_, i) => 4 + (i % 3) * 0.5);
    const worse = base.map((x) => x - 1.5);
    expect(welchRatioTest(worse, base, 0.9, 'less').pValue).toBeLessThan(1e-6);
    expect(welchRatioTest(base, base, 0.9, 'less').pValue).toBeGreaterThan(0.99);
  });

  test('zero variance decides by the means', () => {
    expect(welchRatioTest([2, 2], [1, 1], 1.5, 'greater').pValue).toBe(0);
    expect(welchRatioTest([1, 1], [1, 1], 1.5, 'greater').pValue).toBe(1);
  });
});
