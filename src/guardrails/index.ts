/**
 * Guardrails core library: the verdict type and the classifiers. `classifyOutput` is tier 1 (the
 * hot path: synchronous, compiled lexicons, explainable); tier 2 and the optional model guards run
 * behind it on logged outputs and merge into the same verdict shape.
 */
import { classifyTier1 } from './tier1';
import type { ClassifyOptions, GuardrailVerdict } from './types';

export * from './types';
export { classifyTier1, HARM_RULES, ENGAGEMENT_RULES, type Tier1Options } from './tier1';
export { normalize } from './text';
export { resolvePolicy, parseGuardrailsOverride, decide, findingsOf, redactOutput, type Decision, type Finding, type ResolvedGuardrailPolicy, type GuardrailsOverride, type GuardrailsPolicyConfig, type SeverityAction, type CombineMode } from './policy';

/** The verdict of one output (tier 1). Stable API: used by the gateway, the CLI and evaluation. */
export function classifyOutput(text: string, options: ClassifyOptions = {}): GuardrailVerdict {
  return classifyTier1(text, options);
}
