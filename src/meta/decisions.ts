import { Prisma, type PrismaClient } from '@prisma/client';
import { recordAuditEvent } from '../audit/events';
import { getServingAllocation, lockUseCase, writeAllocation, type AllocationEntry } from '../registry/allocations';
import { DECISION_TYPES, type MetaAction, type MetaDecision } from './decide';

/**
 * The meta loop's audit: every decision of every sweep is an `optimization_decisions` row (source
 * `meta`) with its rule, reasons, the numbers that triggered it, the workflow it started and its
 * outcome once known; each action (not `none`) also an audit event. Writes are idempotent on a request
 * key (sweep id + use case + action), so a retried activity or a replayed sweep never doubles a row.
 */

export type DecisionStatus = 'proposed' | 'executing' | 'executed' | 'rejected' | 'failed';

/** Who the meta loop's decisions and audit events name. */
export const META_ACTOR = 'workflow:metaOptimization';

export const decisionRequestKey = (sweepId: string, d: Pick<MetaDecision, 'useCaseId' | 'action'>) => `${sweepId}/${d.useCaseId}/${d.action}`;

export interface RecordMetaDecisionsInput {
  sweepId: string;
  /** The run of the sweep that decided (its workflow id: the schedule's run id of the sweep). */
  workflowId: string;
  sweepStartedAt: string;
  dryRun: boolean;
  decisions: MetaDecision[];
}

export interface RecordedDecision {
  decisionId: string;
  useCaseId: string;
  action: MetaAction;
}

/** Status a decision is recorded with before any action: nothing to do is done; a dry run only proposes. */
const initialStatus = (d: MetaDecision): DecisionStatus => (d.action === 'none' ? 'executed' : 'proposed');

export async function recordMetaDecisions(prisma: PrismaClient, input: RecordMetaDecisionsInput): Promise<RecordedDecision[]> {
  if (input.decisions.length === 0) return [];
  const keys = input.decisions.map((d) => decisionRequestKey(input.sweepId, d));
  const useCaseIds = [...new Set(input.decisions.map((d) => d.useCaseId))];
  return prisma.$transaction(async (tx) => {
    const existing = await tx.$queryRaw<Array<{ id: string; key: string }>>`
      select id::text, details->>'requestKey' as key from optimization_decisions
       where use_case_id = any(${useCaseIds}::varchar[]) and created_at >= ${new Date(input.sweepStartedAt)} and details->>'requestKey' = any(${keys}::text[])`;
    const found = new Map(existing.map((r) => [r.key, r.id]));
    const now = new Date();
    const fresh = input.decisions.filter((d) => !found.has(decisionRequestKey(input.sweepId, d)));
    if (fresh.length > 0) {
      const rows = await tx.optimizationDecision.createManyAndReturn({
        data: fresh.map((d) => ({
          useCaseId: d.useCaseId,
          decisionType: DECISION_TYPES[d.action],
          currentModelId: d.modelId,
          targetModelId: null,
          reason: d.reason,
          details: { source: 'meta', requestKey: decisionRequestKey(input.sweepId, d), sweepId: input.sweepId, action: d.action, rule: d.rule, dryRun: input.dryRun, ...(d.temperature !== undefined ? { temperature: d.temperature } : {}), ...(d.guardrails ? { guardrails: d.guardrails } : {}), numbers: d.numbers } as Prisma.InputJsonValue,
          status: initialStatus(d),
          workflowId: input.workflowId,
          executedAt: d.action === 'none' ? now : null,
        })),
        select: { id: true, details: true },
      });
      for (const r of rows) found.set((r.details as { requestKey: string }).requestKey, r.id);
      const acted = fresh.filter((d) => d.action !== 'none');
      if (acted.length > 0) {
        await tx.auditEvent.createMany({
          data: acted.map((d) => ({
            actor: META_ACTOR,
            action: `meta.${d.action}`,
            target: d.useCaseId,
            details: { decisionId: found.get(decisionRequestKey(input.sweepId, d)), rule: d.rule, reason: d.reason, dryRun: input.dryRun, sweepId: input.sweepId } as Prisma.InputJsonValue,
          })),
        });
      }
    }
    return input.decisions.map((d) => ({ decisionId: found.get(decisionRequestKey(input.sweepId, d))!, useCaseId: d.useCaseId, action: d.action }));
  });
}

export interface UpdateMetaDecisionInput {
  decisionId: string;
  status: DecisionStatus;
  /** The workflow the action started (rollback:<uc>, pipeline:<uc>, paidSwitch:<uc>) and its run. */
  actionWorkflowId?: string;
  actionRunId?: string;
  /** Done in the same transaction as the decision's update (what the decision puts in force). */
  apply?: (tx: Prisma.TransactionClient) => Promise<void>;
  /** Merged into details.outcome. */
  outcome?: Record<string, unknown>;
  /** Appended to the reason (why it was deferred or refused). */
  note?: string;
}

/** Moves a decision on (executing with its workflow, executed / failed / rejected with the outcome); idempotent. */
export async function updateMetaDecision(prisma: PrismaClient, input: UpdateMetaDecisionInput): Promise<void> {
  await prisma.$transaction(async (tx) => {
    const row = await tx.optimizationDecision.findUniqueOrThrow({ where: { id: input.decisionId } });
    const details = (row.details ?? {}) as Record<string, unknown>;
    if (row.status === input.status && (input.actionWorkflowId === undefined || details.actionWorkflowId === input.actionWorkflowId)) return;
    await input.apply?.(tx);
    const finished = input.status === 'executed' || input.status === 'failed' || input.status === 'rejected';
    await tx.optimizationDecision.update({
      where: { id: input.decisionId },
      data: {
        status: input.status,
        ...(finished ? { executedAt: new Date() } : {}),
        ...(input.note ? { reason: `${row.reason}; ${input.note}` } : {}),
        details: {
          ...details,
          ...(input.actionWorkflowId ? { actionWorkflowId: input.actionWorkflowId, actionRunId: input.actionRunId } : {}),
          ...(input.outcome ? { outcome: { ...((details.outcome as object | undefined) ?? {}), ...input.outcome } } : {}),
        } as Prisma.InputJsonValue,
      },
    });
    await recordAuditEvent(tx, {
      actor: META_ACTOR,
      action: `meta.${(details.action as string | undefined) ?? row.decisionType}`,
      target: row.useCaseId,
      details: { decisionId: input.decisionId, status: input.status, ...(input.actionWorkflowId ? { workflowId: input.actionWorkflowId } : {}), ...(input.note ? { note: input.note } : {}), ...(input.outcome ?? {}) },
    });
  });
}

/**
 * A parameter change decided by the meta loop: a new allocation version, equal to the serving one
 * except the stable model's entry carries the lower temperature; the decision moves to executed (with
 * the version) in the same transaction, or to rejected when a rollout started meanwhile or the model is
 * no longer served. Idempotent on the decision id.
 */
export async function applyMetaParameterChange(
  prisma: PrismaClient,
  input: { decisionId: string; useCaseId: string; modelId: string; temperature: number },
): Promise<{ status: 'executed' | 'rejected'; allocationVersion?: number; entries?: AllocationEntry[]; reason?: string }> {
  const requestKey = `meta-decision/${input.decisionId}`;
  const outcome = await prisma.$transaction(async (tx) => {
    await lockUseCase(tx, input.useCaseId);
    const already = await tx.trafficAllocation.findUnique({ where: { requestKey }, select: { version: true, entries: true } });
    if (already) return { status: 'executed' as const, allocationVersion: already.version, entries: already.entries as AllocationEntry[] };
    const allocation = await getServingAllocation(tx, input.useCaseId);
    if (!allocation || !allocation.entries.some((e) => e.modelId === input.modelId && e.role === 'stable')) return { status: 'rejected' as const, reason: `model ${input.modelId} is no longer the stable model` };
    if ((await tx.modelDeployment.count({ where: { useCaseId: input.useCaseId, status: 'in_progress', deploymentType: { not: 'rollback' } } })) > 0) return { status: 'rejected' as const, reason: 'a rollout started and owns the allocation' };
    const entries = allocation.entries.map((e) => (e.modelId === input.modelId ? { ...e, params: { ...e.params, temperature: input.temperature } } : e));
    const written = await writeAllocation(tx, { useCaseId: input.useCaseId, entries, reason: `meta: parameter change (decision ${input.decisionId})`, createdBy: META_ACTOR, requestKey });
    return { status: 'executed' as const, allocationVersion: written.version, entries: written.entries };
  });
  await updateMetaDecision(prisma, {
    decisionId: input.decisionId,
    status: outcome.status,
    ...(outcome.status === 'rejected' ? { note: `not applied: ${outcome.reason}` } : { outcome: { allocationVersion: outcome.allocationVersion } }),
  });
  return outcome;
}

export interface DecisionRow {
  id: string;
  at: Date;
  useCaseId: string;
  source: string;
  decisionType: string;
  action: string;
  rule: string | null;
  status: string;
  reason: string;
  dryRun: boolean;
  workflowId: string | null;
  actionWorkflowId: string | null;
  outcome: Record<string, unknown> | null;
  numbers: Record<string, unknown> | null;
  executedAt: Date | null;
}

/** Decisions newest first, of the meta loop and the guardrails monitor (`mms decisions`, REST). */
export async function listDecisions(prisma: PrismaClient, filter: { useCaseId?: string; since?: Date; source?: string; includeNone?: boolean; limit?: number } = {}): Promise<DecisionRow[]> {
  const rows = await prisma.optimizationDecision.findMany({
    where: {
      ...(filter.useCaseId ? { useCaseId: filter.useCaseId } : {}),
      ...(filter.since ? { createdAt: { gte: filter.since } } : {}),
      ...(filter.includeNone === false ? { decisionType: { not: 'none' } } : {}),
      ...(filter.source ? { details: { path: ['source'], equals: filter.source } } : {}),
    },
    orderBy: { createdAt: 'desc' },
    take: filter.limit ?? 100,
  });
  return rows.map((r) => {
    const d = (r.details ?? {}) as Record<string, unknown>;
    return {
      id: r.id,
      at: r.createdAt,
      useCaseId: r.useCaseId,
      source: typeof d.source === 'string' ? d.source : 'unknown',
      decisionType: r.decisionType,
      action: typeof d.action === 'string' ? d.action : r.decisionType,
      rule: typeof d.rule === 'string' ? d.rule : null,
      status: r.status,
      reason: r.reason,
      dryRun: d.dryRun === true,
      workflowId: r.workflowId,
      actionWorkflowId: typeof d.actionWorkflowId === 'string' ? d.actionWorkflowId : null,
      outcome: (d.outcome as Record<string, unknown> | undefined) ?? null,
      numbers: (d.numbers as Record<string, unknown> | undefined) ?? null,
      executedAt: r.executedAt,
    };
  });
}

/** Decisions whose action was started and whose outcome is not known yet (the next sweep asks Temporal). */
export async function executingMetaDecisions(prisma: PrismaClient, limit = 200): Promise<Array<{ decisionId: string; actionWorkflowId: string; actionRunId: string | null }>> {
  const rows = await prisma.$queryRaw<Array<{ id: string; wf: string | null; run: string | null }>>`
    select id::text, details->>'actionWorkflowId' as wf, details->>'actionRunId' as run from optimization_decisions
     where status = 'executing' and details->>'source' = 'meta' order by created_at limit ${limit}`;
  return rows.filter((r) => r.wf).map((r) => ({ decisionId: r.id, actionWorkflowId: r.wf!, actionRunId: r.run }));
}
