import crypto from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { PrismaLogStore, toLogRecord, toViolationRecord, type LogRow } from '../../gateway/log-store';
import { adminKeyVerifier, modelManagementApi } from '../../api/model-management';
import { createApiKey } from '../../src/auth/api-keys';
import { stickyKeyHash } from '../../src/logs/forget';
import { maintainPartitions } from '../../src/logs/partitions';
import { retentionPolicy } from '../../src/logs/retention';
import { writeAllocation } from '../../src/registry/allocations';
import { evaluationStickyKey, stickyKeysFor } from '../../src/routing/buckets';
import { createTestDatabase, type TestDatabase } from '../support/stack';
import { seedUseCases, testConfig } from '../support/fixtures';

// A player's right to be forgotten, through the REST API behind an admin key, on a real PostgreSQL
// holding the player's rows in several day partitions, the long-term table, violations and replays.
let db: TestDatabase;
let app: FastifyInstance;
let baseUrl: string;
let adminKey: string;
let adminKeyId: string;
let gatewayKey: string;
const config = testConfig({ useCaseIds: ['npc_dialogue'] });
const DAY = 86_400_000;

beforeAll(async () => {
  db = await createTestDatabase();
  await seedUseCases(db.prisma, config);
  app = Fastify();
  await app.register(
    modelManagementApi({
      prisma: db.prisma,
      temporal: async () => {
        throw new Error('the logs routes need no Temporal');
      },
      config,
      verifyApiKey: adminKeyVerifier(db.prisma),
    }),
  );
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  const admin = await createApiKey(db.prisma, { name: 'privacy-desk', scopes: ['admin'] });
  adminKey = admin.key;
  adminKeyId = admin.id;
  gatewayKey = (await createApiKey(db.prisma, { name: 'game', scopes: ['gateway'] })).key;
});
afterAll(async () => {
  await app?.close();
  await db?.drop();
});

function row(stickyKey: string, at: Date, prompt: string, extra: Partial<LogRow> = {}): LogRow {
  const id = crypto.randomUUID();
  return {
    id, requestId: id, modelId: null, useCase: 'npc_dialogue', role: 'stable', allocationVersion: 1, status: 'ok', errorClass: null, prompt, context: { history: [] },
    generatedOutput: 'o', latencyMs: 10, ttftMs: null, tokensIn: 1, tokensOut: 1, costUsd: null, guardrailVerdict: 'pass', stickyKey, performanceMetrics: null,
    timestamp: at, ...extra,
  };
}

/** A real HTTP call (fastify's inject cannot load in jest): status and JSON body. */
async function call(method: string, path: string, key: string, body?: unknown) {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, any>;
  return { statusCode: res.status, json: () => json };
}
const forget = (body: unknown, key = adminKey) => call('POST', '/api/v1/model-management/logs/forget', key, body);

test('a forgotten player has no rows anywhere: every partition, the long-term table, violations and evaluation replays; the audit records it', async () => {
  const store = new PrismaLogStore(db.prisma);
  const now = Date.now();
  // Player A on five days (one 20 days ago with feedback: kept in the long-term table), player B alongside.
  const a = [0, 1, 2, 5].map((d) => row('player-A', new Date(now - d * DAY), `hello from A ${d}`));
  const aOld = row('player-A', new Date(now - 20 * DAY), 'old A', { feedbackScore: 0.9, userFeedback: { score: 0.9 } });
  const b = [0, 1].map((d) => row('player-B', new Date(now - d * DAY), `hello from B ${d}`));
  // An evaluation call replayed A's prompt: a derived row under an evaluation key, after the original.
  const replay = row(evaluationStickyKey(3), new Date(now - 0.5 * DAY), 'hello from A 1');
  const replayOfB = row(evaluationStickyKey(3), new Date(now - 0.5 * DAY), 'hello from B 1');
  // A 0.02% canary's evaluation keys lie far beyond the first thousands: a later allocation version
  // served one, and a replay of A's prompt went to it under its last key.
  const stable = await db.prisma.model.findFirstOrThrow({ where: { useCase: 'npc_dialogue' } });
  const canaryId = crypto.randomUUID();
  const entries = [{ modelId: stable.id, weight: 9998, role: 'stable' as const }, { modelId: canaryId, weight: 2, role: 'canary' as const }];
  await db.prisma.$transaction((tx) => writeAllocation(tx, { useCaseId: 'npc_dialogue', entries, reason: 'tiny canary', createdBy: 'test' }));
  const canaryKey = stickyKeysFor('npc_dialogue', entries, canaryId).at(-1)!;
  expect(Number(canaryKey.replace('mms-eval-', ''))).toBeGreaterThan(8192);
  const replayOnCanary = row(canaryKey, new Date(now - 0.4 * DAY), 'hello from A 2');
  await store.insertLogs([...a, aOld, ...b, replay, replayOfB, replayOnCanary].map(toLogRecord));
  const violation = (r: LogRow) =>
    toViolationRecord({ id: crypto.randomUUID(), logId: r.id, modelId: null, useCaseId: 'npc_dialogue', violationType: 'hate', severity: 'low', violationDetails: {}, outputSample: 'sample', interventionTaken: 'recorded', timestamp: r.timestamp });
  await store.insertViolations([violation(a[0]!), violation(aOld), violation(b[0]!)]);
  await maintainPartitions(db.prisma, retentionPolicy(config.logs, ['npc_dialogue']), { intervalHours: 24, createAheadHours: 72, lockTimeoutMs: 2000 });
  const hashA = stickyKeyHash('player-A');
  expect(await db.prisma.modelHistoricalLogLongTerm.count({ where: { stickyKeyHash: hashA } })).toBe(1);
  expect(new Set((await db.prisma.$queryRawUnsafe<Array<{ p: string }>>(`select tableoid::regclass::text as p from model_historical_logs where sticky_key_hash = $1`, hashA)).map((r) => r.p)).size).toBe(4);

  // Refused without an admin key, and for a bad body, with nothing deleted.
  expect((await forget({ player: 'player-A' }, gatewayKey)).statusCode).toBe(403);
  const bad = await forget({ sticky_key_hash: 'not-a-hash' });
  expect(bad.statusCode).toBe(400);
  expect(bad.json().error.field).toBe('sticky_key_hash');
  expect(((await forget({})).json().error as { field: string }).field).toBe('player');
  expect(await db.prisma.modelHistoricalLog.count({ where: { stickyKeyHash: hashA } })).toBe(4);

  const res = await forget({ player: 'player-A', reason: 'ticket 4711' });
  expect(res.statusCode).toBe(200);
  expect(res.json()).toMatchObject({ sticky_key_hash: hashA, deleted: { logs: 4, long_term_logs: 1, violations: 2, evaluation_replays: 2 } });

  expect(await db.prisma.modelHistoricalLog.count({ where: { stickyKeyHash: hashA } })).toBe(0);
  expect(await db.prisma.modelHistoricalLogLongTerm.count({ where: { stickyKeyHash: hashA } })).toBe(0);
  expect(await db.prisma.modelHistoricalLog.count({ where: { prompt: { startsWith: 'hello from A' } } })).toBe(0);
  expect(await db.prisma.guardrailsViolation.count({ where: { logId: { in: [a[0]!.id, aOld.id] } } })).toBe(0);
  expect(await db.prisma.guardrailsViolationLongTerm.count({ where: { logId: { in: [a[0]!.id, aOld.id] } } })).toBe(0);
  // Player B, and the replay of B's prompt, are untouched.
  expect(await db.prisma.modelHistoricalLog.count({ where: { stickyKeyHash: stickyKeyHash('player-B') } })).toBe(2);
  expect(await db.prisma.modelHistoricalLog.count({ where: { id: replayOfB.id } })).toBe(1);
  expect(await db.prisma.guardrailsViolation.count({ where: { logId: b[0]!.id } })).toBe(1);

  const audit = await db.prisma.auditEvent.findFirstOrThrow({ where: { action: 'logs.forget_player' } });
  expect(audit).toMatchObject({ target: `sticky_key_hash:${hashA}`, keyId: adminKeyId, actor: expect.stringContaining('api:privacy-desk') });
  expect(audit.details).toMatchObject({ logs: 4, longTermLogs: 1, violations: 2, evaluationReplays: 2, reason: 'ticket 4711' });
  // The raw player id is stored nowhere.
  expect(JSON.stringify(audit)).not.toContain('player-A');

  // Forgetting again is harmless and audited too.
  expect((await forget({ sticky_key_hash: hashA })).json().deleted).toEqual({ logs: 0, long_term_logs: 0, violations: 0, evaluation_replays: 0 });
  expect(await db.prisma.auditEvent.count({ where: { action: 'logs.forget_player' } })).toBe(2);
});

test('GET logs/retention lists every partition with the time it is dropped', async () => {
  const res = await call('GET', '/api/v1/model-management/logs/retention', adminKey);
  expect(res.statusCode).toBe(200);
  const plan = res.json() as { policy: Array<{ useCase: string; plain: number }>; partitions: Array<{ table: string; to: string; dropAt: string }> };
  expect(plan.policy[0]).toEqual({ useCase: '(default)', plain: 14, feedback: 180, violation: 180 });
  const day = plan.partitions.find((p) => p.table === 'model_historical_logs')!;
  expect(new Date(day.dropAt).getTime() - new Date(day.to).getTime()).toBe(14 * DAY);
});
