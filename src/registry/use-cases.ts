import crypto from 'node:crypto';
import type { Prisma as PrismaTypes, PrismaClient } from '@prisma/client';
import type { MmsConfig, ModelRef, UseCaseConfig } from '../config/schema';
import { TOTAL_BUCKETS, lockUseCase, writeAllocation } from './allocations';

/** The design's naming of use-case copies: llama-3.1-8b-instruct + npc_dialogue → llama-3.1-8b-instruct-npc-dialogue. */
export const useCaseCopyName = (baseName: string, useCaseId: string) => `${baseName}-${useCaseId.replace(/_/g, '-')}`;

/** Where the model's weights or endpoint live: a path for self-hosted artefacts, provider:model otherwise. */
export const artefactReference = (ref: ModelRef) => ref.path ?? `${ref.provider}:${ref.model}`;

const hashOf = (value: unknown) => crypto.createHash('sha256').update(JSON.stringify(value)).digest('hex');

export interface UseCaseConfigSnapshot {
  temperature: number;
  maxTokens: number;
  systemPromptTemplate: string;
  samplingParams: Record<string, unknown>;
  fallbackModelId: string | null;
}

async function ensureModel(prisma: PrismaTypes.TransactionClient, useCase: UseCaseConfig, ref: ModelRef, status: string) {
  const modelName = ref.name ?? useCaseCopyName(ref.model, useCase.id);
  return prisma.model.upsert({
    where: { modelName_version_useCase: { modelName, version: ref.version, useCase: useCase.id } },
    create: {
      modelName,
      version: ref.version,
      useCase: useCase.id,
      modelType: useCase.kind,
      provider: ref.provider,
      upstreamModel: ref.model,
      modelPath: artefactReference(ref),
      status,
    },
    update: {},
  });
}

export interface SyncReport {
  useCaseId: string;
  action: 'created' | 'updated' | 'unchanged';
}

/**
 * Key of the PostgreSQL advisory lock that serialises syncs: the gateway, every worker replica and
 * `mms dev` sync at start, and in a compose stack they start together.
 */
export const USE_CASE_SYNC_LOCK = 0x6d6d7301; // "mms" + 1

/**
 * Brings the registry in line with mms.config.yaml, idempotently and under an advisory lock (one
 * transaction: concurrent starts wait for each other, then find nothing to do). A use case's config is
 * rewritten only when its section of the file changed since the last sync, so a rollback that
 * restored an older config is not undone by the next restart. A use case without an allocation gets
 * version 1: its initial model at 100%.
 */
export async function syncUseCases(prisma: PrismaClient, config: MmsConfig): Promise<SyncReport[]> {
  return prisma.$transaction(
    async (tx) => {
      await tx.$executeRaw`select pg_advisory_xact_lock(${USE_CASE_SYNC_LOCK}::bigint)`;
      const reports: SyncReport[] = [];
      for (const useCase of config.useCases) reports.push(await syncUseCase(tx, useCase));
      return reports;
    },
    { timeout: 120_000, maxWait: 30_000 },
  );
}

async function syncUseCase(tx: PrismaTypes.TransactionClient, useCase: UseCaseConfig): Promise<SyncReport> {
  // Regression prompts (validation) and the evaluation section (tests, rubric, red-team prompts) are
  // read from the file when they are used, never stored: not hashed, so editing them never rewrites a
  // restored config.
  const { regressionPrompts: _prompts, evaluation: _evaluation, ...stored } = useCase;
  const fileHash = hashOf(stored);
  const existing = await tx.useCase.findUnique({ where: { id: useCase.id } });
  if (existing && existing.configHash === fileHash) return { useCaseId: useCase.id, action: 'unchanged' };
  const fields = {
    kind: useCase.kind,
    description: useCase.description ?? null,
    temperature: useCase.temperature,
    maxTokens: useCase.maxTokens,
    systemPromptTemplate: useCase.systemPromptTemplate,
    samplingParams: { ...useCase.sampling, callerMayOverride: useCase.callerMayOverride },
    configHash: fileHash,
  };
  await tx.useCase.upsert({ where: { id: useCase.id }, create: { id: useCase.id, ...fields }, update: fields });
  await lockUseCase(tx, useCase.id);
  const hasAllocation = (await tx.trafficAllocation.count({ where: { useCaseId: useCase.id } })) > 0;
  const initial = await ensureModel(tx, useCase, useCase.initialModel, hasAllocation ? 'candidate' : 'current');
  const fallback = useCase.fallbackModel ? await ensureModel(tx, useCase, useCase.fallbackModel, 'candidate') : undefined;
  await tx.useCase.update({ where: { id: useCase.id }, data: { fallbackModelId: fallback?.id ?? null } });
  if (!hasAllocation) {
    await writeAllocation(tx, {
      useCaseId: useCase.id,
      entries: [{ modelId: initial.id, weight: TOTAL_BUCKETS, role: 'stable' }],
      reason: 'initial model from mms.config.yaml',
      createdBy: 'config-sync',
      requestKey: `config-sync:${useCase.id}:initial`,
    });
  }
  return { useCaseId: useCase.id, action: existing ? 'updated' : 'created' };
}
