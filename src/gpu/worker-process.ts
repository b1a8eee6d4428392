/**
 * The Python GPU worker (workers/gpu) as a child process: where its virtualenv is, whether
 * `scripts/setup-gpu.sh` has set it up, and starting it on a task queue.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { projectRoot } from '../paths';

export const gpuWorkerDir = path.join(projectRoot, 'workers', 'gpu');

/** .tools/gpu-venv, or MMS_GPU_VENV. */
export function gpuVenvDir(): string {
  return process.env.MMS_GPU_VENV ? path.resolve(process.env.MMS_GPU_VENV) : path.join(projectRoot, '.tools', 'gpu-venv');
}

export function gpuPython(): string {
  return path.join(gpuVenvDir(), 'bin', 'python');
}

/** Set up = the virtualenv exists and its stamp matches the committed lock file. */
export function gpuWorkerSetUp(): { ready: boolean; reason?: string } {
  const python = gpuPython();
  if (!fs.existsSync(python)) return { ready: false, reason: `no virtualenv at ${gpuVenvDir()}` };
  const stamp = path.join(gpuVenvDir(), '.mms-lock-hash');
  if (!fs.existsSync(stamp)) return { ready: false, reason: 'the virtualenv was never completed by scripts/setup-gpu.sh' };
  return { ready: true };
}

export interface GpuWorkerProcess {
  pid: number;
  child: ChildProcess;
  /** Lines the worker printed (stdout and stderr), for test failure messages. */
  output: string[];
  /** SIGTERM: the worker stops taking tasks, running activities save a checkpoint; resolves on exit. */
  stop(): Promise<void>;
  /** SIGKILL: a crash, as a test of resumption needs it. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

export interface StartGpuWorkerOptions {
  temporalAddress: string;
  namespace?: string;
  taskQueue: string;
  maxActivities?: number;
  env?: Record<string, string>;
  /** How long to wait for "polling" (default 10 min: the worker imports torch, transformers and trl before it polls, a minute or more on a busy machine). */
  readyTimeoutMs?: number;
}

export async function startGpuWorker(options: StartGpuWorkerOptions): Promise<GpuWorkerProcess> {
  const setUp = gpuWorkerSetUp();
  if (!setUp.ready) throw new Error(`GPU worker not set up (${setUp.reason}): run \`bash scripts/setup-gpu.sh\``);
  const child = spawn(gpuPython(), ['-m', 'mms_gpu.worker'], {
    cwd: gpuWorkerDir,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: options.temporalAddress,
      TEMPORAL_NAMESPACE: options.namespace ?? 'default',
      MMS_GPU_TASK_QUEUE: options.taskQueue,
      ...(options.maxActivities ? { MMS_GPU_MAX_ACTIVITIES: String(options.maxActivities) } : {}),
      PYTHONUNBUFFERED: '1',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`GPU worker not polling after ${options.readyTimeoutMs ?? 600_000} ms:\n${output.slice(-20).join('\n')}`)), options.readyTimeoutMs ?? 600_000);
    for (const stream of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: stream }).on('line', (line) => {
        output.push(line);
        if (output.length > 500) output.shift();
        if (line.startsWith('[gpu-worker] polling')) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`GPU worker exited with ${code} before polling:\n${output.slice(-20).join('\n')}`));
    });
  });
  await ready;
  const signal = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  return { pid: child.pid!, child, output, exited, stop: () => signal('SIGTERM'), kill: () => signal('SIGKILL') };
}
