import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { PrismaClient } from '@prisma/client';
import type { GuardrailsPolicyConfig } from '../src/guardrails/policy';
import { revertGuardrailsOverride, withoutGuardrailsUpdate } from '../src/meta/guardrails';
import { configureMonitorSignal, criticalObservedSignal, guardrailsMonitorStatusQuery, guardrailsMonitorWorkflowId } from '../workflows/guardrails-monitor-messages';

/**
 * Tells the use case's monitor that the gateway saw a critical violation outside a rollout, so it
 * judges the window now. No monitor running is not an error (the violation is recorded either way).
 */
export async function signalCriticalObserved(client: Client, event: { useCaseId: string; modelId: string; category: string }): Promise<boolean> {
  try {
    await client.workflow.getHandle(guardrailsMonitorWorkflowId(event.useCaseId)).signal(criticalObservedSignal, { modelId: event.modelId, category: event.category });
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/**
 * An operator's revert of the guardrails update in force (`mms guardrails revert`, REST): the gateway
 * applies policies.guardrails again at its next registry poll (recorded as the next guardrails
 * version), and the use case's running monitor gets the config's settings back. The monitor is
 * told after the database has the revert: if Temporal cannot be reached, the next control worker
 * start applies the config's settings all the same (no update is in force any more).
 */
export async function revertGuardrails(
  deps: { prisma: PrismaClient; temporal: () => Promise<Client>; policyConfig: GuardrailsPolicyConfig },
  input: { useCaseId: string; actor: string; reason: string },
): Promise<{ decisionId: string; version: number; revertedVersion: number; monitor: 'reconfigured' | 'not running' | string }> {
  const reverted = await revertGuardrailsOverride(deps.prisma, { ...input, policyConfig: deps.policyConfig });
  let monitor: string;
  try {
    const handle = (await deps.temporal()).workflow.getHandle(guardrailsMonitorWorkflowId(input.useCaseId));
    const { settings } = await handle.query(guardrailsMonitorStatusQuery);
    await handle.signal(configureMonitorSignal, withoutGuardrailsUpdate(settings, deps.policyConfig, input.useCaseId));
    monitor = 'reconfigured';
  } catch (err) {
    monitor = err instanceof WorkflowNotFoundError ? 'not running' : `not reconfigured now (${(err as Error).message}); the next control worker start applies the config's settings`;
  }
  return { ...reverted, monitor };
}
