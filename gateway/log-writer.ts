import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../src/config/schema';
import { safeErrorMessage } from '../src/logging/redact';
import { toLogRecord, toViolationRecord, type LogRecord, type LogRow, type LogStore, type ViolationRecord, type ViolationRow } from './log-store';

export type { LogRow, ViolationRow } from './log-store';

/** A queued write: a call's log row or a guardrail violation. */
export type Entry = { kind: 'log'; row: LogRow } | { kind: 'violation'; row: ViolationRow };

/** What the writer reports as it goes (to /metrics, or from the log thread to the main thread). */
export interface LogObserver {
  written(rows: number): void;
  spilled(rows: number): void;
  dropped(rows: number): void;
  buffered(rows: number): void;
  spillBytes(bytes: number): void;
  databaseUp(up: boolean): void;
}

const noObserver: LogObserver = { written() {}, spilled() {}, dropped() {}, buffered() {}, spillBytes() {}, databaseUp() {} };

/** What the gateway needs of a log writer, in-process or on the log thread. */
export interface LogSink {
  enqueueLog(row: LogRow): void;
  enqueueViolation(row: ViolationRow): void;
  /** Resolves once everything queued before the call is in the database (or spilled). */
  flush(): Promise<void>;
  close(): Promise<void>;
  readonly databaseAvailable: boolean;
  readonly buffered: number;
  readonly stats: { written: number; spilled: number; dropped: number; replayed: number };
}

/** A spilled entry, as one JSON line: sticky keys are hashed before they touch the disk. */
type SpilledLine = { t: 'log'; r: LogRecord } | { t: 'violation'; r: ViolationRecord };

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

/**
 * gateway-<database>-<pid>-<started>-<seq>.jsonl, `.claimed-<pid>` once a replica took it over. Files
 * without the database part predate it (any database replays them, as before).
 */
const SPILL_NAME = /^gateway-(?:([0-9a-f]{12})-)?(\d+)-(\d+)-(\d+)\.jsonl(?:\.claimed-(\d+))?$/;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface LogWriterOptions {
  store: LogStore;
  config: GatewayConfig['log'];
  /** Absolute directory of spill files. */
  spillDir: string;
  logger: Logger;
  observer?: LogObserver;
  /** How long one insert may take before the database counts as unavailable (ms). */
  insertTimeoutMs?: number;
  /** How often the database is probed while it is unavailable (ms). */
  probeIntervalMs?: number;
}

/**
 * The historical log, written off the hot path. A call appends its row to an in-memory queue (O(1));
 * a flush loop inserts the queue in batches (`ON CONFLICT DO NOTHING`: every row carries its own id
 * and request_id, so writing a row twice is harmless). When the database cannot be reached, rows go to
 * a bounded spill file under .mms/ instead, the gateway keeps serving, and once a probe reaches the
 * database again the spill is replayed and deleted. close() (SIGTERM) flushes everything that is queued.
 */
export class LogWriter implements LogSink {
  private queue: Entry[] = [];
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
  private readonly observer: LogObserver;
  private readonly probeIntervalMs: number;
  /** Totals, for tests, the bench and /metrics. */
  readonly stats = { written: 0, spilled: 0, dropped: 0, replayed: 0 };

  constructor(private readonly options: LogWriterOptions) {
    this.insertTimeoutMs = options.insertTimeoutMs ?? 10_000;
    this.probeIntervalMs = options.probeIntervalMs ?? 1000;
    this.observer = options.observer ?? noObserver;
    fs.mkdirSync(options.spillDir, { recursive: true, mode: 0o700 });
    this.spillBytes = this.existingSpillBytes();
    this.observer.spillBytes(this.spillBytes);
    this.observer.databaseUp(true);
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
    if (this.queue.length >= this.options.config.batchSize) this.kick();
  }

  enqueueViolation(row: ViolationRow): void {
    this.queue.push({ kind: 'violation', row });
  }

  /** A batch handed over by the main thread. */
  enqueueMany(entries: Entry[]): void {
    for (const e of entries) this.queue.push(e);
    if (this.queue.length >= this.options.config.batchSize) this.kick();
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
      await withTimeout(this.options.store.probe(), 2000, 'database probe');
      return true;
    } catch {
      return false;
    }
  }

  private async flushCycle(): Promise<void> {
    if (this.dbDown) {
      if (Date.now() - this.lastProbe >= this.probeIntervalMs && (await this.probe())) {
        this.dbDown = false;
        this.observer.databaseUp(true);
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
      }
      this.observer.buffered(this.queue.length);
      // Under load, leave room for requests between batches.
      if (this.queue.length > 0) await new Promise((r) => setImmediate(r));
    }
    this.observer.buffered(0);
  }

  private markDown(err: unknown) {
    if (!this.dbDown) this.options.logger.error({ err: safeErrorMessage(err) }, 'cannot write historical logs: spilling to disk until the database is back');
    this.dbDown = true;
    this.needsReplay = true;
    this.lastProbe = Date.now();
    this.observer.databaseUp(false);
  }

  private takeAll(): Entry[] {
    const all = this.queue;
    this.queue = [];
    this.observer.buffered(0);
    return all;
  }


  private async insert(entries: Entry[]): Promise<void> {
    const logs: LogRecord[] = [];
    const violations: ViolationRecord[] = [];
    for (const e of entries) {
      if (e.kind === 'log') logs.push(toLogRecord(e.row));
      else violations.push(toViolationRecord(e.row));
    }
    await this.insertRecords(logs, violations);
  }

  /**
   * Inserts a batch. When it fails but the database answers, the batch holds a row the database
   * refuses: rows are then written one by one and only the refused ones are dropped (and logged), so
   * one bad row can neither block the queue nor send good rows to the spill forever.
   */
  private async insertRecords(logs: LogRecord[], violations: ViolationRecord[]) {
    try {
      await this.insertRecordsOnce(logs, violations);
    } catch (err) {
      if (!(await this.probe())) throw err;
      for (const r of logs) await this.insertRecordsOnce([r], []).catch((e) => this.refused('log', r.requestId, e));
      for (const r of violations) await this.insertRecordsOnce([], [r]).catch((e) => this.refused('violation', r.id, e));
    }
  }

  private async insertRecordsOnce(logs: LogRecord[], violations: ViolationRecord[]) {
    const { store } = this.options;
    if (logs.length > 0) {
      await withTimeout(store.insertLogs(logs), this.insertTimeoutMs, 'log insert');
      this.stats.written += logs.length;
      this.observer.written(logs.length);
    }
    if (violations.length > 0) await withTimeout(store.insertViolations(violations), this.insertTimeoutMs, 'violation insert');
  }

  private refused(kind: string, id: string, err: unknown) {
    this.stats.dropped++;
    this.observer.dropped(1);
    this.options.logger.error({ kind, id, err: safeErrorMessage(err) }, 'the database refused a historical-log row: dropped');
  }

  // ---- spill file
  private spillPath(seq: number) {
    return path.join(this.options.spillDir, `gateway-${this.options.store.database}-${process.pid}-${this.startedAt}-${seq}.jsonl`);
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
    if (!this.spillStream) {
      this.spillFile = this.spillPath(this.spillSeq++);
      this.spillStream = fs.createWriteStream(this.spillFile, { flags: 'a', mode: 0o600 });
      this.spillStream.on('error', (err) => this.options.logger.error({ err: safeErrorMessage(err) }, 'spill file write failed'));
    }
    let lines = '';
    let kept = 0;
    let dropped = 0;
    for (const e of entries) {
      const line: SpilledLine = e.kind === 'log' ? { t: 'log', r: toLogRecord(e.row) } : { t: 'violation', r: toViolationRecord(e.row) };
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
    this.observer.spilled(kept);
    this.observer.spillBytes(this.spillBytes);
    if (dropped > 0) {
      this.stats.dropped += dropped;
      this.observer.dropped(dropped);
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

  /**
   * Spill files this process may replay: rows of its own database only (another database may not have
   * their models: the FK refuses them), its own files, and those of processes that are gone.
   */
  private replayable(): string[] {
    const out: string[] = [];
    for (const name of fs.readdirSync(this.options.spillDir).sort()) {
      const m = SPILL_NAME.exec(name);
      if (!m) continue;
      const [, database, pid, started, , claimedBy] = m;
      if (database !== undefined && database !== this.options.store.database) continue;
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
      let logs: LogRecord[] = [];
      let violations: ViolationRecord[] = [];
      let count = 0;
      const flushBatch = async () => {
        await this.insertRecords(logs, violations);
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
          if (line.t === 'log') logs.push(line.r);
          else violations.push(line.r);
          if (logs.length + violations.length >= this.options.config.batchSize) await flushBatch();
        }
        await flushBatch();
      } finally {
        rl.close();
      }
      fs.rmSync(file, { force: true });
      this.spillBytes = Math.max(0, this.spillBytes - size);
      this.observer.spillBytes(this.spillBytes);
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
