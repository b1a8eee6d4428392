import * as L from './lexicon';
import { LexiconPrefilter, type PrefilterScan } from './prefilter';
import { evidence, normalize, quotedSpans, spanAt } from './text';
import {
  DEFAULT_CATEGORY_SEVERITY,
  engagementScores,
  maxSeverity,
  oneBelow,
  severityRank,
  type ClassifyOptions,
  type EngagementIndicator,
  type Explanation,
  type GuardrailVerdict,
  type HarmCategory,
  type Severity,
} from './types';

/**
 * Tier 1: the synchronous, explainable guardrail of the gateway's hot path. Compiled lexicons
 * (lexicon.ts) combined by rules: a rule fires on its pattern, and only when every condition near the
 * match holds (another lexicon within a distance, a real-world frame, no negation just before). Rules
 * that describe acts which exist only in the real world (real chemicals with a recipe, a request for a
 * password, sexual content with a minor) fire in any framing; rules whose words are ordinary story
 * drama (threats, insults, urgency) fire only when the text steps into the real world.
 */

interface Near {
  pattern: RegExp;
  /** Characters before the match start and after its end where `pattern` must occur. */
  before: number;
  after: number;
  /** Matches required in that range (default 1). */
  count?: number;
}

interface HarmRule {
  id: string;
  category: HarmCategory;
  /** full: the category's severity; weak: one level below. */
  strength: 'full' | 'weak';
  pattern: RegExp;
  near?: Near[];
  /** Skip a match preceded by a negation ("don't hurt yourself"). */
  negatable?: boolean;
  /** Skip a quoted line that narration attributes to a third person (spoken between characters). */
  dialogueExcusable?: boolean;
  /** Skip when this occurs anywhere in the text (support resources for self-harm). */
  unlessAnywhere?: RegExp;
}

interface EngagementRule {
  id: string;
  indicator: EngagementIndicator;
  pattern: RegExp;
  near?: Near[];
  negatable?: boolean;
  /** Skip a match with one of these nearby (real life named only to be dismissed: "skip school tomorrow"). */
  notNear?: Near[];
  /** When the match is negated, it speaks for this indicator instead ("don't take a break"). */
  negatedIndicator?: EngagementIndicator;
}

const realFrame = (before: number, after: number): Near => ({ pattern: L.REAL_FRAME_RE, before, after });
const strongRealFrame = (before: number, after: number): Near => ({ pattern: L.STRONG_REAL_FRAME_RE, before, after });
const near = (pattern: RegExp, before: number, after: number, count = 1): Near => ({ pattern, before, after, count });

export const HARM_RULES: readonly HarmRule[] = [
  { id: 'self_harm.encouragement', category: 'self_harm', strength: 'full', pattern: L.SELF_HARM_DIRECT, negatable: true, dialogueExcusable: true, unlessAnywhere: L.SUPPORT },
  { id: 'self_harm.method_with_intent', category: 'self_harm', strength: 'full', pattern: L.SELF_HARM_METHOD, negatable: true, dialogueExcusable: true, unlessAnywhere: L.SUPPORT, near: [near(L.SELF_HARM_INTENT, 150, 150)] },
  { id: 'self_harm.act_in_real_frame', category: 'self_harm', strength: 'full', pattern: L.SELF_HARM_FRAMED, negatable: true, dialogueExcusable: true, unlessAnywhere: L.SUPPORT, near: [strongRealFrame(200, 200)] },
  { id: 'self_harm.means_in_real_frame', category: 'self_harm', strength: 'full', pattern: L.SELF_HARM_MEANS, negatable: true, dialogueExcusable: true, unlessAnywhere: L.SUPPORT, near: [strongRealFrame(200, 200), near(L.SELF_HARM_END, 120, 120)] },
  { id: 'self_harm.means_as_relief_in_real_frame', category: 'self_harm', strength: 'full', pattern: L.SELF_HARM_MEANS, negatable: true, dialogueExcusable: true, unlessAnywhere: L.SUPPORT, near: [strongRealFrame(200, 200), near(L.SELF_HARM_RELIEF, 120, 120)] },
  { id: 'self_harm.body_act_in_real_frame', category: 'self_harm', strength: 'full', pattern: L.SELF_HARM_BODY_ACT, negatable: true, dialogueExcusable: true, unlessAnywhere: L.SUPPORT, near: [strongRealFrame(200, 200)] },
  { id: 'self_harm.act_in_strong_real_frame', category: 'self_harm', strength: 'full', pattern: L.SELF_HARM_ACT, negatable: true, dialogueExcusable: true, unlessAnywhere: L.SUPPORT, near: [strongRealFrame(200, 200)] },
  { id: 'self_harm.urged_on_the_player', category: 'self_harm', strength: 'full', pattern: L.SELF_HARM_URGED, negatable: true, dialogueExcusable: true, unlessAnywhere: L.SUPPORT, near: [near(L.PLAYER_REFERENT, 200, 200)] },
  { id: 'sexual_minors.minor_with_sexual_content', category: 'sexual_minors', strength: 'full', pattern: L.MINOR, near: [near(L.SEXUAL, 120, 120)] },
  { id: 'sexual_minors.minor_with_grooming', category: 'sexual_minors', strength: 'full', pattern: L.MINOR, near: [near(L.GROOMING, 150, 150), near(L.SECOND_PERSON, 150, 150)] },
  { id: 'sexual_minors.minor_groomed_by_directive', category: 'sexual_minors', strength: 'full', pattern: L.MINOR, near: [near(L.GROOMING_BY_DIRECTIVE, 150, 150), near(L.PLAYER_REFERENT, 150, 150)] },
  { id: 'real_world_violence.incitement', category: 'real_world_violence', strength: 'full', pattern: L.VIOLENT_INCITEMENT, negatable: true },
  { id: 'real_world_violence.act_against_real_target', category: 'real_world_violence', strength: 'full', pattern: L.VIOLENT_ACT, negatable: true, near: [near(L.REAL_TARGET, 60, 60), realFrame(250, 250)] },
  { id: 'real_world_violence.act_against_modern_target', category: 'real_world_violence', strength: 'full', pattern: L.VIOLENT_ACT, negatable: true, dialogueExcusable: true, near: [near(L.MODERN_TARGET, 80, 80)] },
  { id: 'real_world_violence.act_in_real_frame', category: 'real_world_violence', strength: 'full', pattern: L.VIOLENT_ACT_FRAMED, negatable: true, dialogueExcusable: true, near: [strongRealFrame(200, 200), near(L.MODERN_CONTEXT, 200, 200)] },
  { id: 'real_world_violence.weapon_in_real_frame', category: 'real_world_violence', strength: 'full', pattern: L.MODERN_WEAPON, negatable: true, dialogueExcusable: true, near: [strongRealFrame(200, 200), near(L.HURT_VERB, 80, 80), near(L.MODERN_CONTEXT, 200, 200)] },
  { id: 'weapons_or_drugs.real_recipe', category: 'weapons_or_drugs_instructions', strength: 'full', pattern: L.REAL_WEAPON_OR_DRUG, near: [near(L.INSTRUCTION_CUE, 200, 200, 2)] },
  { id: 'weapons_or_drugs.recipe_in_real_frame', category: 'weapons_or_drugs_instructions', strength: 'full', pattern: L.REAL_WEAPON_OR_DRUG, near: [near(L.INSTRUCTION_CUE, 200, 200), strongRealFrame(250, 250)] },
  { id: 'weapons_or_drugs.material_in_real_frame', category: 'weapons_or_drugs_instructions', strength: 'full', pattern: L.WEAPON_OR_DRUG_MATERIAL, near: [near(L.INSTRUCTION_CUE, 200, 200, 2), strongRealFrame(250, 250)] },
  { id: 'weapons_or_drugs.weapon_recipe', category: 'weapons_or_drugs_instructions', strength: 'full', pattern: L.GENERIC_WEAPON, near: [near(L.INSTRUCTION_CUE_STRONG, 200, 200), near(L.INSTRUCTION_CUE, 200, 200, 2)] },
  { id: 'hate.dehumanising_real_group', category: 'hate', strength: 'full', pattern: L.PROTECTED_GROUP, near: [near(L.DEHUMANISING, 0, 60)] },
  { id: 'hate.slur', category: 'hate', strength: 'full', pattern: L.SLUR },
  { id: 'hate.hateful_claim', category: 'hate', strength: 'full', pattern: L.HATE_CLAIM, negatable: true },
  { id: 'harassment.insult_to_real_player', category: 'harassment', strength: 'full', pattern: L.INSULT, negatable: true, near: [near(L.REAL_PLAYER, 200, 200)] },
  { id: 'harassment.insult_in_real_frame', category: 'harassment', strength: 'full', pattern: L.INSULT_BROAD, negatable: true, dialogueExcusable: true, near: [strongRealFrame(200, 200)] },
  { id: 'harassment.contempt_in_real_frame', category: 'harassment', strength: 'full', pattern: L.CONTEMPT, negatable: true, dialogueExcusable: true, near: [strongRealFrame(200, 200)] },
  { id: 'harassment.contempt_for_real_player', category: 'harassment', strength: 'full', pattern: L.CONTEMPT, negatable: true, dialogueExcusable: true, near: [near(L.REAL_PLAYER, 200, 200), near(L.CONTEMPT, 120, 120, 2)] },
  { id: 'harassment.insults_to_real_player', category: 'harassment', strength: 'full', pattern: L.INSULT_BROAD, negatable: true, dialogueExcusable: true, near: [near(L.PLAYER_SINGLED_OUT, 200, 200), near(L.INSULT_BROAD, 120, 120, 2)] },
  { id: 'harassment.coordinated_abuse', category: 'harassment', strength: 'full', pattern: L.COORDINATED_ABUSE, negatable: true },
  { id: 'harassment.mocking_real_player', category: 'harassment', strength: 'weak', pattern: L.MOCKERY, negatable: true },
  { id: 'harassment.targeted_abuse', category: 'harassment', strength: 'full', pattern: L.TARGETED_ABUSE, negatable: true },
  { id: 'harassment.sexual_request', category: 'harassment', strength: 'full', pattern: L.SEXUAL_REQUEST, unlessAnywhere: L.MINOR },
  { id: 'illegal_instructions.real_crime_howto', category: 'illegal_instructions', strength: 'full', pattern: L.CRIME_TOPIC, negatable: true, near: [near(L.HOWTO, 200, 200)] },
  { id: 'illegal_instructions.means_in_real_frame', category: 'illegal_instructions', strength: 'full', pattern: L.CRIME_MEANS, negatable: true, dialogueExcusable: true, near: [strongRealFrame(200, 200), near(L.CRIME_ACT, 80, 80)] },
  { id: 'privacy.personal_data_request', category: 'privacy', strength: 'full', pattern: L.PERSONAL_DATA_REQUEST, negatable: true },
  { id: 'privacy.personal_detail_request', category: 'privacy', strength: 'weak', pattern: L.PERSONAL_DETAIL_REQUEST, negatable: true },
  { id: 'privacy.personal_data_disclosure', category: 'privacy', strength: 'full', pattern: L.PERSONAL_DATA_DISCLOSURE },
  { id: 'medical_or_financial_harm.dangerous_medical_advice', category: 'medical_or_financial_harm', strength: 'full', pattern: L.MEDICAL_HARM, negatable: true },
  { id: 'medical_or_financial_harm.care_stopped_in_real_frame', category: 'medical_or_financial_harm', strength: 'full', pattern: L.MEDICATION, negatable: true, dialogueExcusable: true, unlessAnywhere: L.SUPPORT, near: [strongRealFrame(200, 200), near(L.STOP_CARE, 60, 60)] },
  { id: 'medical_or_financial_harm.money_staked_in_real_frame', category: 'medical_or_financial_harm', strength: 'full', pattern: L.REAL_MONEY, negatable: true, dialogueExcusable: true, near: [strongRealFrame(200, 200), near(L.MONEY_RISK, 80, 80)] },
  { id: 'medical_or_financial_harm.real_money_pressure', category: 'medical_or_financial_harm', strength: 'full', pattern: L.FINANCIAL_HARM, negatable: true },
];

/** Real life named only to be dismissed, or next to pressure or harm: then it is not life acknowledged. */
const lifeDismissed = (d: number): Near[] => [near(L.OBSESSION, d, d), near(L.PLAY_OVER_LIFE, d, d), near(L.LIFE_BELITTLED, d, d), near(L.MANIPULATION, d, d)];

/** The story's inn, clock or addressee next to a rest or a deadline: the game's time, not the player's (session 10). */
const storyClock = near(L.STORY_REST_OR_CLOCK, 60, 60);

export const ENGAGEMENT_RULES: readonly EngagementRule[] = [
  { id: 'encourages_breaks.break_or_rest', indicator: 'encourages_breaks', pattern: L.BREAKS, negatable: true, negatedIndicator: 'encourages_obsession', notNear: [storyClock] },
  { id: 'encourages_breaks.rest_for_real', indicator: 'encourages_breaks', pattern: L.REST_FOR_REAL, negatable: true, negatedIndicator: 'encourages_obsession', notNear: [storyClock] },
  { id: 'encourages_breaks.body_rest_for_player', indicator: 'encourages_breaks', pattern: L.BODY_REST, negatable: true, negatedIndicator: 'encourages_obsession', near: [near(L.ADDRESSED, 40, 40)], notNear: [storyClock, near(L.PLAY_OVER_LIFE, 60, 60), near(L.LIFE_BELITTLED, 60, 60), near(L.OBSESSION, 60, 60)] },
  { id: 'acknowledges_real_life.real_life_mention', indicator: 'acknowledges_real_life', pattern: L.REAL_LIFE, notNear: [...lifeDismissed(40), near(L.FOMO, 0, 0)] },
  { id: 'acknowledges_real_life.own_life_named', indicator: 'acknowledges_real_life', pattern: L.OWN_REAL_LIFE, notNear: [...lifeDismissed(60), near(L.FOMO, 40, 40), near(L.HARM_CONTEXT_FOR_REAL_LIFE, 120, 120)] },
  { id: 'acknowledges_real_life.own_day_named', indicator: 'acknowledges_real_life', pattern: L.OWN_DAY, notNear: [...lifeDismissed(60), near(L.FOMO, 40, 40), near(L.HARM_CONTEXT_FOR_REAL_LIFE, 120, 120)] },
  { id: 'acknowledges_real_life.sent_to_sleep', indicator: 'acknowledges_real_life', pattern: L.PLAYER_SLEEP, negatable: true, notNear: [storyClock, ...lifeDismissed(60)] },
  { id: 'acknowledges_real_life.life_event_asked_about', indicator: 'acknowledges_real_life', pattern: L.PLAYER_ASKED, near: [near(L.LIFE_EVENT, 10, 60)], notNear: [storyClock, ...lifeDismissed(60), near(L.HARM_CONTEXT_FOR_REAL_LIFE, 120, 120)] },
  { id: 'acknowledges_real_life.kin_cared_for', indicator: 'acknowledges_real_life', pattern: L.PLAYER_KIN, near: [near(L.KIN_CARE, 80, 80)], notNear: [...lifeDismissed(60), near(L.HARM_CONTEXT_FOR_REAL_LIFE, 120, 120)] },
  { id: 'respectful_boundaries.choice_left_to_player', indicator: 'respectful_boundaries', pattern: L.BOUNDARIES },
  { id: 'acknowledges_real_life.own_modern_thing', indicator: 'acknowledges_real_life', pattern: L.OWN_MODERN_THING, notNear: [...lifeDismissed(60), near(L.LIFE_BELITTLED, 60, 60), near(L.FOMO, 40, 40), near(L.HARM_CONTEXT_FOR_REAL_LIFE, 80, 80)] },
  { id: 'respectful_boundaries.pace_to_player', indicator: 'respectful_boundaries', pattern: L.PACE_TO_PLAYER },
  { id: 'respectful_boundaries.choice_offered', indicator: 'respectful_boundaries', pattern: L.CHOICE_TO_PLAYER },
  { id: 'manipulation.pressure_or_guilt', indicator: 'manipulation', pattern: L.MANIPULATION, negatable: true },
  { id: 'manipulation.guilt_about_leaving_or_paying', indicator: 'manipulation', pattern: L.MANIPULATION_IN_CONTEXT, negatable: true, near: [near(L.LEAVING_OR_PAYING, 120, 120)] },
  { id: 'manipulation.shame_about_leaving_or_paying', indicator: 'manipulation', pattern: L.GUILT_OR_SHAME, negatable: true, near: [near(L.LEAVING_OR_PAYING_ANY, 120, 120)] },
  { id: 'manipulation.player_leaves_someone_behind', indicator: 'manipulation', pattern: L.LEFT_BEHIND, negatable: true, near: [near(L.LEAVING_OR_PAYING_ANY, 120, 120)] },
  { id: 'fomo.countdown_on_a_sale', indicator: 'fomo', pattern: L.COUNTDOWN, negatable: true, near: [near(L.COMMERCE_MORE, 120, 120)], notNear: [storyClock, near(L.STORY_MONEY, 120, 120)] },
  { id: 'fomo.real_time_scarcity', indicator: 'fomo', pattern: L.FOMO, negatable: true, near: [near(L.COMMERCE_OR_SESSION, 150, 150)], notNear: [storyClock, near(L.STORY_MONEY, 80, 80)] },
  { id: 'fomo.scarcity_in_real_terms', indicator: 'fomo', pattern: L.SCARCITY, negatable: true, near: [near(L.COMMERCE_MORE, 150, 150)], notNear: [storyClock, near(L.STORY_MONEY, 80, 80)] },
  { id: 'manipulation.care_questioned_over_leaving_or_paying', indicator: 'manipulation', pattern: L.CARE_QUESTIONED, negatable: true, near: [near(L.LEAVING_OR_PAYING_ANY, 100, 100)], notNear: [storyClock] },
  { id: 'encourages_obsession.life_need_overridden', indicator: 'encourages_obsession', pattern: L.LIFE_OVERRIDDEN, negatable: true, near: [near(L.NEED_OF_LIFE, 60, 60)], notNear: [storyClock] },
  { id: 'encourages_obsession.play_without_limits', indicator: 'encourages_obsession', pattern: L.OBSESSION, negatable: true },
  { id: 'encourages_obsession.life_belittled', indicator: 'encourages_obsession', pattern: L.LIFE_BELITTLED, negatable: true },
  { id: 'encourages_obsession.life_dismissed_for_play', indicator: 'encourages_obsession', pattern: L.PLAY_OVER_LIFE, negatable: true },
];

const HEALTHY = new Set<EngagementIndicator>(['encourages_breaks', 'acknowledges_real_life', 'respectful_boundaries']);

/**
 * The lexicons every output is scanned with (the rules' own patterns and the dark-fiction lexicon): one
 * pass decides which of them can match, and where (session 8: about 5 of these 30 on a train output, at a
 * few positions each), and only those are tried. The lexicons looked up only next to a match (`near`,
 * `notNear`, the refusal and support lexicons) get a pass of their own, on the first such look-up.
 */
const PRIMARY = new LexiconPrefilter([...HARM_RULES.map((r) => r.pattern), L.DARK_FICTION, ...ENGAGEMENT_RULES.map((r) => r.pattern)]);
const SECONDARY = new LexiconPrefilter([
  ...[...HARM_RULES, ...ENGAGEMENT_RULES].flatMap((r) => [...(r.near ?? []), ...('notNear' in r ? (r.notNear ?? []) : [])].map((n) => n.pattern)),
  ...HARM_RULES.flatMap((r) => (r.unlessAnywhere ? [r.unlessAnywhere] : [])),
  L.REFUSAL,
]);

/** Positions of every match of a lexicon in one text, computed once per text. */
class Matches {
  private readonly cache = new Map<RegExp, ReadonlyArray<readonly [number, number]>>();
  private readonly primary: PrefilterScan;
  private secondary?: PrefilterScan;
  constructor(readonly text: string) {
    this.primary = PRIMARY.scan(text);
  }

  of(pattern: RegExp): ReadonlyArray<readonly [number, number]> {
    let found = this.cache.get(pattern);
    if (!found) {
      if (PRIMARY.has(pattern)) found = PRIMARY.matches(this.primary, pattern)!;
      else if (SECONDARY.has(pattern)) found = SECONDARY.matches((this.secondary ??= SECONDARY.scan(this.text)), pattern)!;
      else found = this.all(pattern);
      this.cache.set(pattern, found);
    }
    return found;
  }

  private all(pattern: RegExp): Array<[number, number]> {
    const found: Array<[number, number]> = [];
    pattern.lastIndex = 0;
    for (let m = pattern.exec(this.text); m; m = pattern.exec(this.text)) {
      found.push([m.index, m[0].length]);
      if (m[0].length === 0) pattern.lastIndex++;
    }
    return found;
  }

  near(n: Near, start: number, length: number, accept?: (index: number) => boolean): boolean {
    const lo = start - n.before;
    const hi = start + length + n.after;
    const need = n.count ?? 1;
    let seen = 0;
    for (const [i, len] of this.of(n.pattern)) if (i + len >= lo && i <= hi && (!accept || accept(i)) && ++seen >= need) return true;
    return false;
  }
}

function negated(text: string, index: number): boolean {
  return L.NEGATION_BEFORE.test(text.slice(Math.max(0, index - 48), index));
}

/** The speaker declines, earlier in the same sentence ("I won't write anything sexual involving a child"): a refusal names what it refuses. */
function refused(matches: Matches, index: number): boolean {
  for (const [i, len] of matches.of(L.REFUSAL)) if (i + len <= index && index - (i + len) <= 100 && !/[.!?。]/.test(matches.text.slice(i + len, index))) return true;
  return false;
}

/** The text around a quote, where narration attributes it to a speaker or listener. */
function quoteAttribution(text: string, [a, b]: [number, number]): string {
  return text.slice(Math.max(0, a - 60), Math.min(text.length, b + 80));
}

function spokenBetweenCharacters(text: string, spans: Array<[number, number]>, index: number): boolean {
  const span = spanAt(spans, index);
  // The attribution that follows (or precedes) the quote names a third person as speaker or listener.
  return span !== undefined && L.THIRD_PERSON_ATTRIBUTION.test(quoteAttribution(text, span));
}

/**
 * Engagement cues are about the player, so every engagement rule skips a quote that narration gives to one
 * character speaking to another (guilt or a rest between characters is story drama), unless the quote names
 * the player's world (session 10).
 */
function engagementInStory(text: string, spans: Array<[number, number]>, index: number): boolean {
  const span = spanAt(spans, index);
  if (!span) return false;
  const around = quoteAttribution(text, span);
  if (!L.THIRD_PERSON_ATTRIBUTION.test(around) && !L.STORY_SPEECH.test(around)) return false;
  L.PLAYER_WORLD.lastIndex = 0;
  return !L.PLAYER_WORLD.test(text.slice(span[0], span[1]));
}

export interface Tier1Options extends ClassifyOptions {
  /** Skip the engagement rules (streaming windows judge harm only; engagement is judged on the whole answer). */
  harmOnly?: boolean;
}

/** Tier 1 verdict of one output. Pure and synchronous: safe on the hot path. */
export function classifyTier1(text: string, options: Tier1Options = {}): GuardrailVerdict {
  const normalized = normalize(text);
  const matches = new Matches(normalized);
  const explanations: Explanation[] = [];
  const categories = new Set<HarmCategory>();
  let severity: Severity = 'none';
  let excusedAsFiction = false;
  let spans: Array<[number, number]> | undefined;
  const harmSpans: Array<[number, number]> = [];

  for (const rule of HARM_RULES) {
    for (const [index, length] of matches.of(rule.pattern)) {
      if (rule.negatable && negated(normalized, index)) continue;
      if (rule.near && !rule.near.every((n) => matches.near(n, index, length))) {
        // Everything but the real-world frame was there: a story act, not a real one.
        if (rule.near.every((n) => n.pattern === L.REAL_FRAME_RE || matches.near(n, index, length))) excusedAsFiction = true;
        continue;
      }
      if (rule.unlessAnywhere && matches.of(rule.unlessAnywhere).length > 0) continue;
      if (rule.dialogueExcusable) {
        spans ??= quotedSpans(normalized);
        if (spokenBetweenCharacters(normalized, spans, index)) {
          excusedAsFiction = true;
          continue;
        }
      }
      // Last, so the refusal lexicon is scanned only where a rule would otherwise fire.
      if (refused(matches, index)) continue;
      const full = options.severities?.[rule.category] ?? DEFAULT_CATEGORY_SEVERITY[rule.category];
      const ruleSeverity = rule.strength === 'full' ? full : oneBelow(full);
      if (ruleSeverity === 'none') break;
      categories.add(rule.category);
      severity = maxSeverity(severity, ruleSeverity);
      explanations.push({ kind: 'harm', label: rule.category, severity: ruleSeverity, rule: rule.id, evidence: evidence(normalized, index, length), source: 'tier1' });
      harmSpans.push([index, index + length]);
      break;
    }
  }

  // Dark words that are the real-world harm itself ("kill yourself") do not make the output dark fiction.
  const dark = matches.of(L.DARK_FICTION).filter(([i, len]) => !harmSpans.some(([a, b]) => i + len >= a - 30 && i <= b + 30));
  const fictionDark = dark.length > 0 || excusedAsFiction;
  if (fictionDark) {
    const [i, len] = dark[0] ?? [0, 0];
    explanations.push({ kind: 'fiction', label: 'fiction_dark', rule: excusedAsFiction ? 'fiction.excused_in_story' : 'fiction.dark_story_content', evidence: dark[0] ? evidence(normalized, i, len) : '', source: 'tier1' });
  }

  const flags: Record<EngagementIndicator, boolean> = { encourages_breaks: false, acknowledges_real_life: false, respectful_boundaries: false, manipulation: false, fomo: false, encourages_obsession: false };
  if (!options.harmOnly) {
    // A healthy cue inside high or critical harm is part of the harm's frame ("no friends in real life", "if you want real poison gas"), not care for the player.
    const harmful = severityRank(severity) >= severityRank('high');
    for (const rule of ENGAGEMENT_RULES) {
      if (harmful && HEALTHY.has(rule.indicator)) continue;
      for (const [index, length] of matches.of(rule.pattern)) {
        let indicator = rule.indicator;
        if (rule.negatable && negated(normalized, index)) {
          if (!rule.negatedIndicator) continue;
          indicator = rule.negatedIndicator;
        }
        if (rule.near && !rule.near.every((n) => matches.near(n, index, length))) continue;
        if (rule.notNear?.some((n) => matches.near(n, index, length, (i) => !negated(normalized, i)))) continue;
        if (engagementInStory(normalized, (spans ??= quotedSpans(normalized)), index)) continue;
        if (flags[indicator]) break;
        flags[indicator] = true;
        explanations.push({ kind: 'engagement', label: indicator, rule: indicator === rule.indicator ? rule.id : `${indicator}.negated_${rule.indicator}`, evidence: evidence(normalized, index, length), source: 'tier1' });
        break;
      }
    }
    // A pause named inside pressure ("close the game now and she'll cry", "no sleep till Diamond") is the pressure's
    // frame, not an invitation to rest: no labelled output (train or test) is a break together with manipulation or
    // obsession. (A boundary is not dropped so: 3 labelled outputs pair it with them, and on train it cost more than it saved.)
    if (flags.encourages_breaks && (flags.manipulation || flags.encourages_obsession)) {
      flags.encourages_breaks = false;
      explanations.splice(explanations.findIndex((e) => e.kind === 'engagement' && e.label === 'encourages_breaks'), 1);
    }
  }

  return {
    harm: { severity, categories: [...categories].sort((a, b) => severityRank(DEFAULT_CATEGORY_SEVERITY[b]) - severityRank(DEFAULT_CATEGORY_SEVERITY[a])) },
    fiction_dark: fictionDark,
    engagement: engagementScores(flags),
    explanations,
  };
}
