import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { gpuPython, gpuWorkerDir, startGpuWorker, type GpuWorkerProcess } from '../../src/gpu/worker-process';
import { projectRoot } from '../../src/paths';
import { temporalAddress } from '../support/stack';
import { pendingActivityProgress } from '../../src/gpu/progress';

const run = promisify(execFile);

/** Runs `python -m mms_gpu.cli …` in the GPU worker's virtualenv and returns its JSON output. */
export async function gpuCli<T = unknown>(...args: string[]): Promise<T> {
  const { stdout } = await run(gpuPython(), ['-m', 'mms_gpu.cli', ...args], { cwd: gpuWorkerDir, maxBuffer: 16 << 20, env: { ...process.env, HF_HUB_OFFLINE: '1' } });
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

/**
 * Runs one set-up phase and prints its wall time (`[label] phase: 12.3 s`), so a slow `beforeAll`
 * says which phase was slow instead of only that it timed out.
 */
export function phaseTimer(label: string) {
  const started = Date.now();
  return async <T>(phase: string, fn: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await fn();
    } finally {
      process.stdout.write(`[${label}] ${phase}: ${((Date.now() - t) / 1000).toFixed(1)} s (${((Date.now() - started) / 1000).toFixed(1)} s since the start)\n`);
    }
  };
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
  // Built once per input under .tools/tiny-llama and copied (the build is 20-70 s of every file's set-up).
  const model = await gpuCli<{ path: string; parameters: number }>('build-tiny', path.join(dir, 'base'), trainFile, '--cache', path.join(projectRoot, '.tools', 'tiny-llama'));
  return { trainFile, validationFile, baseModelPath: model.path, parameters: model.parameters };
}

/**
 * The bound on a wait for real progress (a checkpoint, a heartbeat): far beyond what any phase takes,
 * even on a 2-core machine at load 20, so a test waits on the condition and never on the clock; it
 * only turns a hang into a failure with a message.
 */
export const GENEROUS_MS = 30 * 60_000;

/**
 * The highest step of a completely written training checkpoint in `<outputDir>/checkpoints` (the
 * worker's own criterion, mms_gpu.training.last_complete_checkpoint: trainer state, optimizer and
 * scheduler on disk), or 0.
 */
export function lastCompleteCheckpointStep(outputDir: string): number {
  const dir = path.join(outputDir, 'checkpoints');
  if (!fs.existsSync(dir)) return 0;
  const steps = fs
    .readdirSync(dir)
    .map((name) => /^checkpoint-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .filter((m) => ['trainer_state.json', 'optimizer.pt', 'scheduler.pt'].every((f) => fs.existsSync(path.join(dir, m[0], f))))
    .map((m) => Number(m[1]));
  return Math.max(0, ...steps);
}

/**
 * `waiting`, unless the workflow closes first: then it fails at once with the workflow's outcome
 * rather than waiting out a bound for progress that can no longer come.
 */
export async function untilClosed<T>(handle: WorkflowHandle, waiting: Promise<T>): Promise<T> {
  const closed = handle.result().then(
    () => Promise.reject(new Error(`workflow ${handle.workflowId} completed before the awaited condition`)),
    (err: unknown) => Promise.reject(new Error(`workflow ${handle.workflowId} failed before the awaited condition: ${err instanceof Error ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}${err.cause.cause instanceof Error ? `: ${err.cause.cause.message}` : ''}` : ''}` : String(err)}`)),
  );
  return Promise.race([waiting, closed]);
}

/**
 * Resolves once an activity of the workflow heartbeats details that satisfy `pred`: the observable
 * event a test waits for (polled, as `mms pipeline status` reads it).
 */
export async function waitForHeartbeat<T>(handle: WorkflowHandle, pred: (details: T) => boolean, timeoutMs = GENEROUS_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status } = await handle.describe();
    if (status.name !== 'RUNNING') throw new Error(`workflow ${handle.workflowId} is ${status.name} before a matching heartbeat`);
    for (const a of await pendingActivityProgress(handle)) {
      if (a.details !== undefined && pred(a.details as T)) return a.details as T;
    }
    if (Date.now() > deadline) throw new Error(`no matching heartbeat within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The Python GPU worker on the test stack's Temporal, polling `taskQueue` (importing torch may take minutes under load). */
export function startTestGpuWorker(taskQueue: string): Promise<GpuWorkerProcess> {
  return startGpuWorker({ temporalAddress: temporalAddress(), taskQueue, readyTimeoutMs: GENEROUS_MS });
}
