/**
 * A workflow on a Temporal Schedule, made to match its definition idempotently: created when missing,
 * updated when its period, workflow, task queue or arguments changed, left alone otherwise. `mms dev`
 * and every worker start-up call it with what mms.config.yaml says, so the schedule follows the config
 * without anyone running a command. Runs never overlap (SKIP): a slow run delays, it does not pile up.
 */

import { isDeepStrictEqual } from 'node:util';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';

export interface ScheduledWorkflow {
  scheduleId: string;
  workflowType: string;
  taskQueue: string;
  args: unknown[];
  everyMs: number;
  /** Each run's workflow id is `<workflowIdPrefix>-<scheduled time>` (Temporal appends the time). */
  workflowIdPrefix?: string;
  /** Runs missed while the server or workers were down are started once back, within this window. */
  catchupWindowMs?: number;
  /** Start a run now when the schedule is created (e.g. to make partitions before the first period). */
  triggerOnCreate?: boolean;
  note?: string;
}

export type EnsureResult = 'created' | 'updated' | 'unchanged';

function definition(s: ScheduledWorkflow) {
  return {
    spec: { intervals: [{ every: s.everyMs }] },
    action: { type: 'startWorkflow' as const, workflowType: s.workflowType, taskQueue: s.taskQueue, args: s.args, workflowId: s.workflowIdPrefix ?? s.scheduleId },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: s.catchupWindowMs ?? 60_000 },
    state: { ...(s.note ? { note: s.note } : {}) },
  };
}

export async function ensureSchedule(client: Client, s: ScheduledWorkflow): Promise<EnsureResult> {
  const handle = client.schedule.getHandle(s.scheduleId);
  let current;
  try {
    current = await handle.describe();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    try {
      await client.schedule.create({ scheduleId: s.scheduleId, ...definition(s), state: { ...definition(s).state, triggerImmediately: s.triggerOnCreate ?? false } });
      return 'created';
    } catch (createErr) {
      // Another process (a second worker starting at the same time) created it first: compare below.
      if (!/already (exists|registered|running)/i.test((createErr as Error).message)) throw createErr;
      current = await handle.describe();
    }
  }
  const action = current.action;
  const same =
    action.type === 'startWorkflow' &&
    action.workflowType === s.workflowType &&
    action.taskQueue === s.taskQueue &&
    isDeepStrictEqual(action.args ?? [], s.args) &&
    current.spec.intervals?.length === 1 &&
    current.spec.intervals[0]!.every === s.everyMs &&
    current.policies.catchupWindow === (s.catchupWindowMs ?? 60_000);
  if (same) return 'unchanged';
  // A paused schedule stays paused (with the operator's note): a changed config is no resume.
  await handle.update(() => {
    const next = definition(s);
    return current.state.paused ? { ...next, state: { paused: true, note: current.state.note } } : next;
  });
  return 'updated';
}
