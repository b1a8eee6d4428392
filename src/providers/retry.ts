/**
 * One retry budget per call: a number of attempts and a deadline, shared by the primary model and
 * the fallback. 429 (honouring retry-after), 5xx, 529, timeouts and connection failures are retried;
 * 400/401/403/404 fail at once. When the provider asks to wait longer than the budget has left, the
 * call fails now with that retry-after (the caller can pass it on) instead of sleeping past the deadline.
 * The SDKs' own retries are disabled, so the budget never multiplies.
 */

import { ProviderError } from './errors';
import { onCancel, type CancelSignal } from './types';

export interface RetryPolicy {
  maxAttempts: number;
  budgetMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export class RetryBudget {
  attempts = 0;
  retries = 0;
  readonly deadline: number;
  constructor(
    readonly policy: RetryPolicy,
    now = Date.now(),
  ) {
    this.deadline = now + policy.budgetMs;
  }
  remainingMs(now = Date.now()) {
    return Math.max(0, this.deadline - now);
  }
  get exhausted() {
    return this.attempts >= this.policy.maxAttempts || this.remainingMs() <= 0;
  }
}

const sleep = (ms: number, signal?: CancelSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new ProviderError('aborted', 'the call was aborted while waiting to retry'));
    const stop = signal
      ? onCancel(signal, () => {
          clearTimeout(timer);
          reject(new ProviderError('aborted', 'the call was aborted while waiting to retry'));
        })
      : undefined;
    const timer = setTimeout(() => {
      stop?.();
      resolve();
    }, ms);
  });

export function backoffDelay(policy: RetryPolicy, retryNumber: number, random = Math.random): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retryNumber - 1));
  return Math.round(exp * (0.5 + random() * 0.5));
}

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error, or the budget runs out.
 * `attempt` receives the time it may take (ms) so a single slow attempt cannot overrun the deadline.
 */
export async function withRetries<T>(
  budget: RetryBudget,
  attempt: (timeoutMs: number) => Promise<T>,
  options: { signal?: CancelSignal; onRetry?: (err: ProviderError, delayMs: number) => void } = {},
): Promise<T> {
  for (;;) {
    budget.attempts++;
    try {
      return await attempt(Math.max(1, budget.remainingMs()));
    } catch (raw) {
      const err = raw instanceof ProviderError ? raw : new ProviderError('provider_error', raw instanceof Error ? raw.message : String(raw));
      if (!err.retryable || options.signal?.aborted) throw err;
      if (budget.attempts >= budget.policy.maxAttempts) throw err;
      const delay = err.retryAfterMs ?? backoffDelay(budget.policy, budget.retries + 1);
      if (delay >= budget.remainingMs()) throw err;
      budget.retries++;
      options.onRetry?.(err, delay);
      await sleep(delay, options.signal);
    }
  }
}
