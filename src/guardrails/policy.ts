import type { MmsConfig } from '../config/schema';
import { classifyTier1 } from './tier1';
import { DEFAULT_ENGAGEMENT_SEVERITY, severityRank, UNHEALTHY_INDICATORS, type AgeRating, type GuardrailVerdict, type HarmCategory, type Severity } from './types';

/**
 * policies.guardrails, read: which severity each category or indicator has, what each severity does,
 * the age rating and how verdicts combine, per use case. `decide` turns one verdict into what the
 * gateway does with the output and which violations it records.
 */
export type GuardrailsPolicyConfig = MmsConfig['policies']['guardrails'];
export type SeverityAction = 'rollback' | 'block' | 'redact' | 'record';
export type CombineMode = 'max' | 'vote';

export interface ResolvedGuardrailPolicy {
  useCaseId: string;
  tier1: boolean;
  ageRating: AgeRating;
  combine: CombineMode;
  severities: Partial<Record<string, Exclude<Severity, 'none'>>>;
  actions: { critical: 'rollback' | 'block'; high: 'block' | 'redact' | 'record'; medium: 'block' | 'record'; low: 'block' | 'record' };
}

/**
 * The guardrails policy an update_guardrails decision (of the meta loop) put in force for one use case,
 * over policies.guardrails: stored on the use case (use_cases.guardrails_override), read by the gateway
 * with the rest of the registry, and numbered per use case (the decision row holds before and after).
 */
export interface GuardrailsOverride {
  version: number;
  decisionId: string;
  rule: string;
  at: string;
  actions: Partial<{ high: 'block' | 'redact' | 'record'; medium: 'block' | 'record'; low: 'block' | 'record' }>;
  severities: Partial<Record<string, Exclude<Severity, 'none'>>>;
}

/** A stored override as the gateway reads it; undefined when absent or not of this shape (the config's policy then applies). */
export function parseGuardrailsOverride(value: unknown): GuardrailsOverride | undefined {
  const v = value as Partial<GuardrailsOverride> | null | undefined;
  if (!v || typeof v !== 'object' || typeof v.version !== 'number' || typeof v.decisionId !== 'string') return undefined;
  const object = (x: unknown) => (x && typeof x === 'object' ? (x as Record<string, never>) : {});
  return { version: v.version, decisionId: v.decisionId, rule: String(v.rule ?? ''), at: String(v.at ?? ''), actions: object(v.actions), severities: object(v.severities) };
}

export function resolvePolicy(config: GuardrailsPolicyConfig, useCaseId: string, override?: GuardrailsOverride): ResolvedGuardrailPolicy {
  const own = config.useCases[useCaseId];
  const defined = (o: object | undefined) => Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined));
  return {
    useCaseId,
    tier1: own?.tier1 ?? config.tier1,
    ageRating: own?.ageRating ?? config.ageRating,
    combine: own?.combine ?? config.combine,
    severities: override ? { ...config.severities, ...defined(override.severities) } : config.severities,
    actions: { ...config.actions, ...defined(own?.actions), ...defined(override?.actions) },
  };
}

/** One recorded violation: a harm category, an unhealthy engagement indicator, or dark fiction above the age rating. */
export interface Finding {
  type: string;
  severity: Exclude<Severity, 'none'>;
  /** The rule (tier 1) or model that said so, and what matched. */
  rule: string;
  evidence: string;
  source: string;
}

export interface Decision {
  /** What happens to the output: pass (maybe with recorded findings), redact, or block. */
  action: 'pass' | 'redact' | 'block';
  findings: Finding[];
  worst: Severity;
  /** Per finding: the policy's action for its severity. */
  interventions: SeverityAction[];
}

export function findingsOf(verdict: GuardrailVerdict, policy: ResolvedGuardrailPolicy): Finding[] {
  const out: Finding[] = [];
  const seen = new Set<string>();
  for (const e of verdict.explanations) {
    if (e.kind === 'harm' && e.severity && e.severity !== 'none' && !seen.has(e.label)) {
      seen.add(e.label);
      // The classifier already applied the policy's category severity (options.severities).
      const severity = verdict.explanations.filter((x) => x.kind === 'harm' && x.label === e.label).reduce<Severity>((s, x) => (severityRank(x.severity ?? 'none') > severityRank(s) ? x.severity! : s), 'none');
      out.push({ type: e.label, severity: severity as Exclude<Severity, 'none'>, rule: e.rule, evidence: e.evidence, source: e.source });
    }
  }
  for (const category of verdict.harm.categories) {
    if (!seen.has(category)) out.push({ type: category, severity: verdict.harm.severity === 'none' ? 'low' : verdict.harm.severity, rule: 'verdict', evidence: '', source: 'combined' });
  }
  for (const indicator of UNHEALTHY_INDICATORS) {
    if (!verdict.engagement[indicator]) continue;
    const e = verdict.explanations.find((x) => x.kind === 'engagement' && x.label === indicator);
    out.push({ type: indicator, severity: policy.severities[indicator] ?? DEFAULT_ENGAGEMENT_SEVERITY[indicator], rule: e?.rule ?? 'verdict', evidence: e?.evidence ?? '', source: e?.source ?? 'combined' });
  }
  if (verdict.fiction_dark && policy.ageRating === 'everyone') {
    const e = verdict.explanations.find((x) => x.kind === 'fiction');
    out.push({ type: 'fiction_dark', severity: 'low', rule: 'age_rating.everyone', evidence: e?.evidence ?? '', source: e?.source ?? 'tier1' });
  }
  return out;
}

export function decide(verdict: GuardrailVerdict, policy: ResolvedGuardrailPolicy): Decision {
  const findings = findingsOf(verdict, policy);
  let action: Decision['action'] = 'pass';
  let worst: Severity = 'none';
  const interventions: SeverityAction[] = [];
  for (const f of findings) {
    if (severityRank(f.severity) > severityRank(worst)) worst = f.severity;
    const a = policy.actions[f.severity];
    interventions.push(a);
    if (a === 'rollback' || a === 'block') action = 'block';
    else if (a === 'redact' && action === 'pass') action = 'redact';
  }
  return { action, findings, worst, interventions };
}

/**
 * The output with every sentence tier 1 finds harmful replaced by "[…]": what a `redact` action
 * returns. Sentences are judged alone, so a redacted answer keeps its harmless story.
 */
export function redactOutput(text: string, options: { severities?: Partial<Record<HarmCategory, Severity>> } = {}): string {
  const sentences = text.match(/[^.!?。！？\n]+[.!?。！？\n]*\s*/gu) ?? [text];
  return sentences.map((s) => (classifyTier1(s, { harmOnly: true, severities: options.severities }).harm.severity === 'none' ? s : `[…]${/\s$/.test(s) ? ' ' : ''}`)).join('');
}
