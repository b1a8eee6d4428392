import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import type { PrismaClient } from '@prisma/client';
import { createPrisma } from '../../src/db/prisma';
import { createControlWorker, type ControlWorkerDeps } from '../../workers/control';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through jest (test/support/global-setup.ts)`);
  return value;
}

export const databaseServerUrl = () => required('MMS_TEST_DATABASE_SERVER_URL');
export const temporalAddress = () => required('MMS_TEST_TEMPORAL_ADDRESS');
export const workflowBundlePath = () => required('MMS_TEST_WORKFLOW_BUNDLE');
/** OpenAI base URL (…/v1) of the local embeddings server the test stack started. */
export const embeddingsUrl = () => required('MMS_TEST_EMBEDDINGS_URL');

export function databaseUrl(name: string): string {
  const u = new URL(databaseServerUrl());
  u.pathname = `/${name}`;
  return u.toString();
}

export interface TestDatabase {
  name: string;
  url: string;
  prisma: PrismaClient;
  drop(): Promise<void>;
}

/** A fresh database with every migration applied, cloned from the template the test stack made. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `mms_test_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new PgClient({ connectionString: databaseServerUrl() });
  await admin.connect();
  try {
    await admin.query(`create database ${name} template ${required('MMS_TEST_TEMPLATE_DATABASE')}`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(name);
  const prisma = createPrisma(url);
  return {
    name,
    url,
    prisma,
    drop: async () => {
      await prisma.$disconnect();
      const c = new PgClient({ connectionString: databaseServerUrl() });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`).catch(() => undefined);
      await c.end();
    },
  };
}

let runtimeInstalled = false;
function quietRuntime() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // already installed by another helper in this process
  }
}

export async function temporalClient(): Promise<Client> {
  const connection = await Connection.connect({ address: temporalAddress() });
  return new Client({ connection, namespace: 'default' });
}

export async function workerConnection(): Promise<NativeConnection> {
  quietRuntime();
  return NativeConnection.connect({ address: temporalAddress() });
}

export const uniqueTaskQueue = (prefix: string) => `${prefix}-${crypto.randomBytes(4).toString('hex')}`;

/**
 * The workflow code of an earlier commit, bundled (cached in .mms/test by commit): what a worker ran
 * before a deploy, for tests of workflows that live across one. Needs the repository's git history.
 */
export async function workflowBundleAt(commit: string): Promise<string> {
  const root = path.resolve(__dirname, '../..');
  const dir = path.join(root, '.mms/test');
  const file = path.join(dir, `workflow-bundle-${commit}.js`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(dir, { recursive: true });
  const sources = fs.mkdtempSync(path.join(dir, `workflows-${commit}-`));
  try {
    // inside the repository, so the bundler resolves packages from its node_modules
    let tar: Buffer;
    try {
      tar = execFileSync('git', ['archive', commit, 'workflows', 'src', 'activities'], { cwd: root, maxBuffer: 512 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      throw new Error(`the workflow code of commit ${commit} is needed from git, and git archive failed (a shallow clone or an export without history? \`git fetch --unshallow\`): ${(err as { stderr?: Buffer }).stderr?.toString().trim() ?? String(err)}`);
    }
    execFileSync('tar', ['-x', '-C', sources], { input: tar });
    const silent = { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} };
    const { code } = await bundleWorkflowCode({ workflowsPath: path.join(sources, 'workflows/index.ts'), logger: silent });
    fs.writeFileSync(`${file}.${process.pid}`, code);
    fs.renameSync(`${file}.${process.pid}`, file);
    return file;
  } finally {
    fs.rmSync(sources, { recursive: true, force: true });
  }
}

/** A control worker over the shared workflow bundle (or `workflowBundleFile`, e.g. older code), in this process. */
export async function startControlWorker(
  deps: Omit<ControlWorkerDeps, 'connection' | 'namespace' | 'workflowBundle'> & { connection?: NativeConnection; workflowBundleFile?: string },
): Promise<{ worker: Worker; running: Promise<void>; stop(): Promise<void> }> {
  const { workflowBundleFile, ...rest } = deps;
  const connection = deps.connection ?? (await workerConnection());
  const worker = await createControlWorker({
    maxCachedWorkflows: process.env.MMS_TEST_MAX_CACHED_WORKFLOWS ? Number(process.env.MMS_TEST_MAX_CACHED_WORKFLOWS) : undefined,
    ...rest,
    connection,
    namespace: 'default',
    workflowBundle: { codePath: workflowBundleFile ?? workflowBundlePath() },
  });
  const running = worker.run();
  return {
    worker,
    running,
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}
