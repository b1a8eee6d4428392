import fs from 'node:fs';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import type { PrismaClient } from '@prisma/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createPrisma } from '../../src/db/prisma';
import { applyMigrations } from '../../src/db/migrations';
import { freePort, startEmbeddedPostgres } from '../../src/db/embedded-postgres';
import { resolveTemporal, startDevServer } from '../../src/temporal/server';
import { stateDir } from '../../src/paths';

/** Cleanup steps, run last-in first-out at the end (or on Ctrl-C). */
export type Stops = Array<() => Promise<void>>;

/** Where benches keep their state (embedded databases, server logs): `.mms/bench`. */
export function benchDir(): string {
  const dir = path.join(stateDir, 'bench');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * A bench's teardown list: Temporal's runtime logs errors only; `cleanup()` runs the stops newest
 * first (each failure said, not thrown), and so does Ctrl-C.
 */
export function benchTeardown(say: (line: string) => void): { stops: Stops; cleanup: () => Promise<void> } {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const stops: Stops = [];
  const cleanup = async () => {
    for (const stop of stops.reverse()) await stop().catch((err) => say(`cleanup: ${(err as Error).message}`));
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  return { stops, cleanup };
}

/** A database of the bench's own (`mms_bench_<name>_<pid>`) on DATABASE_URL's server, or on an embedded PostgreSQL; migrated, dropped at the end. */
export async function startBenchDatabase(name: string, stops: Stops, say: (line: string) => void): Promise<PrismaClient> {
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const dataDir = path.join(benchDir(), `${name}-pg-${process.pid}`);
    const pg = await startEmbeddedPostgres({ dataDir, database: 'postgres', onProgress: say });
    stops.push(async () => {
      await pg.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(`${dataDir}.json`, { force: true });
    });
    serverUrl = pg.url;
  }
  const dbName = `mms_bench_${name}_${process.pid}`;
  const admin = new PgClient({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${dbName}`);
  await admin.query(`create database ${dbName}`);
  await admin.end();
  const dbUrl = new URL(serverUrl);
  dbUrl.pathname = `/${dbName}`;
  const server = serverUrl;
  stops.push(async () => {
    const c = new PgClient({ connectionString: server });
    await c.connect();
    await c.query(`drop database if exists ${dbName} with (force)`);
    await c.end();
  });
  say('database: applying migrations');
  await applyMigrations(dbUrl.toString());
  const prisma = createPrisma(dbUrl.toString(), { max: 16 });
  stops.push(() => prisma.$disconnect());
  return prisma;
}

/** The Temporal server the config points at (TEMPORAL_ADDRESS), or a dev server of the bench's own. */
export async function startBenchTemporal(name: string, stops: Stops, say: (line: string) => void): Promise<string> {
  const target = resolveTemporal({ onProgress: say });
  if (target.kind === 'address') return target.address;
  const server = await startDevServer({ binary: target.path, port: await freePort(), headless: true, logFile: path.join(benchDir(), `${name}-temporal.log`) });
  stops.push(server.stop);
  return server.address;
}
