import type { PrismaClient } from '@prisma/client';
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { MmsConfig } from '../src/config/schema';
import { paidSwitchWorkflow } from '../workflows/paid-switch';
import { paidSwitchWorkflowId, type PaidSwitchDecision, type PaidSwitchTrigger } from '../workflows/paid-switch-messages';

/**
 * Starting a paid switch from a client (the CLI, the REST API) and reading the latest ranking of a use
 * case. A switch already running for the use case is joined, not started twice.
 */
export class PaidSwitchRequestError extends Error {
  constructor(
    message: string,
    readonly field: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface PaidSwitchRequest {
  useCaseId: string;
  dryRun: boolean;
  requestedBy: string;
  spendingCapUsd?: number;
  trigger?: PaidSwitchTrigger;
}

export async function startPaidSwitch(client: Client, config: MmsConfig, request: PaidSwitchRequest): Promise<{ handle: WorkflowHandle<typeof paidSwitchWorkflow>; joined: boolean }> {
  if (!config.useCases.some((u) => u.id === request.useCaseId)) {
    throw new PaidSwitchRequestError(`use_case: "${request.useCaseId}" is not a use case of the config (use cases: ${config.useCases.map((u) => u.id).join(', ')})`, 'use_case', 404);
  }
  if (request.spendingCapUsd !== undefined && !(request.spendingCapUsd >= 0 && request.spendingCapUsd <= 100_000)) {
    throw new PaidSwitchRequestError('spending cap: must be a number of USD from 0 to 100000', 'spending_cap_usd');
  }
  const workflowId = paidSwitchWorkflowId(request.useCaseId);
  try {
    const handle = await client.workflow.start(paidSwitchWorkflow, {
      taskQueue: config.temporal.controlTaskQueue,
      workflowId,
      args: [{ useCaseId: request.useCaseId, dryRun: request.dryRun, requestedBy: request.requestedBy, ...(request.trigger ? { trigger: request.trigger } : {}), ...(request.spendingCapUsd !== undefined ? { spendingCapUsd: request.spendingCapUsd } : {}) }],
    });
    return { handle, joined: false };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    return { handle: client.workflow.getHandle(workflowId), joined: true };
  }
}

export interface StoredRanking {
  decisionId: string;
  workflowId: string | null;
  createdAt: string;
  status: string;
  decision: PaidSwitchDecision & { trigger?: PaidSwitchTrigger; outcome?: string; outcomeReason?: string };
}

/** The latest ranking (decision of a paid switch, dry or not) of a use case, with its full table. */
export async function latestPaidRanking(prisma: PrismaClient, useCaseId: string): Promise<StoredRanking | undefined> {
  const row = await prisma.optimizationDecision.findFirst({ where: { useCaseId, details: { path: ['kind'], equals: 'paid_switch' } }, orderBy: { createdAt: 'desc' } });
  if (!row) return undefined;
  return { decisionId: row.id, workflowId: row.workflowId, createdAt: row.createdAt.toISOString(), status: row.status, decision: row.details as unknown as StoredRanking['decision'] };
}
