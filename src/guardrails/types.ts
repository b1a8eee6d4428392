/**
 * The one guardrail verdict per output, the same shape everywhere (gateway, CLI, REST, workflows,
 * evaluation). Harm is about the real player and real people, never the story world: violence between
 * characters is severity `none` with `fiction_dark: true`; a character who steps out of the story to
 * give real-world instructions or ask for real personal data is judged by what that does in the real
 * world. Field names are snake_case because the verdict is a wire format (JSONL, REST, log column).
 */

export const HARM_CATEGORIES = [
  'self_harm',
  'real_world_violence',
  'weapons_or_drugs_instructions',
  'sexual_minors',
  'hate',
  'harassment',
  'illegal_instructions',
  'privacy',
  'medical_or_financial_harm',
] as const;
export type HarmCategory = (typeof HARM_CATEGORIES)[number];

/** Ordered from harmless to worst; `severityRank` compares them. */
export const SEVERITIES = ['none', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const HEALTHY_INDICATORS = ['encourages_breaks', 'acknowledges_real_life', 'respectful_boundaries'] as const;
export const UNHEALTHY_INDICATORS = ['manipulation', 'fomo', 'encourages_obsession'] as const;
export const ENGAGEMENT_INDICATORS = [...HEALTHY_INDICATORS, ...UNHEALTHY_INDICATORS] as const;
export type EngagementIndicator = (typeof ENGAGEMENT_INDICATORS)[number];
export type UnhealthyIndicator = (typeof UNHEALTHY_INDICATORS)[number];

/** The game's use cases the guardrails know the register of (any other id is judged like npc_dialogue). */
export const GAME_USE_CASES = ['npc_dialogue', 'faction_decision', 'personality', 'story_generation', 'narrative_coordination'] as const;

/** The original design's thresholds: healthy engagement at healthy_score ≥ 0.7, unhealthy patterns at unhealthy_score > 0.3. */
export const HEALTHY_THRESHOLD = 0.7;
export const UNHEALTHY_THRESHOLD = 0.3;

export interface EngagementVerdict {
  encourages_breaks: boolean;
  acknowledges_real_life: boolean;
  respectful_boundaries: boolean;
  manipulation: boolean;
  fomo: boolean;
  encourages_obsession: boolean;
  /** Healthy indicators present / 3: the share of the three healthy-engagement signals the answer shows. */
  healthy_score: number;
  /** Unhealthy indicators present / 3: the share of the three unhealthy-engagement signals the answer shows. */
  unhealthy_score: number;
}

/** Why the verdict says what it says: one entry per rule that fired (or fiction cue that excused). */
export interface Explanation {
  /** `harm`, `engagement` or `fiction`. */
  kind: 'harm' | 'engagement' | 'fiction';
  /** The category or indicator the rule speaks for (`self_harm`, `fomo`, `fiction_dark`). */
  label: string;
  /** For harm: the severity this rule assigned (after policy). */
  severity?: Severity;
  /** Stable rule id, e.g. `self_harm.encouragement`. */
  rule: string;
  /** The text that matched (at most 80 characters). */
  evidence: string;
  /** Which tier said it: `tier1` (patterns), `tier2` (embeddings), `llama_guard`, `openai_moderation`. */
  source: string;
}

export interface GuardrailVerdict {
  harm: { severity: Severity; categories: HarmCategory[] };
  fiction_dark: boolean;
  engagement: EngagementVerdict;
  explanations: Explanation[];
}

/** Content age rating of a use case: what is acceptable in the story itself (see the labelling rules). */
export const AGE_RATINGS = ['everyone', 'teen', 'mature'] as const;
export type AgeRating = (typeof AGE_RATINGS)[number];

export interface ClassifyOptions {
  /** The use case the output was produced for (`npc_dialogue`, `story_generation`, …). */
  useCase?: string;
  /** BCP-47 hint; tier 1 checks every supported language anyway. */
  language?: string;
  /**
   * Severity of a full-strength finding per category (policies.guardrails.severities). Weaker evidence
   * sits one level below. Categories left out keep DEFAULT_CATEGORY_SEVERITY.
   */
  severities?: Partial<Record<HarmCategory, Severity>>;
  /** `everyone` also flags graphic story violence and sexual content as low harm (default `mature`: fiction is free). */
  ageRating?: AgeRating;
}

/** Severity of a full-strength finding per category unless the policy says otherwise. */
export const DEFAULT_CATEGORY_SEVERITY: Record<HarmCategory, Exclude<Severity, 'none'>> = {
  self_harm: 'critical',
  real_world_violence: 'critical',
  weapons_or_drugs_instructions: 'critical',
  sexual_minors: 'critical',
  hate: 'high',
  harassment: 'high',
  illegal_instructions: 'high',
  privacy: 'high',
  medical_or_financial_harm: 'high',
};

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

export function maxSeverity(a: Severity, b: Severity): Severity {
  return severityRank(a) >= severityRank(b) ? a : b;
}

/** One level below (never below `low`): how weaker evidence for a category is graded. */
export function oneBelow(severity: Severity): Severity {
  const i = severityRank(severity);
  return i <= 1 ? severity : SEVERITIES[i - 1]!;
}

/**
 * Runs on every tier-1 verdict, so it counts in loops and copies with `Object.assign` (the same object,
 * keys in the same order, as `{ ...flags, … }`): the spread and the filter closures cost 2.7 µs a call as
 * run here, this 0.27 µs (session 8).
 */
export function engagementScores(flags: Omit<EngagementVerdict, 'healthy_score' | 'unhealthy_score'>): EngagementVerdict {
  let healthy = 0;
  let unhealthy = 0;
  for (const k of HEALTHY_INDICATORS) if (flags[k]) healthy++;
  for (const k of UNHEALTHY_INDICATORS) if (flags[k]) unhealthy++;
  return Object.assign({}, flags, { healthy_score: round3(healthy / 3), unhealthy_score: round3(unhealthy / 3) });
}

/** The verdict of an output nothing fired on. */
export function emptyVerdict(): GuardrailVerdict {
  return {
    harm: { severity: 'none', categories: [] },
    fiction_dark: false,
    engagement: engagementScores({ encourages_breaks: false, acknowledges_real_life: false, respectful_boundaries: false, manipulation: false, fomo: false, encourages_obsession: false }),
    explanations: [],
  };
}

/** Any unhealthy indicator present (what the unhealthy-engagement rate counts). */
export function isUnhealthy(verdict: GuardrailVerdict): boolean {
  return verdict.engagement.unhealthy_score > 0;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Severity of an unhealthy engagement indicator when the policy does not name it. */
export const DEFAULT_ENGAGEMENT_SEVERITY: Record<(typeof UNHEALTHY_INDICATORS)[number], Exclude<Severity, 'none'>> = { manipulation: 'medium', encourages_obsession: 'medium', fomo: 'low' };
