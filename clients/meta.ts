import { ScheduleNotFoundError, ScheduleOverlapPolicy, WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { MmsConfig } from '../src/config/schema';
import { pipelineSettings } from './pipeline';
import { metaOptimizationWorkflow } from '../workflows/meta-optimization';
import { META_SCHEDULE_ID, type MetaSweepInput } from '../workflows/meta-optimization-messages';
import { rolloutStatusQuery, rolloutWorkflowId } from '../workflows/rollout-messages';

/** The meta loop from clients (CLI, REST, tests, bench): its schedule, a sweep now, and the running phases `mms status` shows. */

export class MetaScheduleError extends Error {
  override name = 'MetaScheduleError';
}

/** Pipeline inputs for the retrains the meta loop decides, resolved from the config (as `mms pipeline start` does). */
export function pipelineInputFor(config: MmsConfig) {
  return (useCaseId: string, requestedBy: string) => ({ useCaseId, gpuTaskQueue: config.temporal.gpuTaskQueue, settings: pipelineSettings(config, useCaseId), requestedBy });
}

function scheduleHandle(client: Client) {
  return client.schedule.getHandle(META_SCHEDULE_ID);
}

async function orNotFound<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new MetaScheduleError(`no schedule "${META_SCHEDULE_ID}": create it with \`mms schedule apply\` (or start \`mms dev\` / a control worker)`);
    throw err;
  }
}

export interface MetaScheduleInfo {
  scheduleId: string;
  paused: boolean;
  note: string | null;
  everyMinutes: number | null;
  dryRun: boolean;
  running: string[];
  recent: Array<{ workflowId: string; scheduledAt: string; takenAt: string }>;
  nextRuns: string[];
  skippedOverlap: number;
}

export async function describeMetaSchedule(client: Client): Promise<MetaScheduleInfo> {
  const d = await orNotFound(() => scheduleHandle(client).describe());
  const args = d.action.type === 'startWorkflow' ? (d.action.args as MetaSweepInput[] | undefined) : undefined;
  return {
    scheduleId: META_SCHEDULE_ID,
    paused: d.state.paused,
    note: d.state.note ?? null,
    everyMinutes: d.spec.intervals?.[0] ? d.spec.intervals[0].every / 60_000 : null,
    dryRun: args?.[0]?.settings.dryRun ?? false,
    running: d.info.runningActions.map((a) => a.workflow.workflowId),
    recent: d.info.recentActions.map((a) => ({ workflowId: a.action.workflow.workflowId, scheduledAt: a.scheduledAt.toISOString(), takenAt: a.takenAt.toISOString() })),
    nextRuns: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
    skippedOverlap: d.info.numActionsSkippedOverlap,
  };
}

export async function pauseMetaSchedule(client: Client, note: string): Promise<void> {
  await orNotFound(() => scheduleHandle(client).pause(note));
}

export async function resumeMetaSchedule(client: Client, note: string): Promise<void> {
  await orNotFound(() => scheduleHandle(client).unpause(note));
}

/**
 * A sweep now. Through the schedule (overlap SKIP: while a sweep runs, the trigger starts none — the
 * SDK's default for a trigger would be ALLOW_ALL); a dry run is a sweep of the schedule's own settings
 * started beside it, refused while a sweep runs, so two sweeps never overlap either way.
 */
export async function triggerMetaSweep(client: Client, options: { dryRun?: boolean } = {}): Promise<{ via: 'schedule' | 'workflow'; workflowId?: string }> {
  const handle = scheduleHandle(client);
  if (!options.dryRun) {
    await orNotFound(() => handle.trigger(ScheduleOverlapPolicy.SKIP));
    return { via: 'schedule' };
  }
  const d = await orNotFound(() => handle.describe());
  if (d.action.type !== 'startWorkflow') throw new MetaScheduleError(`schedule "${META_SCHEDULE_ID}" does not start a workflow`);
  if (d.info.runningActions.length > 0) throw new MetaScheduleError(`a sweep is running (${d.info.runningActions.map((a) => a.workflow.workflowId).join(', ')}): no second sweep is started`);
  const [input] = d.action.args as [MetaSweepInput];
  const workflowId = `${META_SCHEDULE_ID}-dry-run-${new Date().toISOString()}`;
  try {
    await client.workflow.start(metaOptimizationWorkflow, { workflowId, taskQueue: d.action.taskQueue, args: [{ ...input, dryRun: true }], staticSummary: 'meta sweep, dry run (mms schedule trigger --dry-run)' });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new MetaScheduleError(`${workflowId} is already running`);
    throw err;
  }
  return { via: 'workflow', workflowId };
}

/** The phase of each running rollout, by use case (what `mms status` shows beside the deployment row). */
export async function rolloutPhases(client: Client, useCaseIds: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await Promise.all(
    useCaseIds.map(async (id) => {
      const status = await client.workflow
        .getHandle(rolloutWorkflowId(id))
        .query(rolloutStatusQuery)
        .catch(() => undefined);
      if (status) out.set(id, `${status.phase}${status.stages[status.stageIndex] ? ` ${status.stages[status.stageIndex]!.label}` : ''} ${status.weightPercent}%`);
    }),
  );
  return out;
}

/**
 * The history length of every run of one sweep, first run first: the chain of continue-as-new is
 * walked from the first run's history (each run's last event names the next), so the figures need
 * no visibility index (eventually consistent on a dev server). What `bench:meta` and the tests print.
 */
export async function sweepRunHistories(client: Client, sweepId: string): Promise<Array<{ runId: string; events: number }>> {
  const first = (await client.workflow.getHandle(sweepId).describe()).raw.workflowExecutionInfo?.firstRunId;
  const out: Array<{ runId: string; events: number }> = [];
  for (let runId: string | null | undefined = first; runId; ) {
    const events = (await client.workflow.getHandle(sweepId, runId).fetchHistory()).events ?? [];
    out.push({ runId, events: events.length });
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
  }
  return out;
}
