import type { PrismaClient } from '@prisma/client';
import { prismaEmbeddingsCache, withEmbeddingsCache } from '../src/embeddings/cache';
import { judgeWindowTier2, type Tier2Judge, type Tier2WindowResult } from '../src/guardrails/tier2-window';
import { failFastOnNotFound } from './registry';
import { applyParameterAdjustment, finishGuardrailsDecision, readGuardrailsWindow, recordGuardrailsDecision, type RecordDecisionInput } from '../src/guardrails/monitor';
import type { GuardrailsWindow, Intervention, InterventionKind } from '../src/guardrails/interventions';

export interface GuardrailsActivityDeps {
  prisma: PrismaClient;
  /** Tier 2 (embeddings classifier and model guards), or why this worker has none. */
  tier2?: Tier2Judge | { unavailable: string };
}

/** Activities of the `guardrailsMonitor:<useCase>` workflow: read a window, record and apply its decisions. */
export function createGuardrailsActivities({ prisma, tier2 }: GuardrailsActivityDeps) {
  // Vectors go through the `embeddings` table: an output embedded once (by an evaluation, an earlier window) is not embedded again.
  const judge = tier2 && 'model' in tier2 ? { ...tier2, embeddings: withEmbeddingsCache(tier2.embeddings, prismaEmbeddingsCache(prisma)) } : undefined;
  return {
    /** Tier 2 on the window's logged outputs; `skipped` (with the reason) on a worker without it. */
    async judgeWindowTier2(input: { useCaseId: string; from: string; to: string }): Promise<Tier2WindowResult | { skipped: string }> {
      if (!judge) return { skipped: tier2 && 'unavailable' in tier2 ? tier2.unavailable : 'this worker runs no tier 2 (no embeddings or no trained model)' };
      return failFastOnNotFound(() => judgeWindowTier2(prisma, judge, { useCaseId: input.useCaseId, from: new Date(input.from), to: new Date(input.to) }));
    },
    async readGuardrailsWindow(input: { useCaseId: string; from: string; to: string }): Promise<GuardrailsWindow> {
      return failFastOnNotFound(() => readGuardrailsWindow(prisma, { useCaseId: input.useCaseId, from: new Date(input.from), to: new Date(input.to) }));
    },
    async recordGuardrailsDecision(input: RecordDecisionInput): Promise<{ decisionId: string }> {
      return failFastOnNotFound(() => recordGuardrailsDecision(prisma, input));
    },
    async finishGuardrailsDecision(input: { decisionId: string; useCaseId: string; kind: InterventionKind; status: 'executed' | 'failed' | 'rejected'; outcome: Record<string, unknown> }): Promise<void> {
      return failFastOnNotFound(() => finishGuardrailsDecision(prisma, input));
    },
    async applyParameterAdjustment(input: { useCaseId: string; intervention: Intervention; workflowId: string; requestKey: string }) {
      return failFastOnNotFound(() => applyParameterAdjustment(prisma, input));
    },
  };
}

export type GuardrailsActivities = ReturnType<typeof createGuardrailsActivities>;
