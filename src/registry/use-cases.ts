import crypto from 'node:crypto';
import type { PrismaClient } from '@prisma/client';
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

async function ensureModel(prisma: PrismaClient, useCase: UseCaseConfig, ref: ModelRef, status: string) {
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
 * Brings the registry in line with mms.config.yaml, idempotently. A use case's config is rewritten only
 * when its section of the file changed since the last sync, so a rollback that restored an older
 * config is not undone by the next restart. A use case without an allocation gets version 1: its
 * initial model at 100%.
 */
export async function syncUseCases(prisma: PrismaClient, config: MmsConfig): Promise<SyncReport[]> {
  const reports: SyncReport[] = [];
  for (const useCase of config.useCases) {
    const fileHash = hashOf(useCase);
    const existing = await prisma.useCase.findUnique({ where: { id: useCase.id } });
    if (existing && existing.configHash === fileHash) {
      reports.push({ useCaseId: useCase.id, action: 'unchanged' });
      continue;
    }
    const fields = {
      kind: useCase.kind,
      description: useCase.description ?? null,
      temperature: useCase.temperature,
      maxTokens: useCase.maxTokens,
      systemPromptTemplate: useCase.systemPromptTemplate,
      samplingParams: { ...useCase.sampling, callerMayOverride: useCase.callerMayOverride },
      configHash: fileHash,
    };
    await prisma.useCase.upsert({ where: { id: useCase.id }, create: { id: useCase.id, ...fields }, update: fields });
    const hasAllocation = (await prisma.trafficAllocation.count({ where: { useCaseId: useCase.id } })) > 0;
    const initial = await ensureModel(prisma, useCase, useCase.initialModel, hasAllocation ? 'candidate' : 'current');
    const fallback = useCase.fallbackModel ? await ensureModel(prisma, useCase, useCase.fallbackModel, 'candidate') : undefined;
    await prisma.useCase.update({ where: { id: useCase.id }, data: { fallbackModelId: fallback?.id ?? null } });
    if (!hasAllocation) {
      await prisma.$transaction(async (tx) => {
        await lockUseCase(tx, useCase.id);
        await writeAllocation(tx, {
          useCaseId: useCase.id,
          entries: [{ modelId: initial.id, weight: TOTAL_BUCKETS, role: 'stable' }],
          reason: 'initial model from mms.config.yaml',
          createdBy: 'config-sync',
          requestKey: `config-sync:${useCase.id}:initial`,
        });
      });
    }
    reports.push({ useCaseId: useCase.id, action: existing ? 'updated' : 'created' });
  }
  return reports;
}
