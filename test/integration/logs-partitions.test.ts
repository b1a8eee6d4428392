import crypto from 'node:crypto';
import { PrismaLogStore, toLogRecord, toViolationRecord, type LogRow } from '../../gateway/log-store';
import { LOG_TABLE, VIOLATION_TABLE, floorToInterval, listPartitions, maintainPartitions, partitionDropAt } from '../../src/logs/partitions';
import { findLoggedCall, recordCallFeedback } from '../../src/registry/feedback';
import { retentionPolicy } from '../../src/logs/retention';
import { createTestDatabase, type TestDatabase } from '../support/stack';
import { seedUseCases, testConfig } from '../support/fixtures';

// Day partitions, retention and the DEFAULT partition on a real PostgreSQL, written through the
// gateway's own insert statement.
let db: TestDatabase;
const config = testConfig({
  useCaseIds: ['npc_dialogue', 'faction_decision'],
  extra: { logs: { retention: { plainDays: 14, feedbackDays: 180, violationDays: 180, useCases: { faction_decision: { plainDays: 30 } } } } },
});
const policy = retentionPolicy(config.logs, config.useCases.map((u) => u.id));
const settings = { intervalHours: 24, createAheadHours: 72, lockTimeoutMs: 2000 };
const DAY = 86_400_000;

beforeAll(async () => {
  db = await createTestDatabase();
  await seedUseCases(db.prisma, config);
});
afterAll(async () => db?.drop());

function row(useCase: string, at: Date, extra: Partial<LogRow> = {}): LogRow {
  const id = crypto.randomUUID();
  return {
    id, requestId: id, modelId: null, useCase, role: 'stable', allocationVersion: 1, status: 'ok', errorClass: null, prompt: 'p', context: {},
    generatedOutput: 'o', latencyMs: 10, ttftMs: null, tokensIn: 1, tokensOut: 1, costUsd: null, guardrailVerdict: 'pass', stickyKey: 'player-1',
    performanceMetrics: null, timestamp: at, ...extra,
  };
}

const partitionOf = async (table: string, logId: string) =>
  (await db.prisma.$queryRawUnsafe<Array<{ p: string }>>(`select tableoid::regclass::text as p from ${table} where log_id = $1::uuid`, logId))[0]?.p;

test('partitions exist ahead of now, for the logs, the violations and the long-term tables', async () => {
  const now = new Date();
  await maintainPartitions(db.prisma, policy, settings, now);
  for (const table of [LOG_TABLE.name, VIOLATION_TABLE.name]) {
    const parts = await listPartitions(db.prisma, table);
    expect(parts.some((p) => p.isDefault)).toBe(true);
    for (let h = 0; h < 72; h += 24) {
      const at = new Date(now.getTime() + h * 3_600_000);
      expect(parts.some((p) => !p.isDefault && p.from! <= at && p.to! > at)).toBe(true);
    }
  }
  // Long-term days are made when rows move there; until then only the DEFAULT partition exists.
  expect((await listPartitions(db.prisma, LOG_TABLE.longTerm)).map((p) => p.name)).toEqual(['model_historical_logs_long_term_default']);
  // A second run changes nothing.
  const again = await maintainPartitions(db.prisma, policy, settings, now);
  expect(again.created.flatMap((c) => c.created)).toEqual([]);
});

test('a row with a timestamp outside every partition lands in DEFAULT, and maintenance gives it a partition', async () => {
  const store = new PrismaLogStore(db.prisma);
  const future = row('npc_dialogue', new Date('2031-03-04T05:06:07Z'));
  const past = row('npc_dialogue', new Date(Date.now() - 400 * DAY));
  await store.insertLogs([toLogRecord(future), toLogRecord(past)]);
  expect(await partitionOf('model_historical_logs', future.id)).toBe('model_historical_logs_default');
  expect(await db.prisma.modelHistoricalLog.count({ where: { id: { in: [future.id, past.id] } } })).toBe(2);

  const report = await maintainPartitions(db.prisma, policy, settings, new Date());
  const logs = report.created.find((c) => c.table === 'model_historical_logs')!;
  expect(logs.created).toContain('model_historical_logs_p20310304');
  expect(logs.movedFromDefault).toBe(2);
  expect(await partitionOf('model_historical_logs', future.id)).toBe('model_historical_logs_p20310304');
  // The 400-day-old row got a partition too, which expired at once in the same run: a plain row, dropped.
  expect(await db.prisma.modelHistoricalLog.count({ where: { id: past.id } })).toBe(0);
  expect(await db.prisma.$queryRawUnsafe<unknown[]>('select 1 from model_historical_logs_default')).toHaveLength(0);
});

test('expired partitions are dropped; feedback, violation and longer-kept rows move to the long-term table first', async () => {
  const store = new PrismaLogStore(db.prisma);
  const day = new Date(Date.now() - 20 * DAY);
  const plain = row('npc_dialogue', day);
  const feedback = row('npc_dialogue', day, { feedbackScore: 0.2, userFeedback: { score: 0.2 }, correctedOutput: 'better' });
  const blocked = row('npc_dialogue', day, { guardrailVerdict: 'blocked', status: 'blocked' });
  const recorded = row('npc_dialogue', day); // verdict pass, but a violation row was recorded for it
  const longerPlain = row('faction_decision', day); // faction_decision keeps plain rows 30 days
  await store.insertLogs([plain, feedback, blocked, recorded, longerPlain].map(toLogRecord));
  await store.insertViolations(
    [blocked, recorded].map((r) =>
      toViolationRecord({ id: crypto.randomUUID(), logId: r.id, modelId: null, useCaseId: 'npc_dialogue', violationType: 'hate', severity: 'low', violationDetails: {}, outputSample: 'x', interventionTaken: 'recorded', timestamp: day }),
    ),
  );
  const now = new Date();
  const report = await maintainPartitions(db.prisma, policy, settings, now);
  const dayName = `model_historical_logs_p${day.toISOString().slice(0, 10).replace(/-/g, '')}`;
  const dropped = report.expired.find((e) => e.table === 'model_historical_logs')!.dropped;
  expect(dropped.map((d) => d.name)).toContain(dayName);
  expect(dropped.find((d) => d.name === dayName)!.movedToLongTerm).toBe(4);
  expect((await listPartitions(db.prisma, 'model_historical_logs')).map((p) => p.name)).not.toContain(dayName);

  // Nothing of that day is left in the partitioned table; the kept rows are in the long-term table.
  const ids = [plain, feedback, blocked, recorded, longerPlain].map((r) => r.id);
  expect(await db.prisma.modelHistoricalLog.count({ where: { id: { in: ids } } })).toBe(0);
  const kept = await db.prisma.modelHistoricalLogLongTerm.findMany({ where: { id: { in: ids } } });
  const byId = new Map(kept.map((k) => [k.id, k]));
  expect(byId.has(plain.id)).toBe(false);
  expect(byId.get(feedback.id)).toMatchObject({ retentionClass: 'feedback', correctedOutput: 'better', feedbackScore: 0.2 });
  expect(byId.get(blocked.id)?.retentionClass).toBe('violation');
  expect(byId.get(recorded.id)?.retentionClass).toBe('violation');
  expect(byId.get(longerPlain.id)?.retentionClass).toBe('plain');
  expect(byId.get(feedback.id)!.expiresAt.getTime()).toBe(day.getTime() + 180 * DAY);
  expect(byId.get(longerPlain.id)!.expiresAt.getTime()).toBe(day.getTime() + 30 * DAY);
  const expiryDay = (d: Date) => `model_historical_logs_long_term_p${new Date(d.getTime()).toISOString().slice(0, 10).replace(/-/g, '')}`;
  expect(await partitionOf('model_historical_logs_long_term', feedback.id)).toBe(expiryDay(byId.get(feedback.id)!.expiresAt));
  // Violations are kept 180 days: their partition of that day stays.
  expect(await db.prisma.guardrailsViolation.count({ where: { logId: { in: [blocked.id, recorded.id] } } })).toBe(2);

  // 15 days on, the 30-day plain row has expired: its long-term day is dropped, the feedback row stays.
  await maintainPartitions(db.prisma, policy, settings, new Date(now.getTime() + 15 * DAY));
  expect(await db.prisma.modelHistoricalLogLongTerm.count({ where: { id: longerPlain.id } })).toBe(0);
  expect(await db.prisma.modelHistoricalLogLongTerm.count({ where: { id: feedback.id } })).toBe(1);

  // Past 180 days everything of that day is gone, violations included.
  const late = await maintainPartitions(db.prisma, policy, settings, new Date(now.getTime() + 165 * DAY));
  expect(late.expired.flatMap((e) => e.failed)).toEqual([]);
  expect(await db.prisma.modelHistoricalLogLongTerm.count({ where: { id: { in: ids } } })).toBe(0);
  expect(await db.prisma.guardrailsViolation.count({ where: { logId: { in: [blocked.id, recorded.id] } } })).toBe(0);
});

test('long-lived rows are copied ahead of the drop; the drop copies only the rows whose feedback arrived since', async () => {
  const store = new PrismaLogStore(db.prisma);
  const HOUR = 3_600_000;
  const day = floorToInterval(new Date(Date.now() - 12 * DAY), 24);
  const dayName = `model_historical_logs_p${day.toISOString().slice(0, 10).replace(/-/g, '')}`;
  const dropAt = partitionDropAt(LOG_TABLE, new Date(day.getTime() + DAY), policy).getTime();
  const at = new Date(day.getTime() + 3 * HOUR);
  const kept = row('npc_dialogue', at, { feedbackScore: 0.9, userFeedback: { score: 0.9 } });
  const late = row('npc_dialogue', at); // plain at the pre-copy; its feedback arrives after it
  const plain = row('npc_dialogue', at);
  await store.insertLogs([kept, late, plain].map(toLogRecord));
  const ahead = { ...settings, precopyAheadHours: 6 };

  // 7 hours before the drop: not yet within the pre-copy lead.
  const early = await maintainPartitions(db.prisma, policy, ahead, new Date(dropAt - 7 * HOUR));
  expect(early.precopied.flatMap((r) => r.precopied).map((p) => p.name)).not.toContain(dayName);
  expect(await db.prisma.modelHistoricalLogLongTerm.count({ where: { id: kept.id } })).toBe(0);

  // 3 hours before: the kept row is copied and the partition stamped; nothing is dropped yet.
  const precopyRun = await maintainPartitions(db.prisma, policy, ahead, new Date(dropAt - 3 * HOUR));
  expect(precopyRun.precopied.flatMap((r) => r.precopied).find((p) => p.name === dayName)).toMatchObject({ rows: 1 });
  expect(precopyRun.expired.flatMap((e) => e.dropped).map((d) => d.name)).not.toContain(dayName);
  expect((await listPartitions(db.prisma, LOG_TABLE.name)).find((p) => p.name === dayName)?.precopiedAt).toBeInstanceOf(Date);
  expect(await db.prisma.modelHistoricalLogLongTerm.count({ where: { id: { in: [kept.id, late.id, plain.id] } } })).toBe(1);
  // A second run does not copy it again.
  const again = await maintainPartitions(db.prisma, policy, ahead, new Date(dropAt - 2 * HOUR));
  expect(again.precopied.flatMap((r) => r.precopied).map((p) => p.name)).not.toContain(dayName);

  // Feedback on the plain row, and a correction of the kept one, after the pre-copy.
  const feedback = async (r: LogRow, score: number, correctedOutput?: string) =>
    recordCallFeedback(db.prisma, r.requestId, (await findLoggedCall(db.prisma, r.requestId))!, { score, correctedOutput, by: 'test', at: new Date() });
  await feedback(late, 0.1);
  await feedback(kept, 0.3, 'corrected after the pre-copy');

  // At the drop only those two rows are copied, replacing the kept row's earlier copy.
  const dropRun = await maintainPartitions(db.prisma, policy, ahead, new Date(dropAt + 60_000));
  const dropped = dropRun.expired.flatMap((e) => e.dropped).find((d) => d.name === dayName);
  expect(dropped).toMatchObject({ precopied: true, movedToLongTerm: 2 });
  expect((await listPartitions(db.prisma, LOG_TABLE.name)).map((p) => p.name)).not.toContain(dayName);
  const longTerm = await db.prisma.modelHistoricalLogLongTerm.findMany({ where: { id: { in: [kept.id, late.id, plain.id] } } });
  expect(longTerm.map((r) => r.id).sort()).toEqual([kept.id, late.id].sort());
  expect(longTerm.find((r) => r.id === kept.id)).toMatchObject({ feedbackScore: 0.3, correctedOutput: 'corrected after the pre-copy', retentionClass: 'feedback' });
  expect(longTerm.find((r) => r.id === late.id)).toMatchObject({ feedbackScore: 0.1, retentionClass: 'feedback' });
});
