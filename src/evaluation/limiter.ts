/**
 * Concurrency and rate limit of an evaluation's provider calls (policies.testing.concurrency and
 * requestsPerSecond): at most `concurrency` calls in flight, and starts spaced so that no second
 * holds more than `perSecond` of them.
 */
export class CallLimiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private nextStart = 0;
  private readonly spacingMs: number;

  constructor(
    readonly concurrency: number,
    perSecond: number,
  ) {
    this.spacingMs = 1000 / perSecond;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      const now = Date.now();
      const start = Math.max(now, this.nextStart);
      this.nextStart = start + this.spacingMs;
      if (start > now) await new Promise((r) => setTimeout(r, start - now));
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes straight to the next caller
      else this.active--;
    }
  }
}

/** Runs `work` over the items with at most `concurrency` in flight; stops starting new ones on the first error. */
export async function forEachConcurrent<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const lane = async () => {
    while (failed === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  if (failed !== undefined) throw failed;
}
