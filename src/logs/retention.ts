import type { LogsConfig } from '../config/schema';

/** Why a row is kept: the longest class a row belongs to decides its retention. */
export type RetentionClass = 'plain' | 'feedback' | 'violation';
export const RETENTION_CLASSES: readonly RetentionClass[] = ['plain', 'feedback', 'violation'];

export type RetentionDays = Record<RetentionClass, number>;

/** The retention of every class, per use case, with the defaults for use cases not listed. */
export interface RetentionPolicy {
  defaults: RetentionDays;
  useCases: Record<string, RetentionDays>;
}

export const DAY_MS = 86_400_000;

export function retentionPolicy(config: LogsConfig, useCaseIds: readonly string[] = []): RetentionPolicy {
  const r = config.retention;
  const defaults: RetentionDays = { plain: r.plainDays, feedback: r.feedbackDays, violation: r.violationDays };
  const useCases: Record<string, RetentionDays> = {};
  for (const id of new Set([...useCaseIds, ...Object.keys(r.useCases)])) {
    const o = r.useCases[id] ?? {};
    useCases[id] = { plain: o.plainDays ?? defaults.plain, feedback: o.feedbackDays ?? defaults.feedback, violation: o.violationDays ?? defaults.violation };
  }
  return { defaults, useCases };
}

const allDays = (policy: RetentionPolicy) => [policy.defaults, ...Object.values(policy.useCases)];

/**
 * Days after which a log partition may be dropped: every row is plain at least, so once the shortest
 * plain retention has passed its end, whatever must live longer is moved to the long-term table first.
 */
export const logPartitionDays = (policy: RetentionPolicy) => Math.min(...allDays(policy).map((d) => d.plain));
/** The same for guardrails_violations, whose rows are all of the violation class. */
export const violationPartitionDays = (policy: RetentionPolicy) => Math.min(...allDays(policy).map((d) => d.violation));

/** The policy as the JSON the retention SQL joins on (one record per configured use case). */
export function policyRecords(policy: RetentionPolicy): string {
  return JSON.stringify(Object.entries(policy.useCases).map(([useCase, d]) => ({ use_case: useCase, plain: d.plain, feedback: d.feedback, violation: d.violation })));
}
