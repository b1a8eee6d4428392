import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Pool } from 'undici';
import { createApiKey } from '../../src/auth/api-keys';
import { createPrisma } from '../../src/db/prisma';
import { freePort } from '../../src/db/embedded-postgres';
import { applyMigrations } from '../../src/db/migrations';
import { syncUseCases } from '../../src/registry/use-cases';
import { createTestDatabase } from '../support/stack';
import { startFakeProvider, type FakeProvider } from '../../testkit/fake-providers';
import { USE_CASE, chatBody, gatewayTestConfig, memoryLogger, waitFor } from '../fixtures/gateway-harness';
import { createGatewayServer } from '../../gateway';

/**
 * Exactly one log row per call: under a 30 s open-loop burst across a SIGTERM restart of the gateway
 * process, and with the database stopped for 10 s in the middle of the traffic (rows spill to disk and
 * are replayed when it returns).
 */
let fake: FakeProvider;
beforeAll(async () => {
  fake = await startFakeProvider({ record: false });
});
afterAll(async () => {
  await fake.close();
});

interface Load {
  okIds: Set<string>;
  other: Map<string, number>;
  sent: number;
  done: Promise<void>;
}

/** Open loop: a request every 1000/rate ms by the clock, whatever the answers do. */
function openLoop(url: string, key: string, rate: number, durationMs: number, tag: string): Load {
  const pool = new Pool(url, { connections: 64 });
  const load: Load = { okIds: new Set(), other: new Map(), sent: 0, done: Promise.resolve() };
  const inflight: Promise<void>[] = [];
  const started = Date.now();
  const count = (what: string) => load.other.set(what, (load.other.get(what) ?? 0) + 1);
  load.done = (async () => {
    for (let i = 0; ; i++) {
      const due = started + (i * 1000) / rate;
      if (due - started >= durationMs) break;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      load.sent++;
      inflight.push(
        pool
          .request({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(chatBody(`${tag}-${i}`)) })
          .then(async (res) => {
            const text = await res.body.text();
            if (res.statusCode === 200) load.okIds.add(JSON.parse(text).id);
            else count(`http ${res.statusCode}`);
          })
          .catch((err: { code?: string }) => void count(err.code ?? 'error')),
      );
    }
    await Promise.all(inflight);
    await pool.close();
  })();
  return load;
}

/** A PostgreSQL of this test's own, in a child process that can stop and start it. */
async function startOwnPostgres(dataDir: string, port: number) {
  const root = path.resolve(__dirname, '../..');
  const child = spawn(process.execPath, [path.join(root, 'bin/run-ts.js'), path.join(root, 'test/fixtures/pg-server.ts'), dataDir, String(port)], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout! });
  const next = () => new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`pg-server exited (${code})`)));
  });
  const { url } = JSON.parse(await next()) as { url: string };
  const command = async (cmd: 'stop' | 'start') => {
    const answer = next();
    child.stdin!.write(`${cmd}\n`);
    await answer;
  };
  return {
    url,
    stop: () => command('stop'),
    start: () => command('start'),
    close: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.stdin!.end();
    }),
  };
}

function spawnGateway(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; address: string; stderr: () => string }> {
  const root = path.resolve(__dirname, '../..');
  const child = spawn(process.execPath, [path.join(root, 'bin/run-ts.js'), path.join(root, 'gateway/main.ts')], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, address: (JSON.parse(line) as { address: string }).address, stderr: () => stderr }));
    child.once('exit', (code) => reject(new Error(`gateway exited (${code}): ${stderr}`)));
  });
}

const stopGateway = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });

// Both tests allow 240 s: about 40 s on a quiet machine, minutes on a loaded one (two gateway starts,
// a 30 s burst, an embedded PostgreSQL stopped and started).
test('exactly one log row per answered call under a 30 s burst, across a SIGTERM restart', async () => {
  const db = await createTestDatabase();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-restart-'));
  const config = gatewayTestConfig(fake, { gateway: { log: { spillDir: path.join(dir, 'spill') } } });
  await syncUseCases(db.prisma, config);
  const { key } = await createApiKey(db.prisma, { name: 'burst', scopes: ['gateway'] });
  const configFile = path.join(dir, 'mms.config.yaml');
  fs.writeFileSync(configFile, JSON.stringify({ gateway: { ...config.gateway, port: 0 }, providers: config.providers, useCases: [{ id: USE_CASE, kind: 'self_hosted', temperature: 0.7, maxTokens: 256, systemPromptTemplate: 'You are {{npc_name}}.', initialModel: { provider: 'local', model: 'llama-3.1-8b-instruct' } }] }));
  const port = await freePort();
  const env = { DATABASE_URL: db.url, MMS_CONFIG: configFile, MMS_GATEWAY_PORT: String(port) };
  let gateway = await spawnGateway(env);
  try {
    const load = openLoop(gateway.address, key, 200, 30_000, 'burst');
    // Restart mid-burst, once the gateway has answered (and so owes log rows for) 2,400 calls.
    await waitFor('2,400 answered calls before the restart', () => load.okIds.size >= 2400, 60_000, 100);
    const code = await stopGateway(gateway.child);
    expect(code).toBe(0);
    gateway = await spawnGateway(env);
    await load.done;
    // Calls to the restarted gateway are answered too: how many of the burst's found it up depends on
    // how long the restart took on this machine (seconds when loaded), so two seconds more of calls
    // after it prove it, whatever the load.
    const after = openLoop(gateway.address, key, 200, 2000, 'burst-after');
    await after.done;
    expect(await stopGateway(gateway.child)).toBe(0);

    expect(load.sent).toBe(6000);
    expect(after.okIds.size).toBeGreaterThan(0);
    const answered = load.okIds.size + after.okIds.size;
    for (const reason of [...load.other.keys(), ...after.other.keys()]) expect(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'http 503']).toContain(reason);
    const rows = await db.prisma.modelHistoricalLog.findMany({ where: { useCase: USE_CASE, prompt: { startsWith: 'burst-' } }, select: { requestId: true } });
    const logged = new Set(rows.map((r) => r.requestId!));
    expect(rows.length).toBe(logged.size);
    expect(rows.length).toBe(answered);
    for (const id of [...load.okIds, ...after.okIds]) expect(logged.has(id)).toBe(true);
  } finally {
    gateway.child.kill('SIGKILL');
    await db.drop();
  }
}, 240_000);

test('the database down for 10 s: the gateway keeps serving, rows spill to disk and none is lost when it returns', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-dbdown-'));
  const dataDir = path.join(dir, 'pg');
  const port = await freePort();
  const pg = await startOwnPostgres(dataDir, port);
  await applyMigrations(pg.url);
  const prisma = createPrisma(pg.url);
  const config = gatewayTestConfig(fake, { gateway: { log: { spillDir: path.join(dir, 'spill') } } });
  await syncUseCases(prisma, config);
  const { key } = await createApiKey(prisma, { name: 'dbdown', scopes: ['gateway'] });
  const { logger } = memoryLogger();
  // With databaseUrl the logs go through the log thread, as in a gateway process.
  const gateway = createGatewayServer({ prisma, config, logger, databaseUrl: pg.url });
  const url = await gateway.listen();
  try {
    const load = openLoop(url, key, 100, 25_000, 'dbdown');
    await waitFor('rows logged before the outage', async () => (await prisma.modelHistoricalLog.count({ where: { prompt: { startsWith: 'dbdown-' } } })) >= 400, 30_000, 100);
    await pg.stop();
    const stoppedAt = Date.now();
    await waitFor('the gateway to notice', () => gateway.logWriter.stats.spilled > 0, 10_000, 100);
    const spillFiles = fs.readdirSync(path.join(dir, 'spill'));
    expect(spillFiles.length).toBeGreaterThan(0);
    const ready = await fetch(`${url}/readyz`).then((r) => r.json() as Promise<{ status: string; logDatabaseAvailable: boolean }>);
    expect(ready).toMatchObject({ status: 'ready', logDatabaseAvailable: false });
    // The outage lasts 10 s: that is the fault under test, not a wait for something to happen.
    await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - stoppedAt))));
    await pg.start();
    await load.done;
    expect(load.other).toEqual(new Map()); // every call was answered, database or not
    expect(load.okIds.size).toBe(load.sent);

    await waitFor('every row to reach the database', async () => (await prisma.modelHistoricalLog.count({ where: { prompt: { startsWith: 'dbdown-' } } }).catch(() => -1)) === load.okIds.size, 30_000, 250);
    const rows = await prisma.modelHistoricalLog.findMany({ where: { prompt: { startsWith: 'dbdown-' } }, select: { requestId: true } });
    expect(new Set(rows.map((r) => r.requestId)).size).toBe(rows.length);
    for (const row of rows) expect(load.okIds.has(row.requestId!)).toBe(true);
    expect(gateway.logWriter.stats.spilled).toBeGreaterThan(500); // ~10 s × 100 calls/s went through the spill
    expect(gateway.logWriter.stats.replayed).toBe(gateway.logWriter.stats.spilled);
    expect(gateway.logWriter.stats.dropped).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'spill'))).toEqual([]);
  } finally {
    await gateway.close();
    await prisma.$disconnect();
    await pg.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 240_000);
