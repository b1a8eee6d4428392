import { safeErrorMessage } from '../src/logging/redact';

/** One cheap statement (static SQL, no parameters) that changes whenever anything the gateway serves changes. */
export const FINGERPRINT_SQL = `
select
  (select coalesce(string_agg(use_case_id || ':' || v, ',' order by use_case_id), '')
     from (select use_case_id, max(version) as v from traffic_allocations group by use_case_id) a) as allocations,
  (select count(*)::text || '/' || coalesce(max(updated_at)::text, '') from use_cases) as use_cases,
  (select count(*)::text || '/' || coalesce(max(updated_at)::text, '') from models) as models,
  (select count(*)::text || '/' || coalesce(max(updated_at)::text, '') from api_keys) as keys`;

/** Runs a static SQL statement and returns its rows (Prisma's $queryRawUnsafe, or a `pg` pool). */
export type RunQuery = (sql: string) => Promise<Array<Record<string, string>>>;

/** The registry's fingerprint now, as a string that differs whenever what the gateway serves changed. */
export async function readFingerprint(run: RunQuery): Promise<string> {
  const rows = await run(FINGERPRINT_SQL);
  return JSON.stringify(rows[0] ?? {});
}

export interface RegistryPollerOptions {
  run: RunQuery;
  intervalMs: number;
  /** The fingerprint moved (and once at the start, or after a failed read): the registry cache reloads. */
  onFingerprint(fingerprint: string): void;
  /** A read failed; called once per distinct message while it keeps failing. */
  onError(message: string): void;
}

/**
 * Polls the registry fingerprint and reports only changes, so whoever holds the registry cache
 * reloads when an allocation, use case, model or key changed and never otherwise. The gateway runs
 * it on its log thread (its own connection, off the request thread); the cache polls in-process
 * itself when there is no log thread.
 */
export class RegistryPoller {
  private last = '';
  private lastError = '';
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: RegistryPollerOptions) {}

  start(): void {
    void this.poll();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async poll(): Promise<void> {
    try {
      const fingerprint = await readFingerprint(this.options.run);
      this.lastError = '';
      if (fingerprint !== this.last) {
        this.last = fingerprint;
        this.options.onFingerprint(fingerprint);
      }
    } catch (err) {
      const message = safeErrorMessage(err);
      if (message !== this.lastError) this.options.onError(message);
      this.lastError = message;
      // After a failure the next good read is reported even if unchanged: the cache marks the registry reachable again.
      this.last = '';
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.poll(), this.options.intervalMs);
  }
}
