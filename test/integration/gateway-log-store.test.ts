import crypto from 'node:crypto';
import { PgLogStore, PrismaLogStore, toLogRecord, type LogRow } from '../../gateway/log-store';
import { createTestDatabase, type TestDatabase } from '../support/stack';
import { seedUseCases, testConfig } from '../support/fixtures';

// The log thread's statement (the batch as one jsonb parameter) on a real PostgreSQL: every column
// round-trips as the other insert path writes it, whatever the text holds, and a batch that holds rows
// already written (a replayed spill) is written without duplicates.
let db: TestDatabase;
let store: PgLogStore;
const config = testConfig({ useCaseIds: ['npc_dialogue'] });

beforeAll(async () => {
  db = await createTestDatabase();
  await seedUseCases(db.prisma, config);
  store = new PgLogStore(db.url);
});
afterAll(async () => {
  await store?.close();
  await db?.drop();
});

const NUL = String.fromCharCode(0);
const awkward = `tab\there, newline\nthere, CR\r, backslash \\ and \\N and \\t spelled out, "quotes", 'single', {braces}, NUL${NUL}, ünïcødé 🐉, comma,`;

function row(extra: Partial<LogRow> = {}): LogRow {
  const id = crypto.randomUUID();
  return {
    id, requestId: `req-${id}`, modelId: null, useCase: 'npc_dialogue', role: 'stable', allocationVersion: 3, status: 'ok', errorClass: null,
    prompt: awkward, context: { system: awkward, history: [{ role: 'user', content: 'a\\b\tc' }], metadata: { npc_name: 'Mara' } },
    generatedOutput: awkward, latencyMs: 21.375, ttftMs: 3.5, tokensIn: 30, tokensOut: 20, costUsd: 0.0000035, guardrailVerdict: 'pass',
    stickyKey: 'player-1', performanceMetrics: { provider: 'vllm', upstreamMs: 20.1 }, timestamp: new Date(), attempts: 2, firstAttemptError: 'timeout', ...extra,
  };
}

test('the jsonb batch writes every column exactly as the array-parameter INSERT does, whatever the text holds', async () => {
  const models = await db.prisma.model.findMany({ take: 1 });
  const viaJson = [row({ modelId: models[0]!.id, generatedOutput: `${awkward} lone surrogate ${String.fromCharCode(0xd800)} end` }), row({ ttftMs: null, costUsd: null, performanceMetrics: null, stickyKey: null, errorClass: 'upstream_5xx', status: 'error', attempts: undefined, firstAttemptError: undefined })];
  const viaArrays = viaJson.map((r) => ({ ...r, id: crypto.randomUUID(), requestId: `${r.requestId}-insert` }));
  await store.insertLogs(viaJson.map(toLogRecord));
  await new PrismaLogStore(db.prisma, db.url).insertLogs(viaArrays.map(toLogRecord));
  const read = async (ids: string[]) => {
    const rows = await db.prisma.modelHistoricalLog.findMany({ where: { id: { in: ids } } });
    return ids.map((id) => {
      const { id: _id, requestId: _requestId, ...rest } = rows.find((r) => r.id === id)!;
      return rest;
    });
  };
  const copied = await read(viaJson.map((r) => r.id));
  expect(copied).toEqual(await read(viaArrays.map((r) => r.id)));
  expect(copied[0]!.generatedOutput).toContain(`lone surrogate \ufffd end`);
  expect(copied[0]).toMatchObject({ prompt: awkward.split(NUL).join(''), modelId: models[0]!.id, latencyMs: 21.375, attempts: 2, firstAttemptError: 'timeout' });
  expect((copied[0]!.context as { history: Array<{ content: string }> }).history[0]!.content).toBe('a\\b\tc');
  expect(copied[1]).toMatchObject({ ttftMs: null, costUsd: null, performanceMetrics: null, stickyKeyHash: null, attempts: null });
});

test('a batch holding rows already written (a replayed spill) writes the new rows and skips the others', async () => {
  const written = [row(), row()];
  await store.insertLogs(written.map(toLogRecord));
  const replay = [...written, row()];
  await store.insertLogs(replay.map(toLogRecord));
  const ids = replay.map((r) => r.id);
  expect(await db.prisma.modelHistoricalLog.count({ where: { id: { in: ids } } })).toBe(3);
});
