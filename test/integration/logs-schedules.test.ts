import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import { PrismaLogStore, toLogRecord } from '../../gateway/log-store';
import { listPartitions } from '../../src/logs/partitions';
import { ensureLogSchedules } from '../../workers/log-schedules';
import { LOG_ROLLUPS_SCHEDULE_ID, PARTITION_MAINTENANCE_SCHEDULE_ID } from '../../workflows/log-maintenance-messages';
import { createTestDatabase, startControlWorker, temporalClient, uniqueTaskQueue, type TestDatabase } from '../support/stack';
import { seedUseCases, testConfig } from '../support/fixtures';
import { waitFor } from '../support/rollout';

// The schedules `mms dev` and the worker create: idempotent, following the config, and running the
// maintenance workflow on the real Temporal server against the real database.
let db: TestDatabase;
let client: Client;
let worker: Awaited<ReturnType<typeof startControlWorker>>;
const taskQueue = uniqueTaskQueue('logs');
const config = (plainDays: number) =>
  testConfig({ extra: { temporal: { controlTaskQueue: taskQueue }, logs: { retention: { plainDays }, rollups: { intervalSeconds: 3600 } } } });

beforeAll(async () => {
  db = await createTestDatabase();
  await seedUseCases(db.prisma, config(14));
  client = await temporalClient();
  // Start from no schedules, whatever ran on this server before.
  for (const id of [PARTITION_MAINTENANCE_SCHEDULE_ID, LOG_ROLLUPS_SCHEDULE_ID]) await client.schedule.getHandle(id).delete().catch(() => undefined);
  worker = await startControlWorker({ taskQueue, prisma: db.prisma });
});

afterAll(async () => {
  for (const id of [PARTITION_MAINTENANCE_SCHEDULE_ID, LOG_ROLLUPS_SCHEDULE_ID]) await client?.schedule.getHandle(id).delete().catch(() => undefined);
  await worker?.stop();
  await client?.connection.close();
  await db?.drop();
});

test('schedules are created once, left alone when unchanged, updated when the config changes, and maintenance runs', async () => {
  // A late row in DEFAULT: the first (immediate) maintenance run gives it a partition.
  const at = new Date('2030-01-02T03:04:05Z');
  const id = crypto.randomUUID();
  await new PrismaLogStore(db.prisma).insertLogs([
    toLogRecord({ id, requestId: id, modelId: null, useCase: 'npc_dialogue', role: 'stable', allocationVersion: 1, status: 'ok', errorClass: null, prompt: 'p', context: {}, generatedOutput: 'o', latencyMs: 1, ttftMs: null, tokensIn: 1, tokensOut: 1, costUsd: null, guardrailVerdict: 'pass', stickyKey: null, performanceMetrics: null, timestamp: at }),
  ]);

  expect(await ensureLogSchedules(client, config(14))).toEqual([
    { scheduleId: PARTITION_MAINTENANCE_SCHEDULE_ID, result: 'created' },
    { scheduleId: LOG_ROLLUPS_SCHEDULE_ID, result: 'created' },
  ]);
  expect((await ensureLogSchedules(client, config(14))).map((r) => r.result)).toEqual(['unchanged', 'unchanged']);

  const handle = client.schedule.getHandle(PARTITION_MAINTENANCE_SCHEDULE_ID);
  const run = await waitFor('the first maintenance run', async () => (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId);
  await client.workflow.getHandle(run).result();
  expect((await listPartitions(db.prisma, 'model_historical_logs')).map((p) => p.name)).toContain('model_historical_logs_p20300102');

  expect((await ensureLogSchedules(client, config(7))).map((r) => r.result)).toEqual(['updated', 'unchanged']);
  const described = await handle.describe();
  expect(described.action.type === 'startWorkflow' && (described.action.args as Array<{ policy: { defaults: { plain: number } } }>)[0]!.policy.defaults.plain).toBe(7);
  expect(described.spec.intervals?.[0]?.every).toBe(60 * 60_000);
});
