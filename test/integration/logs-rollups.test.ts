import crypto from 'node:crypto';
import { PrismaLogStore, toLogRecord, toViolationRecord, type LogRow } from '../../gateway/log-store';
import { NO_MODEL_ID, rollUpMinutes, rollUpRecent } from '../../src/logs/rollups';
import { readRollups } from '../../src/registry/rollups';
import { createTestDatabase, type TestDatabase } from '../support/stack';
import { seedUseCases, testConfig } from '../support/fixtures';

// Per-minute roll-ups written from the raw rows and read back summed over any bucket.
let db: TestDatabase;
let modelId: string;
const settings = { lookbackMinutes: 10, backfillHours: 2, retentionDays: 400 };

beforeAll(async () => {
  db = await createTestDatabase();
  await seedUseCases(db.prisma, testConfig({ useCaseIds: ['npc_dialogue'] }));
  modelId = (await db.prisma.model.findFirstOrThrow({ where: { useCase: 'npc_dialogue' } })).id;
});
afterAll(async () => db?.drop());

function row(at: Date, extra: Partial<LogRow> = {}): LogRow {
  const id = crypto.randomUUID();
  return {
    id, requestId: id, modelId, useCase: 'npc_dialogue', role: 'stable', allocationVersion: 1, status: 'ok', errorClass: null, prompt: 'p', context: {},
    generatedOutput: 'o', latencyMs: 80, ttftMs: null, tokensIn: 10, tokensOut: 20, costUsd: 0.001, guardrailVerdict: 'pass', stickyKey: 'k', performanceMetrics: null,
    timestamp: at, ...extra,
  };
}

test('minutes are rolled up per use case, model and role; late rows are counted by the next run', async () => {
  const now = new Date();
  const minute = new Date(Math.floor(now.getTime() / 60_000) * 60_000 - 3 * 60_000);
  const at = (s: number) => new Date(minute.getTime() + s * 1000);
  const store = new PrismaLogStore(db.prisma);
  const rows = [
    row(at(1), { latencyMs: 40 }),
    row(at(2), { latencyMs: 80, feedbackScore: 1 }),
    row(at(3), { latencyMs: 300, feedbackScore: 0, attempts: 2, firstAttemptError: 'server_error' }),
    row(at(4), { latencyMs: 2000, status: 'error', errorClass: 'upstream_5xx', tokensIn: null, tokensOut: null, costUsd: null }),
    row(at(5), { latencyMs: 90, status: 'blocked', guardrailVerdict: 'blocked' }),
    row(at(6), { role: 'canary', latencyMs: 45_000 }),
    row(at(7), { modelId: null, status: 'error', latencyMs: 1 }),
  ];
  await store.insertLogs(rows.map(toLogRecord));
  await store.insertViolations([
    toViolationRecord({ id: crypto.randomUUID(), logId: rows[1]!.id, modelId, useCaseId: 'npc_dialogue', violationType: 'fomo', severity: 'low', violationDetails: {}, outputSample: 'x', interventionTaken: 'recorded', timestamp: at(2) }),
  ]);

  const report = await rollUpRecent(db.prisma, settings, now);
  expect(report.rows).toBe(3); // stable, canary, and the call that reached no model

  const [stable] = await readRollups(db.prisma, { from: minute, to: new Date(minute.getTime() + 60_000), useCaseId: 'npc_dialogue', modelId, bucketMinutes: 1 }).then((p) => p.filter((x) => x.role === 'stable'));
  expect(stable).toMatchObject({ calls: 5, errors: 1, blocked: 1, violations: 2, tokensIn: 40, tokensOut: 80, feedbackCount: 2, feedbackMean: 0.5, firstAttemptFailures: 1 });
  expect(stable!.costUsd).toBeCloseTo(0.004, 10);
  // Buckets ≤50, ≤100, ≤250, ≤500, ≤1000, ≤2500, …: 40 | 80, 90 | 300 | 2000.
  expect(stable!.latencyBuckets).toEqual([1, 2, 0, 1, 0, 1, 0, 0, 0, 0]);
  expect(stable!.latencyP50Ms).toBeGreaterThan(50);
  expect(stable!.latencyP50Ms).toBeLessThanOrEqual(100);
  const all = await readRollups(db.prisma, { from: new Date(now.getTime() - 3_600_000), to: now, bucketMinutes: 0 });
  expect(all.find((p) => p.role === 'canary')!.latencyBuckets.at(-1)).toBe(1); // above the last bound
  expect(all.find((p) => p.modelId === NO_MODEL_ID)).toMatchObject({ calls: 1, errors: 1 });

  // A row replayed late from a spill file lands in an already rolled-up minute: the next run counts it.
  await store.insertLogs([toLogRecord(row(at(30), { latencyMs: 60 }))]);
  await rollUpRecent(db.prisma, settings, now);
  const again = await readRollups(db.prisma, { from: minute, to: new Date(minute.getTime() + 60_000), modelId, bucketMinutes: 1 });
  expect(again.find((p) => p.role === 'stable')!.calls).toBe(6);
});

test('whole hours are read from the hourly roll-ups and the ragged edges from the minutes, with the same sums', async () => {
  // A fixed day long ago (the DEFAULT partition holds it): nothing else of this test file is there.
  const at = (hhmmss: string) => new Date(`2025-06-01T${hhmmss}Z`);
  const store = new PrismaLogStore(db.prisma);
  const rows = [
    row(at('09:10:00'), { latencyMs: 40 }),
    row(at('09:59:30'), { latencyMs: 120 }),
    row(at('10:00:10'), { latencyMs: 700, status: 'error', errorClass: 'upstream_5xx' }),
    row(at('10:45:00'), { latencyMs: 80, feedbackScore: 1 }),
    row(at('11:20:00'), { latencyMs: 3000, role: 'canary' }),
    row(at('12:05:00'), { latencyMs: 60 }),
  ];
  await store.insertLogs(rows.map(toLogRecord));
  await rollUpMinutes(db.prisma, at('09:00:00'), at('13:00:00'));
  const hourly = await db.prisma.modelCallRollupHourly.findMany({ where: { modelId, hour: { gte: at('09:00:00'), lt: at('13:00:00') } }, orderBy: { hour: 'asc' } });
  expect(hourly.map((h) => [h.hour.toISOString().slice(11, 16), h.role, h.calls])).toEqual([['09:00', 'stable', 2], ['10:00', 'stable', 2], ['11:00', 'canary', 1], ['12:00', 'stable', 1]]);

  const range = { from: at('09:30:00'), to: at('12:30:00'), modelId };
  const byMinute = await readRollups(db.prisma, { ...range, bucketMinutes: 1 });
  const byHour = await readRollups(db.prisma, { ...range, bucketMinutes: 60 });
  expect(byHour.map((p) => [p.bucket.toISOString().slice(11, 16), p.role, p.calls])).toEqual([['09:00', 'stable', 1], ['10:00', 'stable', 2], ['11:00', 'canary', 1], ['12:00', 'stable', 1]]);
  const [whole] = await readRollups(db.prisma, { ...range, bucketMinutes: 0 }).then((p) => p.filter((x) => x.role === 'stable'));
  const stableMinutes = byMinute.filter((p) => p.role === 'stable');
  expect(whole).toMatchObject({
    calls: 4,
    errors: 1,
    feedbackCount: 1,
    latencyBuckets: stableMinutes.reduce((sum, p) => sum.map((v, i) => v + p.latencyBuckets[i]!), new Array(10).fill(0)),
  });
  expect(whole!.latencyMeanMs).toBeCloseTo((120 + 700 + 80 + 60) / 4, 6);

  // A late row re-rolls its hour; the interior hour is read from the hourly table (its minutes are not read).
  await store.insertLogs([toLogRecord(row(at('10:30:00'), { latencyMs: 90 }))]);
  await rollUpMinutes(db.prisma, at('10:00:00'), at('11:00:00'));
  await db.prisma.modelCallRollup.deleteMany({ where: { modelId, minute: { gte: at('10:00:00'), lt: at('11:00:00') } } });
  const after = await readRollups(db.prisma, { ...range, bucketMinutes: 60 });
  expect(after.find((p) => p.bucket.getTime() === at('10:00:00').getTime())).toMatchObject({ calls: 3, errors: 1 });
});
