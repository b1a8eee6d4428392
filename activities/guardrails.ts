import { ApplicationFailure } from '@temporalio/activity';
import type { PrismaClient } from '@prisma/client';
import { NotFoundError } from '../src/registry/allocations';
import { safeErrorMessage } from '../src/logging/redact';
import { applyParameterAdjustment, finishGuardrailsDecision, readGuardrailsWindow, recordGuardrailsDecision, type RecordDecisionInput } from '../src/guardrails/monitor';
import type { GuardrailsWindow, Intervention, InterventionKind } from '../src/guardrails/interventions';

export interface GuardrailsActivityDeps {
  prisma: PrismaClient;
}

/** A registry fault no retry can mend (the use case is gone) fails the call at once; anything else is retried. */
async function registryCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof NotFoundError) throw ApplicationFailure.nonRetryable(err.message, 'NotFound');
    throw ApplicationFailure.retryable(safeErrorMessage(err), err instanceof Error ? err.name : 'Error');
  }
}

/** Activities of the `guardrailsMonitor:<useCase>` workflow: read a window, record and apply its decisions. */
export function createGuardrailsActivities({ prisma }: GuardrailsActivityDeps) {
  return {
    async readGuardrailsWindow(input: { useCaseId: string; from: string; to: string }): Promise<GuardrailsWindow> {
      return registryCall(() => readGuardrailsWindow(prisma, { useCaseId: input.useCaseId, from: new Date(input.from), to: new Date(input.to) }));
    },
    async recordGuardrailsDecision(input: RecordDecisionInput): Promise<{ decisionId: string }> {
      return registryCall(() => recordGuardrailsDecision(prisma, input));
    },
    async finishGuardrailsDecision(input: { decisionId: string; useCaseId: string; kind: InterventionKind; status: 'executed' | 'failed'; outcome: Record<string, unknown> }): Promise<void> {
      return registryCall(() => finishGuardrailsDecision(prisma, input));
    },
    async applyParameterAdjustment(input: { useCaseId: string; intervention: Intervention; workflowId: string; requestKey: string }) {
      return registryCall(() => applyParameterAdjustment(prisma, input));
    },
  };
}

export type GuardrailsActivities = ReturnType<typeof createGuardrailsActivities>;
