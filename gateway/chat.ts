import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../src/config/schema';
import { safeErrorMessage } from '../src/logging/redact';
import { ProviderError } from '../src/providers/errors';
import { RetryBudget, withRetries, type RetryPolicy } from '../src/providers/retry';
import { Cancellation, type CancelSignal, type ChatParams, type ChatResult, type FinishReason, type StreamEvent, type Usage } from '../src/providers/types';
import { applyPolicy, parseChatRequest, RequestError, type AppliedPolicy, type ChatRequest } from './chat-request';
import { GUARDRAIL_ERROR_VERDICT, PASS, checkVerdict, verdictLabel, type Guardrail, type GuardrailContext, type GuardrailVerdict, type OnCriticalViolation, type VerdictLabel } from './guardrails';
import type { LogRow, LogSink } from './log-writer';
import type { CallLogRow, CallOutcomes } from './call-outcome';
import type { GatewayMetrics } from './metrics';
import type { RegistryCache, ResolvedModel, UseCaseRoute } from './registry-cache';
import { ChatSseWriter } from './sse';
import { randomBucket, stickyBucket } from '../src/routing/buckets';
import { keyAllowsUseCase, type ApiKeyRecord } from '../src/auth/api-keys';
import { NO_LIMITS } from '../src/auth/limits';
import type { KeyLimiter } from '../src/auth/limiter';

/** What a ChatHandler is built from (one per gateway). */
export interface ChatDeps {
  cache: RegistryCache;
  /** Where guardrail violations are queued (call rows go through `outcomes`). */
  logWriter: LogSink;
  /** Rejections, retries, fallbacks, skipped shadows and violations (per-call figures go through `outcomes`). */
  metrics: GatewayMetrics;
  /** Every finished call, to its subscribers: the historical log, /metrics, the key limits. */
  outcomes: CallOutcomes;
  logger: Logger;
  config: GatewayConfig;
  guardrail?: Guardrail;
  onCriticalViolation?: OnCriticalViolation;
  /** Per-key limits: admission before the call (tokens and cost are charged after it, by an outcome subscriber). */
  limiter?: KeyLimiter;
}

/** Request ids this replica answered lately, so feedback flushes the log buffer only for a real one. */
const RECENT_REQUESTS = 50_000;

type Role = 'stable' | 'canary' | 'shadow';

const STICKY_HEADER = 'x-mms-sticky-key';

/** No guardrail configured: every answer passes (and is recorded as such). */
const NO_GUARDRAIL = { verdict: PASS, label: 'pass' as VerdictLabel };

/** Headers that other gateways honour to reroute a call or attach a credential; refused here. */
const upstreamOverrideHeader =
  /^(?:x-(?:portkey|litellm)-.*|(?:x-)?(?:api-base|base-url|upstream(?:-url|-host|-base)?|custom-host|target-url|forward-to|provider(?:-url|-key|-api-key|-base-url)?|openai-(?:base-url|api-base|api-key|organization)|anthropic-(?:api-key|base-url)|goog-api-key|gemini-api-key|api-version))$/i;

export function rejectUpstreamOverrideHeaders(headers: Record<string, unknown>): void {
  for (const name in headers) {
    if (upstreamOverrideHeader.test(name)) {
      throw new RequestError(400, `header ${name}: cannot be set by a caller: the upstream URL and its credentials come only from the gateway's configuration`, name, 'upstream_override_forbidden');
    }
  }
}

export function errorBody(message: string, type: string, param: string | null = null, code: string | null = null) {
  return { error: { message, type, param, code } };
}

/** A provider failure as the caller sees it (status, OpenAI error type), never with a credential in it. */
export function providerFailureResponse(err: ProviderError): { status: number; body: ReturnType<typeof errorBody>; retryAfterSeconds?: number } {
  const retryAfterSeconds = err.retryAfterMs !== undefined ? Math.max(1, Math.ceil(err.retryAfterMs / 1000)) : undefined;
  switch (err.errorClass) {
    case 'rate_limited':
      return { status: 429, body: errorBody(err.message, 'rate_limit_error', null, 'upstream_rate_limited'), retryAfterSeconds };
    case 'overloaded':
      return { status: 503, body: errorBody(err.message, 'upstream_error', null, 'upstream_overloaded'), retryAfterSeconds };
    case 'timeout':
      return { status: 504, body: errorBody(err.message, 'upstream_error', null, 'upstream_timeout') };
    case 'bad_request':
      return { status: 400, body: errorBody(err.message, 'invalid_request_error', null, 'upstream_bad_request') };
    case 'upstream_auth':
      return { status: 502, body: errorBody(err.message, 'upstream_error', null, 'upstream_auth') };
    case 'upstream_not_found':
      return { status: 502, body: errorBody(err.message, 'upstream_error', null, 'upstream_model_not_found') };
    default:
      return { status: 502, body: errorBody(err.message, 'upstream_error', null, err.errorClass) };
  }
}

/**
 * An upstream answer's text with our request id in place of the upstream's, when the text begins with
 * that id as its first key (`{"id":"…"`, compact JSON: vLLM, llama.cpp's server, the fake upstream;
 * OpenAI's own pretty-printed bodies do not): the answer then goes out as it came, neither rebuilt nor
 * serialised again. Undefined: the parsed body is serialised instead.
 */
export function answerWithId(text: string, upstreamId: unknown, id: string): string | undefined {
  if (typeof upstreamId !== 'string') return undefined;
  const prefix = `{"id":${JSON.stringify(upstreamId)}`;
  return text.startsWith(prefix) ? `{"id":${JSON.stringify(id)}${text.slice(prefix.length)}` : undefined;
}

function costOf(model: ResolvedModel, usage: Usage | undefined): number | null {
  if (!usage || model.inputPerMTok === undefined || model.outputPerMTok === undefined) return null;
  return (usage.inputTokens * model.inputPerMTok + usage.outputTokens * model.outputPerMTok) / 1_000_000;
}

function lastUserIndex(messages: ChatRequest['messages']): number {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === 'user') return i;
  return -1;
}

/** A judged answer: the guardrail's verdict and its label for the log row. */
interface Judged {
  verdict: GuardrailVerdict;
  label: VerdictLabel;
}

/** What a finished call (or shadow call) reports, from which its log row and outcome are built. */
interface OutcomeFields {
  id: string;
  requestId: string;
  model: ResolvedModel;
  role: Role;
  status: LogRow['status'];
  errorClass: string | null;
  output: string;
  ttftMs: number | null;
  usage: Usage | undefined;
  verdict: string | null;
  extra?: Record<string, unknown>;
}

interface CallContext {
  requestId: string;
  route: UseCaseRoute;
  request: ChatRequest;
  applied: AppliedPolicy;
  model: ResolvedModel;
  role: Role;
  stickyKey: string | null;
  started: number;
  startedAt: Date;
  fallbackFrom?: ResolvedModel;
  fallbackError?: string;
  /** The caller's key when it carries limits (its tokens and cost are charged to it). */
  limitedKey?: ApiKeyRecord;
  /** Upstream attempts so far (retries and the fallback's attempt included). */
  attempts: number;
  /** Error class of the first upstream attempt, when it failed (retried or not). */
  firstAttemptError: string | null;
}

/** What a relayed stream came to: its text, how it ended, and what the guardrail said so far. */
interface RelayedStream {
  output: string;
  usage?: Usage;
  finishReason?: FinishReason;
  /** The provider said the stream is complete. */
  done: boolean;
  ttftMs: number | null;
  errorClass: string | null;
  errorMessage: string;
  /** The partial verdict that stopped the stream. */
  blockedBy?: GuardrailVerdict;
  label: VerdictLabel;
  /** With a hold-back: how many characters of `output` the caller has been sent. */
  released: number;
}

/** An explicit error event ends a stopped or cut stream: the OpenAI SDKs raise it, so a cut answer is never mistaken for a short one. */
function stoppedByGuardrail(sse: ChatSseWriter): void {
  sse.write(errorBody('the answer was stopped by the guardrails', 'content_filter', null, 'guardrail_blocked'));
}

/** The events that only change what is known of the stream (nothing is sent for them). */
function noteStreamEnd(event: StreamEvent, relayed: RelayedStream): void {
  if (event.type === 'usage') relayed.usage = event.usage;
  else if (event.type === 'done') relayed.done = true;
}

/** One upstream read with a hold-back: text goes out up to `upTo` (judged, minus the hold-back); the finish waits for the whole answer's verdict. */
function relayHeldBack(batch: StreamEvent[], relayed: RelayedStream, sse: ChatSseWriter, upTo: number): void {
  for (const event of batch) {
    if (event.type === 'delta') sse.role();
    else if (event.type === 'finish') relayed.finishReason = event.finishReason;
    else noteStreamEnd(event, relayed);
  }
  if (upTo > relayed.released) {
    sse.role();
    sse.content(relayed.output.slice(relayed.released, upTo));
    relayed.released = upTo;
  }
}

/** One upstream read without a hold-back: passed through at once (as the provider's own chunks when it speaks OpenAI). */
function relayAsIs(batch: StreamEvent[], relayed: RelayedStream, sse: ChatSseWriter): void {
  for (const event of batch) {
    if (event.type === 'delta') {
      if (event.raw) sse.relay(event.raw, { announcesRole: true });
      else {
        sse.role();
        if (event.text) sse.content(event.text);
      }
    } else if (event.type === 'finish') {
      relayed.finishReason = event.finishReason;
      if (event.raw) sse.relay(event.raw, { announcesRole: false });
      else if (!event.carried) sse.finish(event.finishReason);
    } else noteStreamEnd(event, relayed);
  }
}

/**
 * What a retry records: a failure the retry will hide from the player (the canary analysis counts it:
 * first-attempt failure rate) and the retry metric. Returned anonymous from a factory, not written as
 * an `onRetry:` property: tsx (esbuild keepNames) wraps every named closure in a `__name` property
 * definition, which cost ~0.8 % of the gateway's busy time when it ran once per call.
 */
function retryObserver(metrics: GatewayMetrics, ctx: CallContext, model: ResolvedModel): (err: ProviderError) => void {
  return (err) => {
    ctx.firstAttemptError ??= err.errorClass;
    metrics.retries.inc({ provider: model.providerId ?? 'none', error_class: err.errorClass });
  };
}

/**
 * POST /v1/chat/completions: route by the sticky bucket, apply the use case's policy, call the
 * provider within one retry budget (falling back to the use case's fallback model when the budget is
 * spent on an outage), mirror to shadows without waiting for them, judge the answer with the
 * guardrail, answer in the OpenAI wire format (JSON or SSE) and report exactly one outcome (its log row, metrics and charge).
 */
export class ChatHandler {
  private readonly retryPolicy: RetryPolicy;
  private shadowInFlight = 0;
  readonly shadowCalls = new Set<Promise<void>>();
  /**
   * The last RECENT_REQUESTS request ids: a ring (the oldest slot is overwritten) plus a set for the
   * lookup. A Set used as a FIFO (delete its first entry) cost 2.6 % of the gateway's busy time at
   * 3,000 calls/s: V8 walks over deleted entries to find the first live one until it rehashes.
   */
  private readonly recentRing: Array<string | undefined> = new Array<string | undefined>(RECENT_REQUESTS).fill(undefined);
  private recentNext = 0;
  private readonly recentRequests = new Set<string>();

  constructor(private readonly deps: ChatDeps) {
    const r = deps.config.retry;
    this.retryPolicy = { maxAttempts: r.maxAttempts, budgetMs: r.budgetSeconds * 1000, baseDelayMs: r.baseDelayMs, maxDelayMs: r.maxDelayMs };
  }

  async handle(req: FastifyRequest, reply: FastifyReply, key: ApiKeyRecord | undefined): Promise<unknown> {
    const started = performance.now();
    const startedAt = new Date();
    rejectUpstreamOverrideHeaders(req.headers);
    const request = parseChatRequest(req.body);
    const route = this.deps.cache.route(request.useCaseId);
    if (!route) {
      this.deps.metrics.rejected.inc({ reason: 'unknown_use_case' });
      throw new RequestError(404, `model: "${request.useCaseId.slice(0, 100)}" is not a use case served by this gateway`, 'model', 'model_not_found');
    }
    if (key && !keyAllowsUseCase(key, route.useCaseId)) {
      this.deps.metrics.rejected.inc({ reason: 'use_case_not_allowed' });
      throw new RequestError(403, `this API key may not use use case "${route.useCaseId}"`, 'model', 'use_case_not_allowed');
    }
    const limited = key && key.limits !== NO_LIMITS && this.deps.limiter ? key : undefined;
    if (limited) {
      let refused = this.deps.limiter!.admitChat(limited, route.useCaseId);
      if (refused instanceof Promise) refused = await refused;
      if (refused) throw refused;
    }
    const header = req.headers[STICKY_HEADER];
    const stickyKey = typeof header === 'string' && header.length > 0 ? header : request.user ?? null;
    if (stickyKey !== null && stickyKey.length > 512) throw new RequestError(400, `${STICKY_HEADER}: at most 512 characters`, STICKY_HEADER);
    const bucket = stickyKey !== null ? stickyBucket(route.useCaseId, stickyKey) : randomBucket();
    const target = route.served[route.table[bucket]!]!;
    const applied = applyPolicy(route.policy, request, target.model.params ? undefined : target.model.upstreamModel);
    const ctx: CallContext = { requestId: randomUUID(), route, request, applied, model: target.model, role: target.role, stickyKey, started, startedAt, limitedKey: limited, attempts: 0, firstAttemptError: null };
    this.remember(ctx.requestId);

    if (route.shadows.length > 0) this.mirror(ctx);

    const abort = new Cancellation();
    // `on`, not `once`: a response closes once, and once's wrapper and its removal cost per call.
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) abort.abort();
    });

    reply.header('x-request-id', ctx.requestId);
    reply.header('x-mms-allocation-version', String(route.version));
    if (applied.pinned.length > 0) reply.header('x-mms-pinned-params', applied.pinned.join(','));

    if (request.stream) return this.stream(ctx, reply, abort);
    return this.complete(ctx, reply, abort);
  }

  private remember(requestId: string) {
    const oldest = this.recentRing[this.recentNext];
    if (oldest !== undefined) this.recentRequests.delete(oldest);
    this.recentRing[this.recentNext] = requestId;
    this.recentNext = this.recentNext + 1 === RECENT_REQUESTS ? 0 : this.recentNext + 1;
    this.recentRequests.add(requestId);
  }

  /** Did this replica answer this request id lately (its log row may still be buffered)? */
  servedRecently(requestId: string): boolean {
    return this.recentRequests.has(requestId);
  }

  // ---- calling the provider within one budget, with the fallback model
  private paramsFor(ctx: CallContext, model: ResolvedModel): ChatParams {
    const params = ctx.applied.params;
    // The served model's params were built for it (applyPolicy): no copy per call. Providers only read them.
    if (!model.params && params.model === model.upstreamModel) return params as ChatParams;
    return model.params ? { ...params, ...model.params, model: model.upstreamModel } : { ...params, model: model.upstreamModel };
  }

  /**
   * One model's attempts within `budget`. A method, not a closure made per call: the per-call closure
   * cost an allocation and (under tsx's keepNames) a `__name` property definition on every call.
   */
  private attempt<T>(ctx: CallContext, model: ResolvedModel, budget: RetryBudget, signal: CancelSignal, call: (model: ResolvedModel, timeoutMs: number) => Promise<T>): Promise<T> {
    return withRetries(
      budget,
      (timeoutMs) => {
        ctx.attempts++;
        if (!model.provider) {
          throw new ProviderError('provider_error', `model "${model.name}" has no configured provider ("${model.providerId ?? 'none'}" is not in mms.config.yaml)`);
        }
        return call(model, timeoutMs);
      },
      { signal, onRetry: retryObserver(this.deps.metrics, ctx, model) },
    );
  }

  private async callWithBudget<T>(ctx: CallContext, signal: CancelSignal, call: (model: ResolvedModel, timeoutMs: number) => Promise<T>): Promise<T> {
    const budget = new RetryBudget(this.retryPolicy);
    try {
      return await this.attempt(ctx, ctx.model, budget, signal, call);
    } catch (err) {
      const fallback = ctx.route.fallback;
      const pe = err instanceof ProviderError ? err : new ProviderError('provider_error', safeErrorMessage(err));
      ctx.firstAttemptError ??= pe.errorClass;
      if (!fallback || fallback.id === ctx.model.id || signal.aborted || !(pe.retryable || pe.errorClass === 'provider_error') || budget.remainingMs() <= 0) throw pe;
      // The fallback gets one attempt inside what is left of the same budget.
      ctx.fallbackFrom = ctx.model;
      ctx.fallbackError = pe.errorClass;
      ctx.model = fallback;
      this.deps.metrics.fallbacks.inc({ use_case: ctx.route.useCaseId });
      return this.attempt(ctx, fallback, new RetryBudget({ ...this.retryPolicy, maxAttempts: 1, budgetMs: budget.remainingMs() }), signal, call);
    }
  }

  // ---- guardrail
  private guardrailContext(ctx: CallContext, model: ResolvedModel, role: Role, requestId: string): GuardrailContext {
    return { requestId, useCaseId: ctx.route.useCaseId, modelId: model.id, modelName: model.name, role, allocationVersion: ctx.route.version, messages: ctx.applied.params.messages, guardrails: ctx.route.guardrails };
  }

  /**
   * The answer's verdict, synchronously when the guardrail answers synchronously (tier 1 does): the
   * plain call's hot path then takes no promise and no microtask hop to judge; a guardrail that
   * answers with a promise gets one.
   */
  private judge(gctx: GuardrailContext, output: string, logId: string): Judged | Promise<Judged> {
    const guardrail = this.deps.guardrail;
    if (!guardrail) return { verdict: PASS, label: 'pass' };
    let checked: GuardrailVerdict | Promise<GuardrailVerdict>;
    try {
      checked = guardrail.checkOutput(gctx, output);
    } catch (err) {
      return this.judged(gctx, output, logId, undefined, err);
    }
    if (checked instanceof Promise) {
      return checked.then(
        (value) => this.judged(gctx, output, logId, value, undefined),
        (err: unknown) => this.judged(gctx, output, logId, undefined, err ?? new Error('the guardrail failed')),
      );
    }
    return this.judged(gctx, output, logId, checked, undefined);
  }

  /** What the guardrail said (or how it failed: the answer is then blocked), its violations recorded. */
  private judged(gctx: GuardrailContext, output: string, logId: string, value: unknown, failure: unknown): Judged {
    const guardrail = this.deps.guardrail!;
    let verdict: GuardrailVerdict;
    let label: VerdictLabel;
    try {
      if (failure !== undefined) throw failure;
      verdict = checkVerdict(value, guardrail.name);
      label = verdictLabel(verdict);
    } catch (err) {
      this.deps.logger.error({ err: safeErrorMessage(err), guardrail: guardrail.name }, 'guardrail failed: the answer is blocked');
      verdict = GUARDRAIL_ERROR_VERDICT;
      label = 'error';
    }
    this.recordViolations(gctx, verdict, output, logId);
    return { verdict, label };
  }

  /** A stream judged so far: a verdict other than pass stops it (a stream cannot be redacted after the fact). */
  private async judgePartial(gctx: GuardrailContext, output: string, judgedUpTo: number): Promise<{ verdict?: GuardrailVerdict; label: VerdictLabel }> {
    const guardrail = this.deps.guardrail;
    if (!guardrail?.checkPartial) return { label: 'pass' };
    try {
      const v = await guardrail.checkPartial(gctx, output, judgedUpTo);
      const partial = v === undefined ? undefined : checkVerdict(v, guardrail.name);
      return partial && partial.action !== 'pass' ? { verdict: partial, label: 'blocked' } : { label: 'pass' };
    } catch (err) {
      this.deps.logger.error({ err: safeErrorMessage(err), guardrail: guardrail.name }, 'guardrail failed mid-stream: the answer is blocked');
      return { verdict: GUARDRAIL_ERROR_VERDICT, label: 'error' };
    }
  }

  /**
   * A cut stream still gives the player what was received before the cut, as it does without a
   * hold-back: the held-back tail is judged like any partial answer and released only if it passes.
   */
  private async releaseHeldBack(gctx: GuardrailContext, output: string, released: number, sse: ChatSseWriter): Promise<void> {
    if (output.length <= released) return;
    if ((await this.judgePartial(gctx, output, released)).verdict) return;
    sse.role();
    sse.content(output.slice(released));
  }

  private recordViolations(gctx: GuardrailContext, verdict: GuardrailVerdict, output: string, logId: string) {
    if (verdict.violations.length === 0) return;
    const intervention = gctx.role === 'shadow' ? 'recorded (shadow answer, not returned)' : verdict.action === 'block' ? 'blocked' : verdict.action === 'redact' ? 'redacted' : 'recorded';
    const at = new Date();
    for (const violation of verdict.violations) {
      this.deps.metrics.violation(gctx.useCaseId, gctx.modelName, gctx.role, violation.severity);
      this.deps.logWriter.enqueueViolation({
        id: randomUUID(),
        logId,
        modelId: gctx.modelId,
        useCaseId: gctx.useCaseId,
        violationType: violation.type.slice(0, 50),
        severity: violation.severity,
        violationDetails: { ...(violation.details ?? {}), score: violation.score, requestId: gctx.requestId, role: gctx.role, allocationVersion: gctx.allocationVersion },
        outputSample: output.slice(0, 2000),
        interventionTaken: intervention,
        timestamp: at,
      });
      if (violation.severity === 'critical' && this.deps.onCriticalViolation) {
        const event = { requestId: gctx.requestId, useCaseId: gctx.useCaseId, modelId: gctx.modelId, modelName: gctx.modelName, role: gctx.role, allocationVersion: gctx.allocationVersion, violation, intervention, at };
        Promise.resolve()
          .then(() => this.deps.onCriticalViolation!(event))
          .catch((err) => this.deps.logger.error({ err: safeErrorMessage(err) }, 'onCriticalViolation failed'));
      }
    }
  }

  // ---- the call's outcome (logging, metrics and limits subscribe to it)
  /** The call is over: its outcome goes to every subscriber (gateway/call-outcome.ts). */
  private finish(ctx: CallContext, fields: OutcomeFields): void {
    this.deps.outcomes.emit({ row: this.logRow(ctx, fields), modelName: fields.model.name, limitedKey: ctx.limitedKey });
  }

  private logRow(ctx: CallContext, fields: OutcomeFields): CallLogRow {
    const { request, applied } = ctx;
    const last = lastUserIndex(request.messages);
    const latencyMs = performance.now() - ctx.started;
    const usage = fields.usage;
    const cost = costOf(fields.model, usage);
    const { messages: _messages, model: _model, ...sampling } = applied.params;
    const context: Record<string, unknown> = {
      system: applied.systemPrompt,
      history: last > 0 ? request.messages.slice(0, last) : last === -1 ? request.messages : [],
      params: sampling,
      stream: request.stream,
    };
    if (request.metadata) context.metadata = request.metadata;
    if (applied.pinned.length > 0) context.pinned = applied.pinned;
    if (fields.extra) Object.assign(context, fields.extra);
    return {
      id: fields.id,
      requestId: fields.requestId,
      modelId: fields.model.id,
      useCase: ctx.route.useCaseId,
      role: fields.role,
      allocationVersion: ctx.route.version,
      status: fields.status,
      errorClass: fields.errorClass,
      prompt: last >= 0 ? request.messages[last]!.content : '',
      context,
      generatedOutput: fields.output,
      latencyMs,
      ttftMs: fields.ttftMs,
      tokensIn: usage?.inputTokens ?? null,
      tokensOut: usage?.outputTokens ?? null,
      costUsd: cost,
      guardrailVerdict: fields.verdict,
      stickyKey: ctx.stickyKey,
      performanceMetrics: { upstreamModel: fields.model.upstreamModel, provider: fields.model.providerId },
      timestamp: ctx.startedAt,
      attempts: ctx.attempts,
      firstAttemptError: ctx.firstAttemptError,
    };
  }

  private fallbackExtra(ctx: CallContext) {
    return ctx.fallbackFrom ? { fallbackFrom: { modelId: ctx.fallbackFrom.id, model: ctx.fallbackFrom.name, errorClass: ctx.fallbackError } } : undefined;
  }

  private failed(ctx: CallContext, reply: FastifyReply, err: unknown, signal: CancelSignal) {
    const pe = err instanceof ProviderError ? err : new ProviderError('provider_error', safeErrorMessage(err));
    const clientGone = signal.aborted;
    const errorClass = clientGone ? 'client_disconnected' : pe.errorClass;
    this.deps.logger.debug({ requestId: ctx.requestId, useCase: ctx.route.useCaseId, model: ctx.model.name, errorClass, status: pe.status, err: pe.message }, 'provider call failed');
    this.finish(ctx, { id: ctx.requestId, requestId: ctx.requestId, model: ctx.model, role: ctx.role, status: clientGone ? 'incomplete' : 'error', errorClass, output: '', ttftMs: null, usage: undefined, verdict: null, extra: this.fallbackExtra(ctx) });
    if (clientGone) return reply;
    const response = providerFailureResponse(pe);
    if (response.retryAfterSeconds !== undefined) reply.header('retry-after', String(response.retryAfterSeconds));
    return reply.code(response.status).send(response.body);
  }

  private modelHeaders(ctx: CallContext, reply: FastifyReply) {
    reply.header('x-mms-model', ctx.model.name);
    reply.header('x-mms-role', ctx.role);
  }

  // ---- non-streaming
  private async complete(ctx: CallContext, reply: FastifyReply, signal: CancelSignal) {
    let result: ChatResult;
    try {
      result = await this.callWithBudget(ctx, signal, (model, timeoutMs) => model.provider!.chat(this.paramsFor(ctx, model), { signal, timeoutMs }));
    } catch (err) {
      return this.failed(ctx, reply, err, signal);
    }
    let judged = this.deps.guardrail ? this.judge(this.guardrailContext(ctx, ctx.model, ctx.role, ctx.requestId), result.content, ctx.requestId) : NO_GUARDRAIL;
    if (judged instanceof Promise) judged = await judged;
    const { verdict, label } = judged;
    let content = result.content;
    let finishReason: FinishReason = result.finishReason;
    if (verdict.action === 'block') {
      content = verdict.replacement ?? '';
      finishReason = 'content_filter';
    } else if (verdict.action === 'redact') content = verdict.redactedText!;
    this.modelHeaders(ctx, reply);
    const asReceived = verdict.action === 'pass' && result.raw && result.rawText !== undefined ? answerWithId(result.rawText, result.raw.id, ctx.requestId) : undefined;
    if (!signal.aborted && asReceived !== undefined) {
      // The answer goes out first (send writes it synchronously); the log row and metrics after.
      reply.code(200).header('content-type', 'application/json; charset=utf-8').send(asReceived);
    } else if (!signal.aborted) {
      let body: Record<string, unknown>;
      if (result.raw) {
        body = result.raw;
        body.id = ctx.requestId;
        if (verdict.action !== 'pass') {
          const choice = (body.choices as Array<Record<string, unknown>>)[0]!;
          choice.message = { ...(choice.message as Record<string, unknown>), content };
          choice.finish_reason = finishReason;
        }
      } else {
        body = {
          id: ctx.requestId,
          object: 'chat.completion',
          created: Math.floor(ctx.startedAt.getTime() / 1000),
          model: result.model ?? ctx.model.upstreamModel,
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finishReason, logprobs: null }],
          usage: result.usage ? { prompt_tokens: result.usage.inputTokens, completion_tokens: result.usage.outputTokens, total_tokens: result.usage.inputTokens + result.usage.outputTokens } : undefined,
        };
      }
      // The answer goes out first (send writes it synchronously); the log row and metrics after.
      reply.code(200).send(body);
    }
    this.finish(ctx, { id: ctx.requestId, requestId: ctx.requestId, model: ctx.model, role: ctx.role, status: verdict.action === 'block' ? 'blocked' : 'ok', errorClass: label === 'error' ? 'guardrail_error' : null, output: result.content, ttftMs: null, usage: result.usage, verdict: label, extra: this.fallbackExtra(ctx) });
    return reply;
  }

  // ---- streaming
  /** Guardrail hold-back of a stream (characters), 0 when none. */
  private get holdBack(): number {
    return this.deps.guardrail?.streamHoldBackChars ?? 0;
  }

  private async stream(ctx: CallContext, reply: FastifyReply, signal: CancelSignal) {
    let events: AsyncIterable<StreamEvent[]>;
    try {
      events = await this.callWithBudget(ctx, signal, (model, timeoutMs) => model.provider!.openStream(this.paramsFor(ctx, model), { signal, timeoutMs }));
    } catch (err) {
      return this.failed(ctx, reply, err, signal);
    }
    this.modelHeaders(ctx, reply);
    const sse = ChatSseWriter.open(reply, ctx.requestId, Math.floor(ctx.startedAt.getTime() / 1000), ctx.model.upstreamModel);
    const gctx = this.guardrailContext(ctx, ctx.model, ctx.role, ctx.requestId);
    const relayed = await this.relay(ctx, events, sse, gctx, signal);
    const status = await this.endStream(ctx, sse, gctx, relayed);
    sse.end();
    this.finish(ctx, {
      id: ctx.requestId,
      requestId: ctx.requestId,
      model: ctx.model,
      role: ctx.role,
      status,
      errorClass: relayed.label === 'error' ? 'guardrail_error' : relayed.errorClass,
      output: relayed.output,
      ttftMs: relayed.ttftMs,
      usage: relayed.usage,
      verdict: status === 'incomplete' ? null : relayed.label,
      extra: { ...this.fallbackExtra(ctx), ...(relayed.finishReason ? { finishReason: relayed.finishReason } : {}) },
    });
    return reply;
  }

  /**
   * Relays the upstream events to the caller while judging the text so far; stops at the first
   * partial verdict other than pass. With a hold-back, the last N characters are sent only once the
   * text after them (or the whole answer) has been judged, so a harmful phrase split across pieces
   * never reaches the player. Per upstream read, not per event: a read's events are folded, judged
   * at most once, and written to the caller in one write.
   */
  private async relay(ctx: CallContext, events: AsyncIterable<StreamEvent[]>, sse: ChatSseWriter, gctx: GuardrailContext, signal: CancelSignal): Promise<RelayedStream> {
    const holdBack = this.holdBack;
    // With a hold-back, judging every few characters is as safe as judging each piece (nothing unjudged
    // is released) and keeps a long stream's guardrail cost linear instead of one window per word.
    const judgeEvery = holdBack > 0 ? Math.max(1, Math.floor(holdBack / 2)) : 1;
    const relayed: RelayedStream = { output: '', done: false, ttftMs: null, errorClass: null, errorMessage: '', label: 'pass', released: 0 };
    let judged = 0;
    try {
      for await (const batch of events) {
        const before = relayed.output.length;
        let ends = false;
        for (const event of batch) {
          if (event.type === 'delta' && event.text) {
            if (relayed.ttftMs === null) relayed.ttftMs = performance.now() - ctx.started;
            relayed.output += event.text;
          } else if (event.type === 'done') ends = true;
        }
        // A partial judgement only where it can release text: without a hold-back every new piece (it goes
        // out at once); with one, text past the hold-back not yet released, and not in the read that ends
        // the stream (the whole answer is judged next, before anything of it is released).
        const canRelease = holdBack === 0 || (!ends && relayed.output.length - holdBack > relayed.released);
        if (canRelease && relayed.output.length - judged >= judgeEvery) {
          const partial = await this.judgePartial(gctx, relayed.output, judged);
          if (partial.verdict) {
            relayed.blockedBy = partial.verdict;
            relayed.label = partial.label;
            // Without a hold-back the pieces were judged one by one: those of this read before the offending one still go out.
            if (holdBack === 0) await this.relayPassingPieces(gctx, batch, relayed, before, sse);
            break;
          }
          judged = relayed.output.length;
        }
        if (holdBack > 0) relayHeldBack(batch, relayed, sse, judged - holdBack);
        else relayAsIs(batch, relayed, sse);
        await sse.flush();
      }
    } catch (err) {
      const pe = err instanceof ProviderError ? err : new ProviderError('provider_error', safeErrorMessage(err));
      relayed.errorClass = signal.aborted ? 'client_disconnected' : pe.errorClass === 'connection' || pe.errorClass === 'timeout' ? 'stream_incomplete' : pe.errorClass;
      relayed.errorMessage = pe.message;
    }
    if (!relayed.done && !relayed.errorClass && !relayed.blockedBy) {
      relayed.errorClass = signal.aborted ? 'client_disconnected' : 'stream_incomplete';
      relayed.errorMessage = `the upstream stream of model "${ctx.model.name}" ended before it was complete`;
    }
    return relayed;
  }

  /**
   * A read whose text was stopped, without a hold-back: its pieces judged one by one (the rare path),
   * those before the offending one relayed; the output ends with the offending piece, as when each
   * piece came in a read of its own.
   */
  private async relayPassingPieces(gctx: GuardrailContext, batch: StreamEvent[], relayed: RelayedStream, before: number, sse: ChatSseWriter): Promise<void> {
    let end = before;
    for (let i = 0; i < batch.length; i++) {
      const event = batch[i]!;
      if (event.type !== 'delta' || !event.text) continue;
      const partial = await this.judgePartial(gctx, relayed.output.slice(0, end + event.text.length), end);
      if (partial.verdict) {
        relayAsIs(batch.slice(0, i), relayed, sse);
        relayed.output = relayed.output.slice(0, end + event.text.length);
        relayed.blockedBy = partial.verdict;
        relayed.label = partial.label;
        return;
      }
      end += event.text.length;
    }
  }

  /** Ends the event stream the way the relay ended (stopped by the guardrail, complete and judged whole, or cut); returns the row's status. */
  private async endStream(ctx: CallContext, sse: ChatSseWriter, gctx: GuardrailContext, relayed: RelayedStream): Promise<LogRow['status']> {
    if (relayed.blockedBy) {
      this.recordViolations(gctx, relayed.blockedBy, relayed.output, ctx.requestId);
      if (relayed.blockedBy.replacement) sse.content(relayed.blockedBy.replacement);
      sse.finish('content_filter');
      stoppedByGuardrail(sse);
      return 'blocked';
    }
    if (relayed.done) {
      const judged = await this.judge(gctx, relayed.output, ctx.requestId);
      relayed.label = judged.label;
      if (judged.verdict.action !== 'pass') {
        sse.finish('content_filter');
        stoppedByGuardrail(sse);
        return 'blocked';
      }
      if (this.holdBack > 0) {
        sse.role();
        if (relayed.output.length > relayed.released) sse.content(relayed.output.slice(relayed.released));
        sse.finish(relayed.finishReason ?? 'stop');
      }
      if (ctx.request.includeUsage) sse.usage(relayed.usage ?? { inputTokens: 0, outputTokens: 0 });
      sse.done();
      return 'ok';
    }
    if (relayed.errorClass !== 'client_disconnected') {
      if (this.holdBack > 0) await this.releaseHeldBack(gctx, relayed.output, relayed.released, sse);
      sse.write(errorBody(relayed.errorMessage, 'upstream_error', null, relayed.errorClass));
    }
    return 'incomplete';
  }

  // ---- shadows
  private mirror(ctx: CallContext) {
    for (let i = 0; i < ctx.route.shadows.length; i++) {
      const shadow = ctx.route.shadows[i]!;
      if (Math.random() * 10_000 >= shadow.weight) continue;
      if (this.shadowInFlight >= this.deps.config.maxShadowInFlight) {
        this.deps.metrics.shadowSkipped.inc({ use_case: ctx.route.useCaseId });
        continue;
      }
      this.shadowInFlight++;
      const call = this.shadowCall(ctx, shadow.model, i).finally(() => {
        this.shadowInFlight--;
        this.shadowCalls.delete(call);
      });
      this.shadowCalls.add(call);
    }
  }

  /** A mirrored copy: one attempt, no fallback, never returned; its row has role "shadow". */
  private async shadowCall(primary: CallContext, model: ResolvedModel, index: number): Promise<void> {
    await new Promise((r) => setImmediate(r)); // after the primary call is on its way
    // one attempt, counted as the first: the analysis compares it with stable's first attempts
    const ctx: CallContext = { ...primary, model, role: 'shadow', started: performance.now(), startedAt: new Date(), attempts: 1, firstAttemptError: null };
    const requestId = `${primary.requestId}:shadow:${index}`;
    const id = randomUUID();
    try {
      if (!model.provider) throw new ProviderError('provider_error', `model "${model.name}" has no configured provider`);
      const timeoutMs = Math.min(this.retryPolicy.budgetMs, 600_000);
      const result = await model.provider.chat(this.paramsFor(ctx, model), { timeoutMs });
      const { label } = await this.judge(this.guardrailContext(ctx, model, 'shadow', requestId), result.content, id);
      this.finish(ctx, { id, requestId, model, role: 'shadow', status: 'ok', errorClass: label === 'error' ? 'guardrail_error' : null, output: result.content, ttftMs: null, usage: result.usage, verdict: label, extra: { shadowOf: primary.requestId } });
    } catch (err) {
      const pe = err instanceof ProviderError ? err : new ProviderError('provider_error', safeErrorMessage(err));
      ctx.firstAttemptError = pe.errorClass;
      this.finish(ctx, { id, requestId, model, role: 'shadow', status: 'error', errorClass: pe.errorClass, output: '', ttftMs: null, usage: undefined, verdict: null, extra: { shadowOf: primary.requestId } });
    }
  }
}
