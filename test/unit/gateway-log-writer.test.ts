import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createPrisma } from '../../src/db/prisma';
import { LogWriter } from '../../gateway/log-writer';
import { PrismaLogStore, databaseIdentity, toLogRecord, type LogRecord, type LogRow, type LogStore } from '../../gateway/log-store';
import { metricsObserver } from '../../gateway/log-thread';
import { GatewayMetrics } from '../../gateway/metrics';

/** With no database reachable (a closed port), rows go to a spill file that never outgrows its bound. */
const row = (i: number): LogRow => ({
  id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  requestId: `req-${i}`,
  modelId: null,
  useCase: 'npc_dialogue',
  role: 'stable',
  allocationVersion: 1,
  status: 'ok',
  errorClass: null,
  prompt: 'p'.repeat(100),
  context: {},
  generatedOutput: 'o'.repeat(100),
  latencyMs: 1,
  ttftMs: null,
  tokensIn: 1,
  tokensOut: 1,
  costUsd: null,
  guardrailVerdict: 'pass',
  stickyKey: `player-${i}`,
  performanceMetrics: null,
  timestamp: new Date(),
});

test('the spill file is bounded: rows beyond spillMaxBytes are dropped and counted, sticky keys are hashed on disk', async () => {
  const spillDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-spill-unit-'));
  const prisma = createPrisma('postgresql://nobody:nothing@127.0.0.1:1/none');
  const metrics = new GatewayMetrics();
  const writer = new LogWriter({ store: new PrismaLogStore(prisma), observer: metricsObserver(metrics), config: { batchSize: 50, flushIntervalMs: 10, maxBufferedRows: 1000, spillDir, spillMaxBytes: 20_000 }, spillDir, logger: pino({ level: 'silent' }) });
  for (let i = 0; i < 200; i++) writer.enqueueLog(row(i));
  await writer.flush();
  await writer.close();
  const files = fs.readdirSync(spillDir);
  expect(files).toHaveLength(1);
  const text = fs.readFileSync(path.join(spillDir, files[0]!), 'utf8');
  expect(Buffer.byteLength(text)).toBeLessThanOrEqual(20_000);
  const lines = text.trim().split('\n');
  expect(writer.stats.spilled).toBe(lines.length);
  expect(writer.stats.dropped).toBe(200 - lines.length);
  expect(writer.stats.dropped).toBeGreaterThan(0);
  expect(writer.stats.written).toBe(0);
  expect(text).not.toContain('player-');
  expect(JSON.parse(lines[0]!).r.stickyKeyHash).toMatch(/^[0-9a-f]{64}$/);
  expect(await metrics.registry.getSingleMetricAsString('mms_gateway_log_rows_dropped_total')).toContain(String(writer.stats.dropped));
  expect(writer.databaseAvailable).toBe(false);
  await prisma.$disconnect();
  fs.rmSync(spillDir, { recursive: true, force: true });
});

describe('log records', () => {
  it('jsonb columns never carry NUL (PostgreSQL refuses it), and text that only spells out \\u0000 is kept', () => {
    const nul = String.fromCharCode(0);
    const record = toLogRecord({ ...row(1), context: { system: `a${nul}b`, history: [{ role: 'user', content: `x${nul}` }], note: 'literally \\u0000' }, performanceMetrics: { provider: 'vllm' } });
    expect(JSON.parse(record.context!)).toEqual({ system: 'ab', history: [{ role: 'user', content: 'x' }], note: 'literally \\u0000' });
    expect(record.performanceMetrics).toBe('{"provider":"vllm"}');
  });
});

/**
 * A store over an in-memory "database": refuses every insert while down, like an unreachable server,
 * and refuses rows whose model it does not have, like model_historical_logs_model_id_fkey.
 */
class MemoryStore implements LogStore {
  readonly rows: LogRecord[] = [];
  up = true;
  constructor(
    readonly database: string,
    private readonly models: Set<string>,
  ) {}
  async insertLogs(rows: LogRecord[]) {
    if (!this.up) throw new Error('connect ECONNREFUSED');
    const unknown = rows.find((r) => r.modelId !== null && !this.models.has(r.modelId));
    if (unknown) throw new Error(`insert or update on table "model_historical_logs" violates foreign key constraint "model_historical_logs_model_id_fkey"`);
    this.rows.push(...rows);
  }
  async insertViolations() {}
  async probe() {
    if (!this.up) throw new Error('connect ECONNREFUSED');
  }
  async close() {}
}

test('spilled rows are replayed into the database they were spilled for, never into another one sharing the spill directory', async () => {
  // What refused 604 rows in a bench run: a spill file left by an earlier run (its database dropped
  // under a stopping gateway) was replayed into the next run's fresh database, whose models differ.
  const spillDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-spill-scope-'));
  const config = { batchSize: 50, flushIntervalMs: 10, maxBufferedRows: 1000, spillDir, spillMaxBytes: 1_000_000 };
  const logger = pino({ level: 'silent' });
  const modelA = '00000000-0000-4000-8000-00000000000a';
  const [databaseA, databaseB] = ['aaaaaaaaaaaa', 'bbbbbbbbbbbb'];

  const downA = new MemoryStore(databaseA, new Set([modelA]));
  downA.up = false;
  const spilling = new LogWriter({ store: downA, config, spillDir, logger });
  for (let i = 0; i < 10; i++) spilling.enqueueLog({ ...row(i), modelId: modelA });
  await spilling.close();
  expect(spilling.stats.spilled).toBe(10);
  // Another replica replays only the files of processes that are gone: make it the file of an exited process.
  const gone = spawnSync(process.execPath, ['-e', '']).pid;
  const [file] = fs.readdirSync(spillDir);
  fs.renameSync(path.join(spillDir, file!), path.join(spillDir, file!.replace(`-${process.pid}-`, `-${gone}-`)));

  const storeB = new MemoryStore(databaseB, new Set());
  const writerB = new LogWriter({ store: storeB, config, spillDir, logger });
  writerB.enqueueLog(row(100));
  await writerB.flush();
  await writerB.close();
  expect(storeB.rows.map((r) => r.requestId)).toEqual(['req-100']);
  expect(writerB.stats).toMatchObject({ written: 1, replayed: 0, dropped: 0 });

  const storeA = new MemoryStore(databaseA, new Set([modelA]));
  const writerA = new LogWriter({ store: storeA, config, spillDir, logger });
  await writerA.flush();
  await writerA.close();
  expect(writerA.stats).toMatchObject({ replayed: 10, dropped: 0 });
  expect(storeA.rows).toHaveLength(10);
  expect(fs.readdirSync(spillDir)).toEqual([]);
  fs.rmSync(spillDir, { recursive: true, force: true });
});

test("a database's identity is its host, port and name, never its credentials", () => {
  const identity = databaseIdentity('postgresql://mms:secret@127.0.0.1:5432/mms_bench_1');
  expect(identity).toMatch(/^[0-9a-f]{12}$/);
  expect(databaseIdentity('postgresql://other:pw@127.0.0.1:5432/mms_bench_1')).toBe(identity);
  expect(databaseIdentity('postgresql://mms:secret@127.0.0.1:5432/mms_bench_2')).not.toBe(identity);
  expect(databaseIdentity('postgresql://mms:secret@127.0.0.1:5433/mms_bench_1')).not.toBe(identity);
});
