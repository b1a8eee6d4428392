import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { MmsConfig } from '../src/config/schema';
import { resolvePolicy } from '../src/guardrails/policy';
import type { GuardrailsUpdate } from '../src/meta/decide';
import { withGuardrailsUpdate } from '../src/meta/guardrails';
import { pipelineSettings } from '../clients/pipeline';
import { guardrailsMonitorWorkflow } from '../workflows/guardrails-monitor';
import { configureMonitorSignal, guardrailsMonitorWorkflowId, type GuardrailsMonitorSettings } from '../workflows/guardrails-monitor-messages';

/** The monitor settings of one use case from mms.config.yaml (policies.guardrails, resolved per use case). */
export function monitorSettings(config: MmsConfig, useCaseId: string): GuardrailsMonitorSettings {
  const { actions } = resolvePolicy(config.policies.guardrails, useCaseId);
  let retrain: GuardrailsMonitorSettings['retrain'];
  try {
    retrain = { gpuTaskQueue: config.temporal.gpuTaskQueue, settings: pipelineSettings(config, useCaseId) };
  } catch (err) {
    retrain = { unavailable: (err as Error).message };
  }
  return { policy: config.policies.guardrails.monitor, actions: { critical: actions.critical, high: actions.high }, retrain };
}

export type EnsureMonitorResult = 'running' | 'stopped (monitor.enabled: false)' | 'not running';

/**
 * Starts `guardrailsMonitor:<useCase>` for every use case of the config, or hands a running one the
 * config's settings (signal-with-start: idempotent, so every control worker replica calls it at start).
 * With `monitor.enabled: false` a running monitor is terminated. `inForce`: the guardrails updates the
 * meta loop put in force (`guardrailsUpdatesInForce`), applied over the config's settings so a
 * restart does not undo them.
 */
export async function ensureGuardrailsMonitors(client: Client, config: MmsConfig, inForce?: ReadonlyMap<string, { update: GuardrailsUpdate }>): Promise<Array<{ useCaseId: string; workflowId: string; result: EnsureMonitorResult }>> {
  const out: Array<{ useCaseId: string; workflowId: string; result: EnsureMonitorResult }> = [];
  for (const { id: useCaseId } of config.useCases) {
    const workflowId = guardrailsMonitorWorkflowId(useCaseId);
    if (!config.policies.guardrails.monitor.enabled) {
      const stopped = await client.workflow
        .getHandle(workflowId)
        .terminate('policies.guardrails.monitor.enabled is false')
        .then(() => true)
        .catch((err) => {
          if (err instanceof WorkflowNotFoundError) return false;
          throw err;
        });
      out.push({ useCaseId, workflowId, result: stopped ? 'stopped (monitor.enabled: false)' : 'not running' });
      continue;
    }
    const update = inForce?.get(useCaseId)?.update;
    const settings = update ? withGuardrailsUpdate(monitorSettings(config, useCaseId), update) : monitorSettings(config, useCaseId);
    await client.workflow.signalWithStart(guardrailsMonitorWorkflow, {
      workflowId,
      taskQueue: config.temporal.controlTaskQueue,
      args: [{ useCaseId, ...settings }],
      signal: configureMonitorSignal,
      signalArgs: [settings],
      staticSummary: `guardrails monitor of ${useCaseId}: ${settings.policy.windowSeconds} s windows`,
    });
    out.push({ useCaseId, workflowId, result: 'running' });
  }
  return out;
}
