import { NANO_USD, budgetWindow, minuteWindow, type KeyLimits, type Window } from './limits';

export type LimitName = 'rpm' | 'tpm' | 'use_case_rpm' | 'use_case_tpm' | 'budget' | 'feedback_rpm';

export interface LimitedKey {
  id: string;
  keyPrefix: string;
  limits: KeyLimits;
}

/** A refused call: 429 with retry-after and an OpenAI-style error naming the limit. */
export class LimitExceededError extends Error {
  override name = 'LimitExceededError';
  constructor(
    readonly limit: LimitName,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
  get code(): string {
    return this.limit === 'budget' ? 'budget_exceeded' : `${this.limit}_limit_exceeded`;
  }
  /** OpenAI's types: rate limits are `rate_limit_error`, an exhausted quota `insufficient_quota`. */
  get type(): string {
    return this.limit === 'budget' ? 'insufficient_quota' : 'rate_limit_error';
  }
}

export interface CounterRef {
  keyId: string;
  counter: string;
  windowStart: Date;
}

export interface CounterState extends CounterRef {
  reserved: number;
  used: number;
}

/** The shared counters (PostgreSQL in production: src/auth/counter-store.ts). */
export interface CounterStore {
  /** Grants up to `want` of what is left below `limit`; returns the grant and the counter after it. */
  lease(ref: CounterRef, want: number, limit: number): Promise<{ granted: number; reserved: number; used: number }>;
  /** Adds consumption and moves reservations (negative `reservedDelta` gives slices back). */
  settle(rows: Array<CounterRef & { usedDelta: number; reservedDelta: number }>): Promise<CounterState[]>;
  /** Batched `last_used_at`. */
  touch(rows: Array<{ keyId: string; at: Date }>): Promise<void>;
  /** Drops minute windows that ended before `before` (budget periods are kept: they are the spend history). */
  prune?(before: Date): Promise<void>;
}

export interface LimiterOptions {
  store: CounterStore;
  /** Injectable clock (epoch ms): tests move budgets across their reset without waiting a day. */
  now?: () => number;
  /** Share of a limit one lease asks for (0.05 = 5%). */
  sliceFraction?: number;
  settleMs?: number;
  /** An idle lease gives its unused remainder back after this long. */
  leaseMs?: number;
  /** Counter "nearly exhausted" when fewer than this many slices are left: leases shrink to one call. */
  tightSlices?: number;
  /** Feedback calls per minute per key (0 = unlimited). */
  feedbackPerMinute?: number;
  lastUsedFlushMs?: number;
  onError?: (err: unknown, what: string) => void;
}

interface Check {
  counter: string;
  /** `<keyId>|<counter>`: the lease's key in this replica's map, built once per key record. */
  mapKey: string;
  limit: number;
  /** Requests are taken at admission; tokens and spend need a positive balance and are charged after. */
  unit: 'request' | 'amount';
  name: LimitName;
  period: 'minute' | KeyLimits['budgetPeriod'];
  useCase?: string;
}

interface Lease {
  ref: CounterRef;
  mapKey: string;
  window: Window;
  limit: number;
  slice: number;
  /** Granted to this replica and not given back (includes what it consumed). */
  granted: number;
  consumed: number;
  /** Consumption already added to `used`. */
  reported: number;
  /** Granted locally while the database was unreachable: added to `reserved` at the next settle. */
  unbacked: number;
  tight: boolean;
  acquiring: Promise<void> | undefined;
  lastActivity: number;
  /** The shared counter as last seen (for `others hold unused` decisions). */
  seenReserved: number;
  seenUsed: number;
}

const available = (l: Lease) => l.granted - l.consumed;

/**
 * Per-key limits that hold across N gateway replicas without a database round trip per call.
 *
 * Each (key, counter, window) has one shared row in PostgreSQL (`api_key_counters`). A replica
 * *leases* a slice of what is left of the limit (`reserved += grant`, never past the limit, in one
 * statement) and spends it from memory: the common call is a few map lookups. It asks for the next
 * slice in the background when half of the current one is spent, and settles every `settleMs`
 * (`used += consumed`, and it gives back what it holds unused when the lease went idle for
 * `leaseMs`, the window ended, or the counter is nearly exhausted). Because the grants of all
 * replicas together never exceed the limit, N replicas never let more than the limit through.
 *
 * Near the end of a window (less than `tightSlices` slices left) leases shrink to what one call
 * needs and unused remainders go back at the next settle, so a replica refused while others still
 * hold unused slices waits for one settle (`2.5 × settleMs`) and asks again before it answers 429.
 *
 * Tokens and spend are known only after a call: admission needs a positive balance, and the call's
 * actual tokens and cost are charged afterwards (a replica may go one call over, as LiteLLM and
 * Envoy's token buckets do). When the database is unreachable a replica grants itself one slice per
 * counter and window (and charges it when the database is back): the game keeps playing, and the
 * overshoot is bounded by one slice per replica.
 */
export class KeyLimiter {
  private readonly leases = new Map<string, Lease>();
  private readonly retired: Lease[] = [];
  private readonly lastUsed = new Map<string, number>();
  private readonly checksByKey = new WeakMap<KeyLimits, Map<string, Check[]>>();
  private readonly now: () => number;
  private readonly sliceFraction: number;
  private readonly settleMs: number;
  private readonly leaseMs: number;
  private readonly tightSlices: number;
  private readonly feedbackPerMinute: number;
  private readonly lastUsedFlushMs: number;
  private timer: NodeJS.Timeout | undefined;
  private settling: Promise<void> | undefined;
  /**
   * Cadences (flush last_used_at, prune old windows) run on the monotonic clock, not on `now`: `now`
   * is the clock of budgets and expiry, which a test or a corrected wall clock can move backwards.
   */
  private lastTouchFlush = -Infinity;
  private lastPrune = -Infinity;
  /** Counts for /metrics and the bench: leases asked for, settles, calls that had to wait. */
  readonly stats = { leases: 0, settles: 0, waited: 0, refused: 0, storeErrors: 0 };

  constructor(private readonly options: LimiterOptions) {
    this.now = options.now ?? Date.now;
    this.sliceFraction = options.sliceFraction ?? 0.05;
    this.settleMs = options.settleMs ?? 200;
    this.leaseMs = options.leaseMs ?? 2000;
    this.tightSlices = options.tightSlices ?? 2;
    this.feedbackPerMinute = options.feedbackPerMinute ?? 0;
    this.lastUsedFlushMs = options.lastUsedFlushMs ?? 5000;
  }

  start(): void {
    if (this.timer) return;
    const tick = () => {
      this.timer = setTimeout(() => {
        void this.settle().finally(() => {
          if (this.timer) tick();
        });
      }, this.settleMs);
      this.timer.unref();
    };
    tick();
  }

  /** Stops the settle loop and settles everything held (unused slices go back). */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.settle(true);
  }

  /** A key was used now (written in batches to api_keys.last_used_at). */
  touch(keyId: string): void {
    this.lastUsed.set(keyId, this.now());
  }

  /**
   * Admission of a chat call of `key` to `useCase`: undefined (go), or a LimitExceededError to throw.
   * Synchronous while every counter has local balance; a promise only when a lease must be fetched.
   */
  admitChat(key: LimitedKey, useCase: string): LimitExceededError | undefined | Promise<LimitExceededError | undefined> {
    const checks = this.chatChecks(key, useCase);
    return checks.length === 0 ? undefined : this.admit(key, checks);
  }

  /** Admission of a feedback call (gateway.limits.feedbackPerMinute per key). */
  admitFeedback(key: LimitedKey): LimitExceededError | undefined | Promise<LimitExceededError | undefined> {
    if (this.feedbackPerMinute <= 0) return undefined;
    return this.admit(key, [{ counter: 'feedback', mapKey: `${key.id}|feedback`, limit: this.feedbackPerMinute, unit: 'request', name: 'feedback_rpm', period: 'minute' }]);
  }

  /** Charges a finished call's tokens and cost (from the logged cost) to the key's counters. */
  charge(key: LimitedKey, useCase: string, tokens: number, costUsd: number | null): void {
    const checks = this.chatChecks(key, useCase);
    if (checks.length === 0) return;
    const now = this.now();
    for (const c of checks) {
      if (c.unit !== 'amount') continue;
      const amount = c.name === 'budget' ? Math.round((costUsd ?? 0) * NANO_USD) : tokens;
      if (amount <= 0) continue;
      const lease = this.lease(key.id, c, now);
      lease.consumed += amount;
      lease.lastActivity = now;
    }
  }

  /** The checks of a key's chat calls to a use case, built once per key record (its limits object). */
  private chatChecks(key: LimitedKey, useCase: string): Check[] {
    const limits = key.limits;
    let byUseCase = this.checksByKey.get(limits);
    if (!byUseCase) this.checksByKey.set(limits, (byUseCase = new Map()));
    let checks = byUseCase.get(useCase);
    if (checks) return checks;
    checks = [];
    const add = (check: Omit<Check, 'mapKey'>) => checks!.push({ ...check, mapKey: `${key.id}|${check.counter}` });
    if (limits.rpm !== undefined) add({ counter: 'rpm', limit: limits.rpm, unit: 'request', name: 'rpm', period: 'minute' });
    const perUseCase = limits.useCases[useCase];
    if (perUseCase?.rpm !== undefined) add({ counter: `rpm:${useCase}`, limit: perUseCase.rpm, unit: 'request', name: 'use_case_rpm', period: 'minute', useCase });
    if (limits.tpm !== undefined) add({ counter: 'tpm', limit: limits.tpm, unit: 'amount', name: 'tpm', period: 'minute' });
    if (perUseCase?.tpm !== undefined) add({ counter: `tpm:${useCase}`, limit: perUseCase.tpm, unit: 'amount', name: 'use_case_tpm', period: 'minute', useCase });
    if (limits.budgetUsd !== undefined) add({ counter: 'spend', limit: Math.round(limits.budgetUsd * NANO_USD), unit: 'amount', name: 'budget', period: limits.budgetPeriod ?? 'monthly' });
    byUseCase.set(useCase, checks);
    return checks;
  }

  private windowOf(c: Check, now: number): Window {
    return c.period === 'minute' ? minuteWindow(now) : budgetWindow(c.period ?? 'monthly', now);
  }

  /** The lease of this replica for the counter's current window (a new window starts a new lease). */
  private lease(keyId: string, c: Check, now: number): Lease {
    const mapKey = c.mapKey;
    let lease = this.leases.get(mapKey);
    // A caller that read the clock before an await may come back with a time before the current
    // lease's window: it still gets the current lease (a window never starts over).
    if (lease && now < lease.window.end) {
      if (lease.limit !== c.limit) {
        // The key's limit changed (mms apikey update): new slices follow it; what is held stays.
        lease.limit = c.limit;
        lease.slice = this.sliceOf(c.limit);
      }
      return lease;
    }
    if (lease) this.retired.push(lease);
    const window = this.windowOf(c, now);
    lease = {
      ref: { keyId, counter: c.counter, windowStart: new Date(window.start) },
      mapKey,
      window,
      limit: c.limit,
      slice: this.sliceOf(c.limit),
      granted: 0,
      consumed: 0,
      reported: 0,
      unbacked: 0,
      tight: false,
      acquiring: undefined,
      lastActivity: now,
      seenReserved: 0,
      seenUsed: 0,
    };
    this.leases.set(mapKey, lease);
    return lease;
  }

  private sliceOf(limit: number): number {
    return Math.max(1, Math.ceil(limit * this.sliceFraction));
  }

  private admit(key: LimitedKey, checks: Check[]): LimitExceededError | undefined | Promise<LimitExceededError | undefined> {
    const now = this.now();
    let short = false;
    for (const c of checks) {
      const lease = this.lease(key.id, c, now);
      const left = available(lease);
      if (left < 1) short = true;
      else if (!lease.tight && !lease.acquiring && left < lease.slice / 2) this.prefetch(lease);
    }
    if (!short) {
      this.take(key.id, checks, now);
      return undefined;
    }
    return this.admitSlow(key, checks);
  }

  /** Takes the call from each lease (just checked: every one is current and has balance). */
  private take(keyId: string, checks: Check[], now: number) {
    for (const c of checks) {
      const lease = this.leases.get(c.mapKey)!;
      lease.lastActivity = now;
      if (c.unit === 'request') lease.consumed += 1;
    }
  }

  private prefetch(lease: Lease) {
    void this.acquireOnce(lease, lease.slice);
  }

  /**
   * The lease's one request to the shared counter: callers short of balance wait for the request in
   * flight instead of each sending their own. Otherwise a burst on an empty lease (a new window, the
   * first calls after an idle release) sends one request per caller, each granted a whole slice: 20
   * callers reserve the whole limit at 5 % slices, the counter turns tight, and calls are refused
   * while almost nothing was used (bench:gateway --limits saw 429 budget_exceeded and
   * tpm_limit_exceeded at limits 1,000× above the traffic).
   */
  private acquireOnce(lease: Lease, want: number): Promise<void> {
    const acquiring: Promise<void> = this.acquire(lease, want).finally(() => {
      if (lease.acquiring === acquiring) lease.acquiring = undefined;
    });
    lease.acquiring = acquiring;
    return acquiring;
  }

  private async acquire(lease: Lease, want: number): Promise<void> {
    this.stats.leases++;
    try {
      const r = await this.options.store.lease(lease.ref, want, lease.limit);
      lease.granted += r.granted;
      this.observe(lease, r);
    } catch (err) {
      // The database is unreachable: this replica enforces the limit on its own (N replicas may then
      // let up to N × the limit through) and charges the shared counter once the database is back.
      this.stats.storeErrors++;
      this.options.onError?.(err, 'lease');
      const grant = Math.max(0, Math.min(want, lease.limit - lease.granted));
      lease.granted += grant;
      lease.unbacked += grant;
    }
  }

  /** The shared counter as a lease or settle returned it; nearly exhausted = tight. */
  private observe(lease: Lease, counter: { reserved: number; used: number }) {
    lease.seenReserved = counter.reserved;
    lease.seenUsed = counter.used;
    lease.tight = lease.limit - counter.reserved < lease.slice * this.tightSlices;
  }

  private async admitSlow(key: LimitedKey, checks: Check[]): Promise<LimitExceededError | undefined> {
    for (let attempt = 0; ; attempt++) {
      const now = this.now();
      let refusal: { check: Check; lease: Lease } | undefined;
      let othersMayHold = false;
      for (const c of checks) {
        const lease = this.lease(key.id, c, now);
        if (available(lease) >= 1) continue;
        const grantedBefore = lease.granted;
        let waited = false;
        while (available(lease) < 1 && lease.acquiring) {
          waited = true;
          await lease.acquiring;
        }
        if (available(lease) >= 1) continue;
        // A request that just came back with nothing says the counter is spent: asking again at once
        // would only repeat it (the refusal below may still wait for other replicas' slices).
        if (!waited || lease.granted > grantedBefore) {
          // A debt (tokens or spend charged beyond the lease) is covered first.
          // Near the end of the window, ask for an eighth of what is left: few round trips, little held.
          const want = Math.max(lease.tight ? Math.ceil((lease.limit - lease.seenReserved) / 8) : lease.slice, 1 - available(lease), 1);
          await this.acquireOnce(lease, want);
        }
        if (available(lease) >= 1) continue;
        refusal ??= { check: c, lease };
        // Unused slices may still sit with other replicas: they come back at their next settle.
        const heldHere = lease.granted - lease.reported;
        if (lease.seenReserved - lease.seenUsed - heldHere > 0) othersMayHold = true;
      }
      if (!refusal) {
        // Balances were checked across awaits: take them now, or try again if a concurrent call won.
        const at = this.now();
        if (checks.every((c) => available(this.lease(key.id, c, at)) >= 1)) {
          this.take(key.id, checks, at);
          if (attempt > 0) this.stats.waited++;
          return undefined;
        }
        continue;
      }
      if (othersMayHold && attempt === 0) {
        await new Promise((r) => setTimeout(r, Math.ceil(this.settleMs * 2.5)));
        continue;
      }
      this.stats.refused++;
      return this.refusal(key, refusal.check, refusal.lease, now);
    }
  }

  private refusal(key: LimitedKey, c: Check, lease: Lease, now: number): LimitExceededError {
    const retryAfter = Math.max(1, Math.ceil((lease.window.end - now) / 1000));
    const who = `API key ${key.keyPrefix}…`;
    switch (c.name) {
      case 'rpm':
        return new LimitExceededError('rpm', `rate limit reached: ${who} allows ${c.limit} requests per minute (rpm); retry after ${retryAfter} s`, retryAfter);
      case 'use_case_rpm':
        return new LimitExceededError('use_case_rpm', `rate limit reached: ${who} allows ${c.limit} requests per minute to use case "${c.useCase}" (use-case rpm); retry after ${retryAfter} s`, retryAfter);
      case 'tpm':
        return new LimitExceededError('tpm', `rate limit reached: ${who} allows ${c.limit} tokens per minute (tpm); retry after ${retryAfter} s`, retryAfter);
      case 'use_case_tpm':
        return new LimitExceededError('use_case_tpm', `rate limit reached: ${who} allows ${c.limit} tokens per minute to use case "${c.useCase}" (use-case tpm); retry after ${retryAfter} s`, retryAfter);
      case 'feedback_rpm':
        return new LimitExceededError('feedback_rpm', `rate limit reached: ${who} may send ${c.limit} feedback calls per minute; retry after ${retryAfter} s`, retryAfter);
      case 'budget':
        return new LimitExceededError(
          'budget',
          `budget exhausted: ${who} has spent its ${c.period} budget of $${c.limit / NANO_USD}; it resets at ${new Date(lease.window.end).toISOString()} (retry after ${retryAfter} s)`,
          retryAfter,
        );
    }
  }

  /** One batched write of consumption and returned slices; also flushes last_used_at every lastUsedFlushMs. */
  async settle(final = false): Promise<void> {
    if (this.settling) {
      await this.settling;
      if (!final) return;
    }
    this.settling = this.settleOnce(final).finally(() => (this.settling = undefined));
    return this.settling;
  }

  private async settleOnce(final: boolean): Promise<void> {
    const now = this.now();
    const rows: Array<CounterRef & { usedDelta: number; reservedDelta: number }> = [];
    const settled: Array<{ lease: Lease; release: number; consumed: number; unbacked: number }> = [];
    const consider = (lease: Lease, ended: boolean) => {
      const usedDelta = lease.consumed - lease.reported;
      const idle = now - lease.lastActivity > this.leaseMs;
      // Give back what is held unused (or charge a debt) when the lease ends, idles or runs tight.
      const release = final || ended || idle || lease.tight ? available(lease) : 0;
      if (usedDelta === 0 && release === 0 && lease.unbacked === 0) return;
      rows.push({ ...lease.ref, usedDelta, reservedDelta: lease.unbacked - release });
      settled.push({ lease, release, consumed: lease.consumed, unbacked: lease.unbacked });
      // Taken off the local balance now, not after the write: calls admitted while it is in flight
      // must not spend what is being given back.
      lease.granted -= release;
      lease.unbacked = 0;
    };
    const retired = this.retired.splice(0);
    for (const lease of retired) consider(lease, true);
    for (const lease of this.leases.values()) {
      const ended = now >= lease.window.end;
      consider(lease, ended);
      if (ended && !lease.acquiring) this.leases.delete(lease.mapKey);
    }
    this.stats.settles++;
    if (rows.length > 0) {
      try {
        const states = await this.options.store.settle(mergeByCounter(rows));
        for (const s of settled) s.lease.reported = s.consumed;
        const byRef = new Map(settled.map((s) => [`${s.lease.ref.keyId}|${s.lease.ref.counter}|${s.lease.ref.windowStart.getTime()}`, s.lease]));
        for (const state of states) {
          const lease = byRef.get(`${state.keyId}|${state.counter}|${state.windowStart.getTime()}`);
          if (lease) this.observe(lease, state);
        }
      } catch (err) {
        this.stats.storeErrors++;
        this.options.onError?.(err, 'settle');
        // Nothing was written: the balances are as before, and retired leases go back on the list.
        for (const s of settled) {
          s.lease.granted += s.release;
          s.lease.unbacked += s.unbacked;
        }
        this.retired.push(...retired.filter((l) => settled.some((s) => s.lease === l)));
      }
    }
    const tick = performance.now();
    if (this.options.store.prune && tick - this.lastPrune > 600_000) {
      this.lastPrune = tick;
      await this.options.store.prune(new Date(now - 3_600_000)).catch((err: unknown) => this.options.onError?.(err, 'prune'));
    }
    if (this.lastUsed.size > 0 && (final || tick - this.lastTouchFlush >= this.lastUsedFlushMs)) {
      const touched = [...this.lastUsed].map(([keyId, at]) => ({ keyId, at: new Date(at) }));
      this.lastUsed.clear();
      this.lastTouchFlush = tick;
      try {
        await this.options.store.touch(touched);
      } catch (err) {
        this.options.onError?.(err, 'last_used_at');
        for (const t of touched) if (!this.lastUsed.has(t.keyId)) this.lastUsed.set(t.keyId, t.at.getTime());
      }
    }
  }
}

/** One row per counter and window: an upsert may touch each row once (a retired and a current lease can share one). */
function mergeByCounter<T extends CounterRef & { usedDelta: number; reservedDelta: number }>(rows: T[]): T[] {
  const merged = new Map<string, T>();
  for (const row of rows) {
    const id = `${row.keyId}|${row.counter}|${row.windowStart.getTime()}`;
    const seen = merged.get(id);
    if (seen) {
      seen.usedDelta += row.usedDelta;
      seen.reservedDelta += row.reservedDelta;
    } else merged.set(id, { ...row });
  }
  return [...merged.values()];
}
