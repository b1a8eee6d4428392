/**
 * Every provider failure becomes a ProviderError with an error class the logs, metrics and retry
 * budget understand. Messages are redacted: a provider that echoes our key back never leaks it.
 */

import { redactSecrets } from '../logging/redact';

export type ErrorClass =
  | 'rate_limited' // 429
  | 'overloaded' // 529 (Anthropic), 503
  | 'server_error' // other 5xx
  | 'timeout' // no answer in time (408 or our own deadline)
  | 'connection' // refused, reset, DNS
  | 'bad_request' // 400 / 422
  | 'upstream_auth' // 401 / 403: the gateway's provider key was refused
  | 'upstream_not_found' // 404
  | 'invalid_response' // a body we could not parse
  | 'stream_incomplete' // the stream ended before the provider said it was done
  | 'aborted' // the caller went away
  | 'provider_error'; // anything else

export class ProviderError extends Error {
  override name = 'ProviderError';
  readonly retryable: boolean;
  constructor(
    readonly errorClass: ErrorClass,
    message: string,
    readonly options: { status?: number; retryAfterMs?: number; providerId?: string } = {},
  ) {
    super(redactSecrets(message));
    this.retryable = isRetryableClass(errorClass);
  }
  get status() {
    return this.options.status;
  }
  get retryAfterMs() {
    return this.options.retryAfterMs;
  }
}

export const isRetryableClass = (c: ErrorClass) => c === 'rate_limited' || c === 'overloaded' || c === 'server_error' || c === 'timeout' || c === 'connection';

export function classForStatus(status: number): ErrorClass {
  if (status === 429) return 'rate_limited';
  if (status === 529 || status === 503) return 'overloaded';
  if (status === 408) return 'timeout';
  if (status === 409) return 'server_error'; // lock contention at the provider: retryable, like the SDKs do
  if (status >= 500) return 'server_error';
  if (status === 401 || status === 403) return 'upstream_auth';
  if (status === 404) return 'upstream_not_found';
  if (status === 400 || status === 422 || status === 413) return 'bad_request';
  return 'provider_error';
}

/**
 * Parses `retry-after-ms` (OpenAI), `retry-after` in seconds or as an HTTP date. Undefined when absent
 * or unreadable; never negative.
 */
export function parseRetryAfter(get: (name: string) => string | null | undefined, now = Date.now()): number | undefined {
  const ms = get('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.max(0, Math.round(Number(ms)));
  const value = get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.max(0, Math.round(Number(value) * 1000));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** A short, redacted message from an error body of any provider's shape. */
export function errorBodyMessage(body: unknown, fallback: string): string {
  if (body && typeof body === 'object') {
    const b = body as { error?: unknown; message?: unknown };
    if (b.error && typeof b.error === 'object') {
      const m = (b.error as { message?: unknown }).message;
      if (typeof m === 'string') return redactSecrets(m).slice(0, 500);
    }
    if (typeof b.error === 'string') return redactSecrets(b.error).slice(0, 500);
    if (typeof b.message === 'string') return redactSecrets(b.message).slice(0, 500);
  }
  if (typeof body === 'string' && body.trim()) return redactSecrets(body.trim()).slice(0, 500);
  return fallback;
}

export function httpError(providerId: string, status: number, body: unknown, retryAfterMs?: number): ProviderError {
  const message = errorBodyMessage(body, `HTTP ${status}`);
  return new ProviderError(classForStatus(status), `provider "${providerId}" answered ${status}: ${message}`, { status, retryAfterMs, providerId });
}

const connectionCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT']);
const timeoutCodes = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', 'ESOCKETTIMEDOUT']);

/** Network-level failures (no HTTP status) of undici, fetch and the SDKs, classified. */
export function networkError(providerId: string, err: unknown, signal?: { readonly aborted: boolean }): ProviderError {
  if (err instanceof ProviderError) return err;
  if (signal?.aborted) return new ProviderError('aborted', `call to provider "${providerId}" was aborted`, { providerId });
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e; depth++) {
    const code = (e as { code?: unknown }).code;
    const name = (e as { name?: unknown }).name;
    if (typeof code === 'string' && timeoutCodes.has(code)) return new ProviderError('timeout', `provider "${providerId}" did not answer in time`, { providerId });
    if (name === 'TimeoutError' || name === 'APIConnectionTimeoutError') return new ProviderError('timeout', `provider "${providerId}" did not answer in time`, { providerId });
    if (typeof code === 'string' && connectionCodes.has(code)) return new ProviderError('connection', `cannot reach provider "${providerId}" (${code})`, { providerId });
    if (name === 'AbortError') return new ProviderError('aborted', `call to provider "${providerId}" was aborted`, { providerId });
    e = (e as { cause?: unknown }).cause;
  }
  const message = err instanceof Error ? err.message : String(err);
  if (/terminated|socket|other side closed|ECONNRESET/i.test(message)) return new ProviderError('connection', `connection to provider "${providerId}" failed: ${message}`, { providerId });
  return new ProviderError('provider_error', `provider "${providerId}" failed: ${message}`, { providerId });
}
