import path from 'node:path';
import type { Prisma, PrismaClient } from '@prisma/client';
import type { MmsConfig } from '../config/schema';
import type { EmbeddingsClient } from '../embeddings/client';
import { projectRoot } from '../paths';
import { registerSecret } from '../logging/redact';
import { combineVerdicts, type VerdictSource } from './combine';
import { createLlamaGuard, createOpenAIModeration, withoutStoryFindings, type ModelGuard } from './model-guards';
import { decide, resolvePolicy } from './policy';
import { classifyTier1 } from './tier1';
import { classifyTier2, embedForTier2, loadTier2Model, tier2Context, type Tier2Model } from './tier2';
import type { GuardrailVerdict, HarmCategory, Severity } from './types';

/**
 * Tier 2 behind the hot path: the monitor hands it each window of logged outputs; it judges them with
 * the embeddings classifier and the configured model guards, combines that with tier 1 as the use
 * case's policy says, and records as violations of the call what the gateway's tier 1 did not (the
 * answer was already sent, so the intervention is `recorded (tier 2, after the answer)`; the monitor's
 * window read then counts them like any other). Idempotent: a finding already recorded for a call is
 * not written again, so a retried or overlapping window adds nothing.
 */
export interface Tier2Judge {
  model: Tier2Model;
  embeddings: EmbeddingsClient;
  guards: ModelGuard[];
  config: MmsConfig;
}

/** The model guards the config enables (Llama Guard when configured; OpenAI moderation when its provider's key is set). */
export function configuredGuards(config: MmsConfig, env: NodeJS.ProcessEnv = process.env): ModelGuard[] {
  const { llamaGuard, openaiModeration } = config.policies.guardrails.guards;
  const severities = config.policies.guardrails.severities as Partial<Record<HarmCategory, Severity>>;
  const guards: ModelGuard[] = [];
  if (llamaGuard) {
    const p = config.providers[llamaGuard.provider]!;
    const apiKey = p.apiKeyEnv ? env[p.apiKeyEnv] || undefined : undefined;
    registerSecret(apiKey);
    const baseUrl = p.kind === 'ollama' ? `${p.baseUrl.replace(/\/+$/, '')}/v1` : p.baseUrl;
    guards.push(createLlamaGuard({ baseUrl, apiKey, model: llamaGuard.model, severities }));
  }
  if (openaiModeration.enabled) {
    const id = openaiModeration.provider ?? Object.keys(config.providers).find((k) => config.providers[k]!.kind === 'openai');
    const p = id ? config.providers[id] : undefined;
    const apiKey = p?.apiKeyEnv ? env[p.apiKeyEnv] || undefined : undefined;
    if (p && apiKey) {
      registerSecret(apiKey);
      guards.push(createOpenAIModeration({ baseUrl: p.baseUrl, apiKey, model: openaiModeration.model, severities }));
    }
  }
  return guards;
}

/** The judge a control worker runs tier 2 with, or why it has none (tier 2 off, no trained model). */
export function createTier2Judge(config: MmsConfig, embeddings: EmbeddingsClient, env: NodeJS.ProcessEnv = process.env): Tier2Judge {
  const file = path.resolve(projectRoot, config.policies.guardrails.tier2.model);
  const model = loadTier2Model(file);
  if (embeddings.endpoint.model !== model.embeddingsModel) throw new Error(`policies.guardrails.tier2.model was trained on ${model.embeddingsModel} embeddings, but embeddings.model is ${embeddings.endpoint.model}`);
  return { model, embeddings, guards: configuredGuards(config, env), config };
}


/**
 * What a control worker runs tier 2 with: the judge, or why there is none (tier 2 disabled, no
 * embeddings on this worker, no or a mismatched trained model). A worker without it still judges
 * windows on tier 1; the monitor's status says why tier 2 was skipped.
 */
export function tier2JudgeOrReason(config: MmsConfig, embeddings: EmbeddingsClient | undefined, env: NodeJS.ProcessEnv = process.env): Tier2Judge | { unavailable: string } {
  if (!config.policies.guardrails.tier2.enabled) return { unavailable: 'policies.guardrails.tier2.enabled is false' };
  if (!embeddings) return { unavailable: 'no embeddings on this worker (embeddings: provider not reachable or not installed)' };
  try {
    return createTier2Judge(config, embeddings, env);
  } catch (err) {
    return { unavailable: (err as Error).message };
  }
}

export interface Tier2WindowResult {
  judged: number;
  /** New violations written, by severity. */
  recorded: Record<string, number>;
  /** Sources that judged (tier2, llama_guard, openai_moderation). */
  sources: string[];
}

/** One output for `judgeBothTiers`: its text and the use case whose policy judges it. */
export interface OutputToJudge {
  text: string;
  useCaseId: string;
}

/**
 * Each output's verdict from tier 1, tier 2's embeddings classifier and the configured model guards, combined as
 * its use case's policy says (`combine`): what the monitor records behind the hot path and what
 * `mms guardrails check` prints. Every output's tier-2 inputs are embedded in one call, and each guard is asked once.
 */
export async function judgeBothTiers(judge: Tier2Judge, outputs: OutputToJudge[]): Promise<GuardrailVerdict[]> {
  if (outputs.length === 0) return [];
  const severities = judge.config.policies.guardrails.severities as Partial<Record<HarmCategory, Severity>>;
  const texts = outputs.map((o) => o.text);
  const [vectors, ...guarded] = await Promise.all([embedForTier2(judge.model, texts, (t) => judge.embeddings.embed(t)), ...judge.guards.map((g) => g.judge(texts))]);
  return outputs.map((output, i) => {
    const tier1 = classifyTier1(output.text, { useCase: output.useCaseId, severities });
    const parts: VerdictSource[] = [
      { source: 'tier1', verdict: tier1, judgesEngagement: true },
      { source: 'tier2', verdict: classifyTier2(judge.model, vectors![i]!, { severities, ...tier2Context(output.text, tier1) }), judgesEngagement: judge.model.engagement !== undefined },
      ...judge.guards.map((g, k) => ({ source: g.name, verdict: withoutStoryFindings(guarded[k]![i]!, tier1), judgesEngagement: false })),
    ];
    return combineVerdicts(parts, resolvePolicy(judge.config.policies.guardrails, output.useCaseId).combine);
  });
}

export async function judgeWindowTier2(prisma: PrismaClient, judge: Tier2Judge, input: { useCaseId: string; from: Date; to: Date }): Promise<Tier2WindowResult> {
  const policy = resolvePolicy(judge.config.policies.guardrails, input.useCaseId);
  const logs = await prisma.modelHistoricalLog.findMany({
    where: { useCase: input.useCaseId, timestamp: { gte: input.from, lt: input.to }, generatedOutput: { not: '' } },
    orderBy: { timestamp: 'desc' },
    take: judge.config.policies.guardrails.tier2.maxOutputsPerWindow,
    select: { id: true, modelId: true, timestamp: true, generatedOutput: true, role: true },
  });
  const sources = ['tier2', ...judge.guards.map((g) => g.name)];
  if (logs.length === 0) return { judged: 0, recorded: {}, sources };
  const verdicts = await judgeBothTiers(judge, logs.map((l) => ({ text: l.generatedOutput, useCaseId: input.useCaseId })));
  const existing = await prisma.guardrailsViolation.findMany({ where: { logId: { in: logs.map((l) => l.id) } }, select: { logId: true, violationType: true } });
  const seen = new Set(existing.map((e) => `${e.logId}/${e.violationType}`));
  const rows: Prisma.GuardrailsViolationCreateManyInput[] = [];
  const recorded: Record<string, number> = {};
  logs.forEach((log, i) => {
    const verdict = verdicts[i]!;
    for (const f of decide(verdict, policy).findings) {
      if (seen.has(`${log.id}/${f.type}`)) continue;
      seen.add(`${log.id}/${f.type}`);
      recorded[f.severity] = (recorded[f.severity] ?? 0) + 1;
      rows.push({
        logId: log.id,
        modelId: log.modelId,
        useCaseId: input.useCaseId,
        violationType: f.type.slice(0, 50),
        severity: f.severity,
        violationDetails: { rule: f.rule, evidence: f.evidence, source: f.source, tier: 2, combine: policy.combine, fiction_dark: verdict.fiction_dark, role: log.role },
        outputSample: log.generatedOutput.slice(0, 2000),
        interventionTaken: 'recorded (tier 2, after the answer)',
        // The call's own time: the violation belongs to the call's window (and day partition).
        timestamp: log.timestamp,
      });
    }
  });
  if (rows.length) await prisma.guardrailsViolation.createMany({ data: rows });
  return { judged: logs.length, recorded, sources };
}
