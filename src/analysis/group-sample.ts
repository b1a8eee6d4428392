import { sortedValues, type ClusteredValues } from './estimators';
import { mean } from './statistics';

/**
 * What one side of a canary comparison did in a window: exact counts, the same counts per player, and
 * the per-call values the quantile and rank metrics need, each tagged with its player.
 */
export interface GroupSample {
  /** Calls that reached a decision (ok, error, incomplete, blocked). */
  requests: number;
  /** Calls the player saw fail (error, incomplete stream, answered by the fallback model). */
  errors: number;
  /** Calls whose first upstream attempt failed, whether or not a retry then succeeded. */
  firstAttemptFailures: number;
  /** Upstream attempts in total (requests plus retries). */
  attempts: number;
  /** Calls whose output a guardrail flagged or blocked. */
  violations: number;
  /** Calls whose output showed an unhealthy engagement indicator (manipulation, FOMO, encouraging obsession). */
  unhealthyEngagement: number;
  /** Critical guardrail violations recorded against the model in the window. */
  criticalViolations: number;
  /**
   * The same counts per player (sticky key hash; a call without one is a player of its own), column by
   * column. Empty when unknown: the calls are then taken as independent.
   */
  players: { calls: number[]; errors: number[]; firstAttemptFailures: number[]; violations: number[]; unhealthyEngagement: number[] };
  /** Latencies of successful calls. */
  latenciesMs: ClusteredValues;
  feedbackScores: ClusteredValues;
  /** Cost of each call in USD: recorded by the gateway, or derived from the configured self-hosted price. */
  costsUsd: ClusteredValues;
  /** Why the cost of this side is unknown when `costsUsd` is empty (shown as "not judged: …"). */
  costUnknownReason?: string;
}

export const emptySample = (): GroupSample => ({
  requests: 0,
  errors: 0,
  firstAttemptFailures: 0,
  attempts: 0,
  violations: 0,
  unhealthyEngagement: 0,
  criticalViolations: 0,
  players: { calls: [], errors: [], firstAttemptFailures: [], violations: [], unhealthyEngagement: [] },
  latenciesMs: { values: [], clusters: [] },
  feedbackScores: { values: [], clusters: [] },
  costsUsd: { values: [], clusters: [] },
});

/** One call as the analysis sees it. */
export interface CallRecord {
  /** Player (cluster) id; undefined: a player of its own. */
  player?: number;
  error: boolean;
  /** Upstream attempts this call made (1 without retries). */
  attempts?: number;
  firstAttemptFailed?: boolean;
  violation?: boolean;
  /** The output showed an unhealthy engagement indicator (also a violation when the guardrail recorded it). */
  unhealthyEngagement?: boolean;
  latencyMs?: number | null;
  costUsd?: number | null;
  feedbackScore?: number | null;
}

/**
 * Builds a GroupSample call by call (tests, the analysis bench, and loaders that read calls). Player ids
 * must be non-negative; calls without one get a fresh negative id so they stay their own cluster.
 */
export class GroupSampleBuilder {
  readonly sample = emptySample();
  private readonly playerIndex = new Map<number, number>();
  private anonymous = -1;

  add(call: CallRecord): this {
    const s = this.sample;
    const id = call.player ?? this.anonymous--;
    let k = this.playerIndex.get(id);
    if (k === undefined) {
      k = s.players.calls.length;
      this.playerIndex.set(id, k);
      s.players.calls.push(0);
      s.players.errors.push(0);
      s.players.firstAttemptFailures.push(0);
      s.players.violations.push(0);
      s.players.unhealthyEngagement.push(0);
    }
    const firstFailed = call.firstAttemptFailed ?? call.error;
    s.requests++;
    s.attempts += call.attempts ?? 1;
    s.players.calls[k]!++;
    if (call.error) {
      s.errors++;
      s.players.errors[k]!++;
    }
    if (firstFailed) {
      s.firstAttemptFailures++;
      s.players.firstAttemptFailures[k]!++;
    }
    if (call.violation) {
      s.violations++;
      s.players.violations[k]!++;
    }
    if (call.unhealthyEngagement) {
      s.unhealthyEngagement++;
      s.players.unhealthyEngagement[k]!++;
    }
    if (!call.error && call.latencyMs !== undefined && call.latencyMs !== null) {
      s.latenciesMs.values.push(call.latencyMs);
      s.latenciesMs.clusters.push(k);
    }
    if (call.costUsd !== undefined && call.costUsd !== null) {
      s.costsUsd.values.push(call.costUsd);
      s.costsUsd.clusters.push(k);
    }
    if (call.feedbackScore !== undefined && call.feedbackScore !== null) {
      s.feedbackScores.values.push(call.feedbackScore);
      s.feedbackScores.clusters.push(k);
    }
    return this;
  }
}

/** The window's numbers of one side, for people (CLI, status, evaluation rows). */
export interface GroupSummary {
  requests: number;
  players: number;
  errorRate: number | null;
  firstAttemptFailureRate: number | null;
  /** Upstream attempts per call (1 = no retries). */
  attemptsPerCall: number | null;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyP99Ms: number | null;
  violationRate: number | null;
  criticalViolations: number;
  feedbackScore: number | null;
  feedbackCount: number;
  costPerRequestUsd: number | null;
}

/** Quantile q of ascending values, interpolated as PostgreSQL's percentile_cont. */
function sortedQuantile(sorted: Float64Array, q: number): number | null {
  if (sorted.length === 0) return null;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function summarise(s: GroupSample): GroupSummary {
  const lat = sortedValues(s.latenciesMs.values);
  return {
    requests: s.requests,
    players: s.players.calls.length || s.requests,
    errorRate: s.requests ? s.errors / s.requests : null,
    firstAttemptFailureRate: s.requests ? s.firstAttemptFailures / s.requests : null,
    attemptsPerCall: s.requests ? s.attempts / s.requests : null,
    latencyP50Ms: sortedQuantile(lat, 0.5),
    latencyP95Ms: sortedQuantile(lat, 0.95),
    latencyP99Ms: sortedQuantile(lat, 0.99),
    violationRate: s.requests ? s.violations / s.requests : null,
    criticalViolations: s.criticalViolations,
    feedbackScore: s.feedbackScores.values.length ? mean(s.feedbackScores.values) : null,
    feedbackCount: s.feedbackScores.values.length,
    costPerRequestUsd: s.costsUsd.values.length ? mean(s.costsUsd.values) : null,
  };
}
