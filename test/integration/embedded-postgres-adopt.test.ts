/**
 * `mms dev` after a crash: the embedded PostgreSQL a killed run left behind is adopted and stopped on
 * exit; one that a live process owns is used and left running, and the progress line says which.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { canConnect, startEmbeddedPostgres } from '../../src/db/embedded-postgres';

const root = path.resolve(__dirname, '../..');
const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mms-adopt-')), 'postgres');
const children: ChildProcess[] = [];

function startOwner(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [path.join(root, 'bin/run-ts.js'), path.join(root, 'test/fixtures/embedded-postgres-owner.ts'), dataDir], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, url: (JSON.parse(line) as { url: string }).url }));
    child.once('exit', (code) => reject(new Error(`owner exited (${code}): ${stderr}`)));
  });
}

const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
const postmasterPid = () => Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  // Whatever happened above, no server is left running on the shared machine.
  if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) {
    const pid = postmasterPid();
    if (alive(pid)) process.kill(pid, 'SIGINT');
  }
  fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
});

test('a server orphaned by a killed owner is adopted and stopped on exit', async () => {
  const owner = await startOwner();
  const pid = postmasterPid();
  owner.child.kill('SIGKILL');
  await exited(owner.child);
  expect(alive(pid)).toBe(true); // the orphan

  const lines: string[] = [];
  const adopted = await startEmbeddedPostgres({ dataDir, database: 'postgres', onProgress: (l) => lines.push(l) });
  expect(adopted.owned).toBe(true);
  expect(lines.join('\n')).toMatch(new RegExp(`adopted the embedded PostgreSQL \\(pid ${pid}\\) left running by process ${owner.child.pid}, which is gone; it is stopped on exit`));
  expect(await canConnect(adopted.url)).toBe(true);
  await adopted.stop();
  expect(alive(pid)).toBe(false);
}, 120_000);

test('a server a live process owns is used and left running, and the line says why', async () => {
  const owner = await startOwner();
  const lines: string[] = [];
  const used = await startEmbeddedPostgres({ dataDir, database: 'postgres', onProgress: (l) => lines.push(l) });
  expect(used.owned).toBe(false);
  expect(lines.join('\n')).toContain(`using the embedded PostgreSQL of process ${owner.child.pid}`);
  expect(lines.join('\n')).toContain('it keeps running when this command exits');
  await used.stop();
  expect(await canConnect(used.url)).toBe(true);
  const pid = postmasterPid();
  owner.child.kill('SIGTERM');
  await exited(owner.child);
  expect(alive(pid)).toBe(false);
}, 120_000);
