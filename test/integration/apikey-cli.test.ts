import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registerGatewayCommands } from '../../cli/commands/gateway';
import { hashApiKey } from '../../src/auth/api-keys';
import { createTestDatabase, type TestDatabase } from '../support/stack';
import { runMms } from '../support/cli';

/** `mms apikey create|update|rotate|list|revoke` and `mms audit`, in-process against a real PostgreSQL. */
let db: TestDatabase;
let configFile: string;
const mms = (...args: string[]) => runMms([registerGatewayCommands], configFile, ...args);

beforeAll(async () => {
  db = await createTestDatabase();
  configFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mms-apikey-cli-')), 'mms.config.yaml');
  fs.writeFileSync(
    configFile,
    ['providers: { local: { kind: openai_compatible, baseUrl: "http://127.0.0.1:9/v1" } }', 'useCases: [ { id: npc_dialogue, kind: self_hosted, temperature: 0.7, maxTokens: 64, systemPromptTemplate: "x", initialModel: { provider: local, model: m } } ]'].join('\n'),
  );
  process.env.DATABASE_URL = db.url;
});
afterAll(async () => {
  delete process.env.DATABASE_URL;
  await db.drop();
});

test('limits, budget and expiry at create; update changes and clears them; rotate prints a new secret once; list shows it all', async () => {
  const created = await mms('--json', 'apikey', 'create', 'contractor', '--use-case', 'npc_dialogue', '--rpm', '60', '--tpm', '20000', '--use-case-rpm', 'npc_dialogue=10', '--budget-usd', '5', '--budget-period', 'weekly', '--expires', '30d');
  expect(created.code).toBe(0);
  const key = created.json();
  expect(key.key).toMatch(/^mms_/);
  expect(key.limits).toEqual({ rpm: 60, tpm: 20000, useCases: { npc_dialogue: { rpm: 10 } }, budgetUsd: 5, budgetPeriod: 'weekly' });
  const row = await db.prisma.apiKey.findUniqueOrThrow({ where: { id: key.id } });
  expect(row.keyHash).toBe(hashApiKey(key.key));
  expect(row.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);

  const updated = await mms('apikey', 'update', key.keyPrefix, '--rpm', 'none', '--use-case-tpm', 'npc_dialogue=500', '--budget-usd', '7.5');
  expect(updated.code).toBe(0);
  expect(updated.stdout).toContain('limits 20000 tpm, npc_dialogue 10 rpm, npc_dialogue 500 tpm, $7.5/weekly');

  const rotated = await mms('apikey', 'rotate', key.id, '--grace', '2h');
  expect(rotated.code).toBe(0);
  const [secret, note] = rotated.stdout.trim().split('\n');
  expect(secret).toMatch(/^mms_[A-Za-z0-9_-]{43}$/);
  expect(note).toMatch(/^\(shown once: store it now\) new secret of contractor .* the old secret works until /);
  const after = await db.prisma.apiKey.findUniqueOrThrow({ where: { id: key.id } });
  expect(after.keyHash).toBe(hashApiKey(secret!));
  expect(after.previousKeyHash).toBe(row.keyHash);

  const list = await mms('apikey', 'list');
  expect(list.stdout).toMatch(/LIMITS\s+SPEND\s+EXPIRES\s+LAST USED\s+STATE/);
  expect(list.stdout).toContain('$0.0000 of $7.5 (resets ');
  expect(list.stdout).toContain('rotated; old secret until');
  expect(list.stdout).not.toContain(secret);
  expect(list.stdout).not.toContain(key.key);

  expect((await mms('apikey', 'revoke', key.id)).stdout).toBe('revoked 1 key(s)\n');
  const audit = (await mms('--json', 'audit')).json() as Array<{ action: string; details: Record<string, unknown> }>;
  expect(audit.map((e) => e.action).reverse()).toEqual(['apikey.create', 'apikey.update', 'apikey.rotate', 'apikey.revoke']);
  expect(JSON.stringify(audit)).not.toContain(secret);
  expect(JSON.stringify(audit)).not.toContain(key.key);
});

test('bad values name the flag, exit 2 and change nothing', async () => {
  const before = await db.prisma.apiKey.count();
  expect(await mms('apikey', 'create', 'x', '--rpm', '0')).toMatchObject({ code: 2, stderr: 'mms: --rpm: must be a whole number from 1 to 1000000000, got "0"\n' });
  expect(await mms('apikey', 'create', 'x', '--budget-period', 'hourly')).toMatchObject({ code: 2, stderr: 'mms: --budget-period: must be one of daily, weekly, monthly, got "hourly"\n' });
  expect(await mms('apikey', 'create', 'x', '--use-case-rpm', 'npc_dialogue')).toMatchObject({ code: 2 });
  expect(await mms('apikey', 'create', 'x', '--expires', 'tomorrow-ish')).toMatchObject({ code: 2, stderr: expect.stringContaining('--expires: "tomorrow-ish" is not a duration') });
  expect(await mms('apikey', 'rotate', 'mms_nothing', '--grace', 'soon')).toMatchObject({ code: 2 });
  expect(await mms('apikey', 'rotate', 'mms_nothing')).toMatchObject({ code: 1, stderr: 'mms: no active API key matches "mms_nothing"\n' });
  expect(await mms('apikey', 'update', 'mms_nothing', '--rpm', '5')).toMatchObject({ code: 1 });
  expect(await db.prisma.apiKey.count()).toBe(before);
});
