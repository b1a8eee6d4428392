import { condition, continueAsNew, log, patched, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import { decideInterventions, emptyMonitorState, type GuardrailsWindow } from '../src/guardrails/interventions';
import { configureMonitorSignal, criticalObservedSignal, guardrailsMonitorStatusQuery, type GuardrailsMonitorInput } from './guardrails-monitor-messages';
import { errorText, GuardrailsMonitorRun, registry, tier2 } from './guardrails-monitor-interventions';

/** Early judgements after critical signals are at least this far apart, so a burst is read as one window, not one query per output. */
const MIN_EARLY_JUDGEMENT_MS = 1000;
/**
 * After a signalled judgement that saw critical outputs but no burst yet, the window is read again
 * this often, this many times: the gateway signals before its log writer has flushed the burst's
 * rows, and the last signal of a burst must not leave its last rows unjudged until the window ends.
 */
const FOLLOW_UP_MS = 2000;
const FOLLOW_UPS = 5;
/** Windows per run before continue-as-new (Temporal may suggest it earlier). */
const WINDOWS_PER_RUN = 500;

/**
 * `guardrailsMonitor:<useCase>`: judges the last `windowSeconds` of the use case's outputs
 * every window (a durable timer) and at once when the gateway reports a critical violation outside a
 * rollout, and takes the interventions `decideInterventions` calls for — rollback (the rollback
 * workflow as a child, undo), a parameter adjustment (a new allocation version), a retrain request —
 * each a recorded decision with its reasons (`GuardrailsMonitorRun`). Runs until terminated,
 * continuing as new.
 */
export async function guardrailsMonitorWorkflow(input: GuardrailsMonitorInput): Promise<void> {
  const { useCaseId } = input;
  const { workflowId, runId } = workflowInfo();
  const run = new GuardrailsMonitorRun(useCaseId, workflowId, { policy: input.policy, actions: input.actions }, input.windowsJudged ?? 0);
  const { status } = run;
  let state = input.state ?? emptyMonitorState();
  setHandler(criticalObservedSignal, () => void (run.criticalObserved = true));
  setHandler(configureMonitorSignal, (next) => run.configure(next));
  setHandler(guardrailsMonitorStatusQuery, () => status);

  let lastJudgedAt = 0;
  let followUps = 0;
  for (let n = 0; n < WINDOWS_PER_RUN && !workflowInfo().continueAsNewSuggested; n++) {
    // A monitor just started judges at once: an incident from before its start does not wait a window.
    const fresh = n === 0 && input.windowsJudged === undefined;
    const signalled = !fresh && (await condition(() => run.criticalObserved, followUps > 0 ? FOLLOW_UP_MS : run.settings.policy.windowSeconds * 1000));
    if (signalled) {
      if (Date.now() - lastJudgedAt < MIN_EARLY_JUDGEMENT_MS) await sleep(MIN_EARLY_JUDGEMENT_MS - (Date.now() - lastJudgedAt));
      followUps = FOLLOW_UPS;
    } else if (followUps > 0) followUps--;
    run.criticalObserved = false;
    const to = Date.now();
    lastJudgedAt = to;
    const span = { useCaseId, from: new Date(to - run.settings.policy.windowSeconds * 1000).toISOString(), to: new Date(to).toISOString() };
    // Tier 2 behind the hot path, on each window's logged outputs; an early judgement after a critical
    // signal skips it (tier 1 already found the burst, and the rollback must not wait for embeddings).
    if (!signalled && followUps === 0 && patched('guardrails-tier2')) {
      try {
        status.lastTier2 = await tier2.judgeWindowTier2(span);
      } catch (err) {
        log.warn('tier 2 did not judge this window; tier 1 findings only', { useCaseId, error: errorText(err) });
      }
    }
    let window: GuardrailsWindow;
    try {
      window = await registry.readGuardrailsWindow(span);
    } catch (err) {
      log.warn('guardrails window not read; the next window reads these logs again', { useCaseId, error: errorText(err) });
      continue;
    }
    status.windowsJudged++;
    status.lastWindow = { from: window.from, to: window.to, allocationVersion: window.allocationVersion, rolloutRunning: window.rolloutRunning, models: window.models };
    const decided = decideInterventions(window, run.settings.policy, run.settings.actions, state, to);
    state = decided.state;
    if (!window.models.some((m) => m.critical > 0) || decided.interventions.some((i) => i.kind === 'rollback')) followUps = 0;
    for (const [k, intervention] of decided.interventions.entries()) {
      try {
        await run.intervene(intervention, `${workflowId}/${runId}/${n}/${k}`);
      } catch (err) {
        log.error('guardrails intervention failed', { useCaseId, kind: intervention.kind, error: errorText(err) });
        run.remember(intervention, `failed: ${errorText(err)}`);
      }
    }
  }
  await continueAsNew<typeof guardrailsMonitorWorkflow>({ useCaseId, ...run.settings, state, windowsJudged: status.windowsJudged });
}
