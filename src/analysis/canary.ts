/**
 * Canary analysis of one look: the candidate against stable, from the stage's calls so far, combined
 * with the evidence of the stages before it. Pure: the numbers in, a verdict with its numbers out.
 *
 * Per metric (a non-inferiority test with always-valid bounds, sequential.ts):
 * - fail when a regression beyond the margin is shown: the lower bound of canary − stable is above 0
 *   and the estimate is beyond the margin — over the rollout's stages so far, or in this stage alone
 *   (a regression that starts at higher traffic is not diluted by the healthy stages before it);
 * - pass only when non-inferiority is shown: the upper bound is inside the margin (and this stage's own
 *   estimate is not beyond it);
 * - inconclusive otherwise.
 * The window fails when any metric fails (or the candidate committed a critical guardrail violation),
 * passes when every required metric and every other judged metric passes, and is inconclusive
 * otherwise — as it is with fewer than `minSamples` calls on a side.
 */

import { emptySample, summarise, type GroupSample, type GroupSummary } from './group-sample';
import { METRICS, type AnalysisPolicy, type JudgeContext, type MetricDefinition, type MetricKind, type MetricName } from './metrics';
import { alwaysValidBounds, combineEvidence, initialSequentialState, type SequentialState } from './sequential';

export type Verdict = 'pass' | 'fail' | 'inconclusive';
export type { AnalysisPolicy, GroupSample, GroupSummary, MetricName, MetricKind };
export { emptySample, summarise };

export interface MetricCheck {
  metric: MetricName | 'critical_violations';
  kind: MetricKind | 'count';
  verdict: 'pass' | 'fail' | 'inconclusive' | 'not_judged';
  /** The metric on each side in this stage so far (rate, ms, USD, score; P(slower) for the shift). */
  canary: number | null;
  baseline: number | null;
  /** canary − stable on the regression scale, over the rollout's stages so far (positive = worse). */
  difference: number | null;
  /** Always-valid bounds of `difference` at the rollout's confidence. */
  lower: number | null;
  upper: number | null;
  /** The allowed regression on the same scale. */
  margin: number | null;
  detail: string;
}

export interface WindowAnalysis {
  verdict: Verdict;
  /** One line: why this verdict. */
  reason: string;
  canary: GroupSummary;
  baseline: GroupSummary;
  checks: MetricCheck[];
  /** Family-wise over the rollout: every metric's bounds hold at once with this probability. */
  confidence: number;
  /** Level each metric's lower (rollback) bound is at: (1 − confidence) / number of metrics (Bonferroni). */
  alphaPerMetric: number;
  /**
   * Level each metric's upper (pass) bound is at: 1 − confidence, unsplit — a look passes only when every
   * judged metric passes (an intersection–union test), so no split is needed (sequential.ts).
   */
  alphaPass: number;
  /** This stage's cumulative estimate per metric: what closeStage adds to the rollout's evidence. */
  evidence: Partial<Record<MetricName, { estimate: number; variance: number }>>;
}

export interface JudgeOptions {
  /** False when stable served no one in the window and its earlier traffic is the baseline. */
  sameWindow?: boolean;
  /** The evidence of the rollout's closed stages (initialSequentialState() for the first stage). */
  state?: SequentialState;
  /** The metrics judged (default METRICS; the family size sets the level each is tested at). */
  metrics?: readonly MetricDefinition[];
}

const confidenceLabel = (c: number) => `${Number((c * 100).toFixed(2))} %`;

function judgeMetric(
  def: MetricDefinition,
  canary: GroupSample,
  baseline: GroupSample,
  ctx: JudgeContext,
  state: SequentialState,
  alpha: number,
  alphaPass: number,
): { check: MetricCheck; blocks: boolean; evidence?: { estimate: number; variance: number } } {
  const margin = def.margin(ctx.policy);
  const measured = def.measure(canary, baseline, ctx);
  const closed = state.metrics[def.name];
  const base = { metric: def.name, kind: def.kind, margin };
  if ('notJudged' in measured) {
    return {
      check: { ...base, verdict: 'not_judged', canary: null, baseline: null, difference: null, lower: null, upper: null, detail: `${def.label}: not judged (${measured.notJudged})` },
      blocks: def.required && !measured.waived,
    };
  }
  const combined = combineEvidence(closed, measured)!;
  const b = alwaysValidBounds(combined, def.mixingScale, alpha * COMBINED_SHARE, alphaPass);
  // The stage on its own too: a candidate that regresses only at higher traffic, or once it serves
  // players after a shadow, must not be diluted by the precise, healthy evidence of the stages before.
  const stageNo = state.stagesClosed + 1;
  const own = closed && stageNo >= 2 ? alwaysValidBounds(combineEvidence(undefined, measured)!, def.mixingScale, stageAlpha(alpha, stageNo), alphaPass) : undefined;
  const conf = confidenceLabel(ctx.policy.confidence);
  const sides = `canary ${def.showValue(measured.canary)} vs stable ${def.showValue(measured.baseline)}${measured.note ? ` ${measured.note}` : ''}`;
  const over = state.stagesClosed > 0 && closed ? ` over ${state.stagesClosed + 1} stages` : '';
  // For a metric whose displayed value falls as it gets worse, the regression's upper bound is the
  // displayed lower bound, and "beyond the margin" reads as "below it".
  const [worseBound, betterBound, beyond, within] = def.lowerIsWorse ? ['upper', 'lower', '<', '>'] : ['lower', 'upper', '>', '<'];
  let verdict: MetricCheck['verdict'];
  let decision: string;
  let shown = b;
  if (b.lower > 0 && b.estimate > margin) {
    verdict = 'fail';
    decision = `${def.show(b.estimate)}${over} ${beyond} margin ${def.show(margin)}, ${conf} ${worseBound} bound ${def.show(b.lower)} ${beyond} ${def.show(0)}: regression shown`;
  } else if (own && own.lower > 0 && own.estimate > margin) {
    verdict = 'fail';
    shown = own;
    decision = `${def.show(own.estimate)} in this stage ${beyond} margin ${def.show(margin)}, ${conf} ${worseBound} bound ${def.show(own.lower)} ${beyond} ${def.show(0)}: regression shown in this stage (${def.show(b.estimate)} over ${stageNo} stages)`;
  } else if (b.upper < margin && !(own && own.estimate > margin)) {
    verdict = 'pass';
    decision = `${def.show(b.estimate)}${over}, ${conf} ${betterBound} bound ${def.show(b.upper)} ${within} margin ${def.show(margin)}`;
  } else {
    verdict = 'inconclusive';
    decision =
      own && own.estimate > margin && b.upper < margin
        ? `${def.show(b.estimate)}${over}, ${conf} ${betterBound} bound ${def.show(b.upper)} ${within} margin ${def.show(margin)}, but ${def.show(own.estimate)} in this stage ${beyond} margin: not passed yet`
        : b.estimate > margin
          ? `${def.show(b.estimate)}${over} ${beyond} margin ${def.show(margin)} but not shown: ${conf} ${worseBound} bound ${def.show(b.lower)}`
          : `${def.show(b.estimate)}${over}, ${conf} ${betterBound} bound ${def.show(b.upper)} not ${within} margin ${def.show(margin)} yet`;
  }
  return {
    check: { ...base, verdict, canary: measured.canary, baseline: measured.baseline, difference: shown.estimate, lower: shown.lower, upper: shown.upper, detail: `${def.label} ${decision} (${sides})` },
    blocks: verdict === 'inconclusive',
    evidence: { estimate: measured.estimate, variance: measured.variance },
  };
}

/**
 * The rollback side's α per metric is shared between the rollout's combined evidence (this share) and
 * each later stage on its own (the rest, stage s ≥ 2 getting 6/(π²(s−1)²) of it, a series that sums to
 * 1 however many stages there are). Every one of these is an always-valid test, so by the union bound
 * an identical candidate is still rolled back on this metric with probability at most α.
 */
const COMBINED_SHARE = 0.75;
export function stageAlpha(alpha: number, stageNo: number): number {
  return (alpha * (1 - COMBINED_SHARE) * 6) / (Math.PI * Math.PI * (stageNo - 1) * (stageNo - 1));
}

function conclude(canary: GroupSample, baseline: GroupSample, policy: AnalysisPolicy, mode: 'canary' | 'shadow', options: JudgeOptions): WindowAnalysis {
  const label = mode === 'shadow' ? 'shadow' : 'canary';
  const c = summarise(canary);
  const b = summarise(baseline);
  const metrics = options.metrics ?? METRICS;
  const confidence = policy.confidence;
  const alphaPerMetric = (1 - confidence) / metrics.length;
  const alphaPass = 1 - confidence;
  const base = { canary: c, baseline: b, confidence, alphaPerMetric, alphaPass };

  if (canary.criticalViolations > 0) {
    const detail = `${canary.criticalViolations} critical guardrail violation(s) by the ${label}`;
    const check: MetricCheck = { metric: 'critical_violations', kind: 'count', verdict: 'fail', canary: canary.criticalViolations, baseline: baseline.criticalViolations, difference: null, lower: null, upper: null, margin: 0, detail };
    return { ...base, verdict: 'fail', reason: detail, checks: [check], evidence: {} };
  }
  if (canary.requests < policy.minSamples || baseline.requests < policy.minSamples) {
    return {
      ...base,
      verdict: 'inconclusive',
      reason: `${label} has ${canary.requests} requests and stable ${baseline.requests} in the window; at least ${policy.minSamples} each are needed`,
      checks: [],
      evidence: {},
    };
  }

  const ctx: JudgeContext = { policy, mode, sameWindow: options.sameWindow ?? true };
  const state = options.state ?? initialSequentialState();
  const checks: MetricCheck[] = [];
  const evidence: WindowAnalysis['evidence'] = {};
  const blocking: MetricCheck[] = [];
  for (const def of metrics) {
    const judged = judgeMetric(def, canary, baseline, ctx, state, alphaPerMetric, alphaPass);
    checks.push(judged.check);
    if (judged.evidence) evidence[def.name] = judged.evidence;
    if (judged.blocks) blocking.push(judged.check);
  }
  // Said in every verdict judged against stable's earlier traffic, so no one reads it as same-window.
  const acrossTime = ctx.sameWindow ? '' : `. ${ACROSS_TIME}`;
  const failed = checks.filter((ch) => ch.verdict === 'fail');
  if (failed.length > 0) return { ...base, verdict: 'fail', reason: failed.map((f) => f.detail).join('; ') + acrossTime, checks, evidence };
  if (blocking.length > 0) return { ...base, verdict: 'inconclusive', reason: blocking.map((f) => f.detail).join('; ') + acrossTime, checks, evidence };
  const passed = checks.filter((ch) => ch.verdict === 'pass').length;
  return {
    ...base,
    verdict: 'pass',
    reason: `${passed} metrics shown within their margins over ${canary.requests} ${label} and ${baseline.requests} stable requests${acrossTime}`,
    checks,
    evidence,
  };
}

/** What a look without a same-window baseline compares across time (the verdict says it). */
export const ACROSS_TIME =
  'Compared across time: stable served no one in this window (no holdback), so the error, first-attempt failure, violation, engagement, cost and feedback rates are judged against stable’s calls from before the stage; latency is not judged';

/**
 * A canary (or blue-green) look: the candidate serving players against stable in the same window.
 * `sameWindow: false` when stable served no one and its traffic before the stage is the baseline: the
 * metrics that drift with load and time (latency) are then reported as not judged.
 */
export function judgeCanaryWindow(canary: GroupSample, baseline: GroupSample, policy: AnalysisPolicy, options: JudgeOptions = {}): WindowAnalysis {
  return conclude(canary, baseline, policy, 'canary', options);
}

/**
 * A shadow look: mirrored calls whose answers no player sees, judged on the same metrics and rule as a
 * canary, like with like (a single-attempt shadow's errors against stable's first attempts); feedback
 * is not judged.
 */
export function judgeShadowWindow(shadow: GroupSample, baseline: GroupSample, policy: AnalysisPolicy, options: JudgeOptions = {}): WindowAnalysis {
  return conclude(shadow, baseline, policy, 'shadow', options);
}
