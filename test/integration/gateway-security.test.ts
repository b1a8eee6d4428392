import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Client as PgClient } from 'pg';
import { request } from 'undici';
import { createApiKey, hashApiKey } from '../../src/auth/api-keys';
import { syncUseCases } from '../../src/registry/use-cases';
import { parseConfig } from '../../src/config/load';
import { createTestDatabase, type TestDatabase } from '../support/stack';
import { startFakeProvider, startTrap, type FakeProvider } from '../../testkit/fake-providers';
import { chatBody, gatewayTestConfig, memoryLogger, startTestGateway, type TestGateway } from '../fixtures/gateway-harness';

/**
 * Anchor tests 8, 9 and 10: no request field or header can point the gateway at another host or
 * attach a credential; planted provider keys appear in no log line, table row or error body; API keys
 * are stored only as hashes; request data never becomes SQL; auth is checked on the route dispatched.
 */
let db: TestDatabase;
let fake: FakeProvider;
let trap: Awaited<ReturnType<typeof startTrap>>;
let gw: TestGateway;
const mem = memoryLogger();

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeProvider();
  trap = await startTrap();
  const config = gatewayTestConfig(fake);
  await syncUseCases(db.prisma, config);
  gw = await startTestGateway(db.prisma, config, { logger: mem.logger });
});
afterAll(async () => {
  await gw.close();
  await fake.close();
  await trap.close();
  await db.drop();
});
beforeEach(() => fake.reset());

describe('SSRF', () => {
  test.each([
    ['api_base', 'TRAP'],
    ['base_url', 'TRAP'],
    ['baseURL', 'TRAP'],
    ['api_key', 'sk-attacker-0000000000'],
    ['extra_headers', { authorization: 'Bearer sk-attacker-0000000000' }],
    ['custom_llm_provider', 'openai'],
    ['url', 'TRAP'],
  ])('body field %s is refused', async (field, value) => {
    const res = await gw.call({ ...chatBody(), [field]: value === 'TRAP' ? trap.url : value });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ param: field, code: 'upstream_override_forbidden' });
    expect(res.body.error.message).toContain("come only from the gateway's configuration");
    expect(fake.counts.chat).toBe(0);
    expect(trap.connections()).toBe(0);
  });

  test.each(['x-portkey-custom-host', 'x-api-base', 'x-base-url', 'x-upstream-url', 'openai-base-url', 'x-provider-api-key', 'x-litellm-api-base'])('header %s is refused', async (header) => {
    const res = await gw.call(chatBody(), { headers: { [header]: trap.url } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ param: header, code: 'upstream_override_forbidden' });
    expect(fake.counts.chat).toBe(0);
    expect(trap.connections()).toBe(0);
  });

  test('Host, X-Forwarded-Host, Forwarded and a model named like a URL never change the upstream', async () => {
    const hostile = { host: trap.host, 'x-forwarded-host': trap.host, forwarded: `host=${trap.host}`, 'x-forwarded-proto': 'http' };
    const res = await gw.call(chatBody(), { headers: hostile });
    expect(res.status).toBe(200);
    expect(fake.counts.chat).toBe(1);
    const asUrl = await gw.call({ ...chatBody(), model: `${trap.url}/v1` });
    expect(asUrl.status).toBe(404);
    expect(asUrl.body.error.param).toBe('model');
    expect(trap.connections()).toBe(0);
  });

  test('no caller header reaches the provider; the provider gets the configured credential only', async () => {
    const res = await gw.call(chatBody(), { headers: { 'x-api-key': 'sk-attacker-1111111111', 'x-custom': 'leak-me', cookie: 'session=abc', 'x-mms-sticky-key': 'p1' } });
    expect(res.status).toBe(200);
    const sent = fake.requests[0]!.headers;
    // The test provider has no key: no authorization at all, and none of the caller's headers.
    expect(sent.authorization).toBeUndefined();
    expect(JSON.stringify(sent)).not.toMatch(/attacker|leak-me|session=abc|mms_|p1/);
  });
});

describe('SQL and auth', () => {
  test('request data never becomes SQL: hostile ids are plain values', async () => {
    const before = await db.prisma.model.count();
    const injected = await gw.call({ ...chatBody(), model: "npc_dialogue'; drop table models; --" });
    expect(injected.status).toBe(404);
    const fb = await gw.call({ request_id: "x' or '1'='1", score: 1 }, { path: '/v1/feedback' });
    expect(fb.status).toBe(404);
    const alloc = await gw.call(undefined, { path: `/v1/allocations/${encodeURIComponent("npc_dialogue' or 1=1 --")}`, internal: true });
    expect(alloc.status).toBe(404);
    expect(await db.prisma.model.count()).toBe(before);
  });

  test('auth is checked on the route dispatched, whatever the path spelling', async () => {
    for (const p of ['/v1/chat/completions', '/v1//chat/completions', '/v1/chat/completions?x=/healthz', '/v1/chat/completions/', '/V1/chat/completions']) {
      const res = await gw.call(chatBody(), { path: p, key: null });
      expect({ p, ok: res.status === 401 || res.status === 404 }).toEqual({ p, ok: true });
    }
    expect(fake.counts.chat).toBe(0);
  });

  test('API keys are stored only as a SHA-256 hash and a short prefix', async () => {
    const created = await createApiKey(db.prisma, { name: 'hash check', scopes: ['gateway'] });
    expect(created.key).toMatch(/^mms_[A-Za-z0-9_-]{43}$/);
    const row = await db.prisma.apiKey.findUniqueOrThrow({ where: { id: created.id } });
    expect(row.keyHash).toBe(hashApiKey(created.key));
    expect(row.keyPrefix).toBe(created.key.slice(0, 12));
    expect(JSON.stringify(row)).not.toContain(created.key);
    // The gateway's own key, used on every call above, is in no log line either.
    expect(mem.lines.join('\n')).not.toContain(gw.key);
  });
});

/** Every row of every table, as text. */
async function dumpDatabase(url: string): Promise<string> {
  const pg = new PgClient({ connectionString: url });
  await pg.connect();
  try {
    const tables = await pg.query<{ table_name: string }>("select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'");
    let out = '';
    for (const { table_name } of tables.rows) {
      const rows = await pg.query(`select t::text as row from "${table_name.replace(/"/g, '')}" t`);
      out += rows.rows.map((r: { row: string }) => r.row).join('\n');
    }
    return out;
  } finally {
    await pg.end();
  }
}

describe('secrets', () => {
  // Shapes no redaction pattern knows: only the registered-secret redaction can catch them.
  const planted = { PLANTED_OPENAI: 'planted-openai-secret-9f8e7d6c5b', PLANTED_ANTHROPIC: 'planted-anthropic-secret-1a2b3c4d', PLANTED_GOOGLE: 'planted-google-secret-5e6f7a8b9c' };
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
    child = undefined;
  });

  test('planted provider keys appear in no log line, table row or error body (gateway process at debug level)', async () => {
    // The fake accepts other keys: every call is refused with a message that echoes the key received.
    const strict = await startFakeProvider({ keys: { openai: 'the-right-key-000000', anthropic: 'the-right-key-000000', google: 'the-right-key-000000' } });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-secrets-'));
    const configFile = path.join(dir, 'mms.config.yaml');
    const uc = (id: string, provider: string, model: string) => ({ id, kind: 'paid', temperature: 0.5, maxTokens: 50, systemPromptTemplate: 'x', initialModel: { provider, model } });
    const configObject = {
      gateway: { port: 0, internal: { port: 0 }, allocationPollMs: 100, retry: { maxAttempts: 2, baseDelayMs: 10 }, log: { flushIntervalMs: 20, spillDir: path.join(dir, 'spill') } },
      providers: {
        openai: { kind: 'openai', baseUrl: strict.baseUrls.openai, apiKeyEnv: 'PLANTED_OPENAI' },
        anthropic: { kind: 'anthropic', baseUrl: strict.baseUrls.anthropic, apiKeyEnv: 'PLANTED_ANTHROPIC' },
        google: { kind: 'google', baseUrl: strict.baseUrls.google, apiKeyEnv: 'PLANTED_GOOGLE' },
      },
      useCases: [uc('uc_openai', 'openai', 'gpt-4o-mini'), uc('uc_anthropic', 'anthropic', 'claude-3-5-haiku-latest'), uc('uc_google', 'google', 'gemini-2.5-flash')],
    };
    fs.writeFileSync(configFile, JSON.stringify(configObject)); // JSON is YAML
    await syncUseCases(db.prisma, parseConfig(configObject));
    const { key } = await createApiKey(db.prisma, { name: 'secrets', scopes: ['gateway'] });

    const root = path.resolve(__dirname, '../..');
    child = spawn(process.execPath, [path.join(root, 'bin/run-ts.js'), path.join(root, 'gateway/main.ts')], {
      cwd: root,
      env: { ...process.env, ...planted, DATABASE_URL: db.url, MMS_CONFIG: configFile, MMS_GATEWAY_PORT: '0', MMS_GATEWAY_INTERNAL_PORT: '0', MMS_LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      readline.createInterface({ input: child!.stdout! }).once('line', resolve);
      child!.once('exit', (code) => reject(new Error(`gateway exited (${code}): ${stderr}`)));
    });
    const { address } = JSON.parse(line) as { address: string };
    const bodies: string[] = [];
    for (const useCase of ['uc_openai', 'uc_anthropic', 'uc_google']) {
      for (const stream of [false, true]) {
        const res = await request(`${address}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ model: useCase, messages: [{ role: 'user', content: 'hi' }], stream }),
        });
        const text = await res.body.text();
        expect(res.statusCode).toBe(502);
        expect(JSON.parse(text).error.code).toBe('upstream_auth');
        bodies.push(text);
      }
    }
    // The provider really did echo the key it received, so a leak would show.
    expect(strict.counts.chat).toBe(6);
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    child = undefined;
    await strict.close();

    const everything = [bodies.join('\n'), stderr, await dumpDatabase(db.url)].join('\n');
    expect(stderr).toContain('provider call failed'); // the failures were logged…
    expect(bodies.join('\n')).toContain('[REDACTED]'); // …and the echoed keys were masked
    for (const secret of Object.values(planted)) expect(everything).not.toContain(secret);
    expect(everything).not.toContain(key);
    expect(await db.prisma.modelHistoricalLog.count({ where: { useCase: { in: ['uc_openai', 'uc_anthropic', 'uc_google'] }, errorClass: 'upstream_auth' } })).toBe(6);
  }, 60_000);
});

test('the in-process gateway logs no provider key either', async () => {
  const strict = await startFakeProvider({ keys: { openai: 'the-right-key-000000' } });
  const db2 = await createTestDatabase();
  const logs = memoryLogger();
  const secret = 'planted-compatible-secret-77aa88bb';
  const config = gatewayTestConfig(strict, { providers: { local: { kind: 'openai_compatible', baseUrl: strict.baseUrls.openai_compatible, apiKeyEnv: 'PLANTED_VLLM' } } });
  await syncUseCases(db2.prisma, config);
  const gw2 = await startTestGateway(db2.prisma, config, { logger: logs.logger, env: { PLANTED_VLLM: secret } });
  try {
    const res = await gw2.call(chatBody());
    expect(res.status).toBe(502);
    expect(res.text).not.toContain(secret);
    expect(strict.requests[0]!.headers.authorization).toBe(`Bearer ${secret}`);
  } finally {
    await gw2.close();
    await strict.close();
  }
  expect(logs.lines.join('\n')).toContain('provider call failed');
  expect(logs.lines.join('\n')).not.toContain(secret);
  expect(await dumpDatabase(db2.url)).not.toContain(secret);
  await db2.drop();
});
