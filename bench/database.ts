import path from 'node:path';
import { Client as PgClient } from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres';
import { applyMigrations } from '../src/db/migrations';
import { stateDir } from '../src/paths';

/**
 * A fresh, migrated database for one bench run: on DATABASE_URL's server, else on an embedded
 * PostgreSQL of the benches' own (.mms/bench/postgres). `stops` receives what undoes it (drop the
 * database, stop the server if this run started it), to run in reverse order.
 */
export async function freshBenchDatabase(prefix: string, stops: Array<() => Promise<void>>, log: (line: string) => void): Promise<{ url: string; name: string }> {
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const pg = await startEmbeddedPostgres({ dataDir: path.join(stateDir, 'bench', 'postgres'), database: 'postgres', onProgress: log });
    if (pg.owned) stops.push(pg.stop);
    serverUrl = pg.url;
  }
  const server = serverUrl;
  const name = `${prefix}_${Date.now()}`;
  const admin = new PgClient({ connectionString: server });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  stops.push(async () => {
    const c = new PgClient({ connectionString: server });
    await c.connect();
    await c.query(`drop database if exists ${name} with (force)`);
    await c.end();
  });
  const u = new URL(server);
  u.pathname = `/${name}`;
  log(`bench: applying migrations to ${name}`);
  await applyMigrations(u.toString());
  return { url: u.toString(), name };
}
