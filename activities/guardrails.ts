import type { PrismaClient } from '@prisma/client';
import { failFastOnNotFound } from './registry';
import { applyParameterAdjustment, finishGuardrailsDecision, readGuardrailsWindow, recordGuardrailsDecision, type RecordDecisionInput } from '../src/guardrails/monitor';
import type { GuardrailsWindow, Intervention, InterventionKind } from '../src/guardrails/interventions';

export interface GuardrailsActivityDeps {
  prisma: PrismaClient;
}

/** Activities of the `guardrailsMonitor:<useCase>` workflow: read a window, record and apply its decisions. */
export function createGuardrailsActivities({ prisma }: GuardrailsActivityDeps) {
  return {
    async readGuardrailsWindow(input: { useCaseId: string; from: string; to: string }): Promise<GuardrailsWindow> {
      return failFastOnNotFound(() => readGuardrailsWindow(prisma, { useCaseId: input.useCaseId, from: new Date(input.from), to: new Date(input.to) }));
    },
    async recordGuardrailsDecision(input: RecordDecisionInput): Promise<{ decisionId: string }> {
      return failFastOnNotFound(() => recordGuardrailsDecision(prisma, input));
    },
    async finishGuardrailsDecision(input: { decisionId: string; useCaseId: string; kind: InterventionKind; status: 'executed' | 'failed'; outcome: Record<string, unknown> }): Promise<void> {
      return failFastOnNotFound(() => finishGuardrailsDecision(prisma, input));
    },
    async applyParameterAdjustment(input: { useCaseId: string; intervention: Intervention; workflowId: string; requestKey: string }) {
      return failFastOnNotFound(() => applyParameterAdjustment(prisma, input));
    },
  };
}

export type GuardrailsActivities = ReturnType<typeof createGuardrailsActivities>;
