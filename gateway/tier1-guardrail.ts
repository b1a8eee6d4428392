import type { MmsConfig } from '../src/config/schema';
import { classifyTier1, decide, redactOutput, resolvePolicy, type GuardrailsOverride, type HarmCategory, type ResolvedGuardrailPolicy, type Severity } from '../src/guardrails';
import type { Guardrail, GuardrailContext, GuardrailVerdict, GuardrailViolation } from './guardrails';

/**
 * The guardrail the gateway installs by default: tier 1 of src/guardrails (compiled lexicons,
 * synchronous, microseconds per output) under policies.guardrails. Complete answers get the whole
 * verdict (harm, dark fiction against the age rating, unhealthy engagement); streams are judged on a
 * sliding window of the last `stream.windowChars` (or the new text and half a window before it, when
 * more came at once) before each piece, harm only, and the last
 * `stream.holdBackChars` are held until the text after them is judged.
 * The guardrails policy a decision put in force for a use case comes with each call's context
 * (`ctx.guardrails`, from the route the call was served by: the registry cache reloads it at every
 * poll) and is applied over policies.guardrails — resolved again only when it changes.
 */
export function createTier1Guardrail(config: MmsConfig): Guardrail {
  const policyConfig = config.policies.guardrails;
  type Resolved = { override: GuardrailsOverride | undefined; policy: ResolvedGuardrailPolicy; severities: Partial<Record<HarmCategory, Severity>> };
  const policies = new Map<string, Resolved>();
  const policyOf = (useCaseId: string, override: GuardrailsOverride | undefined): Resolved => {
    let p = policies.get(useCaseId);
    if (!p || p.override !== override) {
      const policy = resolvePolicy(policyConfig, useCaseId, override);
      policies.set(useCaseId, (p = { override, policy, severities: policy.severities as Partial<Record<HarmCategory, Severity>> }));
    }
    return p;
  };
  const { windowChars, holdBackChars } = policyConfig.stream;

  const judge = (ctx: GuardrailContext, text: string, harmOnly: boolean, fullText: string): GuardrailVerdict | undefined => {
    const { policy, severities } = policyOf(ctx.useCaseId, ctx.guardrails);
    if (!policy.tier1) return undefined;
    const verdict = classifyTier1(text, { useCase: ctx.useCaseId, severities, harmOnly });
    if (verdict.explanations.length === 0) return undefined;
    const decision = decide(verdict, policy);
    if (decision.findings.length === 0) return undefined;
    const violations: GuardrailViolation[] = decision.findings.map((f) => ({
      type: f.type,
      severity: f.severity,
      details: { rule: f.rule, evidence: f.evidence, source: f.source, fiction_dark: verdict.fiction_dark, unhealthy_score: verdict.engagement.unhealthy_score, healthy_score: verdict.engagement.healthy_score },
    }));
    if (decision.action === 'redact') return { action: 'redact', violations, redactedText: redactOutput(fullText, { severities }) };
    return { action: decision.action, violations, replacement: '' };
  };

  return {
    name: 'tier1',
    streamHoldBackChars: holdBackChars,
    checkOutput(ctx, output) {
      return judge(ctx, output, false, output) ?? { action: 'pass', violations: [] };
    },
    checkPartial(ctx, soFar, judgedUpTo) {
      // The last windowChars; reaching further back when a read brought more than half a window since the
      // last judgement, so the new text is always judged whole with at least half a window before it.
      const from = Math.max(0, Math.min(soFar.length - windowChars, judgedUpTo - (windowChars >> 1)));
      const v = judge(ctx, from === 0 ? soFar : soFar.slice(from), true, soFar);
      // Mid-stream only harm that stops the answer matters; findings to record are recorded at the end.
      return v && v.action !== 'pass' ? v : undefined;
    },
  };
}
