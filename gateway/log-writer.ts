import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Prisma, PrismaClient } from '@prisma/client';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../src/config/schema';
import { safeErrorMessage } from '../src/logging/redact';
import type { GatewayMetrics } from './metrics';

/**
 * The historical log, written off the hot path. A call appends its row to an in-memory queue (O(1));
 * a flush loop inserts the queue in batches (`ON CONFLICT DO NOTHING`: every row carries its own id
 * and request_id, so writing a row twice is harmless). When the database cannot be reached, rows go to
 * a bounded spill file under .mms/ instead, the gateway keeps serving, and once a probe reaches the
 * database again the spill is replayed and deleted. close() (SIGTERM) flushes everything that is queued.
 */
export interface LogRow {
  id: string;
  requestId: string;
  modelId: string | null;
  useCase: string;
  role: string;
  allocationVersion: number | null;
  status: 'ok' | 'error' | 'incomplete' | 'blocked';
  errorClass: string | null;
  prompt: string;
  context: Record<string, unknown>;
  generatedOutput: string;
  latencyMs: number;
  ttftMs: number | null;
  tokensIn: number | null;
  tokensOut: number | null;
  costUsd: number | null;
  guardrailVerdict: string | null;
  /** The raw sticky key: hashed (sha256) when the row is written, never stored as is. */
  stickyKey: string | null;
  performanceMetrics: Record<string, unknown> | null;
  timestamp: Date;
  userFeedback?: Record<string, unknown>;
  feedbackScore?: number;
  correctedOutput?: string;
  feedbackAt?: Date;
}

export interface ViolationRow {
  id: string;
  logId: string;
  modelId: string | null;
  useCaseId: string;
  violationType: string;
  severity: string;
  violationDetails: Record<string, unknown>;
  outputSample: string;
  interventionTaken: string;
  timestamp: Date;
}

type Entry = { kind: 'log'; row: LogRow } | { kind: 'violation'; row: ViolationRow };

const hashKey = (key: string) => crypto.createHash('sha256').update(key).digest('hex');

function toLogData(row: LogRow): Prisma.ModelHistoricalLogCreateManyInput {
  return {
    id: row.id,
    requestId: row.requestId,
    modelId: row.modelId,
    useCase: row.useCase,
    role: row.role,
    allocationVersion: row.allocationVersion,
    status: row.status,
    errorClass: row.errorClass,
    prompt: row.prompt,
    context: row.context as Prisma.InputJsonValue,
    generatedOutput: row.generatedOutput,
    latencyMs: row.latencyMs,
    ttftMs: row.ttftMs,
    tokensIn: row.tokensIn,
    tokensOut: row.tokensOut,
    costUsd: row.costUsd === null ? null : row.costUsd.toFixed(10),
    guardrailVerdict: row.guardrailVerdict,
    stickyKeyHash: row.stickyKey === null ? null : hashKey(row.stickyKey),
    performanceMetrics: (row.performanceMetrics ?? undefined) as Prisma.InputJsonValue | undefined,
    timestamp: row.timestamp,
    userFeedback: row.userFeedback as Prisma.InputJsonValue | undefined,
    feedbackScore: row.feedbackScore,
    correctedOutput: row.correctedOutput,
    feedbackAt: row.feedbackAt,
  };
}

function toViolationData(row: ViolationRow): Prisma.GuardrailsViolationCreateManyInput {
  return { ...row, violationDetails: row.violationDetails as Prisma.InputJsonValue };
}

/** A spilled entry, as one JSON line: sticky keys are hashed before they touch the disk. */
type SpilledLine = { t: 'log'; r: Prisma.ModelHistoricalLogCreateManyInput } | { t: 'violation'; r: Prisma.GuardrailsViolationCreateManyInput };

function reviveDates<T extends Record<string, unknown>>(r: T, keys: string[]): T {
  for (const k of keys) if (typeof r[k] === 'string') (r as Record<string, unknown>)[k] = new Date(r[k] as string);
  return r;
}

class TimeoutError extends Error {}
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]);
}

const SPILL_NAME = /^gateway-(\d+)-(\d+)-(\d+)\.jsonl(?:\.claimed-(\d+))?$/;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface LogWriterOptions {
  prisma: PrismaClient;
  config: GatewayConfig['log'];
  /** Absolute directory of spill files. */
  spillDir: string;
  logger: Logger;
  metrics: GatewayMetrics;
  /** How long one insert may take before the database counts as unavailable (ms). */
  insertTimeoutMs?: number;
  /** How often the database is probed while it is unavailable (ms). */
  probeIntervalMs?: number;
}

export class LogWriter {
  private queue: Entry[] = [];
  private readonly pending = new Map<string, LogRow>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private dbDown = false;
  private lastProbe = 0;
  private needsReplay = true;
  private readonly startedAt = Date.now();
  private spillSeq = 0;
  private spillFile: string | undefined;
  private spillStream: fs.WriteStream | undefined;
  private spillBytes = 0;
  private lastDropLog = 0;
  private readonly insertTimeoutMs: number;
  private readonly probeIntervalMs: number;
  /** Totals, for tests, the bench and /metrics. */
  readonly stats = { written: 0, spilled: 0, dropped: 0, replayed: 0 };

  constructor(private readonly options: LogWriterOptions) {
    this.insertTimeoutMs = options.insertTimeoutMs ?? 10_000;
    this.probeIntervalMs = options.probeIntervalMs ?? 1000;
    fs.mkdirSync(options.spillDir, { recursive: true, mode: 0o700 });
    this.spillBytes = this.existingSpillBytes();
    options.metrics.spillBytes.set(this.spillBytes);
    options.metrics.databaseUp.set(1);
    this.schedule();
  }

  get databaseAvailable() {
    return !this.dbDown;
  }

  get buffered() {
    return this.queue.length;
  }

  enqueueLog(row: LogRow): void {
    this.queue.push({ kind: 'log', row });
    this.pending.set(row.requestId, row);
    if (this.queue.length >= this.options.config.batchSize) this.kick();
  }

  enqueueViolation(row: ViolationRow): void {
    this.queue.push({ kind: 'violation', row });
  }

  isQueued(requestId: string) {
    return this.pending.has(requestId);
  }

  private schedule() {
    if (this.closed) return;
    this.timer = setTimeout(() => this.kick(), this.options.config.flushIntervalMs);
    this.timer.unref();
  }

  /** Starts a flush now (or right after the running one). */
  private kick() {
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.running = this.flushCycle()
      .catch((err) => this.options.logger.error({ err: safeErrorMessage(err) }, 'log flush failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again || this.queue.length >= this.options.config.batchSize) {
          this.again = false;
          if (!this.closed) setImmediate(() => this.kick());
        } else this.schedule();
      });
  }

  /** Waits until everything queued before this call was written (or spilled). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    if (this.timer) clearTimeout(this.timer);
    this.running = this.flushCycle().finally(() => {
      this.running = undefined;
    });
    await this.running;
    this.schedule();
  }

  private async probe(): Promise<boolean> {
    this.lastProbe = Date.now();
    try {
      await withTimeout(this.options.prisma.$queryRaw`select 1`, 2000, 'database probe');
      return true;
    } catch {
      return false;
    }
  }

  private async flushCycle(): Promise<void> {
    if (this.dbDown) {
      if (Date.now() - this.lastProbe >= this.probeIntervalMs && (await this.probe())) {
        this.dbDown = false;
        this.options.metrics.databaseUp.set(1);
        this.options.logger.info('database reachable again: replaying spilled log rows');
      } else {
        await this.spill(this.takeAll());
        return;
      }
    }
    if (this.needsReplay) {
      try {
        await this.replaySpill();
        this.needsReplay = false;
      } catch (err) {
        this.markDown(err);
        await this.spill(this.takeAll());
        return;
      }
    }
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.config.batchSize);
      try {
        await this.insert(batch);
      } catch (err) {
        this.markDown(err);
        await this.spill([...batch, ...this.takeAll()]);
        return;
      } finally {
        this.release(batch);
      }
      this.options.metrics.logBuffered.set(this.queue.length);
      // Under load, leave room for requests between batches.
      if (this.queue.length > 0) await new Promise((r) => setImmediate(r));
    }
    this.options.metrics.logBuffered.set(0);
  }

  private markDown(err: unknown) {
    if (!this.dbDown) this.options.logger.error({ err: safeErrorMessage(err) }, 'cannot write historical logs: spilling to disk until the database is back');
    this.dbDown = true;
    this.needsReplay = true;
    this.lastProbe = Date.now();
    this.options.metrics.databaseUp.set(0);
  }

  private takeAll(): Entry[] {
    const all = this.queue;
    this.queue = [];
    this.options.metrics.logBuffered.set(0);
    return all;
  }

  private release(entries: Entry[]) {
    for (const e of entries) if (e.kind === 'log') this.pending.delete(e.row.requestId);
  }

  private async insert(entries: Entry[]): Promise<void> {
    const logs: Prisma.ModelHistoricalLogCreateManyInput[] = [];
    const violations: Prisma.GuardrailsViolationCreateManyInput[] = [];
    for (const e of entries) {
      if (e.kind === 'log') logs.push(toLogData(e.row));
      else violations.push(toViolationData(e.row));
    }
    await this.insertData(logs, violations);
  }

  private async insertData(logs: Prisma.ModelHistoricalLogCreateManyInput[], violations: Prisma.GuardrailsViolationCreateManyInput[]) {
    const { prisma } = this.options;
    if (logs.length > 0) {
      await withTimeout(prisma.modelHistoricalLog.createMany({ data: logs, skipDuplicates: true }), this.insertTimeoutMs, 'log insert');
      this.stats.written += logs.length;
      this.options.metrics.logRowsWritten.inc(logs.length);
    }
    if (violations.length > 0) {
      await withTimeout(prisma.guardrailsViolation.createMany({ data: violations, skipDuplicates: true }), this.insertTimeoutMs, 'violation insert');
    }
  }

  // ---- spill file
  private spillPath(seq: number) {
    return path.join(this.options.spillDir, `gateway-${process.pid}-${this.startedAt}-${seq}.jsonl`);
  }

  private existingSpillBytes(): number {
    let total = 0;
    for (const name of fs.readdirSync(this.options.spillDir)) {
      if (!SPILL_NAME.test(name)) continue;
      try {
        total += fs.statSync(path.join(this.options.spillDir, name)).size;
      } catch {
        // gone meanwhile
      }
    }
    return total;
  }

  private async spill(entries: Entry[]): Promise<void> {
    if (entries.length === 0) return;
    this.release(entries);
    if (!this.spillStream) {
      this.spillFile = this.spillPath(this.spillSeq++);
      this.spillStream = fs.createWriteStream(this.spillFile, { flags: 'a', mode: 0o600 });
      this.spillStream.on('error', (err) => this.options.logger.error({ err: safeErrorMessage(err) }, 'spill file write failed'));
    }
    let lines = '';
    let kept = 0;
    let dropped = 0;
    for (const e of entries) {
      const line: SpilledLine = e.kind === 'log' ? { t: 'log', r: toLogData(e.row) } : { t: 'violation', r: toViolationData(e.row) };
      const text = `${JSON.stringify(line)}\n`;
      const bytes = Buffer.byteLength(text);
      if (this.spillBytes + bytes > this.options.config.spillMaxBytes) {
        dropped++;
        continue;
      }
      this.spillBytes += bytes;
      lines += text;
      kept++;
    }
    if (lines) {
      const stream = this.spillStream;
      await new Promise<void>((resolve) => {
        if (!stream.write(lines)) stream.once('drain', resolve);
        else resolve();
      });
    }
    this.stats.spilled += kept;
    this.options.metrics.logRowsSpilled.inc(kept);
    this.options.metrics.spillBytes.set(this.spillBytes);
    if (dropped > 0) {
      this.stats.dropped += dropped;
      this.options.metrics.logRowsDropped.inc(dropped);
      if (Date.now() - this.lastDropLog > 10_000) {
        this.lastDropLog = Date.now();
        this.options.logger.error({ dropped, spillMaxBytes: this.options.config.spillMaxBytes }, 'spill file is full: historical log rows are being dropped');
      }
    }
  }

  private async closeSpillStream() {
    const stream = this.spillStream;
    this.spillStream = undefined;
    if (stream) await new Promise<void>((resolve) => stream.end(resolve));
  }

  /** Spill files this process may replay: its own, and those of processes that are gone. */
  private replayable(): string[] {
    const out: string[] = [];
    for (const name of fs.readdirSync(this.options.spillDir).sort()) {
      const m = SPILL_NAME.exec(name);
      if (!m) continue;
      const [, pid, started, , claimedBy] = m;
      const owner = claimedBy ? Number(claimedBy) : Number(pid);
      const ours = claimedBy ? owner === process.pid : owner === process.pid && Number(started) === this.startedAt;
      if (ours) {
        out.push(name);
        continue;
      }
      if (owner === process.pid || processAlive(owner)) continue; // another live replica's file
      const base = name.replace(/\.claimed-\d+$/, '');
      const claimed = `${base}.claimed-${process.pid}`;
      try {
        fs.renameSync(path.join(this.options.spillDir, name), path.join(this.options.spillDir, claimed));
        out.push(claimed);
      } catch {
        // another replica claimed it first
      }
    }
    return out;
  }

  private async replaySpill(): Promise<void> {
    await this.closeSpillStream();
    for (const name of this.replayable()) {
      const file = path.join(this.options.spillDir, name);
      const size = fs.existsSync(file) ? fs.statSync(file).size : 0;
      const rl = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
      let logs: Prisma.ModelHistoricalLogCreateManyInput[] = [];
      let violations: Prisma.GuardrailsViolationCreateManyInput[] = [];
      let count = 0;
      const flushBatch = async () => {
        await this.insertData(logs, violations);
        count += logs.length;
        logs = [];
        violations = [];
      };
      try {
        for await (const text of rl) {
          if (!text.trim()) continue;
          let line: SpilledLine;
          try {
            line = JSON.parse(text) as SpilledLine;
          } catch {
            continue; // a line cut by a crash mid-write
          }
          if (line.t === 'log') logs.push(reviveDates(line.r, ['timestamp', 'feedbackAt']));
          else violations.push(reviveDates(line.r, ['timestamp']));
          if (logs.length + violations.length >= this.options.config.batchSize) await flushBatch();
        }
        await flushBatch();
      } finally {
        rl.close();
      }
      fs.rmSync(file, { force: true });
      this.spillBytes = Math.max(0, this.spillBytes - size);
      this.options.metrics.spillBytes.set(this.spillBytes);
      this.stats.replayed += count;
      this.options.logger.info({ file: name, rows: count }, 'replayed spilled log rows');
    }
  }

  /** Flushes what is queued (or spills it when the database is down), then stops. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    while (this.running) await this.running;
    // One last try of the database, so a recovered database takes the rows rather than the disk.
    if (this.dbDown) this.lastProbe = 0;
    await this.flushCycle().catch((err) => this.options.logger.error({ err: safeErrorMessage(err) }, 'final log flush failed'));
    if (this.queue.length > 0) await this.spill(this.takeAll());
    await this.closeSpillStream();
  }
}
