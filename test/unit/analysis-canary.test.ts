import { emptySample, judgeCanaryWindow, judgeShadowWindow, summarise, type GroupSample } from '../../src/analysis/canary';
import { rolloutPolicySchema } from '../../src/config/schema';

const policy = rolloutPolicySchema.parse({}).analysis;

/** Deterministic PRNG (mulberry32) so the simulations below are reproducible. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Behaviour {
  errorRate: number;
  latencyMedianMs: number;
  latencySigma: number;
  violationRate: number;
  costUsd: number;
  feedbackMean: number;
  feedbackShare: number;
}

const stableBehaviour: Behaviour = { errorRate: 0.02, latencyMedianMs: 400, latencySigma: 0.35, violationRate: 0.003, costUsd: 0.0008, feedbackMean: 4, feedbackShare: 0.5 };

function simulate(random: () => number, n: number, b: Behaviour): GroupSample {
  const s = emptySample();
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  for (let i = 0; i < n; i++) {
    s.requests++;
    if (random() < b.errorRate) {
      s.errors++;
      continue;
    }
    s.latenciesMs.push(b.latencyMedianMs * Math.exp(b.latencySigma * normal()));
    if (random() < b.violationRate) s.violations++;
    s.costsUsd.push(b.costUsd * (0.8 + 0.4 * random()));
    if (random() < b.feedbackShare) s.feedbackScores.push(Math.min(5, Math.max(1, Math.round(b.feedbackMean + normal()))));
  }
  return s;
}

describe('verdict rules', () => {
  test('too few samples is inconclusive, never pass, even when the canary looks perfect', () => {
    const random = rng(1);
    const r = judgeCanaryWindow(simulate(random, 49, { ...stableBehaviour, errorRate: 0 }), simulate(random, 500, stableBehaviour), policy);
    expect(r.verdict).toBe('inconclusive');
    expect(r.reason).toContain('canary has 49 requests');
    expect(r.reason).toContain('at least 50 each');
  });

  test('too few stable samples is inconclusive too', () => {
    const random = rng(2);
    const r = judgeCanaryWindow(simulate(random, 500, stableBehaviour), simulate(random, 10, stableBehaviour), policy);
    expect(r.verdict).toBe('inconclusive');
  });

  test('a critical guardrail violation fails the window whatever the sample size', () => {
    const canary = { ...emptySample(), requests: 3, criticalViolations: 1 };
    const r = judgeCanaryWindow(canary, simulate(rng(3), 100, stableBehaviour), policy);
    expect(r.verdict).toBe('fail');
    expect(r.checks[0]).toMatchObject({ metric: 'critical_violations', verdict: 'fail', canary: 1 });
  });

  test('a healthy canary passes with every metric’s numbers reported', () => {
    const random = rng(4);
    const r = judgeCanaryWindow(simulate(random, 400, stableBehaviour), simulate(random, 400, stableBehaviour), policy);
    expect(r.verdict).toBe('pass');
    const metrics = Object.fromEntries(r.checks.map((c) => [c.metric, c]));
    for (const m of ['error_rate', 'latency', 'violation_rate', 'feedback_score', 'cost_per_request']) {
      expect(metrics[m]).toBeDefined();
      expect(metrics[m]!.verdict).toBe('pass');
      expect(metrics[m]!.canary).not.toBeNull();
      expect(metrics[m]!.baseline).not.toBeNull();
      expect(metrics[m]!.limit).not.toBeNull();
      expect(metrics[m]!.pValue).not.toBeNull();
    }
    expect(r.alphaPerMetric).toBeCloseTo(0.05 / 5, 10);
    expect(r.canary.requests).toBe(400);
  });

  test.each([
    ['error_rate', { errorRate: 0.3 }, 50],
    ['latency', { latencyMedianMs: 900 }, 60],
    ['violation_rate', { violationRate: 0.15 }, 100],
    ['feedback_score', { feedbackMean: 2 }, 120],
    ['cost_per_request', { costUsd: 0.003 }, 60],
  ] as const)('a regression of %s fails the window and names the metric', (metric, change, n) => {
    const random = rng(5);
    const r = judgeCanaryWindow(simulate(random, n, { ...stableBehaviour, ...change }), simulate(random, 4 * n, stableBehaviour), policy);
    expect(r.verdict).toBe('fail');
    expect(r.checks.find((c) => c.metric === metric)?.verdict).toBe('fail');
    expect(r.reason.length).toBeGreaterThan(10);
  });

  test('a regression within the allowed margins passes', () => {
    const random = rng(6);
    // +0.5 point error rate (allowed +2), +10% latency (allowed +25% at p95), +20% cost (allowed +50%)
    const canary = simulate(random, 3000, { ...stableBehaviour, errorRate: 0.025, latencyMedianMs: 440, costUsd: 0.00096 });
    const r = judgeCanaryWindow(canary, simulate(random, 3000, stableBehaviour), policy);
    expect(r.verdict).toBe('pass');
  });

  test('against a baseline from before the stage (stable at 0%), latency is reported but not judged; errors still are', () => {
    const random = rng(10);
    const slower = simulate(random, 400, { ...stableBehaviour, latencyMedianMs: 800 });
    const earlier = simulate(random, 400, stableBehaviour);
    const r = judgeCanaryWindow(slower, earlier, policy, { sameWindow: false });
    expect(r.verdict).toBe('pass');
    expect(r.checks.find((c) => c.metric === 'latency')).toMatchObject({ verdict: 'skipped', canary: expect.any(Number), baseline: expect.any(Number) });
    expect(r.alphaPerMetric).toBeCloseTo(0.05 / 4, 10);
    const failing = judgeCanaryWindow(simulate(random, 400, { ...stableBehaviour, errorRate: 0.2 }), earlier, policy, { sameWindow: false });
    expect(failing.verdict).toBe('fail');
    expect(judgeCanaryWindow(slower, earlier, policy).verdict).toBe('fail'); // side by side, the same slowdown fails
  });

  test('feedback is skipped, not failed, while too few scores have arrived', () => {
    const random = rng(7);
    const r = judgeCanaryWindow(simulate(random, 60, { ...stableBehaviour, feedbackShare: 0.1 }), simulate(random, 60, stableBehaviour), policy);
    const feedback = r.checks.find((c) => c.metric === 'feedback_score')!;
    expect(feedback.verdict).toBe('skipped');
    expect(feedback.detail).toContain('20 each are needed');
  });
});

describe('error rates of the decision rule (simulated windows)', () => {
  test('a candidate identical to stable fails fewer than 0.5% of windows at the default policy', () => {
    const random = rng(42);
    let fails = 0;
    const trials = 1500;
    for (let i = 0; i < trials; i++) {
      const n = [50, 100, 200][i % 3]!;
      const r = judgeCanaryWindow(simulate(random, n, stableBehaviour), simulate(random, 4 * n, stableBehaviour), policy);
      if (r.verdict === 'fail') fails++;
    }
    expect(fails / trials).toBeLessThan(0.005);
  });

  test.each([
    [1, 0.95],
    [4, 0.995],
  ])('a canary with 25%% errors against 2%% is caught in most windows of %i × minSamples requests (≥ %f)', (multiple, power) => {
    const random = rng(43);
    let caught = 0;
    const trials = 400;
    for (let i = 0; i < trials; i++) {
      const r = judgeCanaryWindow(simulate(random, multiple * policy.minSamples, { ...stableBehaviour, errorRate: 0.25 }), simulate(random, 400, stableBehaviour), policy);
      if (r.verdict === 'fail') caught++;
    }
    expect(caught / trials).toBeGreaterThanOrEqual(power);
  });
});

describe('shadow windows', () => {
  test('continue when the shadow succeeds at least 95% of the time and nothing regressed', () => {
    const random = rng(8);
    const r = judgeShadowWindow(simulate(random, 200, stableBehaviour), simulate(random, 200, stableBehaviour), policy, 0.95);
    expect(r.verdict).toBe('pass');
    expect(r.checks[0]).toMatchObject({ metric: 'shadow_success_rate', verdict: 'pass', limit: 0.95 });
    expect(r.checks.find((c) => c.metric === 'feedback_score')?.verdict).toBe('skipped');
  });

  test('stop when the success rate is below the threshold', () => {
    const random = rng(9);
    const r = judgeShadowWindow(simulate(random, 200, { ...stableBehaviour, errorRate: 0.08 }), simulate(random, 200, { ...stableBehaviour, errorRate: 0.07 }), policy, 0.95);
    expect(r.verdict).toBe('fail');
    expect(r.reason).toContain('shadow success rate');
  });

  test('summaries carry the window numbers', () => {
    const s = summarise({ requests: 4, errors: 1, latenciesMs: [100, 200, 300], violations: 1, criticalViolations: 0, feedbackScores: [5], costsUsd: [0.1, 0.3] });
    expect(s).toEqual({ requests: 4, errorRate: 0.25, latencyP50Ms: 200, latencyP95Ms: 290, violationRate: 0.25, criticalViolations: 0, feedbackScore: 5, feedbackCount: 1, costPerRequestUsd: 0.2 });
  });
});
