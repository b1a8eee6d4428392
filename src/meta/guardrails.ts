import { Prisma, type PrismaClient } from '@prisma/client';
import type { MonitorActions, MonitorPolicy } from '../guardrails/interventions';
import { parseGuardrailsOverride, resolvePolicy, type GuardrailsOverride, type GuardrailsPolicyConfig } from '../guardrails/policy';
import { DEFAULT_CATEGORY_SEVERITY, DEFAULT_ENGAGEMENT_SEVERITY } from '../guardrails/types';
import type { GuardrailsUpdate } from './decide';
import { recordAuditEvent } from '../audit/events';

/**
 * The meta loop's "update guardrails" decisions: a rule of policies.meta.rules that, when what the
 * guardrails record breaches its bound (tier 2 keeps finding harm tier 1 let through; the unhealthy
 * engagement rate is high while the model is otherwise healthy), puts stricter settings in force for
 * the use case, in two places:
 * - its guardrails monitor: shorter windows, so tier 2 judges the outputs sooner; lower thresholds,
 *   so its findings lead to a parameter change, a rollback or a retrain sooner; `high: block`, so a run
 *   of high outputs lowers the temperature;
 * - the gateway: the action per severity (`high`, `medium`, `low`) and raised category severities, a
 *   `GuardrailsOverride` on the use case row that every gateway replica loads at its next registry poll.
 * Each update is a version: an executed `update_guardrails` decision carrying the settings before and
 * after; the latest one is in force (re-applied to the monitor at every control worker start), until
 * the next decision or an operator's `mms guardrails revert` (a decision of its own, source operator).
 */

/** The settings of an update that reach the guardrails monitor (the rest are the gateway's). */
const MONITOR_KEYS = ['windowSeconds', 'criticalRate', 'minCritical', 'highRate', 'minHigh', 'retrainAfterWindows'] as const;

/** The monitor settings an update changes (the rest of the monitor's settings are left as they are). */
export interface MonitorSettingsLike {
  policy: MonitorPolicy;
  actions: MonitorActions;
}

const monitorPart = (update: GuardrailsUpdate) => Object.fromEntries(MONITOR_KEYS.filter((k) => update[k] !== undefined).map((k) => [k, update[k]]));

/** The monitor's settings with the update applied. */
export function withGuardrailsUpdate<S extends MonitorSettingsLike>(settings: S, update: GuardrailsUpdate): S {
  return { ...settings, policy: { ...settings.policy, ...monitorPart(update) }, actions: { ...settings.actions, ...(update.high ? { high: update.high } : {}) } };
}

/** The monitor settings an update touches, before or after it: what its decision records. */
export function touchedSettings(settings: MonitorSettingsLike, update: GuardrailsUpdate): Record<string, unknown> {
  return { ...Object.fromEntries(Object.keys(monitorPart(update)).map((k) => [k, settings.policy[k as keyof MonitorPolicy]])), ...(update.high ? { high: settings.actions.high } : {}) };
}

/** A monitor's settings with the monitor part of any update undone: policies.guardrails' values again (an operator's revert). */
export function withoutGuardrailsUpdate<S extends MonitorSettingsLike>(settings: S, policyConfig: GuardrailsPolicyConfig, useCaseId: string): S {
  const configured = Object.fromEntries(MONITOR_KEYS.map((k) => [k, policyConfig.monitor[k]]));
  return { ...settings, policy: { ...settings.policy, ...configured }, actions: { ...settings.actions, high: resolvePolicy(policyConfig, useCaseId).actions.high } };
}

/** The gateway's policy as an update leaves it: its actions and severities over the override in force (the config's when none). */
export function guardrailsOverrideOf(update: GuardrailsUpdate, meta: { version: number; decisionId: string; rule: string; at: string }): GuardrailsOverride {
  const actions = Object.fromEntries((['high', 'medium', 'low'] as const).filter((k) => update[k] !== undefined).map((k) => [k, update[k]]));
  return { ...meta, actions, severities: { ...(update.severities ?? {}) } };
}

/** The gateway's actions and severities an update touches, before or after it (resolved over policies.guardrails). */
export function touchedGatewayPolicy(policyConfig: GuardrailsPolicyConfig, useCaseId: string, override: GuardrailsOverride | undefined, update: GuardrailsUpdate): { actions: Record<string, string>; severities: Record<string, string> } {
  const policy = resolvePolicy(policyConfig, useCaseId, override);
  const actions = Object.fromEntries((['high', 'medium', 'low'] as const).filter((k) => update[k] !== undefined).map((k) => [k, policy.actions[k]]));
  const severities = Object.fromEntries(Object.keys(update.severities ?? {}).map((label) => [label, policy.severities[label] ?? DEFAULT_SEVERITY[label] ?? 'none']));
  return { actions, severities };
}

const DEFAULT_SEVERITY: Record<string, string> = { ...DEFAULT_CATEGORY_SEVERITY, ...DEFAULT_ENGAGEMENT_SEVERITY };

/** The override the gateway reads for a use case now (use_cases.guardrails_override), if any. */
export async function guardrailsOverrideInForce(prisma: PrismaClient | Prisma.TransactionClient, useCaseId: string): Promise<GuardrailsOverride | undefined> {
  const row = await prisma.useCase.findUnique({ where: { id: useCaseId }, select: { guardrailsOverride: true } });
  return parseGuardrailsOverride(row?.guardrailsOverride);
}

/** Puts an override in force for the gateway (null: the config's policy again); updated_at moves the gateways' registry fingerprint. */
export async function setGuardrailsOverride(tx: PrismaClient | Prisma.TransactionClient, useCaseId: string, override: GuardrailsOverride | null): Promise<void> {
  await tx.useCase.update({ where: { id: useCaseId }, data: { guardrailsOverride: override === null ? Prisma.DbNull : (override as unknown as Prisma.InputJsonValue) } });
}

/**
 * Per use case, the guardrails update in force: the settings of its latest executed `update_guardrails`
 * decision, unless that is an operator's revert (versions are numbered per use case in that order).
 */
export async function guardrailsUpdatesInForce(prisma: PrismaClient, useCaseIds?: string[]): Promise<Map<string, { update: GuardrailsUpdate; rule: string; version: number; at: string; decisionId: string }>> {
  const rows = await prisma.$queryRaw<Array<{ id: string; use_case_id: string; rule: string | null; update: GuardrailsUpdate | null; at: Date; version: bigint }>>`
    select id::text, use_case_id, rule, update, at, version from (
      select id, use_case_id, details->>'rule' as rule, case when details->>'source' = 'meta' then details->'guardrails' end as update, created_at as at,
             row_number() over (partition by use_case_id order by created_at) as version,
             row_number() over (partition by use_case_id order by created_at desc) as newest
        from optimization_decisions
       where decision_type = 'update_guardrails' and status = 'executed' and details->>'source' in ('meta', 'operator')
         and ${useCaseIds ? Prisma.sql`use_case_id = any(${useCaseIds}::varchar[])` : Prisma.sql`true`}
    ) d where newest = 1`;
  return new Map(rows.filter((r) => r.update).map((r) => [r.use_case_id, { update: r.update!, rule: r.rule ?? '', version: Number(r.version), at: r.at.toISOString(), decisionId: r.id }]));
}

/** The next version number of a use case's guardrails updates (the meta loop's and operators' reverts). */
export async function nextGuardrailsVersion(prisma: PrismaClient | Prisma.TransactionClient, useCaseId: string): Promise<number> {
  const n = await prisma.optimizationDecision.count({ where: { useCaseId, decisionType: 'update_guardrails', status: 'executed', OR: [{ details: { path: ['source'], equals: 'meta' } }, { details: { path: ['source'], equals: 'operator' } }] } });
  return n + 1;
}

export class NoGuardrailsOverrideError extends Error {
  override name = 'NoGuardrailsOverrideError';
}

/**
 * An operator's revert (`mms guardrails revert`, REST): the gateway's policy for the use case is the
 * config's again (at every replica's next poll), recorded as the next guardrails version — an
 * executed `update_guardrails` decision of source operator, with the policy before and after, and an
 * audit event. The caller hands the monitor its config settings again. No update in force: an error.
 */
export async function revertGuardrailsOverride(
  prisma: PrismaClient,
  input: { useCaseId: string; actor: string; reason: string; policyConfig: GuardrailsPolicyConfig },
): Promise<{ decisionId: string; version: number; revertedVersion: number }> {
  return prisma.$transaction(async (tx) => {
    // The use case row, locked: two reverts (or a revert and a sweep's update) are numbered one after the other.
    await tx.$queryRaw`select id from use_cases where id = ${input.useCaseId} for update`;
    const current = await guardrailsOverrideInForce(tx, input.useCaseId);
    if (!current) throw new NoGuardrailsOverrideError(`no guardrails update is in force for "${input.useCaseId}": the gateway already applies policies.guardrails`);
    const version = await nextGuardrailsVersion(tx, input.useCaseId);
    const keys: GuardrailsUpdate = { ...current.actions, ...(Object.keys(current.severities).length > 0 ? { severities: current.severities } : {}) } as GuardrailsUpdate;
    const before = touchedGatewayPolicy(input.policyConfig, input.useCaseId, current, keys);
    const after = touchedGatewayPolicy(input.policyConfig, input.useCaseId, undefined, keys);
    const row = await tx.optimizationDecision.create({
      data: {
        useCaseId: input.useCaseId,
        decisionType: 'update_guardrails',
        reason: `guardrails v${current.version} (${current.rule}) reverted by ${input.actor}: ${input.reason}`,
        details: { source: 'operator', action: 'update_guardrails', revert: true, revertedVersion: current.version, revertedDecisionId: current.decisionId, outcome: { guardrails: { version, gateway: { before, after } } } } as Prisma.InputJsonValue,
        status: 'executed',
        executedAt: new Date(),
      },
    });
    await setGuardrailsOverride(tx, input.useCaseId, null);
    await recordAuditEvent(tx, { actor: input.actor, action: 'guardrails.revert', target: input.useCaseId, details: { decisionId: row.id, version, revertedVersion: current.version, reason: input.reason } });
    return { decisionId: row.id, version, revertedVersion: current.version };
  });
}
