import { clusteredRatioVariance, mannWhitneyShift, meanLogRatio, quantileLogRatio, rateDifference, sortedValues, woodruffQuantile } from '../../src/analysis/estimators';
import { alwaysValidBounds, closeStage, combineEvidence, initialSequentialState, mixtureBoundary, PASS_MIXTURE_COMPONENTS } from '../../src/analysis/sequential';
import { mean, normalCdf, normalSf } from '../../src/analysis/statistics';
import { rng } from '../support/random';

const normals = (random: () => number, n: number) => Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
const independent = (values: number[]) => ({ values, clusters: values.map((_, i) => i) });

test('the standard normal against published tables', () => {
  expect(normalCdf(0)).toBeCloseTo(0.5, 7);
  expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
  expect(normalCdf(-1.644854)).toBeCloseTo(0.05, 6);
  expect(normalSf(3.090232)).toBeCloseTo(0.001, 6);
  expect(normalSf(8)).toBeGreaterThan(0);
  expect(normalSf(8)).toBeLessThan(1e-14);
  expect(mean([1, 2, 3, 6])).toBe(3);
});

describe('cluster-robust estimators', () => {
  test('the ratio sandwich: independent calls give the binomial variance, whole-player outcomes the design effect', () => {
    const n = 1000;
    const oneEach = clusteredRatioVariance(new Array(n).fill(1), Array.from({ length: n }, (_, i) => (i % 10 === 0 ? 1 : 0)));
    expect(oneEach.ratio).toBeCloseTo(0.1, 12);
    expect(oneEach.variance).toBeCloseTo((0.1 * 0.9) / n, 6);
    // 50 players of 20 calls; every call of every 10th player failed: the same 10 % but a 20× variance
    const grouped = clusteredRatioVariance(new Array(50).fill(20), Array.from({ length: 50 }, (_, i) => (i % 10 === 0 ? 20 : 0)));
    expect(grouped.variance / oneEach.variance).toBeCloseTo(20, 0);
  });

  test('a rate never gets a variance below the Agresti–Caffo binomial one (0 of n keeps a width)', () => {
    const ones = (n: number) => new Array(n).fill(1);
    const r = rateDifference({ calls: 100, events: 0, perPlayer: { calls: ones(100), events: new Array(100).fill(0) } }, { calls: 100, events: 0 });
    expect(r.estimate).toBe(0);
    expect(r.variance).toBeCloseTo((2 * ((1 / 102) * (101 / 102))) / 102, 12);
  });

  test('a small side with no events borrows the pooled rate and design effect (the 5 % holdback)', () => {
    // 342 canary players of 20 calls, errors clustered in every 20th player; 18 stable players, no errors
    const canaryCalls = new Array(342).fill(20);
    const canaryEvents = canaryCalls.map((_, i): number => (i % 20 === 0 ? 4 : 0));
    const stable = { calls: 360, events: 0, perPlayer: { calls: new Array(18).fill(20), events: new Array(18).fill(0) } };
    const r = rateDifference({ calls: 6840, events: canaryEvents.reduce((a, b) => a + b, 0), perPlayer: { calls: canaryCalls, events: canaryEvents } }, stable);
    const naive = rateDifference({ calls: 6840, events: 72 }, { calls: 360, events: 0 });
    expect(r.estimate).toBeCloseTo(72 / 6840, 12);
    expect(r.variance).toBeGreaterThan(3 * naive.variance);
  });

  test('sorted copies are remembered and extended as a sample grows', () => {
    const values = [3, 1, 2];
    expect([...sortedValues(values)]).toEqual([1, 2, 3]);
    values.push(0, 5, 2.5);
    expect([...sortedValues(values)]).toEqual([0, 1, 2, 2.5, 3, 5]);
  });

  test('Woodruff: p95 of a large normal sample with the asymptotic standard error', () => {
    const random = rng(1);
    const n = 20_000;
    const q = woodruffQuantile(independent(normals(random, n)), 0.95)!;
    expect(q.value).toBeCloseTo(1.645, 1);
    // asymptotic SE = sqrt(p(1−p)/n) / φ(z_p) = 0.00154 / 0.1031
    expect(Math.sqrt(q.variance)).toBeCloseTo(Math.sqrt(0.0475 / n) / 0.10314, 2);
    expect(woodruffQuantile(independent([1, 2, 3]), 0.95)).toBeNull(); // too thin a tail
  });

  test('quantile log ratio: a tail 40 % slower reads as log(1.4)', () => {
    const random = rng(2);
    const base = normals(random, 20_000).map((z) => 400 * Math.exp(0.5 * z));
    const slow = base.map((x) => (x > 400 * Math.exp(0.5 * 0.8416) ? x * 1.4 : x));
    const r = quantileLogRatio(independent(slow), independent(base), 0.95)!;
    expect(r.estimate).toBeCloseTo(Math.log(1.4), 2);
    expect(r.variance).toBeGreaterThan(0);
  });

  test('Mann–Whitney shift: P(canary slower) − ½ with ties counted half, as the U statistic', () => {
    const a = [2, 2, 3, 3];
    const b = [1, 2, 2, 3];
    let u = 0;
    for (const x of a) for (const y of b) u += x > y ? 1 : x === y ? 0.5 : 0;
    const r = mannWhitneyShift(independent(a), independent(b))!;
    expect(r.probabilityCanarySlower).toBeCloseTo(u / 16, 12);
    expect(r.estimate).toBeCloseTo(u / 16 - 0.5, 12);
    const same = mannWhitneyShift(independent([1, 1, 1]), independent([1, 1, 1]))!;
    expect(same.estimate).toBe(0);
    expect(same.variance).toBeGreaterThan(0);
  });

  test('Mann–Whitney variance matches the known null variance (n₁+n₂+1)/(12·n₁·n₂) for continuous data', () => {
    const random = rng(3);
    const r = mannWhitneyShift(independent(normals(random, 2000)), independent(normals(random, 3000)))!;
    expect(r.variance / ((2000 + 3000 + 1) / (12 * 2000 * 3000))).toBeCloseTo(1, 1);
  });

  test('mean log ratio: lower-is-worse flips the sign; a free side is floored, not divided by', () => {
    const x = independent([4, 4.2, 3.8, 4]);
    const y = independent([2, 2.1, 1.9, 2]);
    expect(meanLogRatio(y, x)!.estimate).toBeCloseTo(Math.log(0.5), 10);
    expect(meanLogRatio(y, x, { lowerIsWorse: true })!.estimate).toBeCloseTo(Math.log(2), 10);
    expect(meanLogRatio(x, independent([0, 0, 0]))!.estimate).toBeGreaterThan(20);
  });
});

describe('always-valid sequential bounds', () => {
  test('the boundary is above the fixed-sample z and grows slowly with information', () => {
    const z1 = mixtureBoundary(10, 0.05 / 8);
    expect(z1).toBeGreaterThan(2.73); // one-sided fixed-sample z at α/8
    expect(z1).toBeLessThan(4.5);
    expect(mixtureBoundary(1000, 0.05 / 8)).toBeGreaterThan(z1);
    expect(mixtureBoundary(1e-9, 0.05)).toBeGreaterThan(50);
    expect(() => mixtureBoundary(1, 0)).toThrow(RangeError);
  });

  test('stages combine by inverse variance; each bound is z*·SE from the estimate, the pass side with its own prior and level', () => {
    let state = initialSequentialState();
    state = closeStage(state, { error_rate: { estimate: 0.01, variance: 1e-4 } });
    const c = combineEvidence(state.metrics.error_rate, { estimate: 0.03, variance: 1e-4 })!;
    expect(c.estimate).toBeCloseTo(0.02, 12);
    expect(c.variance).toBeCloseTo(5e-5, 12);
    const b = alwaysValidBounds(c, 0.02, 0.01);
    const r = 0.02 * 0.02 * c.information;
    expect(b.estimate - b.lower).toBeCloseTo(mixtureBoundary(r, 0.01) * Math.sqrt(c.variance), 12);
    expect(b.upper - b.estimate).toBeCloseTo(mixtureBoundary(r, 0.01, PASS_MIXTURE_COMPONENTS) * Math.sqrt(c.variance), 12);
    // the pass prior puts all its weight on the margin-sized scale: a tighter bound at the same level
    expect(b.upper - b.estimate).toBeLessThan(b.estimate - b.lower);
    // and the pass side at the unsplit level is tighter still than at the rollback side's α/9
    const split = alwaysValidBounds(c, 0.02, 0.05 / 9, 0.05 / 9);
    expect(alwaysValidBounds(c, 0.02, 0.05 / 9, 0.05).upper).toBeLessThan(split.upper);
    expect(alwaysValidBounds(c, 0.02, 0.05 / 9, 0.05).lower).toBe(split.lower);
    expect(state.stagesClosed).toBe(1);
  });

  test.each([
    ['rollback', 'lower'],
    ['pass', 'upper'],
  ] as const)('Ville: over 200 looks of a null Gaussian stream, the %s bound excludes 0 in at most α of the streams', (_side, bound) => {
    const random = rng(4);
    const alpha = 0.05;
    const looks = 200;
    // the boundary depends only on the information, so it is computed once per look
    const boundary = Array.from({ length: looks + 1 }, (_, k) => {
      if (k === 0) return Infinity;
      const b = alwaysValidBounds({ estimate: 0, variance: 1 / k, information: k }, 0.5, alpha);
      return Math.abs(b[bound]) * Math.sqrt(k);
    });
    let crossed = 0;
    const streams = 2000;
    for (let s = 0; s < streams; s++) {
      let sum = 0;
      for (let k = 1; k <= looks; k++) {
        sum += normals(random, 1)[0]!;
        if (sum / Math.sqrt(k) > boundary[k]!) {
          crossed++;
          break;
        }
      }
    }
    expect(crossed / streams).toBeLessThanOrEqual(alpha);
    expect(crossed).toBeGreaterThan(0); // a bound that never fires would pass too
  });
});
