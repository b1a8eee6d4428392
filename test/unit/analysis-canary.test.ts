import { emptySample, judgeCanaryWindow, judgeShadowWindow, summarise, type WindowAnalysis } from '../../src/analysis/canary';
import { GroupSampleBuilder, type GroupSample } from '../../src/analysis/group-sample';
import { closeStage, initialSequentialState } from '../../src/analysis/sequential';
import { rolloutPolicySchema } from '../../src/config/schema';
import { rng } from '../support/random';

const policy = rolloutPolicySchema.parse({}).analysis;
const zeroMargins = { ...policy, maxErrorRateIncrease: 0, maxFirstAttemptFailureRateIncrease: 0, maxLatencyP95IncreasePercent: 0, maxLatencyP99IncreasePercent: 0, maxLatencySlowerProbability: 0.5, maxViolationRateIncrease: 0, maxUnhealthyEngagementRateIncrease: 0, maxCostIncreasePercent: 0, minFeedbackScoreRatio: 1 };

interface Behaviour {
  errorRate: number;
  /** Upstream attempts failing transiently, retried (up to `attempts` in all). */
  attemptFailureRate: number;
  attempts: number;
  latencyMedianMs: number;
  latencySigma: number;
  /** Multiplier of latencies above the 80th percentile (a tail-only regression). */
  tailFactor: number;
  violationRate: number;
  /** Share of answered calls with an unhealthy engagement indicator (0: no random draw, so other streams are unchanged). */
  unhealthyRate?: number;
  costUsd: number | null;
  feedbackMean: number;
  feedbackShare: number;
}

const stable: Behaviour = { errorRate: 0.02, attemptFailureRate: 0, attempts: 3, latencyMedianMs: 400, latencySigma: 0.35, tailFactor: 1, violationRate: 0.003, costUsd: 0.0008, feedbackMean: 4, feedbackShare: 0.5 };

/** n calls of independent players (or `perPlayer` calls each). */
function simulate(random: () => number, n: number, b: Behaviour, perPlayer = 1, firstPlayer = 0): GroupSample {
  const s = new GroupSampleBuilder();
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  for (let i = 0; i < n; i++) {
    const player = firstPlayer + Math.floor(i / perPlayer);
    const firstAttemptFailed = random() < b.attemptFailureRate;
    let attempts = 1;
    let recovered = !firstAttemptFailed;
    while (!recovered && attempts < b.attempts) {
      attempts++;
      recovered = random() >= b.attemptFailureRate;
    }
    const hard = random() < b.errorRate;
    const error = hard || !recovered;
    const z = normal();
    const latency = b.latencyMedianMs * Math.exp(b.latencySigma * z) * (z > 0.8416 ? b.tailFactor : 1);
    s.add({
      player,
      error,
      firstAttemptFailed: firstAttemptFailed || hard,
      attempts,
      violation: !error && random() < b.violationRate,
      unhealthyEngagement: !error && (b.unhealthyRate ?? 0) > 0 && random() < b.unhealthyRate!,
      latencyMs: latency,
      costUsd: b.costUsd === null ? null : b.costUsd * (0.8 + 0.4 * random()),
      feedbackScore: !error && random() < b.feedbackShare ? Math.min(5, Math.max(1, Math.round(b.feedbackMean + normal()))) : null,
    });
  }
  return s.sample;
}

const check = (r: WindowAnalysis, metric: string) => r.checks.find((c) => c.metric === metric);

describe('verdict rules', () => {
  test('too few samples is inconclusive, never pass, even when the canary looks perfect', () => {
    const random = rng(1);
    const r = judgeCanaryWindow(simulate(random, 49, { ...stable, errorRate: 0 }), simulate(random, 500, stable), policy);
    expect(r.verdict).toBe('inconclusive');
    expect(r.reason).toContain('canary has 49 requests');
    expect(r.reason).toContain('at least 50 each');
  });

  test('a critical guardrail violation fails the window whatever the sample size', () => {
    const canary = { ...emptySample(), requests: 3, criticalViolations: 1 };
    const r = judgeCanaryWindow(canary, simulate(rng(3), 100, stable), policy);
    expect(r.verdict).toBe('fail');
    expect(r.checks[0]).toMatchObject({ metric: 'critical_violations', verdict: 'fail', canary: 1 });
  });

  test('the 6 % / 2 % canary at minSamples 50 is not passed (non-inferiority is not shown)', () => {
    const canary = new GroupSampleBuilder();
    const base = new GroupSampleBuilder();
    for (let i = 0; i < 50; i++) canary.add({ error: i < 3, latencyMs: 400 + i });
    for (let i = 0; i < 50; i++) base.add({ error: i < 1, latencyMs: 400 + i });
    const r = judgeCanaryWindow(canary.sample, base.sample, policy);
    expect(r.verdict).toBe('inconclusive');
    const err = check(r, 'error_rate')!;
    expect(err.verdict).toBe('inconclusive');
    expect(err.difference).toBeCloseTo(0.04, 10);
    expect(err.upper!).toBeGreaterThan(policy.maxErrorRateIncrease);
    expect(err.detail).toMatch(/^error rate \+4\.00 pp > margin \+2\.00 pp but not shown: 95 % lower bound −\d+\.\d\d pp \(canary 6\.00 % vs stable 2\.00 %\)$/);
  });

  test('a healthy canary with enough traffic passes, each metric printing its bound and margin', () => {
    const random = rng(4);
    const r = judgeCanaryWindow(simulate(random, 4000, stable), simulate(random, 12000, stable), policy);
    expect(r.verdict).toBe('pass');
    for (const m of ['error_rate', 'first_attempt_failure_rate', 'latency_p95', 'latency_p99', 'latency_shift', 'violation_rate', 'unhealthy_engagement_rate', 'feedback_score', 'cost_per_request']) {
      const c = check(r, m)!;
      expect(c.verdict).toBe('pass');
      expect(c.upper!).toBeLessThan(c.margin!);
      expect(c.lower!).toBeLessThan(c.upper!);
    }
    expect(check(r, 'error_rate')!.detail).toMatch(/^error rate [+−]\d\.\d\d pp, 95 % upper bound \+\d\.\d\d pp < margin \+2\.00 pp \(canary \d\.\d\d % vs stable \d\.\d\d %\)$/);
    expect(check(r, 'latency_p95')!.detail).toMatch(/^latency p95 [+−]\d+\.\d %, 95 % upper bound \+\d+\.\d % < margin \+25\.0 %/);
    expect(check(r, 'feedback_score')!.detail).toMatch(/^feedback score [+−]\d+\.\d %, 95 % lower bound −\d+\.\d % > margin −10\.0 %/);
    expect(r.alphaPerMetric).toBeCloseTo(0.05 / 9, 12);
    // passing needs every metric to pass (intersection–union): the pass side is not split
    expect(r.alphaPass).toBeCloseTo(0.05, 12);
    expect(Object.keys(r.evidence).sort()).toEqual(
      ['cost_per_request', 'error_rate', 'feedback_score', 'first_attempt_failure_rate', 'latency_p95', 'latency_p99', 'latency_shift', 'violation_rate', 'unhealthy_engagement_rate'].sort(),
    );
  });

  test.each([
    ['error_rate', { errorRate: 0.3 }, 300],
    ['latency_shift', { latencyMedianMs: 900 }, 300],
    ['violation_rate', { violationRate: 0.15 }, 300],
    // a candidate that makes the game more manipulative fails like one that makes more errors
    ['unhealthy_engagement_rate', { unhealthyRate: 0.12 }, 300],

    ['feedback_score', { feedbackMean: 2 }, 300],
    ['cost_per_request', { costUsd: 0.003 }, 300],
    ['first_attempt_failure_rate', { attemptFailureRate: 0.3 }, 600],
    ['latency_p95', { tailFactor: 2 }, 1000],
  ] as const)('a regression of %s fails the window and names the metric', (metric, change, n) => {
    const random = rng(5);
    const r = judgeCanaryWindow(simulate(random, n, { ...stable, ...change }), simulate(random, 4 * n, stable), policy);
    if (r.verdict !== 'fail') throw new Error(r.reason);
    const c = check(r, metric)!;
    expect(c.verdict).toBe('fail');
    expect(c.lower!).toBeGreaterThan(0);
    expect(c.difference!).toBeGreaterThan(c.margin!);
    expect(c.detail).toContain('regression shown');
  });

  test('retries that hide every failure from the player are still caught by the first-attempt failure rate', () => {
    const random = rng(11);
    const canary = simulate(random, 1000, { ...stable, errorRate: 0, attemptFailureRate: 0.2, attempts: 5 });
    const r = judgeCanaryWindow(canary, simulate(random, 4000, { ...stable, errorRate: 0 }), policy);
    expect(canary.errors).toBeLessThanOrEqual(2);
    expect(check(r, 'error_rate')!.verdict).not.toBe('fail');
    expect(check(r, 'first_attempt_failure_rate')!.verdict).toBe('fail');
    expect(r.canary.attemptsPerCall!).toBeGreaterThan(1.15);
  });

  test('a tail-only regression (median unchanged, slower tail) fails on p95 while the median stays put', () => {
    const random = rng(12);
    const canary = simulate(random, 3000, { ...stable, tailFactor: 1.6 });
    const r = judgeCanaryWindow(canary, simulate(random, 6000, stable), policy);
    expect(Math.abs(r.canary.latencyP50Ms! / r.baseline.latencyP50Ms! - 1)).toBeLessThan(0.05);
    expect(check(r, 'latency_p95')!.verdict).toBe('fail');
  });

  test('with margins 0 an identical candidate is never passed, and a real regression still fails', () => {
    const random = rng(6);
    const same = judgeCanaryWindow(simulate(random, 3000, stable), simulate(random, 3000, stable), zeroMargins);
    expect(same.verdict).toBe('inconclusive');
    const worse = judgeCanaryWindow(simulate(random, 1000, { ...stable, errorRate: 0.1 }), simulate(random, 3000, stable), zeroMargins);
    expect(worse.verdict).toBe('fail');
  });

  test('against a baseline from before the stage, latency is not judged (reported why); errors still are', () => {
    const random = rng(10);
    const slower = simulate(random, 1000, { ...stable, latencyMedianMs: 800 });
    const earlier = simulate(random, 1000, stable);
    const r = judgeCanaryWindow(slower, earlier, policy, { sameWindow: false });
    expect(check(r, 'latency_p95')).toMatchObject({ verdict: 'not_judged' });
    expect(check(r, 'latency_shift')!.detail).toContain('not judged (stable served no one in this window');
    expect(r.verdict).not.toBe('fail');
    // the verdict itself says what it compared across time
    expect(r.reason).toContain('Compared across time: stable served no one in this window (no holdback)');
    const failed = judgeCanaryWindow(simulate(random, 1000, { ...stable, errorRate: 0.3 }), earlier, policy, { sameWindow: false });
    expect(failed.verdict).toBe('fail');
    expect(failed.reason).toMatch(/^error rate .*regression shown.*\. Compared across time: .*latency is not judged$/);
    expect(judgeCanaryWindow(simulate(random, 1000, stable), earlier, policy).reason).not.toContain('across time');
  });

  test('cost is judged or explicitly not judged, never skipped in silence', () => {
    const random = rng(7);
    const selfHosted = simulate(random, 1000, { ...stable, costUsd: null });
    selfHosted.costUnknownReason = 'model llama-local has no price (set a self-hosted price)';
    const r = judgeCanaryWindow(simulate(random, 1000, stable), selfHosted, policy);
    const cost = check(r, 'cost_per_request')!;
    expect(cost.verdict).toBe('not_judged');
    expect(cost.detail).toBe('cost per request: not judged (stable: model llama-local has no price (set a self-hosted price))');
    // a free stable model against a paid candidate is a regression, not a division by zero
    const free = simulate(random, 1000, { ...stable, costUsd: 0 });
    expect(check(judgeCanaryWindow(simulate(random, 1000, stable), free, policy), 'cost_per_request')!.verdict).toBe('fail');
  });

  test('feedback is not judged, and does not block a pass, while too few scores have arrived', () => {
    const random = rng(8);
    const r = judgeCanaryWindow(simulate(random, 4000, { ...stable, feedbackShare: 0.004 }), simulate(random, 12000, stable), policy);
    const feedback = check(r, 'feedback_score')!;
    expect(feedback.verdict).toBe('not_judged');
    expect(feedback.detail).toContain('20 each are needed');
    if (r.verdict !== 'pass') throw new Error(r.reason);
  });
});

describe('players as the unit', () => {
  test('correlated players widen the bounds: the same calls grouped by player are less evidence', () => {
    const random = rng(20);
    // 2 % errors concentrated in a few players (every call of 1 player in 50 fails)
    const build = (perPlayer: number) => {
      const s = new GroupSampleBuilder();
      for (let i = 0; i < 2000; i++) s.add({ player: Math.floor(i / perPlayer), error: Math.floor(i / perPlayer) % 50 === 7, latencyMs: 300 + random() * 100 });
      return s.sample;
    };
    const independent = judgeCanaryWindow(build(1), build(1), policy);
    const clustered = judgeCanaryWindow(build(20), build(20), policy);
    const width = (r: WindowAnalysis) => check(r, 'error_rate')!.upper! - check(r, 'error_rate')!.difference!;
    expect(width(clustered)).toBeGreaterThan(3 * width(independent));
  });
});

describe('shadows, like with like', () => {
  test('a shadow on a provider with 5 % transient errors on both sides passes (its one attempt against stable’s first attempts)', () => {
    const random = rng(30);
    const transient = { ...stable, errorRate: 0, attemptFailureRate: 0.05 };
    const shadow = simulate(random, 4000, { ...transient, attempts: 1 });
    const base = simulate(random, 12000, transient);
    expect(shadow.errors / shadow.requests).toBeGreaterThan(0.04);
    expect(base.errors / base.requests).toBeLessThan(0.001);
    const r = judgeShadowWindow(shadow, base, policy);
    expect(r.verdict).toBe('pass');
    expect(check(r, 'error_rate')!.detail).toContain("against stable's first attempts");
    expect(check(r, 'feedback_score')!.verdict).toBe('not_judged');
  });

  test('a shadow failing far more than stable’s first attempts fails', () => {
    const random = rng(31);
    const r = judgeShadowWindow(simulate(random, 2000, { ...stable, errorRate: 0.15, attempts: 1 }), simulate(random, 4000, stable), policy);
    expect(r.verdict).toBe('fail');
    expect(check(r, 'error_rate')!.verdict).toBe('fail');
  });
});

describe('sequential evidence across stages', () => {
  test('closing a stage carries its evidence: the next stage starts with narrower bounds', () => {
    const random = rng(40);
    const first = judgeCanaryWindow(simulate(random, 500, stable), simulate(random, 2000, stable), policy);
    const state = closeStage(initialSequentialState(), first.evidence);
    expect(state.stagesClosed).toBe(1);
    const second = judgeCanaryWindow(simulate(random, 500, stable), simulate(random, 2000, stable), policy, { state });
    const fresh = judgeCanaryWindow(simulate(random, 500, stable), simulate(random, 2000, stable), policy);
    const width = (r: WindowAnalysis) => check(r, 'error_rate')!.upper! - check(r, 'error_rate')!.lower!;
    expect(width(second)).toBeLessThan(width(fresh));
    expect(check(second, 'error_rate')!.detail).toContain('over 2 stages');
  });

  test('a regression that starts in a later stage is not diluted by the precise, healthy stages before it', () => {
    const random = rng(41);
    // a long healthy first stage (the shadow, or 10 % of a quiet candidate) ...
    const first = judgeCanaryWindow(simulate(random, 4000, stable), simulate(random, 4000, stable), policy);
    expect(first.verdict).toBe('pass');
    const state = closeStage(initialSequentialState(), first.evidence);
    // ... then half the calls fail once it serves more players: pooled over both stages this is inside
    // the 2 pp margin, on its own it is a regression shown
    const r = judgeCanaryWindow(simulate(random, 150, { ...stable, errorRate: 0.5 }), simulate(random, 150, stable), policy, { state });
    expect(r.verdict).toBe('fail');
    expect(check(r, 'error_rate')!.detail).toMatch(/^error rate \+\d+\.\d\d pp in this stage > margin \+2\.00 pp, 95 % lower bound \+\d+\.\d\d pp > \+0\.00 pp: regression shown in this stage \([+−]\d\.\d\d pp over 2 stages\)/);
  });

  test('an identical candidate over 5 stages × 4 looks at margins 0 is rolled back in ≤ 5 % of rollouts', () => {
    const random = rng(41);
    const rollouts = 50;
    let falseRollbacks = 0;
    let player = 0;
    for (let k = 0; k < rollouts; k++) {
      let state = initialSequentialState();
      let failed = false;
      for (const share of [0.1, 0.25, 0.5, 0.75, 0.95]) {
        const canary = new GroupSampleBuilder();
        const base = new GroupSampleBuilder();
        let last: WindowAnalysis | undefined;
        for (let w = 0; w < 4 && !failed; w++) {
          for (let i = 0; i < 50; i++) {
            const to = random() < share ? canary : base;
            for (const c of [simulate(random, 5, stable, 5, player++)]) {
              for (let j = 0; j < c.requests; j++) to.add({ player, error: j < c.errors, latencyMs: c.latenciesMs.values[j] ?? null, costUsd: 0.001 });
            }
          }
          last = judgeCanaryWindow(canary.sample, base.sample, zeroMargins, { state });
          if (last.verdict === 'fail') failed = true;
        }
        if (failed) break;
        state = closeStage(state, last!.evidence);
      }
      if (failed) falseRollbacks++;
    }
    expect(falseRollbacks / rollouts).toBeLessThanOrEqual(0.05);
  });
});

test('summaries carry the window numbers', () => {
  const s = new GroupSampleBuilder();
  s.add({ error: false, latencyMs: 100, attempts: 2, firstAttemptFailed: true, costUsd: 0.1, feedbackScore: 5 });
  s.add({ error: false, latencyMs: 200, costUsd: 0.3 });
  s.add({ error: false, latencyMs: 300, violation: true });
  s.add({ error: true });
  expect(summarise(s.sample)).toEqual({
    requests: 4,
    players: 4,
    errorRate: 0.25,
    firstAttemptFailureRate: 0.5,
    attemptsPerCall: 1.25,
    latencyP50Ms: 200,
    latencyP95Ms: 290,
    latencyP99Ms: 298,
    violationRate: 0.25,
    criticalViolations: 0,
    feedbackScore: 5,
    feedbackCount: 1,
    costPerRequestUsd: 0.2,
  });
});
