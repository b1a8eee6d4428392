/**
 * Models an operator adds by hand (`mms model register`, `POST /api/v1/model-management/models`), their
 * validation state, and deprecation. Status: `testing` while the validation workflow runs, then
 * `candidate` (validated) or `failed`; `current` / `deprecated` are set by rollouts and rollbacks.
 */

import type { Prisma as PrismaTypes, PrismaClient } from '@prisma/client';
import { z } from 'zod';
import type { MmsConfig } from '../config/schema';
import { NotFoundError } from './allocations';
import { useCaseCopyName } from './use-cases';

export const modelStatuses = ['candidate', 'testing', 'current', 'deprecated', 'failed'] as const;
export type ModelStatus = (typeof modelStatuses)[number];

/** A request that names a field wrongly; nothing was changed. */
export class ModelRequestError extends Error {
  override name = 'ModelRequestError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** The same name and version already exist for the use case. */
export class DuplicateModelError extends Error {
  override name = 'DuplicateModelError';
  constructor(
    message: string,
    readonly existingId: string,
  ) {
    super(message);
  }
}

/** What each per-model parameter accepts (coerced: values arrive as typed on the command line). */
const paramSchemas = {
  temperature: z.coerce.number().min(0).max(2),
  maxTokens: z.coerce.number().int().min(1).max(1_000_000),
  topP: z.coerce.number().gt(0).max(1),
  topK: z.coerce.number().int().min(1),
  seed: z.coerce.number().int(),
  frequencyPenalty: z.coerce.number().min(-2).max(2),
  presencePenalty: z.coerce.number().min(-2).max(2),
  stop: z.union([z.array(z.string().min(1)).max(4), z.string().min(1).transform((s) => s.split('|'))]),
} as const;
/**
 * Per-model sampling parameters (`--param temperature=0.7`): the gateway applies them on top of the
 * use case's config when it calls this model, and validation calls with them too. Names in our
 * spelling or OpenAI's wire spelling.
 */
export type ModelParams = { [K in keyof typeof paramSchemas]?: z.infer<(typeof paramSchemas)[K]> };
const wireNames: Record<string, keyof typeof paramSchemas> = {
  max_tokens: 'maxTokens',
  top_p: 'topP',
  top_k: 'topK',
  frequency_penalty: 'frequencyPenalty',
  presence_penalty: 'presencePenalty',
};

/** Validates `{name: value}` (values as typed or as `k=v` strings); errors name `params.<name>`. */
export function parseModelParams(raw: Record<string, unknown>): ModelParams {
  const out: Record<string, unknown> = {};
  for (const [given, value] of Object.entries(raw)) {
    const name = wireNames[given] ?? given;
    const schema = (paramSchemas as Record<string, z.ZodType>)[name];
    if (!schema) throw new ModelRequestError(`params.${given}`, `unknown parameter (allowed: ${Object.keys(paramSchemas).join(', ')})`);
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new ModelRequestError(`params.${given}`, parsed.error.issues[0]?.message ?? 'invalid value');
    out[name] = parsed.data;
  }
  return out as ModelParams;
}

/** `k=v` pairs of the CLI → an object; a pair without `=` is an error naming it. */
export function paramPairs(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ModelRequestError('params', `"${pair}" is not name=value`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** The params stored in a model's configuration, or {} (rows written before params existed). */
export function modelParamsOf(configuration: unknown): ModelParams {
  const params = (configuration as { params?: unknown } | null)?.params;
  if (!params || typeof params !== 'object') return {};
  try {
    return parseModelParams(params as Record<string, unknown>);
  } catch {
    return {};
  }
}

export interface RegisterModelInput {
  useCaseId: string;
  provider: string;
  /** The model id the provider knows. */
  upstreamModel: string;
  /** Registry name; default `<upstream model>-<use-case-with-dashes>`. */
  name?: string;
  version?: string;
  params?: Record<string, unknown>;
  /** Where the weights live, for self-hosted models (kept for snapshots). */
  path?: string;
  /** `testing` when validation follows at once; `candidate` (unvalidated) with --no-validate. */
  status: 'testing' | 'candidate';
  registeredBy: string;
}

const nameSchema = z.string().trim().min(1, { error: 'must not be empty' }).max(255, { error: 'must be at most 255 characters' });

/**
 * Adds a model to a use case. The provider must be one of the config's chat providers; the name
 * follows the design's `<base>-<use-case>` rule unless given; an existing name@version of the use case
 * is refused with its id. Nothing is written when any field is wrong.
 */
export async function registerModel(prisma: PrismaClient, config: MmsConfig, input: RegisterModelInput) {
  const useCase = await prisma.useCase.findUnique({ where: { id: input.useCaseId } });
  if (!useCase) throw new ModelRequestError('use_case', `"${input.useCaseId}" is not in the registry (use cases: ${(await prisma.useCase.findMany({ select: { id: true } })).map((u) => u.id).join(', ') || 'none'})`);
  const provider = config.providers[input.provider];
  if (!provider) throw new ModelRequestError('provider', `"${input.provider}" is not a provider of the config (providers: ${Object.keys(config.providers).join(', ')})`);
  if (provider.kind === 'huggingface') throw new ModelRequestError('provider', `"${input.provider}" is a model hub (kind huggingface), not a provider that serves chat calls`);
  const upstream = nameSchema.safeParse(input.upstreamModel);
  if (!upstream.success) throw new ModelRequestError('model', upstream.error.issues[0]!.message);
  const name = nameSchema.safeParse(input.name ?? useCaseCopyName(upstream.data.split('/').pop()!, input.useCaseId));
  if (!name.success) throw new ModelRequestError('name', name.error.issues[0]!.message);
  const version = z.string().trim().min(1, { error: 'must not be empty' }).max(50, { error: 'must be at most 50 characters' }).safeParse(input.version ?? '1');
  if (!version.success) throw new ModelRequestError('version', version.error.issues[0]!.message);
  const params = parseModelParams(input.params ?? {});

  const existing = await prisma.model.findUnique({ where: { modelName_version_useCase: { modelName: name.data, version: version.data, useCase: input.useCaseId } } });
  if (existing) {
    throw new DuplicateModelError(`model ${name.data}@${version.data} of "${input.useCaseId}" already exists: ${existing.id} (status ${existing.status}); pass --version or --name for another`, existing.id);
  }
  try {
    return await prisma.model.create({
      data: {
        modelName: name.data,
        version: version.data,
        useCase: input.useCaseId,
        modelType: useCase.kind,
        provider: input.provider,
        upstreamModel: upstream.data,
        modelPath: input.path ?? `${input.provider}:${upstream.data}`,
        status: input.status,
        configuration: { params, registeredBy: input.registeredBy } as PrismaTypes.InputJsonValue,
      },
    });
  } catch (err) {
    // a concurrent registration of the same name won the unique index
    const again = await prisma.model.findUnique({ where: { modelName_version_useCase: { modelName: name.data, version: version.data, useCase: input.useCaseId } } });
    if (again) throw new DuplicateModelError(`model ${name.data}@${version.data} of "${input.useCaseId}" already exists: ${again.id}`, again.id);
    throw err;
  }
}

/** A model by id, or by name (latest version) within a use case. */
export async function findModel(prisma: PrismaClient, ref: string, useCaseId?: string) {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  if (uuid.test(ref)) return prisma.model.findUnique({ where: { id: ref } });
  return prisma.model.findFirst({ where: { modelName: ref, ...(useCaseId ? { useCase: useCaseId } : {}) }, orderBy: { createdAt: 'desc' } });
}

export const VALIDATION_KIND = 'validation';

export interface ValidationState {
  state: 'passed' | 'failed' | 'running' | 'never';
  reason?: string;
  evaluationId?: string;
  at?: string;
}

/** The latest validation of a model, as the evaluations table recorded it. */
export async function validationState(prisma: PrismaClient, modelId: string): Promise<ValidationState> {
  const row = await prisma.evaluation.findFirst({ where: { candidateModelId: modelId, kind: VALIDATION_KIND }, orderBy: { createdAt: 'desc' } });
  if (!row) return { state: 'never' };
  const reason = (row.results as { reason?: string } | null)?.reason;
  const state = row.status === 'passed' ? 'passed' : row.status === 'running' ? 'running' : 'failed';
  return { state, reason, evaluationId: row.id, at: (row.completedAt ?? row.createdAt).toISOString() };
}

/**
 * Why a model may not be rolled out without force: never validated, validation running, or failed.
 * Undefined when its latest validation passed.
 */
export async function validationProblem(prisma: PrismaClient, model: { id: string; modelName: string; version: string; status: string }): Promise<string | undefined> {
  const v = await validationState(prisma, model.id);
  const fix = `run \`mms model validate ${model.id}\`, or force the rollout`;
  if (model.status === 'failed' || v.state === 'failed') return `model ${model.modelName}@${model.version} failed validation${v.reason ? ` (${v.reason})` : ''}: ${fix}`;
  if (v.state === 'running') return `model ${model.modelName}@${model.version} is still being validated (workflow validate:${model.id}); wait for it, or force the rollout`;
  if (v.state === 'never') return `model ${model.modelName}@${model.version} has not been validated: ${fix}`;
  return undefined;
}

/** Retires a model: refused while it serves traffic (roll out or roll back first). */
export async function deprecateModel(prisma: PrismaClient, modelId: string) {
  const model = await prisma.model.findUnique({ where: { id: modelId } });
  if (!model) throw new NotFoundError(`model ${modelId} is not in the registry`);
  const serving = await prisma.trafficAllocation.findFirst({ where: { useCaseId: model.useCase }, orderBy: { version: 'desc' } });
  const entries = (serving?.entries ?? []) as Array<{ modelId: string; role: string; weight: number }>;
  const entry = entries.find((e) => e.modelId === modelId);
  const useCase = await prisma.useCase.findUnique({ where: { id: model.useCase }, select: { fallbackModelId: true } });
  if (useCase?.fallbackModelId === modelId) throw new ModelRequestError('model_id', `model ${model.modelName}@${model.version} is the fallback model of "${model.useCase}"; change fallbackModel in the config first`);
  if (entry) {
    throw new ModelRequestError('model_id', `model ${model.modelName}@${model.version} serves "${model.useCase}" (${entry.role} in allocation v${serving!.version}); roll out another model or roll back first`);
  }
  return prisma.model.update({ where: { id: modelId }, data: { status: 'deprecated' } });
}
