import path from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { PrismaClient } from '@prisma/client';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../src/config/schema';
import { createLogger } from '../src/logging/logger';
import { safeErrorMessage } from '../src/logging/redact';
import { PgLogStore, PrismaLogStore, type LogRow, type ViolationRow } from './log-store';
import { LogWriter, type Entry, type LogObserver, type LogSink } from './log-writer';
import type { GatewayMetrics } from './metrics';
import { RegistryPoller } from './registry-poller';

/** Messages from the main thread to the log thread, and back. */
type ToWorker = { t: 'entries'; entries: Entry[] } | { t: 'flush'; id: number } | { t: 'close' };
type ToMain =
  | { t: 'flushed'; id: number }
  | { t: 'closed' }
  | { t: 'observed'; written: number; spilled: number; dropped: number; buffered: number; spillBytes: number; databaseUp: boolean; stats: LogSink['stats'] }
  | { t: 'fingerprint'; fingerprint: string }
  | { t: 'poll-error'; message: string };

interface WorkerInput {
  databaseUrl: string;
  log: GatewayConfig['log'];
  spillDir: string;
  pollMs: number;
}

export interface ThreadedLogWriterOptions extends WorkerInput {
  logger: Logger;
  metrics: GatewayMetrics;
  /** Used if the log thread dies: the rows then go through an in-process writer. */
  prisma: PrismaClient;
  onFingerprint(fingerprint: string): void;
  onPollError(message: string): void;
  /** The log thread died: whoever relied on its fingerprint poll must poll again. */
  onThreadLost(): void;
}

/**
 * The log thread. Turning rows into records, hashing sticky keys, building batch parameters, talking
 * to PostgreSQL, spilling and replaying all run on a worker thread with its own `pg` pool, so none of
 * it can stall the event loop that serves calls. The main thread only appends rows to an array and
 * hands the array over every few milliseconds. The same thread polls the registry fingerprint and
 * tells the main thread when allocations, use cases, models or keys changed.
 */
export class ThreadedLogWriter implements LogSink {
  private pending: Entry[] = [];
  private readonly worker: Worker;
  private readonly timer: NodeJS.Timeout;
  private readonly waiting = new Map<number, () => void>();
  private nextId = 0;
  private closing: Promise<void> | undefined;
  private workerBuffered = 0;
  private fallback: LogWriter | undefined;
  databaseAvailable = true;
  stats = { written: 0, spilled: 0, dropped: 0, replayed: 0 };

  constructor(private readonly options: ThreadedLogWriterOptions) {
    const input: WorkerInput = { databaseUrl: options.databaseUrl, log: options.log, spillDir: options.spillDir, pollMs: options.pollMs };
    this.worker = new Worker(path.join(__dirname, 'log-worker.js'), { workerData: input, stdout: false, stderr: false });
    this.worker.unref();
    this.worker.on('message', (m: ToMain) => this.onMessage(m));
    this.worker.on('error', (err) => this.failOver(err));
    this.worker.on('exit', (code) => {
      if (!this.closing) this.failOver(new Error(`the log thread exited with code ${code}`));
    });
    this.timer = setInterval(() => this.post(), Math.max(5, Math.min(50, options.log.flushIntervalMs)));
    this.timer.unref();
  }

  get buffered() {
    return this.pending.length + this.workerBuffered;
  }

  enqueueLog(row: LogRow): void {
    if (this.fallback) return this.fallback.enqueueLog(row);
    this.pending.push({ kind: 'log', row });
    if (this.pending.length >= this.options.log.batchSize) this.post();
  }

  enqueueViolation(row: ViolationRow): void {
    if (this.fallback) return this.fallback.enqueueViolation(row);
    this.pending.push({ kind: 'violation', row });
  }

  private post() {
    if (this.pending.length === 0 || this.fallback) return;
    const entries = this.pending;
    this.pending = [];
    this.send({ t: 'entries', entries });
  }

  private send(message: ToWorker) {
    this.worker.postMessage(message);
  }

  private request(make: (id: number) => ToWorker): Promise<void> {
    const id = ++this.nextId;
    return new Promise<void>((resolve) => {
      this.waiting.set(id, resolve);
      this.send(make(id));
    });
  }

  async flush(): Promise<void> {
    if (this.fallback) return this.fallback.flush();
    this.post();
    await this.request((id) => ({ t: 'flush', id }));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.timer);
      if (this.fallback) return this.fallback.close();
      this.post();
      await new Promise<void>((resolve) => {
        this.waiting.set(0, resolve);
        this.send({ t: 'close' });
      });
      await this.worker.terminate();
    })();
    return this.closing;
  }

  private onMessage(m: ToMain) {
    const { metrics } = this.options;
    switch (m.t) {
      case 'flushed':
        this.waiting.get(m.id)?.();
        this.waiting.delete(m.id);
        break;
      case 'closed':
        this.waiting.get(0)?.();
        this.waiting.delete(0);
        break;
      case 'observed':
        if (m.written) metrics.logRowsWritten.inc(m.written);
        if (m.spilled) metrics.logRowsSpilled.inc(m.spilled);
        if (m.dropped) metrics.logRowsDropped.inc(m.dropped);
        metrics.logBuffered.set(m.buffered);
        metrics.spillBytes.set(m.spillBytes);
        metrics.databaseUp.set(m.databaseUp ? 1 : 0);
        this.workerBuffered = m.buffered;
        this.databaseAvailable = m.databaseUp;
        this.stats = m.stats;
        break;
      case 'fingerprint':
        this.options.onFingerprint(m.fingerprint);
        break;
      case 'poll-error':
        this.options.onPollError(m.message);
        break;
    }
  }

  /** For drills and tests: stops the log thread the way a crash would. */
  async killThreadForDrill(): Promise<void> {
    await this.worker.terminate();
  }

  /** The log thread died (a bug, not the database): keep logging, in-process. */
  private failOver(err: unknown) {
    if (this.fallback) return;
    this.options.logger.error({ err: safeErrorMessage(err) }, 'the log thread failed: writing historical logs in-process from now on');
    const { metrics } = this.options;
    this.fallback = new LogWriter({
      store: new PrismaLogStore(this.options.prisma, this.options.databaseUrl),
      config: this.options.log,
      spillDir: this.options.spillDir,
      logger: this.options.logger,
      observer: metricsObserver(metrics),
    });
    this.fallback.enqueueMany(this.pending);
    this.pending = [];
    for (const resolve of this.waiting.values()) resolve();
    this.waiting.clear();
    this.options.onThreadLost();
  }
}

/** An observer that updates /metrics directly (in-process writers). */
export function metricsObserver(metrics: GatewayMetrics): LogObserver {
  return {
    written: (n) => metrics.logRowsWritten.inc(n),
    spilled: (n) => metrics.logRowsSpilled.inc(n),
    dropped: (n) => metrics.logRowsDropped.inc(n),
    buffered: (n) => metrics.logBuffered.set(n),
    spillBytes: (b) => metrics.spillBytes.set(b),
    databaseUp: (up) => metrics.databaseUp.set(up ? 1 : 0),
  };
}

/** Worker side: runs inside the log thread (gateway/log-worker.js). */
export function runLogWorker(): void {
  if (isMainThread || !parentPort) throw new Error('runLogWorker runs on the gateway log thread only');
  const port = parentPort;
  const input = workerData as WorkerInput;
  const logger = createLogger('gateway-log');
  const store = new PgLogStore(input.databaseUrl);
  const observed = { written: 0, spilled: 0, dropped: 0, buffered: 0, spillBytes: 0, databaseUp: true };
  let scheduled = false;
  const report = () => {
    scheduled = false;
    const message: ToMain = { t: 'observed', ...observed, stats: { ...writer.stats } };
    observed.written = 0;
    observed.spilled = 0;
    observed.dropped = 0;
    port.postMessage(message);
  };
  const soon = () => {
    if (!scheduled) {
      scheduled = true;
      setTimeout(report, 100).unref();
    }
  };
  const writer = new LogWriter({
    store,
    config: input.log,
    spillDir: input.spillDir,
    logger,
    observer: {
      written: (n) => ((observed.written += n), soon()),
      spilled: (n) => ((observed.spilled += n), soon()),
      dropped: (n) => ((observed.dropped += n), soon()),
      buffered: (n) => ((observed.buffered = n), soon()),
      spillBytes: (b) => ((observed.spillBytes = b), soon()),
      databaseUp: (up) => ((observed.databaseUp = up), soon()),
    },
  });

  // The registry fingerprint poll (gateway/registry-poller.ts) shares this thread's pool: it tells the main thread when to reload.
  const poller = new RegistryPoller({
    run: async (sql) => (await store.pool.query<Record<string, string>>(sql)).rows,
    intervalMs: input.pollMs,
    onFingerprint: (fingerprint) => port.postMessage({ t: 'fingerprint', fingerprint } satisfies ToMain),
    onError: (message) => port.postMessage({ t: 'poll-error', message } satisfies ToMain),
  });
  poller.start();

  port.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'entries':
        writer.enqueueMany(m.entries);
        break;
      case 'flush':
        void writer.flush().finally(() => {
          report();
          port.postMessage({ t: 'flushed', id: m.id } satisfies ToMain);
        });
        break;
      case 'close':
        poller.stop();
        void writer
          .close()
          .catch((err) => logger.error({ err: safeErrorMessage(err) }, 'closing the log writer failed'))
          .finally(async () => {
            report();
            await store.close().catch(() => undefined);
            logger.flush();
            port.postMessage({ t: 'closed' } satisfies ToMain);
          });
        break;
    }
  });
}
