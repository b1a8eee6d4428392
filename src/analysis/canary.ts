import type { RolloutPolicy } from '../config/schema';
import { mannWhitneyU, mean, quantile, twoProportionTest, welchRatioTest } from './statistics';

/**
 * Canary analysis of one monitoring window: the candidate against the stable model over the same
 * window, from the gateway's historical logs. Pure: the numbers in, a verdict with its numbers out.
 *
 * - too few requests on either side → `inconclusive` (never `pass`);
 * - a critical guardrail violation by the candidate → `fail`, whatever the sample size;
 * - each metric fails only when the regression exceeds its allowed margin AND is statistically
 *   significant at the policy's confidence, split over the metrics judged (Bonferroni), so a candidate
 *   identical to stable is almost never rolled back while a real regression is caught at once;
 * - otherwise `pass`.
 */

export type Verdict = 'pass' | 'fail' | 'inconclusive';
export type AnalysisPolicy = RolloutPolicy['analysis'];

/** What one side of the comparison did in the window. */
export interface GroupSample {
  /** Calls that reached a decision (ok, error, incomplete, blocked). */
  requests: number;
  /** Calls that failed (error or incomplete stream). */
  errors: number;
  /** Latencies of successful calls. */
  latenciesMs: number[];
  /** Calls whose output a guardrail flagged or blocked. */
  violations: number;
  /** Critical guardrail violations recorded against the model in the window. */
  criticalViolations: number;
  feedbackScores: number[];
  costsUsd: number[];
}

export interface GroupSummary {
  requests: number;
  errorRate: number | null;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  violationRate: number | null;
  criticalViolations: number;
  feedbackScore: number | null;
  feedbackCount: number;
  costPerRequestUsd: number | null;
}

export type MetricName = 'error_rate' | 'latency' | 'violation_rate' | 'feedback_score' | 'cost_per_request' | 'shadow_success_rate' | 'critical_violations';

export interface MetricCheck {
  metric: MetricName;
  verdict: 'pass' | 'fail' | 'skipped';
  canary: number | null;
  baseline: number | null;
  /** The value past which the canary is worse than allowed (upper bound, or lower bound for feedback and success rate). */
  limit: number | null;
  pValue: number | null;
  detail: string;
}

export interface WindowAnalysis {
  verdict: Verdict;
  /** One line: why this verdict. */
  reason: string;
  canary: GroupSummary;
  baseline: GroupSummary;
  checks: MetricCheck[];
  confidence: number;
  /** Significance level each judged metric was tested at. */
  alphaPerMetric: number;
}

export const emptySample = (): GroupSample => ({ requests: 0, errors: 0, latenciesMs: [], violations: 0, criticalViolations: 0, feedbackScores: [], costsUsd: [] });

const MIN_LATENCY_SAMPLES = 5;

export function summarise(s: GroupSample): GroupSummary {
  return {
    requests: s.requests,
    errorRate: s.requests ? s.errors / s.requests : null,
    latencyP50Ms: quantile(s.latenciesMs, 0.5),
    latencyP95Ms: quantile(s.latenciesMs, 0.95),
    violationRate: s.requests ? s.violations / s.requests : null,
    criticalViolations: s.criticalViolations,
    feedbackScore: s.feedbackScores.length ? mean(s.feedbackScores) : null,
    feedbackCount: s.feedbackScores.length,
    costPerRequestUsd: s.costsUsd.length ? mean(s.costsUsd) : null,
  };
}

const fmt = (x: number | null, digits = 3) => (x === null ? 'n/a' : Number.isInteger(x) ? String(x) : x.toPrecision(digits));
const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(2)}%`);
const fmtP = (p: number) => (p < 1e-4 ? p.toExponential(1) : p.toFixed(4));

type PendingCheck = Omit<MetricCheck, 'verdict' | 'detail'> & { judge(alpha: number): { fail: boolean; detail: string } };

function buildChecks(canary: GroupSample, baseline: GroupSample, policy: AnalysisPolicy, options: { feedback: boolean; sameWindow: boolean }): { judged: PendingCheck[]; skipped: MetricCheck[] } {
  const c = summarise(canary);
  const b = summarise(baseline);
  const judged: PendingCheck[] = [];
  const skipped: MetricCheck[] = [];

  // Error rate: H1 canary − stable > maxErrorRateIncrease.
  {
    const test = twoProportionTest({ x: canary.errors, n: canary.requests }, { x: baseline.errors, n: baseline.requests }, policy.maxErrorRateIncrease);
    const limit = b.errorRate! + policy.maxErrorRateIncrease;
    judged.push({
      metric: 'error_rate',
      canary: c.errorRate,
      baseline: b.errorRate,
      limit,
      pValue: test.pValue,
      judge: (alpha) => ({
        fail: test.pValue < alpha,
        detail: `error rate ${pct(c.errorRate)} vs stable ${pct(b.errorRate)} (allowed +${pct(policy.maxErrorRateIncrease)}; p=${fmtP(test.pValue)} ${test.pValue < alpha ? '<' : '≥'} ${fmtP(alpha)})`,
      }),
    });
  }

  // Latency: the p95 grew by more than allowed AND Mann–Whitney says the canary is slower. Only against
  // a baseline of the same window: latency drifts with load and time of day, so a comparison across
  // time would blame the candidate for the clock (the rollout bench measured exactly that).
  if (!options.sameWindow) {
    skipped.push({
      metric: 'latency',
      verdict: 'skipped',
      canary: c.latencyP95Ms,
      baseline: b.latencyP95Ms,
      limit: null,
      pValue: null,
      detail: `latency p95 ${fmt(c.latencyP95Ms)} ms vs stable ${fmt(b.latencyP95Ms)} ms earlier: not judged, stable served no one in this window (the stage before compared them side by side)`,
    });
  } else if (canary.latenciesMs.length >= MIN_LATENCY_SAMPLES && baseline.latenciesMs.length >= MIN_LATENCY_SAMPLES) {
    const test = mannWhitneyU(canary.latenciesMs, baseline.latenciesMs);
    const limit = b.latencyP95Ms! * (1 + policy.maxLatencyP95IncreasePercent / 100);
    judged.push({
      metric: 'latency',
      canary: c.latencyP95Ms,
      baseline: b.latencyP95Ms,
      limit,
      pValue: test.pValue,
      judge: (alpha) => {
        const tooSlow = c.latencyP95Ms! > limit;
        const significant = test.pValue < alpha;
        return {
          fail: tooSlow && significant,
          detail: `latency p50 ${fmt(c.latencyP50Ms)} ms / p95 ${fmt(c.latencyP95Ms)} ms vs stable ${fmt(b.latencyP50Ms)} / ${fmt(b.latencyP95Ms)} ms (p95 limit ${fmt(limit)} ms; Mann-Whitney P(canary slower)=${test.probabilityAGreater.toFixed(3)}, p=${fmtP(test.pValue)})`,
        };
      },
    });
  } else {
    skipped.push({ metric: 'latency', verdict: 'skipped', canary: c.latencyP95Ms, baseline: b.latencyP95Ms, limit: null, pValue: null, detail: `fewer than ${MIN_LATENCY_SAMPLES} successful calls on a side` });
  }

  // Guardrail violation rate: H1 canary − stable > maxViolationRateIncrease.
  {
    const test = twoProportionTest({ x: canary.violations, n: canary.requests }, { x: baseline.violations, n: baseline.requests }, policy.maxViolationRateIncrease);
    judged.push({
      metric: 'violation_rate',
      canary: c.violationRate,
      baseline: b.violationRate,
      limit: b.violationRate! + policy.maxViolationRateIncrease,
      pValue: test.pValue,
      judge: (alpha) => ({
        fail: test.pValue < alpha,
        detail: `guardrail violation rate ${pct(c.violationRate)} vs stable ${pct(b.violationRate)} (allowed +${pct(policy.maxViolationRateIncrease)}; p=${fmtP(test.pValue)})`,
      }),
    });
  }

  // Feedback: H1 mean(canary) < minFeedbackScoreRatio · mean(stable).
  if (!options.feedback) {
    skipped.push({ metric: 'feedback_score', verdict: 'skipped', canary: null, baseline: null, limit: null, pValue: null, detail: 'no player sees this model’s answers' });
  } else if (canary.feedbackScores.length >= policy.minFeedbackSamples && baseline.feedbackScores.length >= policy.minFeedbackSamples) {
    const test = welchRatioTest(canary.feedbackScores, baseline.feedbackScores, policy.minFeedbackScoreRatio, 'less');
    const limit = b.feedbackScore! * policy.minFeedbackScoreRatio;
    judged.push({
      metric: 'feedback_score',
      canary: c.feedbackScore,
      baseline: b.feedbackScore,
      limit,
      pValue: test.pValue,
      judge: (alpha) => ({
        fail: test.pValue < alpha,
        detail: `feedback score ${fmt(c.feedbackScore)} (n=${c.feedbackCount}) vs stable ${fmt(b.feedbackScore)} (n=${b.feedbackCount}) (floor ${fmt(limit)}; p=${fmtP(test.pValue)})`,
      }),
    });
  } else {
    skipped.push({
      metric: 'feedback_score',
      verdict: 'skipped',
      canary: c.feedbackScore,
      baseline: b.feedbackScore,
      limit: null,
      pValue: null,
      detail: `feedback on ${c.feedbackCount} canary and ${b.feedbackCount} stable calls; ${policy.minFeedbackSamples} each are needed to judge it`,
    });
  }

  // Cost per request: H1 mean(canary) > (1 + maxCostIncreasePercent) · mean(stable).
  if (canary.costsUsd.length >= 2 && baseline.costsUsd.length >= 2) {
    const ratio = 1 + policy.maxCostIncreasePercent / 100;
    const test = welchRatioTest(canary.costsUsd, baseline.costsUsd, ratio, 'greater');
    const limit = b.costPerRequestUsd! * ratio;
    judged.push({
      metric: 'cost_per_request',
      canary: c.costPerRequestUsd,
      baseline: b.costPerRequestUsd,
      limit,
      pValue: test.pValue,
      judge: (alpha) => ({
        fail: test.pValue < alpha,
        detail: `cost per request $${fmt(c.costPerRequestUsd, 4)} vs stable $${fmt(b.costPerRequestUsd, 4)} (limit $${fmt(limit, 4)}; p=${fmtP(test.pValue)})`,
      }),
    });
  } else {
    skipped.push({ metric: 'cost_per_request', verdict: 'skipped', canary: c.costPerRequestUsd, baseline: b.costPerRequestUsd, limit: null, pValue: null, detail: 'no recorded cost on a side' });
  }
  return { judged, skipped };
}

function conclude(
  canary: GroupSample,
  baseline: GroupSample,
  policy: AnalysisPolicy,
  options: { feedback: boolean; sameWindow: boolean; label: string; extra?: (alpha: number) => MetricCheck | undefined },
): WindowAnalysis {
  const c = summarise(canary);
  const b = summarise(baseline);
  const confidence = policy.confidence;
  const base = { canary: c, baseline: b, confidence };

  if (canary.criticalViolations > 0) {
    const check: MetricCheck = {
      metric: 'critical_violations',
      verdict: 'fail',
      canary: canary.criticalViolations,
      baseline: baseline.criticalViolations,
      limit: 0,
      pValue: null,
      detail: `${canary.criticalViolations} critical guardrail violation(s) by the ${options.label}`,
    };
    return { ...base, verdict: 'fail', reason: check.detail, checks: [check], alphaPerMetric: 1 - confidence };
  }
  if (canary.requests < policy.minSamples || baseline.requests < policy.minSamples) {
    return {
      ...base,
      verdict: 'inconclusive',
      reason: `${options.label} has ${canary.requests} requests and stable ${baseline.requests} in the window; at least ${policy.minSamples} each are needed`,
      checks: [],
      alphaPerMetric: 1 - confidence,
    };
  }

  const { judged, skipped } = buildChecks(canary, baseline, policy, options);
  // Bonferroni over the statistical tests of this window (the shadow success-rate gate is a plain threshold).
  const alpha = (1 - confidence) / judged.length;
  const checks: MetricCheck[] = [];
  const extra = options.extra?.(alpha);
  if (extra) checks.push(extra);
  for (const check of judged) {
    const { fail, detail } = check.judge(alpha);
    const { judge: _judge, ...numbers } = check;
    checks.push({ ...numbers, verdict: fail ? 'fail' : 'pass', detail });
  }
  checks.push(...skipped);
  const failed = checks.filter((ch) => ch.verdict === 'fail');
  if (failed.length > 0) return { ...base, verdict: 'fail', reason: failed.map((f) => f.detail).join('; '), checks, alphaPerMetric: alpha };
  return {
    ...base,
    verdict: 'pass',
    reason: `${checks.filter((ch) => ch.verdict === 'pass').length} metrics within limits over ${canary.requests} ${options.label} and ${baseline.requests} stable requests`,
    checks,
    alphaPerMetric: alpha,
  };
}

/**
 * A canary (or blue-green) window: the candidate serving players against stable. `sameWindow: false`
 * when stable served no one in the window (at 100%) and its traffic before the stage is the baseline:
 * then the metrics that drift with load and time (latency) are reported but not judged.
 */
export function judgeCanaryWindow(canary: GroupSample, baseline: GroupSample, policy: AnalysisPolicy, options: { sameWindow?: boolean } = {}): WindowAnalysis {
  return conclude(canary, baseline, policy, { feedback: true, sameWindow: options.sameWindow ?? true, label: 'canary' });
}

/**
 * A shadow window: mirrored calls whose answers no player sees. It continues only if the shadow's
 * success rate (ok and not flagged) reaches `successRate` (0.95 by default, as the original design asks) and no metric regressed.
 */
export function judgeShadowWindow(shadow: GroupSample, baseline: GroupSample, policy: AnalysisPolicy, successRate: number): WindowAnalysis {
  return conclude(shadow, baseline, policy, {
    feedback: false,
    sameWindow: true,
    label: 'shadow',
    extra: () => {
      const rate = shadow.requests ? (shadow.requests - shadow.errors - shadow.violations) / shadow.requests : 0;
      const ok = rate >= successRate;
      return {
        metric: 'shadow_success_rate',
        verdict: ok ? 'pass' : 'fail',
        canary: rate,
        baseline: baseline.requests ? (baseline.requests - baseline.errors - baseline.violations) / baseline.requests : null,
        limit: successRate,
        pValue: null,
        detail: `shadow success rate ${pct(rate)} ${ok ? '≥' : '<'} required ${pct(successRate)}`,
      };
    },
  });
}
