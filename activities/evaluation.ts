import { ApplicationFailure, Context } from '@temporalio/activity';
import type { PrismaClient } from '@prisma/client';
import type { MmsConfig } from '../src/config/schema';
import {
  buildSuite,
  evaluatePrompts,
  finishEvaluation,
  loadEvaluationModels,
  loadSuite,
  type EvaluateInput,
  type EvaluateResult,
  type EvaluationDeps,
  type EvaluationProgress,
  type SuiteBuildReport,
} from '../src/evaluation';
import { pruneEmbeddingsCache, type EmbeddingsCachePruneReport, type EmbeddingsCacheRetention } from '../src/embeddings/cache';
import { NotFoundError } from '../src/registry/allocations';
import { safeErrorMessage } from '../src/logging/redact';

export interface EvaluationActivityDeps {
  prisma: PrismaClient;
  config?: MmsConfig;
  /** Providers, embeddings and the guardrail classifier; absent on a worker that cannot evaluate. */
  evaluation?: Omit<EvaluationDeps, 'prisma'>;
}

async function failFast<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof NotFoundError) throw ApplicationFailure.nonRetryable(err.message, 'NotFound');
    if (err instanceof ApplicationFailure) throw err;
    throw ApplicationFailure.retryable(safeErrorMessage(err), err instanceof Error ? err.name : 'Error');
  }
}

export function createEvaluationActivities({ prisma, evaluation }: EvaluationActivityDeps) {
  const deps = (): EvaluationDeps => {
    if (!evaluation) throw ApplicationFailure.nonRetryable('this worker has no evaluation dependencies (providers, embeddings): start it with a config', 'EvaluationUnavailable');
    return { prisma, ...evaluation };
  };
  return {
    /** Prunes the embeddings cache per its retention (the embeddings-cache schedule's argument). */
    async pruneEmbeddingsCache(input: { retention: EmbeddingsCacheRetention }): Promise<EmbeddingsCachePruneReport> {
      return failFast(() => pruneEmbeddingsCache(prisma, input.retention));
    },

    /** Builds (or finds) the use case's suite from its logs and config; parents call it before the child. */
    async prepareEvaluationSuite(input: { useCaseId: string; sampleSize?: number }): Promise<SuiteBuildReport> {
      const d = deps();
      return failFast(() => buildSuite(prisma, d.config, input.useCaseId, { sampleSize: input.sampleSize, classifier: d.classifier }));
    },

    /** The evaluations row of this workflow (created once; its request key is the workflow id). */
    async openEvaluation(input: EvaluateInput & { workflowId: string }): Promise<{ evaluationId: string; finished: boolean; total: number }> {
      return failFast(async () => {
        const suite = await prisma.evaluationSuite.findUnique({ where: { hash: input.suiteHash } });
        if (!suite) throw new NotFoundError(`evaluation suite ${input.suiteHash} does not exist`);
        const models = await loadEvaluationModels(prisma, input.candidateModelId, input.currentModelId);
        if (models.useCaseId !== suite.useCaseId) throw new NotFoundError(`candidate ${models.candidate.name} belongs to use case "${models.useCaseId}", the suite to "${suite.useCaseId}"`);
        const row = await prisma.evaluation.upsert({
          where: { requestKey: input.workflowId },
          create: {
            useCaseId: suite.useCaseId,
            candidateModelId: input.candidateModelId,
            currentModelId: input.currentModelId,
            kind: 'offline_comparison',
            status: 'running',
            workflowId: input.workflowId,
            requestKey: input.workflowId,
            suiteHash: input.suiteHash,
            budgetId: input.budgetId ?? null,
          },
          // a later run of the same evaluation (a new ranking re-asking what an exhausted cap refused) spends from its own budget
          update: input.budgetId ? { budgetId: input.budgetId } : {},
        });
        const done = await prisma.evaluationPromptResult.count({ where: { evaluationId: row.id } });
        return { evaluationId: row.id, finished: done >= suite.promptCount, total: suite.promptCount };
      });
    },

    /** Every unfinished prompt; heartbeats carry the progress ({done, total}). */
    async evaluatePrompts(input: { evaluationId: string }): Promise<EvaluationProgress> {
      const d = deps();
      const context = Context.current();
      let progress: EvaluationProgress = { done: 0, total: 0 };
      // A slow provider can hold one prompt longer than the heartbeat timeout: beat on a clock too.
      const timer = setInterval(() => context.heartbeat(progress), 2000);
      try {
        return await failFast(() =>
          evaluatePrompts(d, input.evaluationId, (p) => {
            progress = p;
            context.heartbeat(p);
          }),
        );
      } finally {
        clearInterval(timer);
      }
    },

    /** The report, stored on the evaluations row; the workflow gets its summary. */
    async finishEvaluation(input: { evaluationId: string }): Promise<EvaluateResult> {
      const d = deps();
      return failFast(async () => {
        const row = await prisma.evaluation.findUnique({ where: { id: input.evaluationId } });
        if (!row?.suiteHash || !row.currentModelId) throw new NotFoundError(`evaluation ${input.evaluationId} does not exist`);
        const suite = await loadSuite(prisma, row.suiteHash);
        const models = await loadEvaluationModels(prisma, row.candidateModelId, row.currentModelId);
        const report = await finishEvaluation(prisma, d.config, input.evaluationId, Boolean(d.classifier), suite, models);
        return {
          evaluationId: report.evaluationId,
          useCaseId: report.useCaseId,
          meetsThreshold: report.meetsThreshold,
          criteria: report.criteria,
          failing: report.failing,
          similarity: { raw: Number.isFinite(report.similarity.raw) ? report.similarity.raw : null, calibrated: report.similarity.calibrated, threshold: report.similarity.threshold },
          prompts: report.prompts.total,
        };
      });
    },
  };
}

export type EvaluationActivities = ReturnType<typeof createEvaluationActivities>;
