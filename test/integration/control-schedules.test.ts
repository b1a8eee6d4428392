import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { ensureControlPlane } from '../../workers/control-schedules';
import { createTestDatabase, temporalAddress, type TestDatabase } from '../support/stack';
import { seedUseCases, testConfig } from '../support/fixtures';
import { waitFor } from '../support/rollout';

/**
 * The control worker's schedules are one list (workers/control-schedules.ts), ensured in one place by
 * both entry points that start a control worker: `mms dev` and `workers/control-main`. Ensured in a
 * namespace of its own (so no other test file's schedules are touched), the list makes exactly the
 * schedules the workflows define (every `*_SCHEDULE_ID` of workflows/*-messages.ts): a schedule added
 * to the workflows and not to the list fails here; both entry points go through `ensureControlPlane`
 * and name no single schedule, so they cannot drift apart.
 */
const root = path.join(__dirname, '../..');
let db: TestDatabase;
let client: Client;

/** Every schedule id the workflows' messages define. */
function scheduleIdsOfTheWorkflows(): string[] {
  const dir = path.join(root, 'workflows');
  const ids = new Set<string>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('-messages.ts'))) {
    const exported = require(path.join(dir, file)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(exported)) if (name.endsWith('SCHEDULE_ID') && typeof value === 'string') ids.add(value);
  }
  return [...ids].sort();
}

beforeAll(async () => {
  db = await createTestDatabase();
  const namespace = `control-schedules-${crypto.randomBytes(3).toString('hex')}`;
  const connection = await Connection.connect({ address: temporalAddress() });
  await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  client = new Client({ connection, namespace });
  // A namespace just registered reaches the frontend's cache a moment later: wait until it answers.
  await waitFor(`namespace ${namespace} serves`, async () => (await connection.workflowService.describeNamespace({ namespace }).then(() => client.schedule.list()[Symbol.asyncIterator]().next()).then(() => true, () => false)), 60_000, 200);
}, 120_000);

afterAll(async () => {
  await client?.connection.close();
  await db?.drop();
});

test('one list: ensureControlPlane makes every schedule the workflows define, and both entry points start that list only', async () => {
  const config = testConfig({
    extra: { providers: { local: { kind: 'openai_compatible', baseUrl: 'http://127.0.0.1:9/v1' }, openai: { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1' } }, temporal: { controlTaskQueue: 'control-schedules-nobody-polls' } },
  });
  await seedUseCases(db.prisma, config);
  const expected = scheduleIdsOfTheWorkflows();
  expect(expected.length).toBeGreaterThanOrEqual(5);

  const { schedules, monitors } = await ensureControlPlane(client, config, db.prisma);
  expect(schedules.map((s) => s.scheduleId).sort()).toEqual(expected);
  expect(schedules.every((s) => s.result === 'created')).toBe(true);
  expect(monitors.map((m) => m.useCaseId)).toEqual(['npc_dialogue']);
  const listed: string[] = [];
  for await (const s of client.schedule.list()) listed.push(s.scheduleId);
  expect(listed.sort()).toEqual(expected);
  // Idempotent: a second start (another replica, `mms dev` after a worker) changes nothing.
  expect((await ensureControlPlane(client, config, db.prisma)).schedules.map((s) => s.result)).toEqual(schedules.map(() => 'unchanged'));

  // The two entry points: each ensures the control plane through the one list and names no schedule itself.
  for (const entry of ['cli/commands/dev.ts', 'workers/control-main.ts']) {
    const source = fs.readFileSync(path.join(root, entry), 'utf8');
    expect({ entry, callsTheList: /ensureControlPlane\(/.test(source), namesOne: source.match(/ensure\w*Schedules?\b|ensureGuardrailsMonitors/g) ?? [] }).toEqual({ entry, callsTheList: true, namesOne: [] });
  }
}, 120_000);
