import { emptyVerdict, engagementScores, ENGAGEMENT_INDICATORS, HARM_CATEGORIES, maxSeverity, severityRank, type EngagementIndicator, type GuardrailVerdict, type HarmCategory, type Severity } from './types';
import type { CombineMode } from './policy';

/**
 * How the verdicts of tier 1, tier 2 and the model guards of one output become one verdict
 * (`policies.guardrails.combine`, per use case):
 * - `max`: a harm category or engagement indicator any source finds counts, at the highest severity a
 *   source gave it;
 * - `vote`: it counts when two sources agree; a tier-1 critical finding always counts (a critical
 *   output is blocked in the hot path on tier 1's word alone), and a label only one source can judge
 *   (engagement, when only tier 1 and tier 2 judge it and they are the sources) needs both.
 * Dark fiction is what any source that reads the story (tier 1, tier 2) says. Explanations keep every
 * finding that counted, with its source.
 */
export interface VerdictSource {
  /** `tier1`, `tier2`, `llama_guard`, `openai_moderation`. */
  source: string;
  verdict: GuardrailVerdict;
  /** The model guards judge harm only: their empty engagement is no vote. */
  judgesEngagement: boolean;
}

export function combineVerdicts(sources: VerdictSource[], mode: CombineMode): GuardrailVerdict {
  const out = emptyVerdict();
  if (sources.length === 0) return out;
  const quorum = (n: number) => (mode === 'max' ? n >= 1 : n >= Math.min(2, sources.length));
  let severity: Severity = 'none';
  for (const category of HARM_CATEGORIES) {
    const findings = sources.flatMap((s) => s.verdict.explanations.filter((e) => e.kind === 'harm' && e.label === category && e.severity && e.severity !== 'none').map((e) => ({ ...e, source: e.source || s.source })));
    if (findings.length === 0) continue;
    const voters = new Set(findings.map((f) => f.source)).size;
    const tier1Critical = findings.some((f) => f.source === 'tier1' && f.severity === 'critical');
    if (!quorum(voters) && !tier1Critical) continue;
    out.harm.categories.push(category as HarmCategory);
    const worst = findings.reduce<Severity>((s, f) => (severityRank(f.severity!) > severityRank(s) ? f.severity! : s), 'none');
    severity = maxSeverity(severity, worst);
    out.explanations.push(...findings);
  }
  out.harm.severity = severity;
  const judges = sources.filter((s) => s.judgesEngagement);
  const flags = Object.fromEntries(
    ENGAGEMENT_INDICATORS.map((k) => {
      const yes = judges.filter((s) => s.verdict.engagement[k]).length;
      const counts = mode === 'max' ? yes >= 1 : yes >= Math.min(2, judges.length);
      if (counts) out.explanations.push(...judges.flatMap((s) => s.verdict.explanations.filter((e) => e.kind === 'engagement' && e.label === k)));
      return [k, counts];
    }),
  ) as Record<EngagementIndicator, boolean>;
  out.engagement = engagementScores(flags);
  out.fiction_dark = judges.some((s) => s.verdict.fiction_dark);
  out.explanations.push(...judges.flatMap((s) => s.verdict.explanations.filter((e) => e.kind === 'fiction')));
  return out;
}
