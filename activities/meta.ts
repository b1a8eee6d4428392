import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { PrismaClient } from '@prisma/client';
import { failFastOnNotFound } from './registry';
import { assessUseCases } from '../src/meta/assess';
import type { GuardrailsUpdate, MetaAction, UseCaseAssessment } from '../src/meta/decide';
import type { QueryDefinition, SignalDefinition } from '@temporalio/common';
import { guardrailsOverrideInForce, guardrailsOverrideOf, nextGuardrailsVersion, setGuardrailsOverride, touchedGatewayPolicy, touchedSettings, withGuardrailsUpdate, type MonitorSettingsLike } from '../src/meta/guardrails';
import type { GuardrailsPolicyConfig } from '../src/guardrails/policy';
import { applyMetaParameterChange, executingMetaDecisions, recordMetaDecisions, updateMetaDecision, type RecordedDecision, type RecordMetaDecisionsInput, type UpdateMetaDecisionInput } from '../src/meta/decisions';

/** How the sweep starts an action that is a workflow of another lifecycle, known by type name and business-key id. */
export interface ActionWorkflow {
  workflowType: string;
  workflowId: string;
  args: unknown[];
  taskQueue?: string;
}

/** How an update_guardrails reaches a use case's guardrails monitor: its workflow id, status query and settings signal (passed in by the worker: activities do not import workflows/). */
export interface GuardrailsMonitorAccess {
  workflowId: (useCaseId: string) => string;
  statusQuery: QueryDefinition<{ settings: MonitorSettingsLike }>;
  configureSignal: SignalDefinition<[MonitorSettingsLike]>;
}

export interface MetaActivityDeps {
  prisma: PrismaClient;
  /**
   * The workflow types the control worker registers: an action whose workflow is not among them (a
   * paid switch on a build without it) is recorded as not started, with the reason, instead of
   * starting a workflow no worker can run.
   */
  registeredWorkflowTypes: readonly string[];
  /** The pipeline input of a self-hosted use case (settings resolved from mms.config.yaml); without it a retrain is recorded as not started. */
  pipelineInput?: (useCaseId: string, requestedBy: string) => unknown;
  /** Actions this worker cannot start, and why (a paid switch on a worker without the config's providers). */
  unavailable?: Partial<Record<MetaAction, string>>;
  /** The guardrails monitor's messages; without them an update_guardrails reaches the gateway only. */
  guardrailsMonitor?: GuardrailsMonitorAccess;
  /** policies.guardrails of mms.config.yaml: what the gateway applies without an update (a decision's "before"). */
  guardrailsPolicy?: GuardrailsPolicyConfig;
}

/**
 * A completed lifecycle's own verdict, which becomes its decision's outcome: the outcome and reason
 * (a paid switch's `promoted`, `kept`, `rolled_back` …) and, for a paid switch, the candidate it chose
 * (provider, upstream id, registry model, score) and its own decision row, so the meta decision names
 * the candidate and why.
 */
export function lifecycleVerdict(result: unknown): Record<string, unknown> {
  if (!result || typeof result !== 'object') return {};
  const r = result as Record<string, unknown>;
  const verdict: Record<string, unknown> = Object.fromEntries(Object.entries(r).filter(([k, v]) => ['outcome', 'reason', 'candidateModelId'].includes(k) && typeof v === 'string'));
  if (typeof r.decisionId === 'string') verdict.lifecycleDecisionId = r.decisionId;
  const decision = r.decision as { best?: unknown; reason?: unknown } | undefined;
  if (decision?.best && typeof decision.best === 'object') verdict.candidate = decision.best;
  // Why it chose (the scores and the margin), beside how the lifecycle ended (`reason`).
  if (typeof decision?.reason === 'string') verdict.decisionReason = decision.reason;
  return verdict;
}

/** Activities of the `metaOptimization` sweep: list, assess, record, act on parameters, reconcile outcomes. */
export function createMetaActivities({ prisma, registeredWorkflowTypes, pipelineInput, unavailable = {}, guardrailsMonitor, guardrailsPolicy }: MetaActivityDeps) {
  return {
    /** Use case ids after `after`, in id order (the sweep's cursor survives continue-as-new). */
    async listMetaUseCases(input: { after: string | null; limit: number }): Promise<string[]> {
      const rows = await prisma.useCase.findMany({ where: input.after ? { id: { gt: input.after } } : {}, orderBy: { id: 'asc' }, take: input.limit, select: { id: true } });
      return rows.map((r) => r.id);
    },

    async assessUseCases(input: { useCaseIds: string[]; from: string; to: string; baselineHours: number; lookbackDays: number }): Promise<UseCaseAssessment[]> {
      return failFastOnNotFound(() => assessUseCases(prisma, { ...input, from: new Date(input.from), to: new Date(input.to) }));
    },

    async recordMetaDecisions(input: RecordMetaDecisionsInput): Promise<RecordedDecision[]> {
      return failFastOnNotFound(() => recordMetaDecisions(prisma, input));
    },

    async updateMetaDecision(input: UpdateMetaDecisionInput): Promise<void> {
      return failFastOnNotFound(() => updateMetaDecision(prisma, input));
    },

    async applyMetaParameterChange(input: { decisionId: string; useCaseId: string; modelId: string; temperature: number }) {
      return failFastOnNotFound(() => applyMetaParameterChange(prisma, input));
    },

    /**
     * An update_guardrails decision, as the use case's next guardrails version, with the settings
     * before and after in its row: the gateway's part (severity actions, category severities) goes on
     * the use case row in the decision's transaction, so every gateway replica applies it at its next
     * registry poll and after a restart; the monitor's part goes to the use case's guardrails monitor
     * (its configureMonitor signal; from its next window). No monitor running: the gateway's part still
     * applies and the decision says the monitor's did not.
     */
    async applyGuardrailsUpdate(input: { decisionId: string; useCaseId: string; guardrails: GuardrailsUpdate }): Promise<{ status: 'executed' | 'rejected'; version?: number; note?: string }> {
      const monitorId = guardrailsMonitor?.workflowId(input.useCaseId);
      const handle = monitorId ? Context.current().client.workflow.getHandle(monitorId) : undefined;
      const running = handle
        ? await handle
            .describe()
            .then((d) => d.status.name === 'RUNNING')
            .catch((err) => {
              if (err instanceof WorkflowNotFoundError) return false;
              throw err;
            })
        : false;
      const touchesMonitor = Object.keys(touchedSettings({ policy: {} as MonitorSettingsLike['policy'], actions: {} as MonitorSettingsLike['actions'] }, input.guardrails)).length > 0;
      let monitor: { before: Record<string, unknown>; after: Record<string, unknown>; settings: MonitorSettingsLike } | undefined;
      if (running && handle && guardrailsMonitor && touchesMonitor) {
        const before = (await handle.query(guardrailsMonitor.statusQuery)).settings;
        const after = withGuardrailsUpdate(before, input.guardrails);
        monitor = { before: touchedSettings(before, input.guardrails), after: touchedSettings(after, input.guardrails), settings: after };
      }
      const version = await nextGuardrailsVersion(prisma, input.useCaseId);
      const decision = await prisma.optimizationDecision.findUniqueOrThrow({ where: { id: input.decisionId }, select: { details: true, createdAt: true } });
      const rule = String((decision.details as { rule?: unknown } | null)?.rule ?? '');
      const current = await guardrailsOverrideInForce(prisma, input.useCaseId);
      const override = guardrailsOverrideOf(input.guardrails, { version, decisionId: input.decisionId, rule, at: decision.createdAt.toISOString() });
      const gateway = guardrailsPolicy
        ? { before: touchedGatewayPolicy(guardrailsPolicy, input.useCaseId, current, input.guardrails), after: touchedGatewayPolicy(guardrailsPolicy, input.useCaseId, override, input.guardrails) }
        : { before: current ? { actions: current.actions, severities: current.severities } : 'policies.guardrails of the config', after: { actions: override.actions, severities: override.severities } };
      if (monitor && handle && guardrailsMonitor) await handle.signal(guardrailsMonitor.configureSignal, monitor.settings);
      const note = touchesMonitor && !monitor ? `monitor settings not applied: no guardrails monitor runs for "${input.useCaseId}" (${monitorId ?? 'no monitor messages on this worker'}; policies.guardrails.monitor.enabled, MMS_SCHEDULES)` : undefined;
      await updateMetaDecision(prisma, {
        decisionId: input.decisionId,
        status: 'executed',
        ...(monitor ? { actionWorkflowId: monitorId } : {}),
        ...(note ? { note } : {}),
        apply: (tx) => setGuardrailsOverride(tx, input.useCaseId, override),
        outcome: { guardrails: { version, ...(monitor ? { before: monitor.before, after: monitor.after } : {}), gateway } },
      });
      return { status: 'executed', version, ...(note ? { note } : {}) };
    },

    /** The workflow an action starts, or why this worker cannot start it. */
    async metaActionWorkflow(input: { useCaseId: string; action: MetaAction; decisionId: string; reason: string; requestedBy: string }): Promise<ActionWorkflow | { unavailable: string }> {
      const why = unavailable[input.action];
      if (why) return { unavailable: why };
      if (input.action === 'retrain') {
        if (!registeredWorkflowTypes.includes('pipelineWorkflow')) return { unavailable: 'this control worker does not register pipelineWorkflow' };
        if (!pipelineInput) return { unavailable: 'this control worker was started without the pipeline settings of mms.config.yaml (selfHosted)' };
        try {
          return { workflowType: 'pipelineWorkflow', workflowId: `pipeline:${input.useCaseId}`, args: [pipelineInput(input.useCaseId, input.requestedBy)] };
        } catch (err) {
          return { unavailable: (err as Error).message };
        }
      }
      if (input.action === 'paid_switch') {
        // The paid switch (discovery → evaluation → rollout of a better paid model) is its own lifecycle,
        // `paidSwitch:<useCase>`; started by type name so this loop needs no change when it ships.
        if (!registeredWorkflowTypes.includes('paidSwitchWorkflow')) return { unavailable: 'the paid switch workflow (paidSwitchWorkflow) is not registered on this control worker yet' };
        return { workflowType: 'paidSwitchWorkflow', workflowId: `paidSwitch:${input.useCaseId}`, args: [{ useCaseId: input.useCaseId, trigger: { kind: 'meta', reason: input.reason }, requestedBy: input.requestedBy }] };
      }
      return { unavailable: `${input.action} is not a workflow action` };
    },

    /**
     * Outcomes of actions earlier sweeps started and did not wait for (retrain, paid switch): each
     * workflow that has closed moves its decision to executed or failed, with the close status.
     */
    async reconcileMetaOutcomes(): Promise<{ checked: number; closed: number }> {
      const client = Context.current().client;
      const open = await executingMetaDecisions(prisma);
      let closed = 0;
      for (const d of open) {
        const handle = client.workflow.getHandle(d.actionWorkflowId, d.actionRunId ?? undefined);
        let status: string;
        try {
          status = (await handle.describe()).status.name;
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
          status = 'NOT_FOUND';
        }
        if (status === 'RUNNING') continue;
        closed++;
        const result = status === 'COMPLETED' ? await handle.result().catch(() => undefined) : undefined;
        const verdict = lifecycleVerdict(result);
        await updateMetaDecision(prisma, { decisionId: d.decisionId, status: status === 'COMPLETED' ? 'executed' : 'failed', outcome: { workflowStatus: status.toLowerCase(), ...verdict } });
      }
      return { checked: open.length, closed };
    },
  };
}

export type MetaActivities = ReturnType<typeof createMetaActivities>;
