import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RolloutPolicy } from '../src/config/schema';
import type { GroupSummary, MetricCheck, Verdict } from '../src/analysis/canary';
import type { SequentialState } from '../src/analysis/sequential';

/**
 * Messages of the rollout lifecycle, defined once and imported by the workflow, the activities, the
 * CLI, the REST API and the tests. Pure: no I/O, safe inside the workflow sandbox.
 */

export type { RolloutPolicy, Verdict, GroupSummary, MetricCheck };

export const rolloutStrategies = ['canary', 'blue_green', 'shadow_then_canary', 'all_at_once'] as const;
export type RolloutStrategy = (typeof rolloutStrategies)[number];

export interface RolloutInput {
  useCaseId: string;
  /** The candidate: a model id, or a registry model name of the use case (latest version). */
  candidate: string;
  strategy: string;
  /** Required for `all_at_once`: it switches every player at once, without a canary step. */
  force?: boolean;
  /** The rollout policy as validated from mms.config.yaml (plus CLI/API overrides), frozen at start. */
  policy: RolloutPolicy;
  requestedBy: string;
  /** Refuse to start unless this model is the stable one (REST `current_model_id`). */
  expectedStableModelId?: string;
  /** The deployment row id to create (the REST API returns it before the workflow records it). */
  deploymentId?: string;
  /** Set by the rollout itself when it continues as new: where the earlier run got to. */
  continued?: ContinuedRollout;
}

/**
 * What a rollout carries into its next run when its history grows long (continue-as-new, at a stage
 * boundary): the same request-key prefix (so its writes stay its own), the stages still to run, and the
 * evidence and status so far.
 */
export interface ContinuedRollout {
  rolloutKey: string;
  nextStage: number;
  candidateName: string;
  candidateModelId: string;
  stableModelId: string;
  snapshotId: string;
  deploymentId: string;
  rolloutStartedAt: string;
  trafficSeq: number;
  eventSeq: number;
  sequential: SequentialState;
  status: RolloutStatus;
}

/** One stage of a rollout: a shadow (mirrored, answers unused) or a share of served traffic. */
export interface RolloutStage {
  index: number;
  kind: 'shadow' | 'traffic';
  /** Shadow: share of requests mirrored; traffic: the candidate's share of served traffic. */
  percent: number;
  windowSeconds: number;
  label: string;
  /** The last step of a canary: the share stable keeps through its window (policy stableHoldbackPercent). */
  stableHoldbackPercent?: number;
}

export type RolloutPhase = 'preparing' | 'shadow' | 'canary' | 'paused' | 'promoting' | 'rolling_back' | 'completed' | 'rolled_back' | 'failed';
export const terminalPhases: readonly RolloutPhase[] = ['completed', 'rolled_back', 'failed'];

export interface VerdictRecord {
  stage: number;
  label: string;
  /** 0 for a stage's first window, n for its n-th extension. */
  window: number;
  since: string;
  until: string;
  verdict: Verdict;
  reason: string;
  /** Where stable's numbers came from: the same window, or (at 100%) stable's traffic before the stage. */
  baselineSource: 'same_window' | 'before_stage';
  canary: GroupSummary;
  baseline: GroupSummary;
  checks: MetricCheck[];
}

export interface RolloutWindow {
  stage: number;
  startedAt: string;
  /** When the window's timer fires; absent while paused. */
  endsAt?: string;
  seconds: number;
  /** Frozen time left while the rollout is paused. */
  secondsLeftWhenPaused?: number;
  extension: number;
}

export interface RolloutStatus {
  workflowId: string;
  useCaseId: string;
  strategy: string;
  /** The candidate as requested (id or name); candidateModelId once resolved. */
  candidate: string;
  candidateModelId?: string;
  stableModelId?: string;
  deploymentId?: string;
  snapshotId?: string;
  phase: RolloutPhase;
  stages: RolloutStage[];
  /** Index into stages; −1 before the first stage. */
  stageIndex: number;
  /** The candidate's share of served traffic now (0–100). */
  weightPercent: number;
  /** The share of requests mirrored to the candidate as a shadow (0–100). */
  shadowPercent: number;
  allocationVersion?: number;
  window?: RolloutWindow;
  paused: boolean;
  pauseReason?: string;
  verdicts: VerdictRecord[];
  /**
   * Critical-violation signals about a model other than the candidate: not this rollout's to abort. The
   * last 20 (the status is published on every change: it stays small however many arrive); the count is of all.
   */
  ignoredViolations?: Array<{ modelId: string; category: string; logId?: string; at: string }>;
  ignoredViolationCount?: number;
  /** What the last window's evaluation traffic did (policy evaluationTraffic.enabled). */
  evaluationTraffic?: { sent: number; ok: number; failed: number; toCandidate: number; toStable: number; promptPool: number; lastError?: string };
  outcome?: 'promoted' | 'rolled_back' | 'failed';
  reason?: string;
  startedAt: string;
  updatedAt: string;
}

export interface RolloutResult {
  outcome: 'promoted' | 'rolled_back';
  reason: string;
  useCaseId: string;
  deploymentId: string;
  snapshotId: string;
  candidateModelId: string;
  stableModelId: string;
  allocationVersion: number;
  verdicts: number;
}

export interface PauseRequest {
  reason?: string;
  by?: string;
}
export interface ResumeRequest {
  by?: string;
}
export interface AbortRequest {
  reason: string;
  by?: string;
}
export interface PromoteRequest {
  /** true: skip every remaining stage (argo `promote --full`); false: end the current stage's window now. */
  full: boolean;
  by?: string;
}

/** A critical guardrail violation, as the gateway or the guardrails monitor reports it. */
export interface CriticalViolation {
  modelId: string;
  category: string;
  violationId?: string;
  logId?: string;
  detail?: string;
}

export const rolloutStatusQuery = defineQuery<RolloutStatus>('rolloutStatus');
/** Holds the rollout at its current stage (weights unchanged, window clock stopped). */
export const pauseUpdate = defineUpdate<RolloutStatus, [PauseRequest]>('pause');
export const resumeUpdate = defineUpdate<RolloutStatus, [ResumeRequest]>('resume');
/** Rolls back to the starting snapshot; completes once the gateway serves 100% stable. */
export const abortUpdate = defineUpdate<RolloutStatus, [AbortRequest]>('abort');
/** Promotes; with full, completes once the candidate is the stable model. */
export const promoteUpdate = defineUpdate<RolloutStatus, [PromoteRequest]>('promote');
/** Aborts at once, without waiting for the window to end. */
export const criticalViolationSignal = defineSignal<[CriticalViolation]>('criticalViolation');

/** One rollout per use case at a time: the workflow id is the business key. */
export const rolloutWorkflowId = (useCaseId: string) => `rollout:${useCaseId}`;

/** Why a strategy cannot run, in words for the operator; undefined when it can. */
export function strategyProblem(strategy: string, force: boolean | undefined): string | undefined {
  if (!(rolloutStrategies as readonly string[]).includes(strategy)) {
    return `unknown rollout strategy "${strategy}": use one of canary, blue_green, shadow_then_canary (or all_at_once with force)`;
  }
  if (strategy === 'all_at_once' && !force) {
    return 'strategy all_at_once switches every player to the candidate at once, without a canary step; it needs the force flag';
  }
  return undefined;
}

export const ALL_AT_ONCE_WARNING =
  'WARNING: all_at_once moves 100% of traffic to the candidate in one step; only one monitoring window (with automatic rollback) protects players.';

/**
 * The stages of a strategy:
 * - canary: the policy's steps, each a monitoring window;
 * - shadow_then_canary: a shadow window (mirrored traffic; continues only at ≥ shadowSuccessRate), then the steps;
 * - blue_green: the green candidate previewed as a shadow, then the switch: green takes all traffic but
 *   blue's `stableHoldbackPercent` through the verification window, judged against blue's traffic of
 *   that same window (instant rollback), then promotion completes the switch and blue is retired. With
 *   a holdback of 0 (or `blueGreenHoldback: false`, the plan of histories from before the holdback)
 *   the switch is whole and blue waits at weight 0;
 * - all_at_once (force): the switch and its post-switch window only.
 */
export function planRollout(strategy: RolloutStrategy, policy: RolloutPolicy, options: { blueGreenHoldback?: boolean } = {}): RolloutStage[] {
  const shadow = { kind: 'shadow' as const, percent: policy.shadowMirrorPercent, windowSeconds: policy.shadowWindowSeconds };
  const traffic = (percent: number) => ({ kind: 'traffic' as const, percent, windowSeconds: policy.windowSeconds });
  // the canaries' 100 % step keeps a stable holdback, so it is judged against stable of the same window
  // (never more than the step before it left, so weights only go up)
  const step = (percent: number, i: number, steps: number[]) => {
    const holdback = Math.min(policy.stableHoldbackPercent, 100 - (steps[i - 1] ?? 0));
    return percent === 100 && holdback > 0 ? { ...traffic(100 - holdback), stableHoldbackPercent: holdback } : traffic(percent);
  };
  const stages: Array<Omit<RolloutStage, 'index' | 'label'>> =
    strategy === 'canary'
      ? policy.steps.map(step)
      : strategy === 'shadow_then_canary'
        ? [shadow, ...policy.steps.map(step)]
        : strategy === 'blue_green'
          ? [shadow, (options.blueGreenHoldback ?? true) ? step(100, 0, []) : traffic(100)]
          : [traffic(100)];
  return stages.map((s, index) => ({
    ...s,
    index,
    label: s.kind === 'shadow' ? `shadow ${s.percent}%` : s.stableHoldbackPercent ? `${s.percent}% (stable holdback ${s.stableHoldbackPercent}%)` : `${s.percent}%`,
  }));
}

/** Seconds left in the current window at `now` (frozen while paused). */
export function windowSecondsLeft(status: RolloutStatus, now: number): number | undefined {
  const w = status.window;
  if (!w) return undefined;
  if (w.secondsLeftWhenPaused !== undefined) return w.secondsLeftWhenPaused;
  if (!w.endsAt) return undefined;
  return Math.max(0, (Date.parse(w.endsAt) - now) / 1000);
}
