import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { criticalObservedSignal, guardrailsMonitorWorkflowId } from '../workflows/guardrails-monitor-messages';

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
