import * as otel from '@opentelemetry/api';
import { allHandlersFinished, CancellationScope, condition, log, setHandler, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { RolloutEvent, RolloutEventType } from '../activities/rollout';
import { closeStage, initialSequentialState, type SequentialState } from '../src/analysis/sequential';
import { MmsCandidateModel, MmsOutcome, MmsStatus, MmsStep, MmsUseCase, type MmsOutcomeValue } from '../src/temporal/search-attributes';
import { webhooks } from './activity-stubs';
import {
  abortUpdate,
  criticalViolationSignal,
  pauseUpdate,
  promoteUpdate,
  resumeUpdate,
  rolloutStatusQuery,
  terminalPhases,
  type CriticalViolation,
  type PauseRequest,
  type PromoteRequest,
  type ResumeRequest,
  type AbortRequest,
  type ContinuedRollout,
  type RolloutInput,
  type RolloutStage,
  type RolloutStatus,
  type RolloutStrategy,
} from './rollout-messages';

export const now = () => new Date(Date.now()).toISOString();

/**
 * One rollout's state and its message handlers, in the way of Temporal's safe-message-handlers
 * sample: a handler only records what was asked (`control`) and waits for the orchestrator
 * (rollout.ts) to act on it between activities; the orchestrator publishes every change (search
 * attributes, memo, webhook events) through this class.
 */
export class RolloutState {
  readonly workflowId: string;
  readonly runId: string;
  /** `<workflowId>/<runId>`: the prefix of every request key, so a retried activity finds its own write. */
  readonly rolloutKey: string;
  /** Who the registry rows say made a change: this rollout, on behalf of its requester. */
  readonly requestedBy: string;
  readonly status: RolloutStatus;
  /** What operators (updates) and the gateway (critical violations) asked for, not yet acted on. */
  readonly control: { abort?: string; promote?: 'full' | 'stage'; resumed: number } = { resumed: 0 };
  /**
   * The trace context the abort was asked in (the gateway call that saw a critical violation, or the
   * operator's update), so the rollback's activities join that trace. The root context without tracing.
   */
  abortTraceContext: otel.Context | undefined;
  /** Set once prepared; the orchestrator passes them to every activity. */
  candidateModelId = '';
  stableModelId = '';
  snapshotId: string | undefined;
  deploymentId: string | undefined;
  /** When the candidate was deployed: the analysis baseline of a 100% stage ends here. */
  rolloutStartedAt: string;
  /** Traffic changes made so far: the `seq` of the next one (part of its request key). */
  trafficSeq = 0;
  /**
   * The analysis evidence of the stages closed so far (src/analysis/sequential.ts): a pure function of
   * the verdicts in this history, so the always-valid bounds hold over the whole rollout.
   */
  sequential: SequentialState = initialSequentialState();
  /** Critical-violation signals that arrived before the candidate was resolved: judged once it is. */
  private pendingViolations: CriticalViolation[] = [];
  rollbackStarted = false;
  private readonly notifications: Array<Promise<unknown>> = [];
  private eventSeq = 0;

  constructor(
    readonly input: RolloutInput,
    readonly strategy: RolloutStrategy,
    readonly stages: RolloutStage[],
  ) {
    const { workflowId, runId } = workflowInfo();
    this.workflowId = workflowId;
    this.runId = runId;
    this.rolloutKey = input.continued?.rolloutKey ?? `${workflowId}/${runId}`;
    this.requestedBy = `rollout ${workflowId} (${input.requestedBy})`;
    this.status = input.continued ? { ...input.continued.status, updatedAt: now() } : {
      workflowId,
      useCaseId: input.useCaseId,
      strategy,
      candidate: input.candidate,
      phase: 'preparing',
      stages,
      stageIndex: -1,
      weightPercent: 0,
      shadowPercent: 0,
      paused: false,
      verdicts: [],
      startedAt: now(),
      updatedAt: now(),
    };
    this.rolloutStartedAt = this.status.startedAt;
    const c = input.continued;
    if (c) {
      this.candidateModelId = c.candidateModelId;
      this.stableModelId = c.stableModelId;
      this.snapshotId = c.snapshotId;
      this.deploymentId = c.deploymentId;
      this.rolloutStartedAt = c.rolloutStartedAt;
      this.trafficSeq = c.trafficSeq;
      this.eventSeq = c.eventSeq;
      this.sequential = c.sequential;
    }
  }

  /** What the next run needs to go on from `nextStage` (continue-as-new at a stage boundary). */
  carry(nextStage: number, candidateName: string): ContinuedRollout {
    return {
      rolloutKey: this.rolloutKey,
      nextStage,
      candidateName,
      candidateModelId: this.candidateModelId,
      stableModelId: this.stableModelId,
      snapshotId: this.snapshotId!,
      deploymentId: this.deploymentId!,
      rolloutStartedAt: this.rolloutStartedAt,
      trafficSeq: this.trafficSeq,
      eventSeq: this.eventSeq,
      sequential: this.sequential,
      status: { ...this.status, window: undefined },
    };
  }

  get policy() {
    return this.input.policy;
  }

  isTerminal(): boolean {
    return terminalPhases.includes(this.status.phase);
  }

  /** An abort or a promotion is waiting: windows and pauses end early for it. */
  interrupted(): boolean {
    return this.control.abort !== undefined || this.control.promote !== undefined;
  }

  /** Observability: search attributes for the Web UI's list, a one-line memo for people. */
  publish(): void {
    const { status, input, stages } = this;
    status.updatedAt = now();
    const state = status.paused ? 'paused' : status.outcome ?? status.phase;
    // How it ended, for the Web UI's list (a rolled-back rollout still *completes* as a workflow):
    // an operator's abort is `aborted`, an automatic rollback `rolled_back`; `paused` while it waits.
    const outcome: MmsOutcomeValue | null = status.paused
      ? 'paused'
      : status.outcome === 'promoted'
        ? 'promoted'
        : status.outcome === 'rolled_back'
          ? status.reason?.startsWith('aborted by ')
            ? 'aborted'
            : 'rolled_back'
          : null;
    upsertSearchAttributes([
      { key: MmsUseCase, value: input.useCaseId },
      { key: MmsCandidateModel, value: status.candidateModelId ?? input.candidate },
      { key: MmsStep, value: status.stageIndex + 1 },
      { key: MmsStatus, value: state },
      { key: MmsOutcome, value: outcome },
    ]);
    const stage = stages[status.stageIndex];
    upsertMemo({
      summary:
        `${this.strategy} rollout of ${status.candidateModelId ?? input.candidate} on ${input.useCaseId}: ${state}` +
        (stage ? `, stage ${status.stageIndex + 1}/${stages.length} (${stage.label})` : '') +
        (status.reason ? ` — ${status.reason}` : ''),
    });
  }

  /** Webhook events: fire and forget, collected so the workflow waits for them before it ends. */
  notify(type: RolloutEventType, extra: Partial<RolloutEvent> = {}): void {
    const url = this.policy.webhookUrl;
    if (!url) return;
    const { status } = this;
    const event: RolloutEvent = {
      id: `${this.rolloutKey}/event/${++this.eventSeq}`,
      type,
      at: now(),
      workflowId: this.workflowId,
      useCaseId: this.input.useCaseId,
      strategy: this.strategy,
      candidateModelId: status.candidateModelId,
      stableModelId: status.stableModelId,
      deploymentId: status.deploymentId,
      stage: this.stages[status.stageIndex]?.label,
      weightPercent: status.weightPercent,
      ...extra,
    };
    this.notifications.push(webhooks.postWebhook({ url, event }).catch((err) => log.warn('webhook failed', { type, error: String(err) })));
  }

  pause(reason: string): void {
    this.status.paused = true;
    this.status.pauseReason = reason;
    this.publish();
    this.notify('paused', { reason });
  }

  registerHandlers(): void {
    setHandler(rolloutStatusQuery, () => this.status);
    setHandler(pauseUpdate, (req) => this.onPause(req), { validator: (req) => this.validatePause(req) });
    setHandler(resumeUpdate, (req) => this.onResume(req), { validator: (req) => this.validateResume(req) });
    setHandler(abortUpdate, (req) => this.onAbort(req), { validator: (req) => this.validateAbort(req) });
    setHandler(promoteUpdate, (req) => this.onPromote(req), { validator: (req) => this.validatePromote(req) });
    setHandler(criticalViolationSignal, (violation) => this.onCriticalViolation(violation));
  }

  /** Waits for the webhook deliveries and the update handlers still running, even when cancelled. */
  async settle(): Promise<void> {
    await CancellationScope.nonCancellable(async () => {
      await Promise.all(this.notifications);
      await condition(allHandlersFinished);
    });
  }

  private validatePause(_req: PauseRequest): void {
    const { status } = this;
    if (this.isTerminal() || status.phase === 'rolling_back' || status.phase === 'promoting') throw new Error(`the rollout is ${status.phase}; nothing to pause`);
    if (status.paused) throw new Error(`the rollout is already paused (${status.pauseReason})`);
  }

  private onPause(req: PauseRequest): RolloutStatus {
    this.pause(req.reason ?? `paused by ${req.by ?? 'an operator'}`);
    return this.status;
  }

  private validateResume(_req: ResumeRequest): void {
    if (!this.status.paused) throw new Error(`the rollout is not paused (it is ${this.status.phase})`);
  }

  private onResume(req: ResumeRequest): RolloutStatus {
    this.status.paused = false;
    this.status.pauseReason = undefined;
    this.control.resumed++;
    this.publish();
    this.notify('resumed', { reason: `resumed by ${req.by ?? 'an operator'}` });
    return this.status;
  }

  private validateAbort(req: AbortRequest): void {
    if (!req?.reason?.trim()) throw new Error('abort needs a reason');
    if (this.isTerminal() || this.status.phase === 'promoting') throw new Error(`the rollout is ${this.status.phase}; it can no longer be aborted (roll back with \`mms rollback\`)`);
  }

  /** Returns once the rollout has ended (rolled back), so the caller knows stable serves 100%. */
  private async onAbort(req: AbortRequest): Promise<RolloutStatus> {
    this.requestAbort(`aborted by ${req.by ?? 'an operator'}: ${req.reason}`);
    await condition(() => this.isTerminal());
    return this.status;
  }

  private validatePromote(_req: PromoteRequest): void {
    const { status } = this;
    if (this.isTerminal() || status.phase === 'rolling_back' || status.phase === 'promoting') throw new Error(`the rollout is ${status.phase}; nothing to promote`);
    if (this.control.abort) throw new Error('the rollout is being aborted');
  }

  /** A full promotion returns once the rollout completed; `--step` once the current window ended. */
  private async onPromote(req: PromoteRequest): Promise<RolloutStatus> {
    this.control.promote = req.full ? 'full' : (this.control.promote ?? 'stage');
    this.status.paused = false; // promoting past a pause, as argo's promote does
    this.status.pauseReason = undefined;
    if (req.full) await condition(() => this.isTerminal());
    else await condition(() => this.control.promote === undefined || this.isTerminal());
    return this.status;
  }

  /** Adds a closed stage's last evidence (nothing when the stage was skipped before any analysis). */
  closeStage(evidence: Record<string, { estimate: number; variance: number } | undefined> | undefined): void {
    if (evidence) this.sequential = closeStage(this.sequential, evidence);
  }

  /** The candidate is known: signals that waited for it are judged now. */
  candidateResolved(): void {
    const pending = this.pendingViolations;
    this.pendingViolations = [];
    for (const v of pending) this.onCriticalViolation(v);
  }

  private onCriticalViolation(violation: CriticalViolation): void {
    if (!this.status.candidateModelId) {
      // before the candidate is resolved nobody can tell whether the signal is about it: wait
      this.pendingViolations.push(violation);
      return;
    }
    if (violation.modelId !== this.status.candidateModelId) {
      log.warn('critical violation by a model other than the candidate: ignored and recorded', { modelId: violation.modelId });
      const ignored = (this.status.ignoredViolations ??= []);
      ignored.push({ modelId: violation.modelId, category: violation.category, logId: violation.logId, at: now() });
      if (ignored.length > 20) ignored.shift();
      this.status.ignoredViolationCount = (this.status.ignoredViolationCount ?? 0) + 1;
      this.publish();
      return;
    }
    this.requestAbort(`critical guardrail violation (${violation.category}) by the candidate${violation.logId ? ` in call ${violation.logId}` : ''}${violation.detail ? `: ${violation.detail}` : ''}`);
  }

  /** The first abort wins; its reason and trace context are kept. */
  private requestAbort(reason: string) {
    if (this.control.abort !== undefined) return;
    this.control.abort = reason;
    this.abortTraceContext = otel.context.active();
  }
}
