/**
 * Answers through the same provider adapters as the gateway (src/providers), cached in the database
 * by (model, prompt hash, params, sample): a retried activity, a resumed run or a second suite with
 * the same prompt never pays for the same answer twice. Failed calls are not cached.
 *
 * Several samples of one prompt (the calibration's two samples of the current model) are bought in one
 * call where the provider's API has a choices parameter (OpenAI-wire `n`, Gemini `candidateCount`):
 * each choice is an independent sample of the same request, and each is cached under its own sample
 * number, so a later run needing either pays for neither. Elsewhere (Anthropic; a server that refuses
 * or ignores `n`) each sample is its own call, as before.
 */

import type { Prisma, PrismaClient } from '@prisma/client';
import type { MmsConfig } from '../config/schema';
import { ProviderError } from '../providers/errors';
import { RetryBudget, withRetries, type RetryPolicy } from '../providers/retry';
import type { ChatChoice, ChatMessage, ChatParams, ChatProvider, Usage } from '../providers/types';
import { safeErrorMessage } from '../logging/redact';
import { coalesced } from '../embeddings/coalesce';
import { jsonbText } from '../db/jsonb';
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
  /**
   * Choices the call that bought it returned: above 1, latencyMs is the whole multi-choice call's
   * (left out of latency percentiles), tokensOut and costUsd this choice's share.
   */
  choices: number;
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
  /** Providers that refused or ignored a choices parameter this run: their samples are asked one call each. */
  private readonly singleChoice = new Set<string>();

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
    this.store = coalesced((rows) => this.deps.prisma.$executeRawUnsafe(INSERT_ANSWERS_SQL, jsonbText(rows.map(answerRow))).then(() => undefined));
  }

  private readonly store: (row: StoredAnswer) => Promise<void>;
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

  private async cachedAnswer(endpoint: ModelEndpoint, promptHash: string, paramsHash: string, sample: number): Promise<Answer | undefined> {
    const key = cacheKey(endpoint.key, promptHash, paramsHash, sample);
    const hit = this.prefetched.has(key)
      ? this.prefetched.get(key)
      : await this.deps.prisma.evaluationAnswer.findUnique({ where: { modelKey_promptHash_paramsHash_sample: { modelKey: endpoint.key, promptHash, paramsHash, sample } } });
    if (!hit) return undefined;
    return { ok: true, content: hit.content, finishReason: hit.finishReason, latencyMs: hit.latencyMs, tokensIn: hit.tokensIn, tokensOut: hit.tokensOut, costUsd: hit.costUsd === null ? null : Number(hit.costUsd), choices: hit.choices, cached: true };
  }

  async answer(request: AnswerRequest): Promise<Answer | FailedAnswer> {
    const { sample, ...rest } = request;
    return (await this.answerSamples(rest, [sample]))[0]!;
  }

  /**
   * Samples of one prompt from one model, cached or bought: the uncached ones in one multi-choice call
   * where the provider has one, else one call each. Answers in the order of `samples`.
   */
  async answerSamples(request: Omit<AnswerRequest, 'sample'>, samples: number[]): Promise<Array<Answer | FailedAnswer>> {
    const { endpoint, promptHash, params } = request;
    const paramsHash = hashOf(params);
    const out: Array<Answer | FailedAnswer | undefined> = await Promise.all(samples.map((sample) => this.cachedAnswer(endpoint, promptHash, paramsHash, sample)));
    const missing = samples.filter((_, i) => !out[i]);
    if (missing.length === 0) return out as Array<Answer | FailedAnswer>;
    const provider = this.deps.providers.get(endpoint.providerId);
    if (!provider) return out.map((a) => a ?? { ok: false, errorClass: 'config', error: `provider "${endpoint.providerId}" is not configured`, latencyMs: 0, cached: false });
    let bought: Map<number, Answer | FailedAnswer>;
    if (missing.length > 1 && provider.chatChoices && !this.singleChoice.has(endpoint.providerId)) {
      bought = await this.buyChoices(request, paramsHash, provider, missing);
    } else {
      bought = new Map(await Promise.all(missing.map(async (sample) => [sample, await this.buySingle(request, paramsHash, provider, sample)] as const)));
    }
    return out.map((a, i) => a ?? bought.get(samples[i]!)!);
  }

  private priced(endpoint: ModelEndpoint, usage: Usage | undefined): number | null {
    const price = this.priceOf(endpoint);
    return price && usage ? (usage.inputTokens * price.inputPerMTok + usage.outputTokens * price.outputPerMTok) / 1_000_000 : null;
  }

  private chatParams(request: Omit<AnswerRequest, 'sample'>, sample: number): ChatParams {
    const { endpoint, params } = request;
    return {
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
    };
  }

  /**
   * One provider call within the limiter and the run's spending cap (the worst case reserved first,
   * settled to the usage billed), retried within the gateway's budget.
   */
  private async call<T extends { usage?: Usage }>(
    request: Omit<AnswerRequest, 'sample'>,
    outputTokensWorstCase: number,
    send: (timeoutMs: number | undefined) => Promise<T>,
  ): Promise<{ ok: true; result: T; latencyMs: number } | FailedAnswer> {
    const { endpoint } = request;
    return this.deps.limiter.run(async () => {
      const reservation = this.deps.budget ? await this.deps.budget.reserve(priceKey(endpoint), request.messages, outputTokensWorstCase) : undefined;
      if (reservation && !reservation.ok) return { ok: false as const, errorClass: SPENDING_CAP_ERROR, error: reservation.reason, latencyMs: 0, cached: false as const };
      let usage: Usage | undefined;
      const started = performance.now();
      try {
        const result = await withRetries(new RetryBudget(this.retryPolicy), (timeoutMs) => {
          this.deps.onProviderCall?.(endpoint);
          return send(timeoutMs);
        });
        usage = result.usage;
        const ended = performance.now();
        this.deps.onProviderSpan?.(started, ended);
        return { ok: true as const, result, latencyMs: ended - started };
      } catch (err) {
        const latencyMs = performance.now() - started;
        const errorClass = err instanceof ProviderError ? err.errorClass : 'provider_error';
        // a request the provider refused as invalid (400/422: e.g. n on a server without it) is not billed
        if (errorClass === 'bad_request') usage = { inputTokens: 0, outputTokens: 0 };
        return { ok: false as const, errorClass, error: safeErrorMessage(err), latencyMs, cached: false as const };
      } finally {
        if (reservation?.ok) await this.deps.budget!.settle(reservation, usage);
      }
    });
  }

  private async buySingle(request: Omit<AnswerRequest, 'sample'>, paramsHash: string, provider: ChatProvider, sample: number): Promise<Answer | FailedAnswer> {
    const outcome = await this.call(request, request.params.maxTokens, (timeoutMs) => provider.chat(this.chatParams(request, sample), { timeoutMs }));
    if (!outcome.ok) return outcome;
    const { result, latencyMs } = outcome;
    const answer: Answer = { ok: true, content: result.content, finishReason: result.finishReason, latencyMs, tokensIn: result.usage?.inputTokens ?? null, tokensOut: result.usage?.outputTokens ?? null, costUsd: this.priced(request.endpoint, result.usage), choices: 1, cached: false };
    await this.storeAnswers(request, paramsHash, [[sample, answer]]);
    return answer;
  }

  /**
   * The samples in one call of `samples.length` choices (seeded at the first sample's seed): choice i
   * is sample samples[i]. A provider that refuses the parameter (400) or answers fewer choices is asked
   * the rest one call at a time, and not asked for choices again this run.
   */
  private async buyChoices(request: Omit<AnswerRequest, 'sample'>, paramsHash: string, provider: ChatProvider, samples: number[]): Promise<Map<number, Answer | FailedAnswer>> {
    const n = samples.length;
    const outcome = await this.call(request, request.params.maxTokens * n, (timeoutMs) => provider.chatChoices!(this.chatParams(request, samples[0]!), n, { timeoutMs }));
    const out = new Map<number, Answer | FailedAnswer>();
    if (!outcome.ok && outcome.errorClass !== 'bad_request') {
      for (const sample of samples) out.set(sample, outcome);
      return out;
    }
    if (outcome.ok) {
      const { choices, usage } = outcome.result;
      const shares = outputTokenShares(choices.slice(0, n), usage);
      const answers = choices.slice(0, n).map((choice, i): [number, Answer] => {
        const choiceUsage = usage && { inputTokens: usage.inputTokens, outputTokens: shares[i]! };
        return [samples[i]!, { ok: true, content: choice.content, finishReason: choice.finishReason, latencyMs: outcome.latencyMs, tokensIn: usage?.inputTokens ?? null, tokensOut: choiceUsage?.outputTokens ?? null, costUsd: this.priced(request.endpoint, choiceUsage), choices: choices.length, cached: false }];
      });
      await this.storeAnswers(request, paramsHash, answers);
      for (const [sample, answer] of answers) out.set(sample, answer);
    }
    if (out.size < n) {
      // refused (400) or ignored: this provider gets one call per sample from now on
      this.singleChoice.add(request.endpoint.providerId);
      const rest = samples.filter((sample) => !out.has(sample));
      await Promise.all(rest.map(async (sample) => out.set(sample, await this.buySingle(request, paramsHash, provider, sample))));
    }
    return out;
  }

  /**
   * Stored before they are returned (a finished prompt's answers are durable), but after the limiter's
   * slot is free: the next call does not wait for this write. A concurrent run may have stored the
   * same answer first: one is kept.
   */
  private async storeAnswers(request: Omit<AnswerRequest, 'sample'>, paramsHash: string, answers: Array<[number, Answer]>): Promise<void> {
    await Promise.all(
      answers.map(([sample, { ok: _ok, cached: _cached, ...row }]) => this.store({ modelKey: request.endpoint.key, promptHash: request.promptHash, paramsHash, sample, ...row })),
    );
  }
}

/**
 * Each choice's output tokens: its own count where the provider gives one (Gemini), else the billed
 * total split in proportion to the choices' lengths (OpenAI reports one total for all choices), so the
 * shares add up to what was billed.
 */
export function outputTokenShares(choices: ChatChoice[], usage: Usage | undefined): number[] {
  if (choices.every((c) => c.outputTokens !== undefined)) return choices.map((c) => c.outputTokens!);
  const total = usage?.outputTokens ?? 0;
  const lengths = choices.map((c) => c.content.length);
  const sum = lengths.reduce((a, b) => a + b, 0);
  const shares = lengths.map((len) => (sum === 0 ? Math.floor(total / choices.length) : Math.floor((total * len) / sum)));
  shares[shares.length - 1]! += total - shares.reduce((a, b) => a + b, 0);
  return shares;
}

/** A row of evaluation_answers as AnswerService writes it. */
type StoredAnswer = Omit<Answer, 'ok' | 'cached'> & { modelKey: string; promptHash: string; paramsHash: string; sample: number };

/**
 * One INSERT of many answers from one jsonb parameter (rows as arrays, in this column order): Prisma's
 * createMany compiled every batch anew in its query compiler, the largest CPU cost of bench:eval's
 * process. A concurrent run may have stored the same answer first: one is kept.
 */
const INSERT_ANSWERS_SQL = `insert into evaluation_answers (model_key, prompt_hash, params_hash, sample, content, finish_reason, latency_ms, tokens_in, tokens_out, cost_usd, choices)
  select r->>0, r->>1, r->>2, (r->>3)::int, r->>4, r->>5, (r->>6)::float8, (r->>7)::int, (r->>8)::int, (r->>9)::numeric, (r->>10)::int
  from jsonb_array_elements($1::jsonb) as r on conflict do nothing`;
const answerRow = (a: StoredAnswer) => [a.modelKey, a.promptHash, a.paramsHash, a.sample, a.content, a.finishReason, a.latencyMs, a.tokensIn, a.tokensOut, a.costUsd, a.choices];

type CachedAnswer = { content: string; finishReason: string | null; latencyMs: number; tokensIn: number | null; tokensOut: number | null; costUsd: Prisma.Decimal | null; choices: number };
const cacheKey = (modelKey: string, promptHash: string, paramsHash: string, sample: number) => `${modelKey}\u0000${promptHash}\u0000${paramsHash}\u0000${sample}`;
