import type { Logger } from 'pino';
import type { ApiKeyRecord } from '../src/auth/api-keys';
import type { KeyLimiter } from '../src/auth/limiter';
import { safeErrorMessage } from '../src/logging/redact';
import type { LogRow, LogSink } from './log-writer';
import type { GatewayMetrics } from './metrics';

/** The row of a call that was routed (so it has a use case; only a shed call's row has none). */
export type CallLogRow = LogRow & { useCase: string };

/**
 * How one call ended (a player's call or a mirrored shadow call), built once by the chat handler and
 * handed to every subscriber: the historical log, /metrics and the per-key limits each subscribe to
 * it, in the way of LiteLLM's success and failure callbacks, so the handler knows none of them.
 */
export interface CallOutcome {
  /** The historical-log row: use case, model id, role, status, error class, latency, tokens, cost. */
  readonly row: CallLogRow;
  /** The model's registry name (the metrics label; the row holds its id). */
  readonly modelName: string;
  /** The caller's key when it carries limits (its tokens and cost are charged to it). */
  readonly limitedKey?: ApiKeyRecord;
}

/** One party interested in finished calls. */
export interface CallOutcomeSubscriber {
  /** An answer went out: the row's status is `ok`, or `blocked` (the guardrail answered instead). */
  success(outcome: CallOutcome): void;
  /** No answer: the row's status is `error` (upstream) or `incomplete` (a cut stream, a caller gone). */
  failure(outcome: CallOutcome): void;
}

/** The subscribers of one gateway; a subscriber that throws is logged and never fails the call or the others. */
export class CallOutcomes {
  constructor(
    private readonly subscribers: readonly CallOutcomeSubscriber[],
    private readonly logger: Logger,
  ) {}

  emit(outcome: CallOutcome): void {
    const succeeded = outcome.row.status === 'ok' || outcome.row.status === 'blocked';
    for (const subscriber of this.subscribers) {
      try {
        if (succeeded) subscriber.success(outcome);
        else subscriber.failure(outcome);
      } catch (err) {
        this.logger.error({ err: safeErrorMessage(err), requestId: outcome.row.requestId }, 'a call-outcome subscriber failed');
      }
    }
  }
}

/** Every outcome becomes exactly one historical-log row. */
export function logOutcomes(logWriter: LogSink): CallOutcomeSubscriber {
  const write = (outcome: CallOutcome) => logWriter.enqueueLog(outcome.row);
  return { success: write, failure: write };
}

/** Request counts, latency, time to first token, tokens and cost on /metrics, per (use case, model, role). */
export function metricOutcomes(metrics: GatewayMetrics): CallOutcomeSubscriber {
  const usage = ({ row }: CallOutcome, call: ReturnType<GatewayMetrics['forCall']>) => {
    if (row.ttftMs !== null) call.ttft(row.ttftMs / 1000);
    if (row.tokensIn !== null && row.tokensOut !== null) call.tokens(row.tokensIn, row.tokensOut);
    if (row.costUsd !== null) call.cost(row.costUsd);
  };
  return {
    success(outcome) {
      const call = metrics.forCall(outcome.row.useCase, outcome.modelName, outcome.row.role);
      call.ok(outcome.row.latencyMs / 1000);
      usage(outcome, call);
    },
    failure(outcome) {
      const call = metrics.forCall(outcome.row.useCase, outcome.modelName, outcome.row.role);
      call.failed(outcome.row.errorClass ?? outcome.row.status, outcome.row.latencyMs / 1000);
      usage(outcome, call);
    },
  };
}

/** The caller pays for its own calls (the logged tokens and cost), not for the shadows MMS mirrors. */
export function limitOutcomes(limiter: KeyLimiter): CallOutcomeSubscriber {
  const charge = ({ row, limitedKey }: CallOutcome) => {
    if (!limitedKey || row.role === 'shadow' || (row.tokensIn === null && row.costUsd === null)) return;
    limiter.charge(limitedKey, row.useCase, row.tokensIn !== null ? row.tokensIn + (row.tokensOut ?? 0) : 0, row.costUsd);
  };
  return { success: charge, failure: charge };
}
