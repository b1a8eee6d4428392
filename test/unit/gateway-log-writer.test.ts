import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createPrisma } from '../../src/db/prisma';
import { LogWriter } from '../../gateway/log-writer';
import { PrismaLogStore, toLogRecord, type LogRow } from '../../gateway/log-store';
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
