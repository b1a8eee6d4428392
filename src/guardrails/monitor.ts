import { Prisma, type PrismaClient } from '@prisma/client';
import { recordAuditEvent } from '../audit/events';
import { getServingAllocation, lockUseCase, NotFoundError, writeAllocation, type AllocationEntry } from '../registry/allocations';
import { modelParamsOf } from '../registry/models';
import { resolveUndoTarget } from '../registry/snapshots';
import type { GuardrailsWindow, Intervention, InterventionKind, ModelWindowStats } from './interventions';

/**
 * The guardrails monitor's registry side: read a window of violations per served model, record each
 * decision (an `optimization_decisions` row with source `guardrails`, and an audit event, in one
 * transaction) and apply a parameter adjustment as a new allocation version. The judgement itself is
 * pure, in ./interventions (the workflow runs it).
 */

/** Reads the window [from, to) of a use case: per served model its calls and its high / critical outputs. */
export async function readGuardrailsWindow(prisma: PrismaClient, input: { useCaseId: string; from: Date; to: Date }): Promise<GuardrailsWindow> {
  const { useCaseId, from, to } = input;
  const [useCase, allocation, running] = await Promise.all([
    prisma.useCase.findUnique({ where: { id: useCaseId }, select: { temperature: true } }),
    getServingAllocation(prisma, useCaseId),
    prisma.modelDeployment.count({ where: { useCaseId, status: 'in_progress', deploymentType: { not: 'rollback' } } }),
  ]);
  if (!useCase) throw new NotFoundError(`use case "${useCaseId}" is not in the registry`);
  const served = (allocation?.entries ?? []).filter((e) => e.role !== 'shadow');
  const ids = served.map((e) => e.modelId);
  if (ids.length === 0) return { useCaseId, from: from.toISOString(), to: to.toISOString(), allocationVersion: allocation?.version ?? null, rolloutRunning: running > 0, models: [] };
  const idList = Prisma.join(ids.map((id) => Prisma.sql`${id}::uuid`));
  const [calls, flagged, categories, models] = await Promise.all([
    prisma.$queryRaw<Array<{ model_id: string; n: bigint }>>`
      select l.model_id::text, count(*) as n from model_historical_logs l
      where l.use_case = ${useCaseId} and l.model_id in (${idList}) and l.timestamp >= ${from} and l.timestamp < ${to} and coalesce(l.role, 'stable') <> 'shadow'
      group by 1`,
    prisma.$queryRaw<Array<{ model_id: string; critical: bigint; high: bigint }>>`
      select model_id::text, count(*) filter (where worst = 'critical') as critical, count(*) filter (where worst = 'high') as high
      from (select v.model_id, v.log_id, case when bool_or(v.severity = 'critical') then 'critical' when bool_or(v.severity = 'high') then 'high' end as worst
            from guardrails_violations v join model_historical_logs l on l.log_id = v.log_id and l.timestamp >= ${from} and l.timestamp < ${to}
            where v.use_case_id = ${useCaseId} and v.model_id in (${idList}) and v.timestamp >= ${from} and v.timestamp < ${to} and coalesce(l.role, 'stable') <> 'shadow'
            group by 1, 2) per_call
      group by 1`,
    prisma.$queryRaw<Array<{ model_id: string; type: string; n: bigint }>>`
      select v.model_id::text, v.violation_type as type, count(*) as n from guardrails_violations v
      where v.use_case_id = ${useCaseId} and v.model_id in (${idList}) and v.timestamp >= ${from} and v.timestamp < ${to} and v.severity in ('high', 'critical')
      group by 1, 2`,
    prisma.model.findMany({ where: { id: { in: ids } }, select: { id: true, modelName: true, modelType: true, configuration: true } }),
  ]);
  const byId = new Map(models.map((m) => [m.id, m]));
  const stats: ModelWindowStats[] = served.map((e) => {
    const m = byId.get(e.modelId);
    const f = flagged.find((x) => x.model_id === e.modelId);
    return {
      modelId: e.modelId,
      modelName: m?.modelName ?? e.modelId,
      role: e.role as 'stable' | 'canary',
      selfHosted: m?.modelType === 'self_hosted',
      requests: Number(calls.find((c) => c.model_id === e.modelId)?.n ?? 0),
      critical: Number(f?.critical ?? 0),
      high: Number(f?.high ?? 0),
      categories: Object.fromEntries(categories.filter((c) => c.model_id === e.modelId).map((c) => [c.type, Number(c.n)])),
      temperature: e.params?.temperature ?? modelParamsOf(m?.configuration).temperature ?? useCase.temperature,
    };
  });
  let undo: GuardrailsWindow['undo'];
  if (stats.some((s) => s.role === 'stable' && s.critical > 0)) {
    try {
      const target = await resolveUndoTarget(prisma, useCaseId);
      undo = { toModelId: target.toModelId, explanation: target.explanation };
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      undo = { unavailable: err.message };
    }
  }
  return { useCaseId, from: from.toISOString(), to: to.toISOString(), allocationVersion: allocation?.version ?? null, rolloutRunning: running > 0, models: stats, undo };
}

/** Who the monitor's decisions and audit events name. */
export const monitorActor = (useCaseId: string) => `workflow:guardrailsMonitor:${useCaseId}`;

export interface RecordDecisionInput {
  useCaseId: string;
  intervention: Intervention;
  status: 'proposed' | 'executing' | 'executed' | 'rejected' | 'failed';
  workflowId: string;
  /** Idempotency: a retried activity finds the decision it wrote first. */
  requestKey: string;
  /** Outcome details merged into the decision's details (allocation version, rollback result, error). */
  outcome?: Record<string, unknown>;
}

const DECISION_TYPES: Record<InterventionKind, string> = { rollback: 'rollback', adjust_parameters: 'adjust_parameters', retrain: 'retrain' };

type Tx = Prisma.TransactionClient;

async function writeDecision(tx: Tx, input: RecordDecisionInput): Promise<{ decisionId: string }> {
  const existing = await tx.optimizationDecision.findFirst({ where: { useCaseId: input.useCaseId, details: { path: ['requestKey'], equals: input.requestKey } }, select: { id: true } });
  if (existing) return { decisionId: existing.id };
  const { intervention: i } = input;
  const finished = input.status === 'executed' || input.status === 'failed' || input.status === 'rejected';
  const row = await tx.optimizationDecision.create({
    data: {
      useCaseId: input.useCaseId,
      decisionType: DECISION_TYPES[i.kind],
      currentModelId: i.modelId,
      targetModelId: typeof i.details.toModelId === 'string' ? i.details.toModelId : i.modelId,
      reason: i.reason,
      details: { source: 'guardrails', requestKey: input.requestKey, ...i.details, ...(input.outcome ?? {}) } as Prisma.InputJsonValue,
      status: input.status,
      workflowId: input.workflowId,
      executedAt: finished ? new Date() : null,
    },
  });
  await recordAuditEvent(tx, {
    actor: monitorActor(input.useCaseId),
    action: `guardrails.${i.kind}`,
    target: input.useCaseId,
    details: { decisionId: row.id, status: input.status, modelId: i.modelId, reason: i.reason, ...(input.outcome ?? {}) },
  });
  return { decisionId: row.id };
}

/** Records a decision (and its audit event) in one transaction; idempotent on requestKey. */
export async function recordGuardrailsDecision(prisma: PrismaClient, input: RecordDecisionInput): Promise<{ decisionId: string }> {
  return prisma.$transaction((tx) => writeDecision(tx, input));
}

/** Moves a decision to its outcome (executed, failed, or rejected when it could not be carried out), with an audit event saying so. */
export async function finishGuardrailsDecision(prisma: PrismaClient, input: { decisionId: string; useCaseId: string; kind: InterventionKind; status: 'executed' | 'failed' | 'rejected'; outcome: Record<string, unknown> }): Promise<void> {
  await prisma.$transaction(async (tx) => {
    const row = await tx.optimizationDecision.findUniqueOrThrow({ where: { id: input.decisionId } });
    if (row.status === input.status) return; // a retried activity
    await tx.optimizationDecision.update({
      where: { id: input.decisionId },
      data: { status: input.status, executedAt: new Date(), details: { ...((row.details as object | null) ?? {}), outcome: input.outcome } as Prisma.InputJsonValue },
    });
    await recordAuditEvent(tx, { actor: monitorActor(input.useCaseId), action: `guardrails.${input.kind}`, target: input.useCaseId, details: { decisionId: input.decisionId, status: input.status, ...input.outcome } });
  });
}

/**
 * A parameter adjustment: a new allocation version, equal to the serving one except the model's
 * entry carries the lower temperature, and its decision (executed, with the version) in the same
 * transaction. Refused (the decision recorded as rejected) when a rollout started meanwhile or the
 * model is no longer served. Idempotent on requestKey.
 */
export async function applyParameterAdjustment(
  prisma: PrismaClient,
  input: { useCaseId: string; intervention: Intervention; workflowId: string; requestKey: string },
): Promise<{ decisionId: string; status: 'executed' | 'rejected'; allocationVersion?: number; entries?: AllocationEntry[] }> {
  const { intervention: i } = input;
  if (i.kind !== 'adjust_parameters' || i.temperature === undefined) throw new Error('applyParameterAdjustment needs an adjust_parameters intervention with a temperature');
  return prisma.$transaction(async (tx) => {
    await lockUseCase(tx, input.useCaseId);
    const allocation = await getServingAllocation(tx, input.useCaseId);
    const already = allocation && (await tx.trafficAllocation.findUnique({ where: { requestKey: input.requestKey }, select: { version: true } }));
    const reject = async (why: string) => {
      const { decisionId } = await writeDecision(tx, { useCaseId: input.useCaseId, intervention: { ...i, reason: `${i.reason}; not applied: ${why}` }, status: 'rejected', workflowId: input.workflowId, requestKey: input.requestKey });
      return { decisionId, status: 'rejected' as const };
    };
    if (!already) {
      if (!allocation || !allocation.entries.some((e) => e.modelId === i.modelId && e.role !== 'shadow')) return reject(`model ${i.modelId} is no longer served`);
      if ((await tx.modelDeployment.count({ where: { useCaseId: input.useCaseId, status: 'in_progress', deploymentType: { not: 'rollback' } } })) > 0) return reject('a rollout started and owns the allocation');
    }
    const entries = allocation!.entries.map((e) => (e.modelId === i.modelId ? { ...e, params: { ...e.params, temperature: i.temperature } } : e));
    const written = await writeAllocation(tx, { useCaseId: input.useCaseId, entries, reason: `guardrails: ${i.reason}`, createdBy: monitorActor(input.useCaseId), requestKey: input.requestKey });
    const { decisionId } = await writeDecision(tx, { useCaseId: input.useCaseId, intervention: i, status: 'executed', workflowId: input.workflowId, requestKey: input.requestKey, outcome: { allocationVersion: written.version } });
    return { decisionId, status: 'executed' as const, allocationVersion: written.version, entries: written.entries };
  });
}
