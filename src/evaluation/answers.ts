/**
 * Answers through the same provider adapters as the gateway (src/providers), cached in the database
 * by (model, prompt hash, params, sample): a retried activity, a resumed run or a second suite with
 * the same prompt never pays for the same answer twice. Failed calls are not cached.
 */

import type { Prisma, PrismaClient } from '@prisma/client';
import type { MmsConfig } from '../config/schema';
import { ProviderError } from '../providers/errors';
import { RetryBudget, withRetries, type RetryPolicy } from '../providers/retry';
import type { ChatMessage, ChatProvider } from '../providers/types';
import { safeErrorMessage } from '../logging/redact';
import { coalesced } from '../embeddings/coalesce';
import { hashOf } from './canonical';
import type { BudgetGuard } from './budget';
import type { CallLimiter } from './limiter';
import type { SuiteParams } from './suite';

export interface ModelEndpoint {
  /** What the cache is keyed by: the provider, the model it knows and the artefact (adapter) path. */
  key: string;
  providerId: string;
  upstreamModel: string;
}

export function modelEndpoint(model: { id: string; modelName: string; provider: string | null; upstreamModel: string | null; modelPath: string | null }): ModelEndpoint {
  if (!model.provider) throw new Error(`model ${model.modelName} (${model.id}) has no provider: it cannot be called`);
  const upstreamModel = model.upstreamModel ?? model.modelName;
  return { key: `${model.provider}/${upstreamModel}${model.modelPath ? `#${model.modelPath}` : ''}`, providerId: model.provider, upstreamModel };
}

export interface Answer {
  ok: true;
  content: string;
  finishReason: string | null;
  latencyMs: number;
  tokensIn: number | null;
  tokensOut: number | null;
  costUsd: number | null;
  /** Served from the cache (no provider call now). */
  cached: boolean;
}

export interface FailedAnswer {
  ok: false;
  errorClass: string;
  error: string;
  latencyMs: number;
  cached: false;
}

export interface AnswerRequest {
  endpoint: ModelEndpoint;
  promptHash: string;
  messages: ChatMessage[];
  params: SuiteParams;
  /** 0, 1, …: independent samples of the same prompt (the seed, when set, is offset by it). */
  sample: number;
}

/** What a run's budget prices an endpoint by: the provider and the model it knows (an adapter path does not change the price list). */
export const priceKey = (endpoint: Pick<ModelEndpoint, 'providerId' | 'upstreamModel'>) => `${endpoint.providerId}/${endpoint.upstreamModel}`;

/** The error class of an answer not asked for because it could have passed the run's spending cap. */
export const SPENDING_CAP_ERROR = 'spending_cap';

export class AnswerService {
  private readonly retryPolicy: RetryPolicy;

  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      config: MmsConfig;
      providers: Map<string, ChatProvider>;
      limiter: CallLimiter;
      /** Called after each real provider call (tests and the bench count them). */
      onProviderCall?: (endpoint: ModelEndpoint) => void;
      /** The run's spending cap: each call reserves its worst-case cost first, or is not made. */
      budget?: BudgetGuard;
      /** Each provider call's start and end (performance.now() ms): the bench's timeline. */
      onProviderSpan?: (startMs: number, endMs: number) => void;
    },
  ) {
    const r = deps.config.gateway.retry;
    this.retryPolicy = { maxAttempts: r.maxAttempts, budgetMs: r.budgetSeconds * 1000, baseDelayMs: r.baseDelayMs, maxDelayMs: r.maxDelayMs };
    // Answers finishing together (a limiter's worth of calls started together) are stored in one INSERT.
    this.store = coalesced((rows) => this.deps.prisma.evaluationAnswer.createMany({ data: rows, skipDuplicates: true }).then(() => undefined));
  }

  private readonly store: (row: Prisma.EvaluationAnswerCreateManyInput) => Promise<void>;
  /** What prefetch() read: a key present with null was looked up and is not cached. */
  private readonly prefetched = new Map<string, CachedAnswer | null>();

  /**
   * Reads the cached answers of many requests in one query (a run's whole prompt set), so answer()
   * makes no lookup of its own for them.
   */
  async prefetch(requests: Array<Omit<AnswerRequest, 'messages'>>): Promise<number> {
    if (requests.length === 0) return 0;
    const keyed = requests.map((r) => ({ ...r, paramsHash: hashOf(r.params) }));
    const rows = await this.deps.prisma.evaluationAnswer.findMany({
      where: {
        modelKey: { in: [...new Set(keyed.map((r) => r.endpoint.key))] },
        promptHash: { in: [...new Set(keyed.map((r) => r.promptHash))] },
        paramsHash: { in: [...new Set(keyed.map((r) => r.paramsHash))] },
        sample: { in: [...new Set(keyed.map((r) => r.sample))] },
      },
    });
    for (const r of keyed) this.prefetched.set(cacheKey(r.endpoint.key, r.promptHash, r.paramsHash, r.sample), null);
    for (const row of rows) {
      const key = cacheKey(row.modelKey, row.promptHash, row.paramsHash, row.sample);
      if (this.prefetched.has(key)) this.prefetched.set(key, row);
    }
    return rows.length;
  }

  private priceOf(endpoint: ModelEndpoint) {
    // the config's price table, else the price the run's budget holds the model to (the paid catalog's)
    return this.deps.config.providers[endpoint.providerId]?.prices[endpoint.upstreamModel] ?? this.deps.budget?.priceOf(priceKey(endpoint));
  }

  async answer(request: AnswerRequest): Promise<Answer | FailedAnswer> {
    const { endpoint, promptHash, params, sample } = request;
    const paramsHash = hashOf(params);
    const key = cacheKey(endpoint.key, promptHash, paramsHash, sample);
    const hit = this.prefetched.has(key)
      ? this.prefetched.get(key)
      : await this.deps.prisma.evaluationAnswer.findUnique({ where: { modelKey_promptHash_paramsHash_sample: { modelKey: endpoint.key, promptHash, paramsHash, sample } } });
    if (hit) {
      return { ok: true, content: hit.content, finishReason: hit.finishReason, latencyMs: hit.latencyMs, tokensIn: hit.tokensIn, tokensOut: hit.tokensOut, costUsd: hit.costUsd === null ? null : Number(hit.costUsd), cached: true };
    }
    const provider = this.deps.providers.get(endpoint.providerId);
    if (!provider) return { ok: false, errorClass: 'config', error: `provider "${endpoint.providerId}" is not configured`, latencyMs: 0, cached: false };
    const outcome = await this.deps.limiter.run(async () => {
      const reservation = this.deps.budget ? await this.deps.budget.reserve(priceKey(endpoint), request.messages, params.maxTokens) : undefined;
      if (reservation && !reservation.ok) return { ok: false as const, errorClass: SPENDING_CAP_ERROR, error: reservation.reason, latencyMs: 0, cached: false as const };
      let usage: { inputTokens: number; outputTokens: number } | undefined;
      const started = performance.now();
      try {
        const callStarted = performance.now();
        const result = await withRetries(new RetryBudget(this.retryPolicy), (timeoutMs) => {
          this.deps.onProviderCall?.(endpoint);
          return provider.chat(
            {
              model: endpoint.upstreamModel,
              messages: request.messages,
              temperature: params.temperature,
              maxTokens: params.maxTokens,
              topP: params.topP,
              topK: params.topK,
              stop: params.stop,
              seed: params.seed === undefined ? undefined : params.seed + sample,
              frequencyPenalty: params.frequencyPenalty,
              presencePenalty: params.presencePenalty,
            },
            { timeoutMs },
          );
        });
        usage = result.usage;
        this.deps.onProviderSpan?.(callStarted, performance.now());
        const latencyMs = performance.now() - started;
        const price = this.priceOf(endpoint);
        const costUsd = price && result.usage ? (result.usage.inputTokens * price.inputPerMTok + result.usage.outputTokens * price.outputPerMTok) / 1_000_000 : null;
        const row = { content: result.content, finishReason: result.finishReason, latencyMs, tokensIn: result.usage?.inputTokens ?? null, tokensOut: result.usage?.outputTokens ?? null, costUsd };
        return { ok: true as const, ...row, cached: false };
      } catch (err) {
        const latencyMs = performance.now() - started;
        const errorClass = err instanceof ProviderError ? err.errorClass : 'provider_error';
        return { ok: false as const, errorClass, error: safeErrorMessage(err), latencyMs, cached: false as const };
      } finally {
        if (reservation?.ok) await this.deps.budget!.settle(reservation, usage);
      }
    });
    // Stored before it is returned (a finished prompt's answers are durable), but after the limiter's
    // slot is free: the next call does not wait for this write. A concurrent run may have stored the
    // same answer first: one is kept.
    if (outcome.ok) {
      const { ok: _ok, cached: _cached, ...row } = outcome;
      await this.store({ modelKey: endpoint.key, promptHash, paramsHash, sample, ...row });
    }
    return outcome;
  }
}

type CachedAnswer = { content: string; finishReason: string | null; latencyMs: number; tokensIn: number | null; tokensOut: number | null; costUsd: Prisma.Decimal | null };
const cacheKey = (modelKey: string, promptHash: string, paramsHash: string, sample: number) => `${modelKey}\u0000${promptHash}\u0000${paramsHash}\u0000${sample}`;
