import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { formatIssues } from '../src/config/load';
import { rolloutPolicySchema, type RolloutPolicy } from '../src/config/schema';
import { abortUpdate, pauseUpdate, promoteUpdate, resumeUpdate, rolloutWorkflowId, type RolloutStatus } from '../workflows/rollout-messages';

/**
 * Rollout control shared by the `mms rollout` commands and the management REST API: the policy
 * overrides a caller may give, who asked, the "is a rollout running?" guard of a rollback, and the
 * pause / resume / abort / promote updates with Temporal's errors turned into a reason. Each entry
 * point only renames fields (`--window` / `window_seconds`) and picks its exit code or HTTP status.
 */

/** What one rollout may change of the configured `policies.rollout`. */
export interface PolicyOverrides {
  steps?: number[];
  windowSeconds?: number;
  shadowWindowSeconds?: number;
}

/** An override the policy schema refused; `issue` is `<path>: <problem>` in the schema's names. */
export class PolicyOverrideError extends Error {
  override name = 'PolicyOverrideError';
  constructor(
    readonly field: keyof PolicyOverrides,
    readonly issue: string,
  ) {
    super(issue);
  }

  /** The issue with the override's name as the caller spells it (`--window: must be > 0`). */
  spelled(names: Partial<Record<keyof PolicyOverrides, string>>): string {
    if (!this.issue.startsWith(this.field)) return this.issue;
    return `${names[this.field] ?? this.field}${this.issue.slice(this.field.length)}`;
  }
}

const overrideFields: Array<keyof PolicyOverrides> = ['steps', 'shadowWindowSeconds', 'windowSeconds'];

/** The configured policy with one request's overrides, validated like the config file. */
export function policyWithOverrides(base: RolloutPolicy, overrides: PolicyOverrides): RolloutPolicy {
  const merged: Record<string, unknown> = { ...base };
  for (const field of overrideFields) if (overrides[field] !== undefined) merged[field] = overrides[field];
  const result = rolloutPolicySchema.safeParse(merged);
  if (result.success) return result.data;
  const issue = formatIssues(result.error)[0] ?? 'steps: invalid policy';
  throw new PolicyOverrideError(overrideFields.find((f) => issue.startsWith(f)) ?? 'windowSeconds', issue);
}

/** Who asked, as deployment rows and webhook events record it. */
export const requestedBy = {
  cli: () => `cli:${process.env.USER ?? 'unknown'}`,
  api: (key: { name: string; keyPrefix: string }) => `api:${key.name} (${key.keyPrefix}…)`,
};

/**
 * Whether the use case's rollout is running. A rollback refuses then: the rollout would keep shifting
 * weights over the restored allocation; its abort is the way back.
 */
export async function rolloutRunning(client: Client, useCaseId: string): Promise<boolean> {
  const description = await client.workflow
    .getHandle(rolloutWorkflowId(useCaseId))
    .describe()
    .catch(() => undefined);
  return description?.status.name === 'RUNNING';
}

/** An update the rollout refused (`rejected`: its validator said why) or could not take (`finished`). */
export class RolloutControlError extends Error {
  override name = 'RolloutControlError';
  constructor(
    readonly code: 'rejected' | 'finished',
    message: string,
  ) {
    super(message);
  }
}

async function update(work: () => Promise<RolloutStatus>): Promise<RolloutStatus> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new RolloutControlError('rejected', err.cause?.message ?? err.message);
    if (err instanceof WorkflowNotFoundError) throw new RolloutControlError('finished', 'it has finished');
    throw err;
  }
}

/** Hold the rollout at its stage: weights unchanged, window clock stopped. */
export const pauseRollout = (handle: WorkflowHandle, req: { reason?: string; by: string }) => update(() => handle.executeUpdate(pauseUpdate, { args: [req] }));
export const resumeRollout = (handle: WorkflowHandle, req: { by: string }) => update(() => handle.executeUpdate(resumeUpdate, { args: [req] }));
/** Returns once the rollout has rolled back to the snapshot it started from. */
export const abortRollout = (handle: WorkflowHandle, req: { reason: string; by: string }) => update(() => handle.executeUpdate(abortUpdate, { args: [req] }));
/** `full`: every remaining stage (returns once promoted); else only the current window. */
export const promoteRollout = (handle: WorkflowHandle, req: { full: boolean; by: string }) => update(() => handle.executeUpdate(promoteUpdate, { args: [req] }));
