import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { gpuPython, gpuWorkerDir } from '../../src/gpu/worker-process';
import { pendingActivityProgress } from '../../src/gpu/progress';

const run = promisify(execFile);

/** Runs `python -m mms_gpu.cli …` in the GPU worker's virtualenv and returns its JSON output. */
export async function gpuCli<T = unknown>(...args: string[]): Promise<T> {
  const { stdout } = await run(gpuPython(), ['-m', 'mms_gpu.cli', ...args], { cwd: gpuWorkerDir, maxBuffer: 16 << 20, env: { ...process.env, HF_HUB_OFFLINE: '1' } });
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `mms-${prefix}-`));
}

/** Persona chats (train + validation) and a tiny Llama whose tokenizer was trained on them. */
export async function tinyModelAndData(dir: string, rows = { train: 320, validation: 48 }) {
  const trainFile = path.join(dir, 'train.jsonl');
  const validationFile = path.join(dir, 'validation.jsonl');
  await gpuCli('persona', String(rows.train), trainFile, '--seed', '1');
  await gpuCli('persona', String(rows.validation), validationFile, '--seed', '2');
  const model = await gpuCli<{ path: string; parameters: number }>('build-tiny', path.join(dir, 'base'), trainFile);
  return { trainFile, validationFile, baseModelPath: model.path, parameters: model.parameters };
}

/**
 * Resolves once an activity of the workflow heartbeats details that satisfy `pred`: the observable
 * event a test waits for (polled, as `mms pipeline status` reads it).
 */
export async function waitForHeartbeat<T>(handle: WorkflowHandle, pred: (details: T) => boolean, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const a of await pendingActivityProgress(handle)) {
      if (a.details !== undefined && pred(a.details as T)) return a.details as T;
    }
    if (Date.now() > deadline) throw new Error(`no matching heartbeat within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
