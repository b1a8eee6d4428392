import { Prisma, type PrismaClient } from '@prisma/client';
import type { MonitorActions, MonitorPolicy } from '../guardrails/interventions';
import type { GuardrailsUpdate } from './decide';

/**
 * The meta loop's "update guardrails" decisions: a rule of policies.meta.rules that, when what the
 * guardrails record breaches its bound (tier 2 keeps finding harm tier 1 let through; the unhealthy
 * engagement rate is high while the model is otherwise healthy), puts stricter settings in force on
 * the use case's guardrails monitor — shorter windows, so tier 2 judges the outputs sooner; lower
 * thresholds, so its findings lead to a parameter change, a rollback or a retrain sooner; `high:
 * block`, so a run of high outputs lowers the temperature. Each update is a version: an executed
 * `update_guardrails` decision carrying the settings before and after; the latest one is in force,
 * and every control worker's start applies it over mms.config.yaml's settings (`ensureGuardrailsMonitors`).
 */

/** The monitor settings an update changes (the rest of the monitor's settings are left as they are). */
export interface MonitorSettingsLike {
  policy: MonitorPolicy;
  actions: MonitorActions;
}

/** The settings with the update applied. */
export function withGuardrailsUpdate<S extends MonitorSettingsLike>(settings: S, update: GuardrailsUpdate): S {
  const { high, ...policy } = update;
  const defined = Object.fromEntries(Object.entries(policy).filter(([, v]) => v !== undefined));
  return { ...settings, policy: { ...settings.policy, ...defined }, actions: { ...settings.actions, ...(high ? { high } : {}) } };
}

/** The settings an update touches, before or after it: what its decision records. */
export function touchedSettings(settings: MonitorSettingsLike, update: GuardrailsUpdate): Record<string, unknown> {
  return Object.fromEntries(Object.keys(update).map((k) => [k, k === 'high' ? settings.actions.high : settings.policy[k as keyof MonitorPolicy]]));
}

/**
 * Per use case, the guardrails update in force: the settings of its latest executed meta
 * `update_guardrails` decision (versions are numbered per use case in that order).
 */
export async function guardrailsUpdatesInForce(prisma: PrismaClient, useCaseIds?: string[]): Promise<Map<string, { update: GuardrailsUpdate; rule: string; version: number; at: string; decisionId: string }>> {
  const rows = await prisma.$queryRaw<Array<{ id: string; use_case_id: string; rule: string | null; update: GuardrailsUpdate | null; at: Date; version: bigint }>>`
    select id::text, use_case_id, rule, update, at, version from (
      select id, use_case_id, details->>'rule' as rule, details->'guardrails' as update, created_at as at,
             row_number() over (partition by use_case_id order by created_at) as version,
             row_number() over (partition by use_case_id order by created_at desc) as newest
        from optimization_decisions
       where decision_type = 'update_guardrails' and status = 'executed' and details->>'source' = 'meta'
         and ${useCaseIds ? Prisma.sql`use_case_id = any(${useCaseIds}::varchar[])` : Prisma.sql`true`}
    ) d where newest = 1`;
  return new Map(rows.filter((r) => r.update).map((r) => [r.use_case_id, { update: r.update!, rule: r.rule ?? '', version: Number(r.version), at: r.at.toISOString(), decisionId: r.id }]));
}

/** The next version number of a use case's guardrails updates. */
export async function nextGuardrailsVersion(prisma: PrismaClient, useCaseId: string): Promise<number> {
  const n = await prisma.optimizationDecision.count({ where: { useCaseId, decisionType: 'update_guardrails', status: 'executed', details: { path: ['source'], equals: 'meta' } } });
  return n + 1;
}
