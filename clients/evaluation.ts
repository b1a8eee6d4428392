/**
 * Starting an evaluation from a client (the CLI, the REST API): resolve the two models, build (or
 * find) the use case's suite, start `evaluate:<candidate>:<current>:<suite hash>` — or join the one
 * already running or done with the same id.
 */

import type { PrismaClient } from '@prisma/client';
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { MmsConfig } from '../src/config/schema';
import { buildSuite, guardrailsClassifier, loadEvaluationReport, type EvaluationReport, type SuiteBuildReport } from '../src/evaluation';
import { servingStableModel } from '../src/registry/rollouts';
import { evaluateWorkflow } from '../workflows/evaluate';
import { evaluateWorkflowId, type EvaluateResult } from '../workflows/evaluate-messages';

export class EvaluationRequestError extends Error {
  constructor(
    message: string,
    readonly field: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface EvaluationRequest {
  /** Model id, or registry model name (its latest version). */
  candidate: string;
  /** `current` (the model with status current), `stable` (what serves 100% now), or a model id. */
  against: string;
  useCaseId?: string;
  sampleSize?: number;
}

export interface StartedEvaluation {
  workflowId: string;
  useCaseId: string;
  candidateModelId: string;
  currentModelId: string;
  suite: SuiteBuildReport;
  handle: WorkflowHandle<typeof evaluateWorkflow>;
}

async function resolveCandidate(prisma: PrismaClient, ref: string, useCaseId: string | undefined) {
  if (UUID.test(ref)) {
    const model = await prisma.model.findUnique({ where: { id: ref } });
    if (!model) throw new EvaluationRequestError(`candidate: model ${ref} is not in the registry`, 'candidate', 404);
    if (useCaseId && model.useCase !== useCaseId) throw new EvaluationRequestError(`candidate: model ${ref} belongs to use case "${model.useCase}", not "${useCaseId}"`, 'candidate');
    return model;
  }
  const models = await prisma.model.findMany({ where: { modelName: ref, ...(useCaseId ? { useCase: useCaseId } : {}) }, orderBy: { createdAt: 'desc' } });
  if (models.length === 0) throw new EvaluationRequestError(`candidate: no model named "${ref}"${useCaseId ? ` in use case "${useCaseId}"` : ''}`, 'candidate', 404);
  const useCases = [...new Set(models.map((m) => m.useCase))];
  if (useCases.length > 1) throw new EvaluationRequestError(`candidate: "${ref}" exists in use cases ${useCases.join(', ')}: name one with --use-case`, 'use_case');
  return models[0]!;
}

async function resolveCurrent(prisma: PrismaClient, against: string, useCaseId: string): Promise<string> {
  if (against === 'stable') {
    const stable = await servingStableModel(prisma, useCaseId);
    if (!stable) throw new EvaluationRequestError(`against: use case "${useCaseId}" has no stable model`, 'against', 404);
    return stable;
  }
  if (against === 'current') {
    const current = await prisma.model.findFirst({ where: { useCase: useCaseId, status: 'current' }, orderBy: { updatedAt: 'desc' } });
    if (!current) throw new EvaluationRequestError(`against: use case "${useCaseId}" has no model with status current`, 'against', 404);
    return current.id;
  }
  if (!UUID.test(against)) throw new EvaluationRequestError('against: must be current, stable or a model id', 'against');
  const model = await prisma.model.findUnique({ where: { id: against } });
  if (!model) throw new EvaluationRequestError(`against: model ${against} is not in the registry`, 'against', 404);
  if (model.useCase !== useCaseId) throw new EvaluationRequestError(`against: model ${against} belongs to use case "${model.useCase}", the candidate to "${useCaseId}"`, 'against');
  return model.id;
}

export async function startEvaluation(deps: { client: Client; prisma: PrismaClient; config: MmsConfig }, request: EvaluationRequest): Promise<StartedEvaluation> {
  const candidate = await resolveCandidate(deps.prisma, request.candidate, request.useCaseId);
  const useCaseId = candidate.useCase;
  if (!deps.config.useCases.some((u) => u.id === useCaseId)) throw new EvaluationRequestError(`use case "${useCaseId}" is not in the configuration`, 'use_case', 404);
  const currentModelId = await resolveCurrent(deps.prisma, request.against, useCaseId);
  if (currentModelId === candidate.id) throw new EvaluationRequestError(`candidate: model ${candidate.id} is the model it would be compared with (against ${request.against})`, 'candidate');
  let suite: SuiteBuildReport;
  try {
    suite = await buildSuite(deps.prisma, deps.config, useCaseId, { sampleSize: request.sampleSize, classifier: guardrailsClassifier(deps.config) });
  } catch (err) {
    throw new EvaluationRequestError((err as Error).message, 'use_case', 422);
  }
  const workflowId = evaluateWorkflowId(candidate.id, currentModelId, suite.hash);
  const args = [{ candidateModelId: candidate.id, currentModelId, suiteHash: suite.hash }] as const;
  let handle: WorkflowHandle<typeof evaluateWorkflow>;
  try {
    handle = await deps.client.workflow.start(evaluateWorkflow, { taskQueue: deps.config.temporal.controlTaskQueue, workflowId, args: [...args] });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    handle = deps.client.workflow.getHandle<typeof evaluateWorkflow>(workflowId); // the same evaluation is running: join it
  }
  return { workflowId, useCaseId, candidateModelId: candidate.id, currentModelId, suite, handle };
}

/** How far a running evaluation is: prompts finished out of the suite's. */
export async function evaluationProgress(prisma: PrismaClient, workflowId: string): Promise<{ done: number; total: number } | undefined> {
  const row = await prisma.evaluation.findUnique({ where: { requestKey: workflowId }, select: { id: true, suite: { select: { promptCount: true } } } });
  if (!row) return undefined;
  return { done: await prisma.evaluationPromptResult.count({ where: { evaluationId: row.id } }), total: row.suite?.promptCount ?? 0 };
}

/** Waits for the workflow, then reads the full report it stored. */
export async function evaluationReport(prisma: PrismaClient, handle: WorkflowHandle<typeof evaluateWorkflow>): Promise<{ result: EvaluateResult; report: EvaluationReport }> {
  const result = await handle.result();
  const report = await loadEvaluationReport(prisma, result.evaluationId);
  if (!report) throw new Error(`evaluation ${result.evaluationId} finished without a stored report`);
  return { result, report };
}
