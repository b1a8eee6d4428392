import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { request } from 'undici';
import { createApiKey, hashApiKey, listApiKeys, rotateApiKey, updateApiKey } from '../../src/auth/api-keys';
import { syncUseCases } from '../../src/registry/use-cases';
import { createTestDatabase, type TestDatabase } from '../support/stack';
import { startFakeProvider, type FakeProvider } from '../../testkit/fake-providers';
import { USE_CASE, agent, chatBody, gatewayTestConfig, startTestGateway, waitFor, type TestGateway } from '../fixtures/gateway-harness';

/**
 * Keys a studio can hand out, on the real stack (PostgreSQL, gateway processes, a fake provider on
 * 127.0.0.1): per-key limits shared across replicas, budgets with a reset, expiry, rotation, feedback
 * limits, and the internal listener.
 */
let db: TestDatabase;
let fake: FakeProvider;
let gw: TestGateway;
/** The gateway's clock: tests move it across expiries and budget resets instead of waiting. */
let now = Date.UTC(2026, 10, 30, 12, 0, 0);

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeProvider();
  // last_used_at is flushed once at the first settle, then not for ten minutes: only an explicit
  // final settle writes it again, so the batching test below sees it unwritten until then.
  const config = gatewayTestConfig(fake, { gateway: { limits: { feedbackPerMinute: 3, settleMs: 50, lastUsedFlushMs: 600_000 } } });
  await syncUseCases(db.prisma, config);
  gw = await startTestGateway(db.prisma, config, { clock: () => now });
});
afterAll(async () => {
  await gw?.close();
  await fake.close();
  await db.drop();
});

const call = (key: string, body: unknown = chatBody(), options: { path?: string; base?: string } = {}) =>
  request(`${options.base ?? gw.url}${options.path ?? '/v1/chat/completions'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
    dispatcher: agent,
  }).then(async (res) => ({ status: res.statusCode, headers: res.headers, body: (await res.body.json()) as any }));

async function loaded(key: string) {
  await gw.gateway.cache.reload();
  return key;
}

test('a spent budget is refused (429 insufficient_quota naming the budget) until the period resets; list shows the spend', async () => {
  // ~4e-6 USD per call at the test prices: the budget lasts a few calls.
  const { key, id } = await createApiKey(db.prisma, { name: 'contractor', scopes: ['gateway'], budgetUsd: 0.00001, budgetPeriod: 'daily' });
  await loaded(key);
  let calls = 0;
  let refused;
  for (; calls < 50; calls++) {
    const res = await call(key);
    if (res.status !== 200) {
      refused = res;
      break;
    }
  }
  expect(calls).toBeGreaterThanOrEqual(2);
  expect(calls).toBeLessThan(10);
  expect(refused!.status).toBe(429);
  expect(refused!.body.error).toMatchObject({ type: 'insufficient_quota', code: 'budget_exceeded' });
  expect(refused!.body.error.message).toMatch(/daily budget of \$0\.00001; it resets at 2026-12-01T00:00:00\.000Z/);
  // Noon to midnight UTC.
  expect(Number(refused!.headers['retry-after'])).toBe(12 * 3600);
  expect((await call(key)).status).toBe(429);

  await gw.gateway.limiter.settle();
  const listed = (await listApiKeys(db.prisma, now)).find((k) => k.id === id)!;
  expect(listed.spendUsd).toBeGreaterThan(0.00001 * 0.5);
  expect(listed.budgetResetsAt!.toISOString()).toBe('2026-12-01T00:00:00.000Z');

  now += 12 * 3600_000 + 1000; // past midnight UTC: a new daily period
  expect((await call(key)).status).toBe(200);
  now = Date.UTC(2026, 10, 30, 12, 0, 0);
});

test('per use case and per key rpm: the limit that ran out is named', async () => {
  const { key, id } = await createApiKey(db.prisma, { name: 'tool', scopes: ['gateway'], rpm: 5, useCaseLimits: { [USE_CASE]: { rpm: 2 } } });
  await loaded(key);
  expect((await call(key)).status).toBe(200);
  expect((await call(key)).status).toBe(200);
  const third = await call(key);
  expect(third.status).toBe(429);
  expect(third.body.error).toMatchObject({ type: 'rate_limit_error', code: 'use_case_rpm_limit_exceeded' });
  expect(third.body.error.message).toContain(`requests per minute to use case "${USE_CASE}"`);
  expect(Number(third.headers['retry-after'])).toBe(60);

  // `mms apikey update` raises the use-case limit: the key limit (5 rpm) is what binds now.
  await updateApiKey(db.prisma, id, { useCaseLimits: { [USE_CASE]: { rpm: 100 } } });
  await gw.gateway.cache.reload();
  const codes: number[] = [];
  for (let i = 0; i < 4; i++) codes.push((await call(key)).status);
  expect(codes).toEqual([200, 200, 200, 429]);
  expect((await call(key)).body.error.code).toBe('rpm_limit_exceeded');
  now += 60_000; // the next minute
  expect((await call(key)).status).toBe(200);
});

test('an expired key gets 401; keys are held by hash only', async () => {
  const saved = now;
  now = Date.now();
  const { key } = await createApiKey(db.prisma, { name: 'temp', scopes: ['gateway'], expiresAt: new Date(Date.now() + 3600_000) });
  await loaded(key);
  expect((await call(key)).status).toBe(200);
  now = Date.now() + 2 * 3600_000;
  const res = await call(key);
  expect(res.status).toBe(401);
  expect(res.body.error).toMatchObject({ type: 'authentication_error', code: 'expired_api_key' });
  expect(res.body.error.message).toMatch(/expired at/);
  now = saved;
  // The in-memory key table is keyed by SHA-256: no presented secret is kept.
  const held = [...(gw.gateway.cache as unknown as { keys: Map<string, unknown> }).keys.keys()];
  expect(held).toContain(hashApiKey(key));
  expect(held.every((h) => /^[0-9a-f]{64}$/.test(h))).toBe(true);
});

test('a rotated key works old and new through the grace period, and only new after it', async () => {
  const { key: oldKey, id } = await createApiKey(db.prisma, { name: 'game-server', scopes: ['gateway'] });
  await loaded(oldKey);
  const rotated = await rotateApiKey(db.prisma, id, 3600_000);
  expect(rotated.key).not.toBe(oldKey);
  expect(rotated.id).toBe(id);
  await gw.gateway.cache.reload();
  const saved = now;
  now = Date.now();
  expect((await call(oldKey)).status).toBe(200);
  expect((await call(rotated.key)).status).toBe(200);
  now = Date.now() + 3600_000 + 1000;
  const old = await call(oldKey);
  expect(old.status).toBe(401);
  expect(old.body.error.message).toMatch(/was rotated and its grace period ended/);
  expect((await call(rotated.key)).status).toBe(200);
  now = saved;
});

test('last use is written in batches; feedback is limited per key and an unknown request_id is 404 without a flush', async () => {
  const { key, id } = await createApiKey(db.prisma, { name: 'feedback', scopes: ['gateway'] });
  await loaded(key);
  const answered = await call(key);
  expect(answered.status).toBe(200);
  const flush = jest.spyOn(gw.gateway.logWriter, 'flush');
  const unknown = await call(key, { request_id: '00000000-0000-4000-8000-000000000000', score: 1 }, { path: '/v1/feedback' });
  expect(unknown.status).toBe(404);
  expect(flush).not.toHaveBeenCalled();
  // A call this replica just answered may still be buffered: that one may flush.
  expect((await call(key, { request_id: answered.body.id, score: 0.5 }, { path: '/v1/feedback' })).status).toBe(200);
  expect((await call(key, { request_id: answered.body.id, score: 0.6 }, { path: '/v1/feedback' })).status).toBe(200);
  const limited = await call(key, { request_id: answered.body.id, score: 0.7 }, { path: '/v1/feedback' });
  expect(limited.status).toBe(429);
  expect(limited.body.error).toMatchObject({ code: 'feedback_rpm_limit_exceeded' });
  expect(limited.headers['retry-after']).toBeDefined();
  flush.mockRestore();

  const before = await db.prisma.apiKey.findUniqueOrThrow({ where: { id } });
  expect(before.lastUsedAt).toBeNull();
  await gw.gateway.limiter.settle(true);
  const row = await db.prisma.apiKey.findUniqueOrThrow({ where: { id } });
  expect(row.lastUsedAt).not.toBeNull();
  // Writing last_used_at does not make every gateway reload its keys.
  expect(row.updatedAt).toEqual(before.updatedAt);
});

test('/metrics and /v1/allocations answer on the internal listener and not on the public one', async () => {
  // Every lease and settle above reached PostgreSQL (none was granted on trust).
  expect(gw.gateway.limiter.stats.storeErrors).toBe(0);
  expect(gw.gateway.limiter.stats.leases).toBeGreaterThan(0);
  for (const route of ['/metrics', `/v1/allocations/${USE_CASE}`]) {
    expect((await gw.call(undefined, { path: route, key: null, internal: true })).status).toBe(200);
    const pub = await gw.call(undefined, { path: route, key: null });
    expect(pub.status).toBe(404);
    expect(pub.body.error.code).toBe('unknown_url');
  }
  expect(new URL(gw.internalUrl).port).not.toBe(new URL(gw.url).port);
});

// ---- two gateway processes sharing one limit

function spawnGateway(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; address: string }> {
  const root = path.resolve(__dirname, '../..');
  const child = spawn(process.execPath, [path.join(root, 'bin/run-ts.js'), path.join(root, 'gateway/main.ts')], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, address: (JSON.parse(line) as { address: string }).address }));
    child.once('exit', (code) => reject(new Error(`gateway exited (${code}): ${stderr}`)));
  });
}

const stopGateway = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });

test('a key limited to 60 rpm gets 429 with retry-after on call 61 within the minute, across two gateway processes', async () => {
  const other = await createTestDatabase();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-keys-'));
  const config = gatewayTestConfig(fake);
  await syncUseCases(other.prisma, config);
  const { key } = await createApiKey(other.prisma, { name: 'npc-server', scopes: ['gateway'], rpm: 60 });
  const configFile = path.join(dir, 'mms.config.yaml');
  fs.writeFileSync(configFile, JSON.stringify({ gateway: config.gateway, providers: config.providers, useCases: [{ id: USE_CASE, kind: 'self_hosted', temperature: 0.7, maxTokens: 256, systemPromptTemplate: 'You are {{npc_name}}.', initialModel: { provider: 'local', model: 'llama-3.1-8b-instruct' } }] }));
  const env = { DATABASE_URL: other.url, MMS_CONFIG: configFile, MMS_GATEWAY_PORT: '0', MMS_GATEWAY_INTERNAL_PORT: '0' };
  const gateways = await Promise.all([spawnGateway(env), spawnGateway(env)]);
  try {
    // Minute windows are fixed (UTC minutes): start with enough of the minute left for 61 calls.
    await waitFor('a fresh minute', () => Date.now() % 60_000 < 30_000, 35_000, 200);
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 61; i++) {
      last = await call(key, chatBody(`call ${i}`), { base: gateways[i % 2]!.address });
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 60)).toEqual(Array(60).fill(200));
    expect(statuses[60]).toBe(429);
    expect(last!.body.error).toMatchObject({ type: 'rate_limit_error', code: 'rpm_limit_exceeded' });
    expect(last!.body.error.message).toContain('60 requests per minute');
    const retryAfter = Number(last!.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Either replica refuses now: the limit is shared, not per process.
    expect((await call(key, chatBody('again'), { base: gateways[0]!.address })).status).toBe(429);
    expect((await call(key, chatBody('again'), { base: gateways[1]!.address })).status).toBe(429);
    // A clean stop settles: the shared counter holds exactly the 60 calls let through, nothing reserved.
    for (const g of gateways) expect(await stopGateway(g.child)).toBe(0);
    const rows = await other.prisma.apiKeyCounter.findMany({ where: { counter: 'rpm' } });
    expect(rows.map((r) => [Number(r.used), Number(r.reserved)])).toEqual([[60, 60]]);
  } finally {
    for (const g of gateways) await stopGateway(g.child);
    await other.drop();
  }
}, 90_000);
