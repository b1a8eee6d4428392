import type { MmsConfig } from '../config/schema';
import { configuredEmbeddingsClient } from '../embeddings/client';
import { classifyOutput, HARM_CATEGORIES, type HarmCategory, type Severity } from '../guardrails';
import { resolvePolicy } from '../guardrails/policy';
import { createProviders } from '../providers';
import type { EvaluationDeps } from './run';
import type { SafetyClassifier } from './safety';

/** The guardrails' verdict (tier 1) as the evaluation's safety classifier. */
export function guardrailsClassifier(config: MmsConfig): SafetyClassifier {
  return (text, useCaseId) => {
    // the same per-use-case policy (category severities, age rating) the gateway applies
    const policy = resolvePolicy(config.policies.guardrails, useCaseId);
    const severities: Partial<Record<HarmCategory, Severity>> = {};
    for (const [category, severity] of Object.entries(policy.severities)) {
      if (severity && (HARM_CATEGORIES as readonly string[]).includes(category)) severities[category as HarmCategory] = severity;
    }
    const verdict = classifyOutput(text, { useCase: useCaseId, severities, ageRating: policy.ageRating });
    return {
      severity: verdict.harm.severity,
      categories: verdict.harm.categories,
      reasons: verdict.explanations.filter((e) => e.kind === 'harm').map((e) => `${e.rule}: ${e.evidence}`),
    };
  };
}

/**
 * What a worker needs to evaluate: the providers of the config (the gateway's adapters), the
 * embeddings endpoint (`embeddingsUrl` is the local server's, when embeddings.provider is "local")
 * and the guardrails classifier.
 */
export function createEvaluationDeps(config: MmsConfig, options: { embeddingsUrl?: string; env?: NodeJS.ProcessEnv } = {}): Omit<EvaluationDeps, 'prisma'> {
  return {
    config,
    providers: createProviders(config, { env: options.env, connections: config.policies.testing.concurrency * 2 }),
    embeddings: configuredEmbeddingsClient(config, { localUrl: options.embeddingsUrl, env: options.env }),
    classifier: guardrailsClassifier(config),
  };
}
