import type { MetaPolicy } from '../config/schema';

/**
 * The meta loop's judgement, pure so the workflow runs it and replays it identically: from
 * one use case's assessment (health from the logs' roll-ups, the baseline, what runs, what is due) and
 * the rules of `policies.meta` (data), the decisions of this sweep — each with the rule that fired,
 * its reasons in words and the numbers that triggered it.
 */

export type MetaAction = 'rollback' | 'adjust_parameters' | 'retrain' | 'paid_switch' | 'update_guardrails' | 'none';
export type GuardrailsUpdate = NonNullable<MetaRule['guardrails']>;
export type Slos = NonNullable<MetaPolicy['slos']>;
export type MetaRule = MetaPolicy['rules'][number];

/** What the sweep hands each decision: the policy without per-use-case tables it does not need. */
export type MetaSettings = MetaPolicy;

/** Health of the stable model over a span of roll-ups (null: no calls, or no feedback). */
export interface HealthNumbers {
  from: string;
  to: string;
  calls: number;
  errors: number;
  errorRate: number | null;
  p95Ms: number | null;
  feedbackScore: number | null;
  feedbackCount: number;
  costPerRequestUsd: number | null;
  /** Calls whose high or critical harm only tier 2 (or a model guard) found, after the answer: what tier 1 let through (null: no calls, or not read). */
  tier2MissRate?: number | null;
  /** Calls whose answer showed an unhealthy engagement indicator (null: no calls, or not read). */
  unhealthyEngagementRate?: number | null;
}

export interface UseCaseAssessment {
  useCaseId: string;
  kind: 'paid' | 'self_hosted';
  createdAt: string;
  allocationVersion: number | null;
  stable: { modelId: string; modelName: string; temperature: number } | null;
  window: HealthNumbers;
  baseline: HealthNumbers | null;
  /** A lifecycle that owns the allocation (an in-progress deployment): the use case is left alone. */
  running: { kind: string; workflowId: string | null; trafficPercentage: number | null; since: string } | null;
  /** The guardrails monitor's decisions over the health window, by kind (its own interventions, already taken). */
  guardrails: Record<string, number>;
  /** The latest guardrails retrain request (decision `retrain`, source guardrails), if any. */
  guardrailsRetrainRequestedAt: string | null;
  /** When the meta loop last started (or proposed, in a dry run) a retrain / a paid switch. */
  lastRetrainAt: string | null;
  lastPaidSwitchAt: string | null;
  /** The guardrails update the meta loop last put in force on this use case (its rule and version), if any. */
  guardrailsInForce?: { rule: string; version: number; at: string } | null;
}

export interface MetaDecision {
  useCaseId: string;
  action: MetaAction;
  /** The rule that fired (a rule name of policies.meta.rules, or a built-in: retrain_due, paid_discovery_due, guardrails_retrain_request, rollout_running, disabled, healthy, too_few_calls). */
  rule: string;
  reason: string;
  modelId: string | null;
  /** adjust_parameters: the new temperature. */
  temperature?: number;
  /** update_guardrails: the monitor settings to put in force. */
  guardrails?: GuardrailsUpdate;
  numbers: Record<string, unknown>;
}

const RATES = new Set(['errorRate', 'tier2MissRate', 'unhealthyEngagementRate']);
const fmt = (metric: string, v: number) =>
  RATES.has(metric) ? `${(v * 100).toFixed(2)}%` : metric === 'p95Ms' ? `${Math.round(v)} ms` : metric === 'costPerRequestUsd' ? `$${v.toFixed(5)}` : v.toFixed(3);

/** Feedback is better when higher; every other metric when lower. */
const higherIsBetter = (metric: string) => metric === 'feedbackScore';

/** The use case's SLOs: policies.meta.slos with its per-use-case overrides. */
export function slosOf(settings: MetaSettings, useCaseId: string): Slos {
  return { ...settings.slos, ...(settings.useCases[useCaseId]?.slos ?? {}) };
}

/** Whether a rule's metric breaches, and the sentence and numbers saying so (undefined: no breach or not judged). */
export function ruleBreach(rule: MetaRule, a: UseCaseAssessment, slos: Slos): { reason: string; numbers: Record<string, unknown> } | undefined {
  const value = a.window[rule.metric] ?? null;
  if (value === null) return undefined;
  const name = rule.metric;
  if (rule.compare === 'slo') {
    const slo = slos[name];
    if (slo === undefined) return undefined;
    const breached = higherIsBetter(name) ? value < slo : value > slo;
    if (!breached) return undefined;
    return {
      reason: `${name} ${fmt(name, value)} ${higherIsBetter(name) ? '<' : '>'} SLO ${fmt(name, slo)} over ${a.window.calls} calls (${a.window.from} – ${a.window.to})`,
      numbers: { metric: name, value, slo, calls: a.window.calls },
    };
  }
  const base = a.baseline?.[name] ?? null;
  if (base === null || base === undefined || !a.baseline) return undefined;
  const limit = higherIsBetter(name) ? base / rule.factor : base * rule.factor;
  const breached = higherIsBetter(name) ? value < limit : value > limit && value > 0;
  if (!breached) return undefined;
  return {
    reason: `${name} ${fmt(name, value)} vs baseline ${fmt(name, base)} (${a.baseline.calls} calls, ${a.baseline.from} – ${a.baseline.to}): ${higherIsBetter(name) ? 'below' : 'above'} ${rule.factor}× the baseline over ${a.window.calls} calls`,
    numbers: { metric: name, value, baseline: base, factor: rule.factor, limit, calls: a.window.calls, baselineCalls: a.baseline.calls },
  };
}

const HOUR_MS = 3_600_000;

/**
 * The decisions of one use case in one sweep. A rollback excludes every other action (the next sweep
 * judges the restored model); otherwise each action fires at most once, by the first rule that asks
 * for it. Nothing to do is a decision too (`none`, with the health numbers), so every sweep leaves a
 * row per use case in the audit.
 */
export function decideUseCase(a: UseCaseAssessment, settings: MetaSettings, nowMs: number): MetaDecision[] {
  const stableId = a.stable?.modelId ?? null;
  const health = { window: a.window, baseline: a.baseline, allocationVersion: a.allocationVersion, guardrails: a.guardrails };
  const none = (rule: string, reason: string, extra: Record<string, unknown> = {}): MetaDecision[] => [{ useCaseId: a.useCaseId, action: 'none', rule, reason, modelId: stableId, numbers: { ...health, ...extra } }];
  if (settings.useCases[a.useCaseId]?.enabled === false) return none('disabled', 'policies.meta.useCases.<id>.enabled is false: the meta loop does not act on this use case');
  if (a.running) {
    const what = `${a.running.kind} ${a.running.workflowId ?? '(no workflow id)'}${a.running.trafficPercentage !== null ? ` at ${a.running.trafficPercentage}%` : ''}`;
    return none('rollout_running', `left alone: ${what} owns the allocation since ${a.running.since}`, { running: a.running });
  }
  const slos = slosOf(settings, a.useCaseId);
  const out: MetaDecision[] = [];
  const taken = new Set<MetaAction>();
  const decide = (d: Omit<MetaDecision, 'useCaseId' | 'modelId'>) => {
    if (taken.has(d.action)) return;
    taken.add(d.action);
    out.push({ useCaseId: a.useCaseId, modelId: stableId, ...d, numbers: { ...health, ...d.numbers } });
  };
  const judged = a.window.calls >= settings.minRequests && a.stable !== null;
  if (judged) {
    for (const rule of settings.rules) {
      if (rule.kinds && !rule.kinds.includes(a.kind)) continue;
      if (rule.action === 'paid_switch' && a.kind !== 'paid') continue;
      if (rule.action === 'retrain' && a.kind !== 'self_hosted') continue;
      const breach = ruleBreach(rule, a, slos);
      if (!breach) continue;
      if (rule.action === 'adjust_parameters') {
        const current = a.stable!.temperature;
        const temperature = Math.max(rule.minTemperature, Math.round(current * rule.temperatureFactor * 100) / 100);
        if (temperature >= current) continue;
        decide({ action: 'adjust_parameters', rule: rule.name, reason: `${breach.reason}; temperature ${current} → ${temperature}`, temperature, numbers: { ...breach.numbers, parameters: { temperature: { from: current, to: temperature } } } });
      } else if (rule.action === 'update_guardrails') {
        // Once a rule's settings are in force, the breach they answer is not a new decision every sweep.
        if (a.guardrailsInForce?.rule === rule.name) continue;
        const settings = Object.entries(rule.guardrails!)
          .map(([k, v]) => `${k} ${typeof v === 'object' ? Object.entries(v).map(([label, severity]) => `${label}=${String(severity)}`).join(' ') : String(v)}`)
          .join(', ');
        decide({ action: 'update_guardrails', rule: rule.name, reason: `${breach.reason}; guardrails: ${settings}`, guardrails: rule.guardrails!, numbers: { ...breach.numbers, guardrails: rule.guardrails } });
      } else if (rule.action === 'rollback') {
        decide({ action: 'rollback', rule: rule.name, reason: `${breach.reason}; roll ${a.stable!.modelName} back (undo)`, numbers: breach.numbers });
      } else {
        decide({ action: rule.action, rule: rule.name, reason: breach.reason, numbers: breach.numbers });
      }
    }
  }
  if (taken.has('rollback')) return out.filter((d) => d.action === 'rollback');
  // Candidates: what is due by time or asked for by the guardrails monitor.
  const since = (iso: string | null) => (iso === null ? undefined : nowMs - Date.parse(iso));
  const sinceCreated = nowMs - Date.parse(a.createdAt);
  if (a.kind === 'self_hosted') {
    const request = a.guardrailsRetrainRequestedAt;
    if (request !== null && (a.lastRetrainAt === null || Date.parse(request) > Date.parse(a.lastRetrainAt))) {
      decide({ action: 'retrain', rule: 'guardrails_retrain_request', reason: `the guardrails monitor asked for a retrain at ${request} (repeated safety failures)`, numbers: { requestedAt: request } });
    }
    const every = settings.retrainEveryDays * 24 * HOUR_MS;
    const age = since(a.lastRetrainAt) ?? sinceCreated;
    if (every > 0 && age >= every) {
      decide({ action: 'retrain', rule: 'retrain_due', reason: `retrain due: last retrain ${a.lastRetrainAt ?? 'never (use case created ' + a.createdAt + ')'}, every ${settings.retrainEveryDays} days`, numbers: { lastRetrainAt: a.lastRetrainAt, everyDays: settings.retrainEveryDays } });
    }
  } else {
    const every = settings.paidDiscoveryEveryHours * HOUR_MS;
    const age = since(a.lastPaidSwitchAt) ?? sinceCreated;
    if (every > 0 && age >= every) {
      decide({ action: 'paid_switch', rule: 'paid_discovery_due', reason: `paid discovery due: last ${a.lastPaidSwitchAt ?? 'never (use case created ' + a.createdAt + ')'}, every ${settings.paidDiscoveryEveryHours} h`, numbers: { lastPaidSwitchAt: a.lastPaidSwitchAt, everyHours: settings.paidDiscoveryEveryHours } });
    }
  }
  if (out.length > 0) return out;
  if (!judged) return none('too_few_calls', a.stable === null ? 'no stable model serves this use case' : `${a.window.calls} calls in the health window (< ${settings.minRequests}): health not judged`);
  const within = Object.entries(slos)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k)
    .join(', ');
  return none('healthy', `within SLOs (${within || 'none set'}) and baseline over ${a.window.calls} calls`);
}

/** Actions the sweep runs first when its budget cannot cover every decision: restoring service before improving it. */
export const ACTION_PRIORITY: Record<MetaAction, number> = { rollback: 0, adjust_parameters: 1, update_guardrails: 2, paid_switch: 3, retrain: 4, none: 9 };

/** optimization_decisions.decision_type of each action (the design's vocabulary; a paid switch deploys a model). */
export const DECISION_TYPES: Record<MetaAction, string> = { rollback: 'rollback', adjust_parameters: 'adjust_parameters', retrain: 'retrain', paid_switch: 'deploy_model', update_guardrails: 'update_guardrails', none: 'none' };
