import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { Ollama } from 'ollama';
import type { Prisma, PrismaClient } from '@prisma/client';
import { discoverHuggingFace, discoverOllama, rankCandidates, type RankedCandidate, type SelfHostedWeights } from '../src/discovery/self-hosted';
import { buildDataset, type DatasetCard } from '../src/pipeline/dataset';
import { getServingAllocation, stableModelId } from '../src/registry/allocations';
import { safeErrorMessage } from '../src/logging/redact';

/**
 * Control-queue activities of the self-hosted pipeline (discovery, registry rows of bases and
 * use-case copies, datasets from the logs, adapter registration with vLLM or Ollama). Everything a
 * call needs arrives in its input (resolved from mms.config.yaml when the pipeline starts), so the
 * workflow history records the settings each run used; secrets arrive as environment variable names.
 */

export interface PipelineActivityDeps {
  prisma: PrismaClient;
  env?: Record<string, string | undefined>;
  fetch?: typeof fetch;
  clock?: () => Date;
}

export interface DiscoverInput {
  useCaseId: string;
  huggingface?: { hubUrl: string; tokenEnv?: string; limit: number };
  ollama?: { host: string; pullable: string[] };
  weights: SelfHostedWeights;
  gpuMemoryGb: number;
  licenseAllowList: string[];
}

/** A ranked candidate as JSON (dates as ISO strings), as it travels through workflow histories. */
export type CandidateSummary = Omit<RankedCandidate, 'lastModified'> & { lastModified: string | null; rank: number };

export interface RegisterCopyInput {
  useCaseId: string;
  base: { name: string; repo: string; sha: string; path: string; parameters: number | null; source: 'huggingface' | 'ollama' };
  copyName: string;
  provider: string;
  /** The name the serving node knows the copy by (llama.cpp alias, vLLM LoRA name, Ollama model). */
  upstreamModel: string;
  configuration: Record<string, unknown>;
  version: string;
}

export interface AdapterRegistrationInput {
  kind: 'vllm' | 'ollama';
  baseUrl: string;
  apiKeyEnv?: string;
  name: string;
  adapterPath: string;
  /** Ollama: the base model the adapter applies to (a model the node has). */
  baseModel?: string;
}

export interface BuildTrainingDatasetInput {
  useCaseId: string;
  copyModelId: string;
  outDir: string;
  lookbackDays: number;
  since?: string;
  until?: string;
  minFeedbackScore: number;
  requireFeedback: boolean;
  validationFraction: number;
  maxRows: number;
  minTrainRows: number;
  splitSeed: string;
}

function nonRetryable(err: unknown, type: string): never {
  throw ApplicationFailure.nonRetryable(safeErrorMessage(err), type);
}

async function retryable<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    throw ApplicationFailure.retryable(safeErrorMessage(err), err instanceof Error ? err.name : 'Error');
  }
}

type Deps = Required<Pick<PipelineActivityDeps, 'env' | 'fetch' | 'clock'>> & { prisma: PrismaClient };

/** Discovery: scans the sources, ranks, and records every candidate in discovered_candidates. */
function discoveryActivities({ prisma, env, fetch: fetchImpl, clock }: Deps) {
  return {
    async discoverSelfHosted(input: DiscoverInput): Promise<CandidateSummary[]> {
      return retryable(async () => {
        const found = [
          ...(input.huggingface
            ? await discoverHuggingFace({ hubUrl: input.huggingface.hubUrl, limit: input.huggingface.limit, accessToken: input.huggingface.tokenEnv ? env[input.huggingface.tokenEnv] : undefined, fetch: fetchImpl })
            : []),
          ...(input.ollama ? await discoverOllama({ host: input.ollama.host, pullable: input.ollama.pullable, fetch: fetchImpl }) : []),
        ];
        const ranked = rankCandidates(found, { weights: input.weights, gpuMemoryGb: input.gpuMemoryGb, licenseAllowList: input.licenseAllowList, now: clock() });
        const summaries = ranked.map((c, i): CandidateSummary => ({ ...c, lastModified: c.lastModified?.toISOString() ?? null, rank: i + 1 }));
        for (const c of summaries) {
          const { source, externalId, score, breakdown, rank, ...metadata } = c;
          await prisma.discoveredCandidate.upsert({
            where: { source_externalId_useCaseId: { source, externalId, useCaseId: input.useCaseId } },
            create: { source, externalId, useCaseId: input.useCaseId, metadata: metadata as Prisma.InputJsonValue, score, scoreBreakdown: breakdown as Prisma.InputJsonValue, rank },
            update: { metadata: metadata as Prisma.InputJsonValue, score, scoreBreakdown: breakdown as Prisma.InputJsonValue, rank, lastSeenAt: clock() },
          });
        }
        return summaries;
      });
    },
  };
}

/** Registry rows of bases and use-case copies, and the datasets they are trained on. */
function copyRegistryActivities({ prisma, clock }: Deps) {
  return {
    /**
     * The base row (one per base model and use case, holding the downloaded weights) and the copy
     * row `<base>-<use-case>` with its configuration and lineage. Idempotent on (name, version, use case).
     */
    async registerUseCaseCopy(input: RegisterCopyInput): Promise<{ baseModelId: string; copyModelId: string }> {
      return retryable(async () => {
        const useCase = await prisma.useCase.findUnique({ where: { id: input.useCaseId } });
        if (!useCase) nonRetryable(new Error(`use case "${input.useCaseId}" is not in the registry`), 'NotFound');
        const baseConfiguration = { source: input.base.source, repo: input.base.repo, sha: input.base.sha, parameters: input.base.parameters } as Prisma.InputJsonValue;
        const base = await prisma.model.upsert({
          where: { modelName_version_useCase: { modelName: input.base.name, version: input.base.sha.slice(0, 12), useCase: input.useCaseId } },
          create: { modelName: input.base.name, modelType: 'self_hosted', useCase: input.useCaseId, version: input.base.sha.slice(0, 12), status: 'candidate', modelPath: input.base.path, configuration: baseConfiguration, upstreamModel: input.base.repo },
          update: { modelPath: input.base.path },
        });
        const configuration = {
          temperature: useCase!.temperature,
          maxTokens: useCase!.maxTokens,
          systemPromptTemplate: useCase!.systemPromptTemplate,
          samplingParams: useCase!.samplingParams,
          ...input.configuration,
        } as Prisma.InputJsonValue;
        const copy = await prisma.model.upsert({
          where: { modelName_version_useCase: { modelName: input.copyName, version: input.version, useCase: input.useCaseId } },
          create: { modelName: input.copyName, modelType: 'self_hosted', provider: input.provider, useCase: input.useCaseId, version: input.version, status: 'candidate', baseModelId: base.id, upstreamModel: input.upstreamModel, configuration },
          update: { configuration, baseModelId: base.id, provider: input.provider, upstreamModel: input.upstreamModel },
        });
        return { baseModelId: base.id, copyModelId: copy.id };
      });
    },

    /** Chat JSONL + card from the use case's historical logs; the card is recorded on the copy's row. */
    async buildTrainingDataset(input: BuildTrainingDatasetInput): Promise<DatasetCard> {
      const card = await retryable(() =>
        buildDataset(prisma, {
          useCaseId: input.useCaseId,
          outDir: input.outDir,
          since: input.since ? new Date(input.since) : new Date(clock().getTime() - input.lookbackDays * 86_400_000),
          ...(input.until ? { until: new Date(input.until) } : {}),
          minFeedbackScore: input.minFeedbackScore,
          requireFeedback: input.requireFeedback,
          validationFraction: input.validationFraction,
          maxRows: input.maxRows,
          splitSeed: input.splitSeed,
        }),
      );
      if (card.counts.train < input.minTrainRows) {
        nonRetryable(new Error(`only ${card.counts.train} clean training rows for "${input.useCaseId}" (selfHosted.dataset.minTrainRows is ${input.minTrainRows}); counts: ${JSON.stringify(card.counts)}`), 'NotEnoughData');
      }
      await retryable(async () => {
        const copy = await prisma.model.findUniqueOrThrow({ where: { id: input.copyModelId } });
        await prisma.model.update({ where: { id: copy.id }, data: { configuration: { ...(copy.configuration as object), dataset: card } as unknown as Prisma.InputJsonValue } });
      });
      return card;
    },

    /** Merges facts into a copy's configuration (quantisation result, serving, attempts); a failed attempt's row is marked failed. */
    async updateCopy(input: { copyModelId: string; configuration?: Record<string, unknown>; modelPath?: string; status?: 'candidate' | 'testing' | 'failed'; performanceMetrics?: Record<string, unknown> }): Promise<void> {
      await retryable(async () => {
        const copy = await prisma.model.findUniqueOrThrow({ where: { id: input.copyModelId } });
        await prisma.model.update({
          where: { id: copy.id },
          data: {
            ...(input.configuration ? { configuration: { ...(copy.configuration as object), ...input.configuration } as Prisma.InputJsonValue } : {}),
            ...(input.modelPath ? { modelPath: input.modelPath } : {}),
            ...(input.status ? { status: input.status } : {}),
            ...(input.performanceMetrics ? { performanceMetrics: { ...(copy.performanceMetrics as object | null), ...input.performanceMetrics } as Prisma.InputJsonValue } : {}),
          },
        });
      });
    },

    /** The model the use case serves now (the stable entry with the most traffic), which a copy must be as good as. */
    async currentModelOf(input: { useCaseId: string }): Promise<{ modelId: string | null }> {
      return retryable(async () => {
        const allocation = await getServingAllocation(prisma, input.useCaseId);
        return { modelId: (allocation && stableModelId(allocation.entries)) ?? null };
      });
    },
  };
}

/** Registering an adapter with a serving node, and a call to it (no database: usable alone). */
export function createServingActivities({ env = process.env, fetch: fetchImpl = fetch }: Pick<PipelineActivityDeps, 'env' | 'fetch'> = {}) {
  return {
    /** One chat call to the served copy: it must answer, with text, before it gets any player traffic. */
    async probeServedCopy(input: { baseUrl: string; apiKeyEnv?: string; model: string; prompt: string; system?: string }): Promise<{ content: string; latencyMs: number }> {
      const key = input.apiKeyEnv ? env[input.apiKeyEnv] : undefined;
      return retryable(async () => {
        const started = Date.now();
        const res = await fetchImpl(`${input.baseUrl.replace(/\/+$/, '')}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
          body: JSON.stringify({ model: input.model, messages: [...(input.system ? [{ role: 'system', content: input.system }] : []), { role: 'user', content: input.prompt }], max_tokens: 32, temperature: 0 }),
        });
        const body = (await res.json().catch(() => null)) as { choices?: Array<{ message?: { content?: string } }> } | null;
        const content = body?.choices?.[0]?.message?.content;
        if (!res.ok || typeof content !== 'string' || !content.trim()) throw new Error(`the served copy ${input.model} at ${input.baseUrl} answered ${res.status} without text`);
        return { content, latencyMs: Date.now() - started };
      });
    },

    /**
     * Registers an adapter with a running serving node: vLLM's POST /v1/load_lora_adapter (needs
     * VLLM_ALLOW_RUNTIME_LORA_UPDATING on the server; the path is read by the vLLM node, so the
     * models directory must be shared with it), or Ollama: the GGUF adapter uploaded as a blob
     * (POST /api/blobs/sha256:…, skipped when HEAD finds it), then POST /api/create {from, adapters}.
     */
    async registerAdapter(input: AdapterRegistrationInput): Promise<{ status: number }> {
      const key = input.apiKeyEnv ? env[input.apiKeyEnv] : undefined;
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) };
      const root = input.baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
      if (input.kind === 'ollama') return registerOllamaAdapter({ ...input, root, headers, fetchImpl });
      const url = `${root}/v1/load_lora_adapter`;
      return retryable(async () => {
        const res = await fetchImpl(url, { method: 'POST', headers, body: JSON.stringify({ lora_name: input.name, lora_path: input.adapterPath }) });
        const text = await res.text();
        // vLLM answers 400 "already been loaded" on a retried registration: the adapter is there, as
        // wanted (every training attempt has its own name, so the name means this adapter).
        if (res.ok || (res.status === 400 && /already been loaded/i.test(text))) return { status: res.status };
        if (res.status >= 400 && res.status < 500) nonRetryable(new Error(`${url} refused the adapter (${res.status}): ${text.slice(0, 300)}`), 'AdapterRefused');
        throw new Error(`${url} answered ${res.status}: ${text.slice(0, 300)}`);
      });
    },
  };
}

async function registerOllamaAdapter(input: AdapterRegistrationInput & { root: string; headers: Record<string, string>; fetchImpl: typeof fetch }): Promise<{ status: number }> {
  if (!input.baseModel) nonRetryable(new Error('baseModel: Ollama needs the base model the adapter applies to'), 'BadRequest');
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(input.adapterPath);
  } catch (err) {
    nonRetryable(new Error(`adapterPath: cannot read ${input.adapterPath} (${(err as Error).message})`), 'BadRequest');
  }
  const digest = `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
  const blobUrl = `${input.root}/api/blobs/${digest}`;
  return retryable(async () => {
    const head = await input.fetchImpl(blobUrl, { method: 'HEAD', headers: input.headers });
    if (head.status === 404) {
      const put = await input.fetchImpl(blobUrl, { method: 'POST', headers: { ...input.headers, 'content-type': 'application/octet-stream' }, body: bytes });
      if (!put.ok) {
        const text = await put.text();
        if (put.status >= 400 && put.status < 500) nonRetryable(new Error(`${blobUrl} refused the adapter blob (${put.status}): ${text.slice(0, 300)}`), 'AdapterRefused');
        throw new Error(`${blobUrl} answered ${put.status}: ${text.slice(0, 300)}`);
      }
    } else if (!head.ok) throw new Error(`${blobUrl} answered ${head.status}`);
    const ollama = new Ollama({ host: input.root, fetch: input.fetchImpl, headers: input.headers });
    try {
      const done = await ollama.create({ model: input.name, from: input.baseModel, adapters: { [path.basename(input.adapterPath)]: digest }, stream: false });
      if (done.status !== 'success') throw new Error(`${input.root}/api/create answered status "${done.status}"`);
    } catch (err) {
      const status = (err as { status_code?: number }).status_code;
      if (status && status >= 400 && status < 500) nonRetryable(new Error(`${input.root}/api/create refused the adapter (${status}): ${(err as Error).message}`), 'AdapterRefused');
      throw err;
    }
    return { status: 200 };
  });
}

export function createPipelineActivities({ prisma, env = process.env, fetch: fetchImpl = fetch, clock = () => new Date() }: PipelineActivityDeps) {
  const deps: Deps = { prisma, env, fetch: fetchImpl, clock };
  return { ...discoveryActivities(deps), ...copyRegistryActivities(deps), ...createServingActivities(deps) };
}

export type PipelineActivities = ReturnType<typeof createPipelineActivities>;
