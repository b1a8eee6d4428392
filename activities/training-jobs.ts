import { ApplicationFailure } from '@temporalio/activity';
import type { Prisma, PrismaClient } from '@prisma/client';
import { safeErrorMessage } from '../src/logging/redact';

export interface TrainingJobActivityDeps {
  prisma: PrismaClient;
  clock?: () => Date;
}

export interface RecordTrainingStartInput {
  requestKey: string;
  baseModelId: string;
  outputModelId: string;
  useCaseId: string;
  method: 'lora' | 'full';
  datasetRef: string;
  params: Record<string, unknown>;
  workflowId: string;
  reason: string;
}

export interface RecordTrainingEndInput {
  trainingJobId: string;
  status: 'succeeded' | 'failed' | 'cancelled';
  metrics?: Record<string, unknown>;
  outputPath?: string;
  error?: string;
}

async function retryable<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw ApplicationFailure.retryable(safeErrorMessage(err), err instanceof Error ? err.name : 'Error');
  }
}

/** training_jobs bookkeeping (control queue). Idempotent: a retried start finds its own row by request key. */
export function createTrainingJobActivities({ prisma, clock = () => new Date() }: TrainingJobActivityDeps) {
  return {
    async recordTrainingStart(input: RecordTrainingStartInput): Promise<{ trainingJobId: string }> {
      return retryable(async () => {
        const row = await prisma.trainingJob.upsert({
          where: { requestKey: input.requestKey },
          create: {
            requestKey: input.requestKey,
            baseModelId: input.baseModelId,
            outputModelId: input.outputModelId,
            useCaseId: input.useCaseId,
            method: input.method,
            status: 'running',
            datasetRef: input.datasetRef,
            params: { ...input.params, reason: input.reason } as Prisma.InputJsonValue,
            workflowId: input.workflowId,
            startedAt: clock(),
          },
          update: {},
        });
        return { trainingJobId: row.id };
      });
    },

    async recordTrainingEnd(input: RecordTrainingEndInput): Promise<void> {
      await retryable(() =>
        prisma.trainingJob.update({
          where: { id: input.trainingJobId },
          data: {
            status: input.status,
            ...(input.metrics ? { metrics: input.metrics as Prisma.InputJsonValue } : {}),
            ...(input.outputPath ? { outputPath: input.outputPath } : {}),
            ...(input.error ? { error: input.error } : {}),
            completedAt: clock(),
          },
        }),
      );
    },
  };
}

export type TrainingJobActivities = ReturnType<typeof createTrainingJobActivities>;
