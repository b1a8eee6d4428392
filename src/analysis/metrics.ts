/**
 * The metrics a canary window is judged on, each in the same shape: a name, a kind, a margin from the
 * policy and an estimate of canary − stable on its regression scale (positive = the canary is worse)
 * with a variance. Adding a metric is one entry in METRICS; the decision rule, the sequential bounds
 * and the verdict text are shared (canary.ts).
 */

import type { RolloutPolicy } from '../config/schema';
import { mannWhitneyShift, meanLogRatio, quantileLogRatio, quantileMinSamples, rateDifference, type DifferenceEstimate } from './estimators';
import type { GroupSample } from './group-sample';

export type AnalysisPolicy = RolloutPolicy['analysis'];

export type MetricName =
  | 'error_rate'
  | 'first_attempt_failure_rate'
  | 'latency_p95'
  | 'latency_p99'
  | 'latency_shift'
  | 'violation_rate'
  | 'unhealthy_engagement_rate'
  | 'cost_per_request'
  | 'feedback_score';

/**
 * - rate: difference of two rates, in percentage points;
 * - quantile_ratio, mean_ratio: log of canary / stable, shown as a percentage change;
 * - location_shift: P(a canary call is slower than a stable one) − ½ (Mann–Whitney).
 */
export type MetricKind = 'rate' | 'quantile_ratio' | 'location_shift' | 'mean_ratio';

export interface JudgeContext {
  policy: AnalysisPolicy;
  mode: 'canary' | 'shadow';
  /** False when stable's numbers come from before the stage: what drifts with time is not judged. */
  sameWindow: boolean;
}

/** One side's value of the metric (for people) and the difference on the regression scale. */
export interface Measurement extends DifferenceEstimate {
  canary: number;
  baseline: number;
  /** How the two sides were made comparable, when that needed saying. */
  note?: string;
}

/** Why a metric could not be judged; `waived` when that cannot change by waiting (it never blocks a pass). */
export interface NotJudged {
  notJudged: string;
  waived?: boolean;
}

export interface MetricDefinition {
  name: MetricName;
  /** Lower case, as it reads in a sentence. */
  label: string;
  kind: MetricKind;
  /**
   * A required metric must be shown within its margin before a window passes; an optional one (p99,
   * cost, feedback) is judged whenever its data allow and otherwise reported as "not judged: why".
   */
  required: boolean;
  /** τ of the sequential mixture: the size of regression to detect fastest, on the regression scale. */
  mixingScale: number;
  /** The allowed regression on the regression scale. */
  margin(policy: AnalysisPolicy): number;
  measure(canary: GroupSample, baseline: GroupSample, ctx: JudgeContext): Measurement | NotJudged;
  /** A regression-scale value in the metric's display unit, signed ("+0.40 pp", "+12.0 %"). */
  show(x: number): string;
  /** One side's value in its unit ("1.40 %", "512 ms"). */
  showValue(v: number): string;
  /** True when the displayed value falls as the canary gets worse (feedback): bounds read reversed. */
  lowerIsWorse?: boolean;
}

const signed = (x: number, digits: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;
const pp = (x: number) => `${signed(x * 100, 2)} pp`;
const percentChange = (x: number) => `${signed((Math.exp(x) - 1) * 100, 1)} %`;
const percent = (v: number) => `${(v * 100).toFixed(2)} %`;
const ms = (v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;
const usd = (v: number) => `$${v.toPrecision(3)}`;

/** Fewest successful calls a side needs before the rank metric (Mann–Whitney) is judged. */
export const MIN_LATENCY_SAMPLES = 20;

const rate = (
  name: MetricName,
  label: string,
  events: (s: GroupSample) => { total: number; perPlayer: number[] },
  margin: (p: AnalysisPolicy) => number,
  mixingScale: number,
  baselineEvents?: (s: GroupSample, ctx: JudgeContext, canary: GroupSample) => { total: number; perPlayer: number[]; note?: string },
): MetricDefinition => ({
  name,
  label,
  kind: 'rate',
  required: true,
  mixingScale,
  margin,
  measure(canary, baseline, ctx) {
    const ce = events(canary);
    const be: { total: number; perPlayer: number[]; note?: string } = baselineEvents ? baselineEvents(baseline, ctx, canary) : events(baseline);
    const side = (s: GroupSample, e: { total: number; perPlayer: number[] }) => ({
      calls: s.requests,
      events: e.total,
      perPlayer: s.players.calls.length ? { calls: s.players.calls, events: e.perPlayer } : undefined,
    });
    const d = rateDifference(side(canary, ce), side(baseline, be));
    const m: Measurement = { estimate: d.estimate, variance: d.variance, canary: d.canary, baseline: d.stable };
    if (be.note) m.note = be.note;
    return m;
  },
  show: pp,
  showValue: percent,
});

const notSameWindow = 'stable served no one in this window; latency drifts with load and time, so it is not compared across time';

/**
 * A latency quantile (p95, p99) as the log ratio canary / stable, judged only within one window
 * (latency drifts with load and time) and only once each side has enough calls for that quantile.
 */
const quantile = (name: MetricName, p: number, maxIncreasePercent: (policy: AnalysisPolicy) => number, mixingScale: number): MetricDefinition => ({
  name,
  label: `latency p${Math.round(p * 100)}`,
  kind: 'quantile_ratio',
  required: false,
  mixingScale,
  margin: (policy) => Math.log1p(maxIncreasePercent(policy) / 100),
  measure(c, b, ctx) {
    if (!ctx.sameWindow) return { notJudged: notSameWindow, waived: true };
    const need = quantileMinSamples(p);
    if (c.latenciesMs.values.length < need || b.latenciesMs.values.length < need) {
      return { notJudged: `needs ${need} successful calls a side for p${Math.round(p * 100)} (canary ${c.latenciesMs.values.length}, stable ${b.latenciesMs.values.length})` };
    }
    const m = quantileLogRatio(c.latenciesMs, b.latenciesMs, p);
    if (!m) return { notJudged: `the p${Math.round(p * 100)} tail is too thin to judge` };
    return { estimate: m.estimate, variance: m.variance, canary: m.canary, baseline: m.stable };
  },
  show: percentChange,
  showValue: ms,
});

export const METRICS: readonly MetricDefinition[] = [
  rate(
    'error_rate',
    'error rate',
    (s) => ({ total: s.errors, perPlayer: s.players.errors }),
    (p) => p.maxErrorRateIncrease,
    0.02,
    // A shadow gets one upstream attempt and no fallback: compare it with stable's first attempts, like
    // with like, unless the shadow was given retries too.
    (s, ctx, canary) =>
      ctx.mode === 'shadow' && canary.attempts <= canary.requests
        ? { total: s.firstAttemptFailures, perPlayer: s.players.firstAttemptFailures, note: "against stable's first attempts (a shadow gets one attempt)" }
        : { total: s.errors, perPlayer: s.players.errors },
  ),
  rate('first_attempt_failure_rate', 'first-attempt failure rate', (s) => ({ total: s.firstAttemptFailures, perPlayer: s.players.firstAttemptFailures }), (p) => p.maxFirstAttemptFailureRateIncrease, 0.02),
  quantile('latency_p95', 0.95, (p) => p.maxLatencyP95IncreasePercent, 0.2),
  quantile('latency_p99', 0.99, (p) => p.maxLatencyP99IncreasePercent, 0.25),
  {
    name: 'latency_shift',
    label: 'P(canary call slower)',
    kind: 'location_shift',
    required: true,
    mixingScale: 0.1,
    margin: (p) => p.maxLatencySlowerProbability - 0.5,
    measure(c, b, ctx) {
      if (!ctx.sameWindow) return { notJudged: notSameWindow, waived: true };
      if (c.latenciesMs.values.length < MIN_LATENCY_SAMPLES || b.latenciesMs.values.length < MIN_LATENCY_SAMPLES) {
        return { notJudged: `needs ${MIN_LATENCY_SAMPLES} successful calls a side (canary ${c.latenciesMs.values.length}, stable ${b.latenciesMs.values.length})` };
      }
      const m = mannWhitneyShift(c.latenciesMs, b.latenciesMs)!;
      return { estimate: m.estimate, variance: m.variance, canary: m.probabilityCanarySlower, baseline: 0.5 };
    },
    show: (x) => (0.5 + x).toFixed(3),
    showValue: (v) => v.toFixed(3),
  },
  rate('violation_rate', 'guardrail violation rate', (s) => ({ total: s.violations, perPlayer: s.players.violations }), (p) => p.maxViolationRateIncrease, 0.005),
  // A candidate that makes the game more manipulative fails its window like one that makes more errors.
  rate('unhealthy_engagement_rate', 'unhealthy engagement rate', (s) => ({ total: s.unhealthyEngagement, perPlayer: s.players.unhealthyEngagement }), (p) => p.maxUnhealthyEngagementRateIncrease, 0.01),
  {
    name: 'cost_per_request',
    label: 'cost per request',
    kind: 'mean_ratio',
    required: false,
    mixingScale: 0.3,
    margin: (p) => Math.log1p(p.maxCostIncreasePercent / 100),
    measure(c, b) {
      const missing = [c.costsUsd.values.length < 2 ? `canary: ${c.costUnknownReason ?? 'no recorded cost'}` : '', b.costsUsd.values.length < 2 ? `stable: ${b.costUnknownReason ?? 'no recorded cost'}` : '']
        .filter(Boolean)
        .join('; ');
      if (missing) return { notJudged: missing };
      const m = meanLogRatio(c.costsUsd, b.costsUsd)!;
      return { estimate: m.estimate, variance: m.variance, canary: m.canary, baseline: m.stable };
    },
    show: percentChange,
    showValue: usd,
  },
  {
    name: 'feedback_score',
    label: 'feedback score',
    kind: 'mean_ratio',
    required: false,
    mixingScale: 0.1,
    margin: (p) => -Math.log(p.minFeedbackScoreRatio),
    measure(c, b, ctx) {
      if (ctx.mode === 'shadow') return { notJudged: 'no player sees a shadow’s answers' };
      const n = ctx.policy.minFeedbackSamples;
      if (c.feedbackScores.values.length < n || b.feedbackScores.values.length < n) {
        return { notJudged: `feedback on ${c.feedbackScores.values.length} canary and ${b.feedbackScores.values.length} stable calls; ${n} each are needed` };
      }
      const m = meanLogRatio(c.feedbackScores, b.feedbackScores, { lowerIsWorse: true })!;
      return { estimate: m.estimate, variance: m.variance, canary: m.canary, baseline: m.stable };
    },
    // the regression scale is log(stable / canary); people read the canary's change
    show: (x) => `${signed((Math.exp(-x) - 1) * 100, 1)} %`,
    showValue: (v) => v.toFixed(2),
    lowerIsWorse: true,
  },
];
