/**
 * Starting and addressing rollouts from outside the workflow (CLI, REST API, gateway): one place that
 * turns Temporal's errors into sentences an operator can act on.
 */

import crypto from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { MmsConfig } from '../src/config/schema';
import { MmsCandidateModel, MmsStatus, MmsStep, MmsUseCase } from '../src/temporal/search-attributes';
import { rolloutWorkflow } from '../workflows/rollout';
import { signalCriticalObserved } from './guardrails-monitor';
import {
  criticalViolationSignal,
  rolloutStatusQuery,
  rolloutWorkflowId,
  strategyProblem,
  type CriticalViolation,
  type RolloutInput,
  type RolloutStatus,
} from '../workflows/rollout-messages';

export class RolloutAlreadyRunningError extends Error {
  override name = 'RolloutAlreadyRunningError';
}
export class RolloutRequestError extends Error {
  override name = 'RolloutRequestError';
}
export class NoRolloutError extends Error {
  override name = 'NoRolloutError';
}

/** `stage 2/5 at 25%`, `shadow stage 1/3`, … for one-line messages. */
export function describeStage(status: Pick<RolloutStatus, 'stages' | 'stageIndex' | 'phase'>): string {
  const stage = status.stages[status.stageIndex];
  if (!stage) return status.phase;
  return `stage ${status.stageIndex + 1}/${status.stages.length} ${stage.kind === 'shadow' ? `shadowing ${stage.percent}%` : `at ${stage.percent}%`}`;
}

/** `5 min`, `30 s`, `1.5 s`, `1 h`: a window length as people say it. */
export function humanSeconds(seconds: number): string {
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60} min`;
  return `${Number(seconds.toFixed(2))} s`;
}

/**
 * The Web UI's one-line summary of a rollout, set when it starts (`staticSummary`):
 * "canary of llama-3.2-3b-npc-dialogue on npc_dialogue, steps 10/25/50/100, 5 min windows".
 */
export function rolloutSummary(request: Pick<RolloutInput, 'strategy' | 'useCaseId' | 'policy'>, candidateLabel: string): string {
  const p = request.policy;
  const steps = `steps ${p.steps.join('/')}, ${humanSeconds(p.windowSeconds)} windows`;
  const shadow = `shadow ${p.shadowMirrorPercent}% for ${humanSeconds(p.shadowWindowSeconds)}`;
  const what = `of ${candidateLabel} on ${request.useCaseId}`;
  switch (request.strategy) {
    case 'shadow_then_canary':
      return `shadow then canary ${what}: ${shadow}, then ${steps}`;
    case 'blue_green':
      return `blue-green ${what}: ${shadow}, then 100% with a ${humanSeconds(p.windowSeconds)} window`;
    case 'all_at_once':
      return `all at once (forced) ${what}: one ${humanSeconds(p.windowSeconds)} window`;
    default:
      return `${request.strategy} ${what}, ${steps}`;
  }
}

export interface StartedRollout {
  workflowId: string;
  runId: string;
  deploymentId: string;
  handle: WorkflowHandle<typeof rolloutWorkflow>;
}

/** Starts `rollout:<useCase>`; refuses, with the running rollout's state, when one is already running. */
export async function startRollout(
  client: Client,
  config: { temporal: Pick<MmsConfig['temporal'], 'controlTaskQueue'> },
  request: Omit<RolloutInput, 'deploymentId'>,
  /** How people call the candidate (name@version) in the Web UI summary; default: as requested. */
  candidateLabel = request.candidate,
): Promise<StartedRollout> {
  const problem = strategyProblem(request.strategy, request.force);
  if (problem) throw new RolloutRequestError(problem);
  const workflowId = rolloutWorkflowId(request.useCaseId);
  const deploymentId = crypto.randomUUID();
  try {
    const handle = await client.workflow.start(rolloutWorkflow, {
      taskQueue: config.temporal.controlTaskQueue,
      workflowId,
      args: [{ ...request, deploymentId }],
      typedSearchAttributes: new TypedSearchAttributes([
        { key: MmsUseCase, value: request.useCaseId },
        { key: MmsCandidateModel, value: request.candidate },
        { key: MmsStep, value: 0 },
        { key: MmsStatus, value: 'preparing' },
      ]),
      memo: { summary: `${request.strategy} rollout of ${request.candidate} on ${request.useCaseId}: starting (requested by ${request.requestedBy})` },
      staticSummary: rolloutSummary(request, candidateLabel),
      staticDetails: `requested by ${request.requestedBy}`,
    });
    return { workflowId, runId: handle.firstExecutionRunId, deploymentId, handle };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const running = await client.workflow
      .getHandle(workflowId)
      .query(rolloutStatusQuery)
      .catch(() => undefined);
    const detail = running ? `, candidate ${running.candidateModelId ?? running.candidate}, ${describeStage(running)}` : '';
    throw new RolloutAlreadyRunningError(
      `a rollout of "${request.useCaseId}" is already running (workflow ${workflowId}${detail}); abort it with \`mms rollout abort ${request.useCaseId} --reason …\` or wait for it to finish`,
    );
  }
}

/** The handle of the running (or last) rollout of a use case, or a clear error when there is none. */
export async function rolloutHandle(client: Client, useCaseId: string): Promise<WorkflowHandle<typeof rolloutWorkflow>> {
  const handle = client.workflow.getHandle<typeof rolloutWorkflow>(rolloutWorkflowId(useCaseId));
  try {
    await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new NoRolloutError(`no rollout of "${useCaseId}" has run (workflow ${rolloutWorkflowId(useCaseId)} not found)`);
    throw err;
  }
  return handle;
}

export interface RolloutReading {
  /** The live status (the status query), when a worker answered it. */
  status?: RolloutStatus;
  workflowId: string;
  runId: string;
  /** Temporal's view: RUNNING, COMPLETED, FAILED, TERMINATED, … */
  execution: string;
  /** MmsStatus search attribute (preparing, canary, paused, promoted, rolled_back, …). */
  state?: string;
  summary?: string;
}

/** Whether a worker has polled the task queue's workflow tasks lately (Temporal lists recent pollers). */
async function workflowWorkerPolls(client: Client, taskQueue: string): Promise<boolean> {
  const { pollers } = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return (pollers?.length ?? 0) > 0;
}

/**
 * Reads a rollout: the status query when a worker of its task queue polls, else what Temporal itself
 * recorded (execution status, search attributes, memo) — enough to say how a finished rollout ended
 * even when no worker of its task queue is running. A query that a worker will answer is waited for
 * (up to `timeoutMs`, generous): a loaded worker answering after its caller gave up answers nobody,
 * and Temporal's core logs that as a warning in the worker's terminal ("Query not found").
 */
export async function readRollout(client: Client, handle: WorkflowHandle, timeoutMs = 60_000): Promise<RolloutReading> {
  const description = await handle.describe();
  const base: RolloutReading = {
    workflowId: description.workflowId,
    runId: description.runId,
    execution: description.status.name,
    state: description.typedSearchAttributes.get(MmsStatus),
    summary: (await description.memo)?.summary as string | undefined,
  };
  try {
    if (!(await workflowWorkerPolls(client, description.taskQueue))) return base;
    const status = await client.withDeadline(Date.now() + timeoutMs, () => handle.query(rolloutStatusQuery));
    return { ...base, status };
  } catch {
    return base;
  }
}

/**
 * For the gateway's `onCriticalViolation`: signals the use case's running rollout, which aborts at once;
 * without one, the use case's guardrails monitor. Neither running is not an error (the violation is still
 * recorded). Returns whether a rollout was signalled.
 */
export function criticalViolationNotifier(client: Client) {
  return async (event: { useCaseId: string; modelId: string; requestId?: string; violation: { type: string; details?: Record<string, unknown> } }): Promise<boolean> => {
    const violation: CriticalViolation = { modelId: event.modelId, category: event.violation.type, logId: event.requestId };
    try {
      await client.workflow.getHandle(rolloutWorkflowId(event.useCaseId)).signal(criticalViolationSignal, violation);
      return true;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      // Outside a rollout the guardrails monitor judges the window at once (a burst rolls back).
      await signalCriticalObserved(client, { useCaseId: event.useCaseId, modelId: event.modelId, category: event.violation.type });
      return false;
    }
  };
}
