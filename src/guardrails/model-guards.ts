import OpenAI from 'openai';
import { emptyVerdict, maxSeverity, DEFAULT_CATEGORY_SEVERITY, type GuardrailVerdict, type HarmCategory, type Severity } from './types';

/**
 * The optional model guards of tier 2, each mapped onto our harm categories:
 * - Llama Guard (3 / 4) through any OpenAI-compatible chat endpoint (vLLM, llama.cpp, Ollama's /v1):
 *   the output is sent as the assistant turn, the guard answers `safe` or `unsafe\nS1,S10`;
 * - OpenAI's moderation endpoint (`omni-moderation-latest`, 13 categories) when a key is set.
 * Both are blind to fiction (a bandit threatening the player's character reads as violence), so
 * `withoutStoryFindings` drops their story-sensitive findings where tier 1 reads the output as dark
 * fiction with no real-world frame.
 */
export interface ModelGuard {
  /** `llama_guard` or `openai_moderation`: the source its explanations name. */
  readonly name: 'llama_guard' | 'openai_moderation';
  judge(texts: string[]): Promise<GuardrailVerdict[]>;
}

/** Llama Guard 3's hazard taxonomy (MLCommons S1–S14) → our categories; `null`: not a harm to the real player we judge (sexual content is the age rating's; IP and elections are out of scope). */
export const LLAMA_GUARD_CATEGORIES: Record<string, HarmCategory | null> = {
  S1: 'real_world_violence', // violent crimes
  S2: 'illegal_instructions', // non-violent crimes
  S3: 'illegal_instructions', // sex-related crimes
  S4: 'sexual_minors', // child sexual exploitation
  S5: 'harassment', // defamation
  S6: 'medical_or_financial_harm', // specialized advice
  S7: 'privacy',
  S8: null, // intellectual property
  S9: 'weapons_or_drugs_instructions', // indiscriminate weapons
  S10: 'hate',
  S11: 'self_harm', // suicide & self-harm
  S12: null, // sexual content
  S13: null, // elections
  S14: 'illegal_instructions', // code interpreter abuse
};

/** omni-moderation's 13 categories → ours (`null`: graphic story violence and adult sexual content are fiction and the age rating's). */
export const OPENAI_MODERATION_CATEGORIES: Record<string, HarmCategory | null> = {
  harassment: 'harassment',
  'harassment/threatening': 'harassment',
  hate: 'hate',
  'hate/threatening': 'hate',
  illicit: 'illegal_instructions',
  'illicit/violent': 'weapons_or_drugs_instructions',
  'self-harm': 'self_harm',
  'self-harm/intent': 'self_harm',
  'self-harm/instructions': 'self_harm',
  sexual: null,
  'sexual/minors': 'sexual_minors',
  violence: 'real_world_violence',
  'violence/graphic': null,
};

/** Categories a story legitimately contains between characters: a guard's finding of them counts only outside dark fiction. */
const STORY_SENSITIVE: ReadonlySet<HarmCategory> = new Set(['real_world_violence', 'harassment', 'hate']);

function verdictOf(source: ModelGuard['name'], found: Array<{ category: HarmCategory; rule: string; evidence: string }>, severities: Partial<Record<HarmCategory, Severity>> = {}): GuardrailVerdict {
  const v = emptyVerdict();
  for (const f of found) {
    const severity = severities[f.category] ?? DEFAULT_CATEGORY_SEVERITY[f.category];
    if (severity === 'none') continue;
    if (!v.harm.categories.includes(f.category)) v.harm.categories.push(f.category);
    v.harm.severity = maxSeverity(v.harm.severity, severity);
    v.explanations.push({ kind: 'harm', label: f.category, severity, rule: f.rule, evidence: f.evidence, source });
  }
  return v;
}

/** Parses Llama Guard's answer (`safe`, or `unsafe` then a line of comma-separated codes); anything else is an error naming what came back. */
export function parseLlamaGuard(answer: string): { safe: boolean; codes: string[] } {
  const lines = answer.trim().split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (lines[0] === 'safe') return { safe: true, codes: [] };
  if (lines[0] === 'unsafe') {
    const codes = (lines[1] ?? '').split(',').map((c) => c.trim().toUpperCase()).filter(Boolean);
    for (const c of codes) if (!(c in LLAMA_GUARD_CATEGORIES)) throw new Error(`llama guard: unknown hazard code "${c}" in its answer`);
    return { safe: false, codes };
  }
  throw new Error(`llama guard: expected "safe" or "unsafe" as its answer, got "${answer.slice(0, 80)}"`);
}

export interface GuardEndpoint {
  /** OpenAI base URL (…/v1). */
  baseUrl: string;
  apiKey?: string;
  model: string;
  timeoutMs?: number;
  severities?: Partial<Record<HarmCategory, Severity>>;
}

export function createLlamaGuard(endpoint: GuardEndpoint): ModelGuard {
  const openai = new OpenAI({ baseURL: endpoint.baseUrl, apiKey: endpoint.apiKey ?? 'not-needed', maxRetries: 2, timeout: endpoint.timeoutMs ?? 30_000 });
  const one = async (text: string): Promise<GuardrailVerdict> => {
    // The output is judged as the agent's turn of a conversation (Llama Guard's response classification).
    const res = await openai.chat.completions.create({ model: endpoint.model, temperature: 0, max_tokens: 20, messages: [{ role: 'user', content: 'Continue the game.' }, { role: 'assistant', content: text }] });
    const parsed = parseLlamaGuard(res.choices[0]?.message?.content ?? '');
    const found = parsed.codes.flatMap((code) => {
      const category = LLAMA_GUARD_CATEGORIES[code];
      return category ? [{ category, rule: `llama_guard.${code}`, evidence: code }] : [];
    });
    return verdictOf('llama_guard', found, endpoint.severities);
  };
  return { name: 'llama_guard', judge: (texts) => Promise.all(texts.map(one)) };
}

interface ModerationResult {
  flagged: boolean;
  categories: Record<string, boolean>;
  category_scores: Record<string, number>;
}

export function createOpenAIModeration(endpoint: GuardEndpoint): ModelGuard {
  const openai = new OpenAI({ baseURL: endpoint.baseUrl, apiKey: endpoint.apiKey ?? 'not-needed', maxRetries: 2, timeout: endpoint.timeoutMs ?? 30_000 });
  return {
    name: 'openai_moderation',
    async judge(texts) {
      if (texts.length === 0) return [];
      const res = await openai.moderations.create({ model: endpoint.model, input: texts });
      if (res.results.length !== texts.length) throw new Error(`openai moderation: ${res.results.length} results for ${texts.length} inputs`);
      return (res.results as unknown as ModerationResult[]).map((r) => {
        const found = Object.entries(r.categories)
          .filter(([k, flagged]) => flagged && OPENAI_MODERATION_CATEGORIES[k])
          .map(([k]) => ({ category: OPENAI_MODERATION_CATEGORIES[k]!, rule: `openai_moderation.${k}`, evidence: `${k} ${(r.category_scores[k] ?? 0).toFixed(3)}` }));
        return verdictOf('openai_moderation', found, endpoint.severities);
      });
    },
  };
}

/**
 * A guard's verdict with its story-sensitive findings (violence, harassment, hate) dropped where tier
 * 1 reads the output as dark fiction and found none of them itself: harm is about the real player,
 * and the guards cannot tell a character's threat from a real one. What was dropped stays explained.
 */
export function withoutStoryFindings(guard: GuardrailVerdict, tier1: GuardrailVerdict): GuardrailVerdict {
  if (!tier1.fiction_dark) return guard;
  const dropped = guard.explanations.filter((e) => e.kind === 'harm' && STORY_SENSITIVE.has(e.label as HarmCategory) && !tier1.harm.categories.includes(e.label as HarmCategory));
  if (dropped.length === 0) return guard;
  const kept = guard.explanations.filter((e) => !dropped.includes(e));
  const v = emptyVerdict();
  for (const e of kept) {
    if (e.kind !== 'harm' || !e.severity) continue;
    if (!v.harm.categories.includes(e.label as HarmCategory)) v.harm.categories.push(e.label as HarmCategory);
    v.harm.severity = maxSeverity(v.harm.severity, e.severity);
  }
  v.explanations = [...kept, ...dropped.map((e) => ({ kind: 'fiction' as const, label: 'fiction_dark', rule: `${e.rule}.story`, evidence: `${e.evidence}: story violence between characters (tier 1: dark fiction, no real-world frame)`, source: e.source }))];
  return v;
}
