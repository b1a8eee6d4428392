import type { MmsConfig } from '../config/schema';

/**
 * The guardrails monitor's judgement, outside the hot path: the gateway blocks each bad
 * output; this looks at a window of them per served model and decides the interventions — roll the
 * use case back on a critical burst outside a rollout, lower a model's temperature on a run of high
 * severity outputs, ask for a retrain of a self-hosted model that keeps failing. Every decision is an
 * `optimization_decisions` row (source `guardrails`) with its reasons and an audit event, written in
 * one transaction, so `mms history`, `mms guardrails report` and the REST report show it.
 */
export type MonitorPolicy = MmsConfig['policies']['guardrails']['monitor'];

/** What one served model did in the window. */
export interface ModelWindowStats {
  modelId: string;
  modelName: string;
  role: 'stable' | 'canary';
  selfHosted: boolean;
  /** Non-shadow calls it answered in the window. */
  requests: number;
  /** Calls with at least one critical (high) violation. */
  critical: number;
  high: number;
  /** Violations of severity high or critical per category. */
  categories: Record<string, number>;
  /** The temperature it is served with: the allocation entry's, else the model's, else the use case's. */
  temperature: number;
}

export interface GuardrailsWindow {
  useCaseId: string;
  from: string;
  to: string;
  allocationVersion: number | null;
  /** A rollout owns the allocation (it aborts on critical violations itself; the monitor changes nothing then). */
  rolloutRunning: boolean;
  models: ModelWindowStats[];
  /** Where an undo would go, or why there is none; read only when the stable model had critical outputs. */
  undo?: { toModelId: string; explanation: string } | { unavailable: string };
}

/** Carried from window to window (and through continue-as-new). */
export interface MonitorState {
  /** `<kind>:<modelId>` → when that intervention was last decided (epoch ms). */
  lastDecided: Record<string, number>;
  /** Self-hosted model → consecutive windows with at least minHigh high or critical outputs. */
  failingWindows: Record<string, number>;
  /** Self-hosted model → when its last failing window was counted (epoch ms): judgements within one window (after critical signals) count once. */
  failingCountedAt?: Record<string, number>;
}

export const emptyMonitorState = (): MonitorState => ({ lastDecided: {}, failingWindows: {}, failingCountedAt: {} });

export type InterventionKind = 'rollback' | 'adjust_parameters' | 'retrain';

export interface Intervention {
  kind: InterventionKind;
  modelId: string;
  reason: string;
  /** rollback: proposed (to run) or rejected (cannot: why in reason); adjust: proposed; retrain: proposed (a request for the pipeline). */
  status: 'proposed' | 'rejected';
  /** adjust_parameters: the new temperature. */
  temperature?: number;
  details: Record<string, unknown>;
}

/** The policy's actions that gate interventions (policies.guardrails.actions, resolved for the use case). */
export interface MonitorActions {
  critical: 'rollback' | 'block';
  high: 'block' | 'redact' | 'record';
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const topCategories = (c: Record<string, number>) =>
  Object.entries(c)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');

/**
 * The interventions one window calls for, and the state after it. Pure: the workflow calls it with
 * the window an activity read, so the judgement replays identically and is unit-tested alone.
 */
export function decideInterventions(
  window: GuardrailsWindow,
  policy: MonitorPolicy,
  actions: MonitorActions,
  state: MonitorState,
  nowMs: number,
): { interventions: Intervention[]; state: MonitorState } {
  const next: MonitorState = { lastDecided: { ...state.lastDecided }, failingWindows: {}, failingCountedAt: {} };
  const out: Intervention[] = [];
  const cooling = (kind: InterventionKind, modelId: string) => {
    const last = next.lastDecided[`${kind}:${modelId}`];
    return last !== undefined && nowMs - last < policy.cooldownSeconds * 1000;
  };
  const decided = (i: Intervention) => {
    out.push(i);
    next.lastDecided[`${i.kind}:${i.modelId}`] = nowMs;
  };
  const span = `${window.from} – ${window.to}`;
  for (const m of window.models) {
    if (m.requests === 0) continue;
    const criticalRate = m.critical / m.requests;
    const highRate = m.high / m.requests;
    const numbers = { requests: m.requests, critical: m.critical, high: m.high, criticalRate, highRate, categories: m.categories, window: { from: window.from, to: window.to }, allocationVersion: window.allocationVersion };
    let rolledBack = false;
    // A rollout aborts on the first critical violation of its candidate; outside one, a burst rolls back.
    if (!window.rolloutRunning && actions.critical === 'rollback' && m.role === 'stable' && m.critical >= policy.minCritical && criticalRate >= policy.criticalRate && !cooling('rollback', m.modelId)) {
      const burst = `${m.critical} critical outputs of ${m.requests} (${pct(criticalRate)} ≥ ${pct(policy.criticalRate)}) by ${m.modelName} in ${span}: ${topCategories(m.categories)}`;
      const undo = window.undo;
      if (undo && 'toModelId' in undo) {
        decided({ kind: 'rollback', modelId: m.modelId, status: 'proposed', reason: `critical burst: ${burst}; rollback ${undo.explanation}`, details: { ...numbers, toModelId: undo.toModelId } });
        rolledBack = true;
      } else {
        decided({ kind: 'rollback', modelId: m.modelId, status: 'rejected', reason: `critical burst: ${burst}; no rollback: ${undo?.unavailable ?? 'no undo target'} (outputs stay blocked)`, details: numbers });
      }
    }
    if (!rolledBack && !window.rolloutRunning && actions.high !== 'record' && m.high >= policy.minHigh && highRate >= policy.highRate && !cooling('adjust_parameters', m.modelId)) {
      const temperature = Math.max(policy.minTemperature, Math.round(m.temperature * policy.temperatureFactor * 100) / 100);
      if (temperature < m.temperature) {
        decided({
          kind: 'adjust_parameters',
          modelId: m.modelId,
          status: 'proposed',
          temperature,
          reason: `${m.high} high-severity outputs of ${m.requests} (${pct(highRate)} ≥ ${pct(policy.highRate)}) by ${m.modelName} in ${span}: ${topCategories(m.categories)}; temperature ${m.temperature} → ${temperature}`,
          details: { ...numbers, parameters: { temperature: { from: m.temperature, to: temperature } } },
        });
      }
    }
    if (m.selfHosted) {
      const countedAt = state.failingCountedAt?.[m.modelId];
      const newWindow = countedAt === undefined || nowMs - countedAt >= policy.windowSeconds * 1000;
      const previous = state.failingWindows[m.modelId] ?? 0;
      const failing = m.high + m.critical >= policy.minHigh ? (newWindow ? previous + 1 : previous) : 0;
      if (failing > 0) next.failingCountedAt![m.modelId] = newWindow ? nowMs : countedAt!;
      if (failing >= policy.retrainAfterWindows && !cooling('retrain', m.modelId)) {
        decided({
          kind: 'retrain',
          modelId: m.modelId,
          status: 'proposed',
          reason: `repeated safety failures of self-hosted ${m.modelName}: ${failing} consecutive windows with ≥ ${policy.minHigh} high or critical outputs (last: ${topCategories(m.categories)}); retrain with safety data`,
          details: { ...numbers, consecutiveWindows: failing },
        });
        next.failingWindows[m.modelId] = 0;
      } else if (failing > 0) {
        next.failingWindows[m.modelId] = failing;
      }
    }
  }
  // Cooldowns older than the cooldown are forgotten, so the state stays small across continue-as-new.
  for (const [k, at] of Object.entries(next.lastDecided)) if (nowMs - at >= policy.cooldownSeconds * 1000) delete next.lastDecided[k];
  return { interventions: out, state: next };
}
