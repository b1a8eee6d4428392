import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { toolsBinDir } from '../paths';
import { devServerSearchAttributeFlags } from './search-attributes';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const INSTALL_HINT =
  `install the Temporal CLI ${TEMPORAL_CLI_VERSION} with Go: GOBIN="$PWD/.tools/bin" go install github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION} ` +
  '(newer tags fail `go install`), put any `temporal` on PATH, or set TEMPORAL_ADDRESS to a running server';

export type TemporalTarget = { kind: 'address'; address: string } | { kind: 'binary'; path: string; source: string };

export class TemporalUnavailableError extends Error {}

function onPath(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const out = found.stdout.trim();
  return found.status === 0 && out ? out : undefined;
}

/**
 * Where Temporal comes from, in order: TEMPORAL_ADDRESS → `temporal` on PATH → .tools/bin/temporal
 * → built with `go install` at the pinned version (once; cached in .tools/bin) → a clear error.
 */
export function resolveTemporal(options: { onProgress?: (line: string) => void; build?: boolean } = {}): TemporalTarget {
  const progress = options.onProgress ?? (() => undefined);
  if (process.env.TEMPORAL_ADDRESS) return { kind: 'address', address: process.env.TEMPORAL_ADDRESS };
  const fromPath = onPath('temporal');
  if (fromPath) return { kind: 'binary', path: fromPath, source: 'PATH' };
  const local = path.join(toolsBinDir, 'temporal');
  if (fs.existsSync(local)) return { kind: 'binary', path: local, source: '.tools/bin' };
  if (options.build === false) throw new TemporalUnavailableError(`Temporal CLI not found: ${INSTALL_HINT}`);
  if (!onPath('go')) throw new TemporalUnavailableError(`Temporal CLI not found and Go is not installed: ${INSTALL_HINT}`);
  progress(`temporal: building the Temporal CLI ${TEMPORAL_CLI_VERSION} with go install (a few minutes, once)`);
  fs.mkdirSync(toolsBinDir, { recursive: true });
  const built = spawnSync('go', ['install', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`], {
    env: { ...process.env, GOBIN: toolsBinDir },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (built.status !== 0 || !fs.existsSync(local)) throw new TemporalUnavailableError(`building the Temporal CLI failed: ${INSTALL_HINT}`);
  return { kind: 'binary', path: local, source: 'go install' };
}

export interface DevServerHandle {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function waitForTemporal(address: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new TemporalUnavailableError(`Temporal at ${address} did not become ready in ${timeoutMs} ms: ${String(lastError)}`);
}

/** `temporal server start-dev` as a child process; with dbFile, workflows survive a restart. */
export async function startDevServer(options: {
  binary: string;
  port: number;
  uiPort?: number;
  dbFile?: string;
  headless?: boolean;
  logFile?: string;
}): Promise<DevServerHandle> {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'warn', ...devServerSearchAttributeFlags()];
  if (options.headless) args.push('--headless');
  else if (options.uiPort) args.push('--ui-port', String(options.uiPort));
  if (options.dbFile) {
    fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  const out = options.logFile ? fs.openSync(options.logFile, 'a') : 'ignore';
  const child = spawn(options.binary, args, { stdio: ['ignore', out, out], detached: false });
  const address = `127.0.0.1:${options.port}`;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new TemporalUnavailableError(`temporal server start-dev exited with code ${code}${options.logFile ? ` (see ${options.logFile})` : ''}`))),
  );
  await Promise.race([waitForTemporal(address), exited]);
  exited.catch(() => undefined);
  return {
    address,
    uiUrl: options.headless ? undefined : `http://127.0.0.1:${options.uiPort ?? options.port + 1000}`,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        // Ctrl-C in a terminal signals the whole process group, so the server may have died of that
        // signal already (exitCode null, signalCode set): its 'exit' has fired and would never come again.
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
