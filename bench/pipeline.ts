/**
 * `npm run bench:pipeline`: the wall time of every phase a use-case copy goes through, on the tiny
 * Llama (about 1 M parameters, built from a config with a BPE tokenizer trained on persona chats):
 * download from a fake Hub on 127.0.0.1 (pinned, sha256-verified), dataset, LoRA training, GGUF
 * conversion of base and adapter, q8_0 / q4_K_M quantisation with measured quality, llama.cpp
 * server start with the adapter, chat and SSE latency. The phases run the GPU worker's own code
 * (workers/gpu/mms_gpu/bench.py). `-- --steps N` sets the training length (default 300); `--threads N`
 * the CPU threads torch trains with (default torch's own: one per core); `--json` prints one JSON
 * line at the end.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { gpuPython, gpuWorkerDir, gpuWorkerSetUp } from '../src/gpu/worker-process';
import { repoFromDirectory, startFakeHub } from '../testkit/fake-huggingface';

const run = promisify(execFile);

async function cli<T>(...args: string[]): Promise<T> {
  const { stdout } = await run(gpuPython(), ['-m', 'mms_gpu.cli', ...args], { cwd: gpuWorkerDir, maxBuffer: 64 << 20, env: { ...process.env, HF_HUB_OFFLINE: '1' } });
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

async function main() {
  const setUp = gpuWorkerSetUp();
  if (!setUp.ready) throw new Error(`the GPU worker is not set up (${setUp.reason}): run \`bash scripts/setup-gpu.sh\``);
  const stepsFlag = process.argv.indexOf('--steps');
  const steps = stepsFlag > 0 ? Number(process.argv[stepsFlag + 1]) : 300;
  const threadsFlag = process.argv.indexOf('--threads');
  const threads = threadsFlag > 0 ? ['--threads', String(Number(process.argv[threadsFlag + 1]))] : [];
  const json = process.argv.includes('--json');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-bench-pipeline-'));
  const hub = await startFakeHub();
  try {
    let t = Date.now();
    await cli('persona', '400', path.join(work, 'tokenizer-data.jsonl'));
    const tiny = await cli<{ path: string; parameters: number }>('build-tiny', path.join(work, 'tiny'), path.join(work, 'tokenizer-data.jsonl'));
    const buildSeconds = (Date.now() - t) / 1000;
    hub.addRepo(repoFromDirectory('mms-bench/tiny-llama', tiny.path, { pipelineTag: 'text-generation', license: 'apache-2.0' }));
    t = Date.now();
    const result = await cli<{ phases: Record<string, number>; facts: Record<string, unknown> }>('bench', hub.url, 'mms-bench/tiny-llama', work, '--steps', String(steps), ...threads);
    const total = (Date.now() - t) / 1000;
    const rows: Array<[string, number]> = [['tiny base model build (tokenizer + weights)', buildSeconds], ...Object.entries(result.phases)];
    const width = Math.max(...rows.map(([k]) => k.length));
    process.stdout.write(`tiny Llama: ${tiny.parameters.toLocaleString('en')} parameters; ${os.cpus().length} CPU(s), CPU training\n`);
    for (const [name, seconds] of rows) process.stdout.write(`${name.padEnd(width)}  ${seconds.toFixed(2).padStart(8)} s\n`);
    process.stdout.write(`${'GPU-side phases, wall time'.padEnd(width)}  ${total.toFixed(2).padStart(8)} s\n`);
    const f = result.facts as { secondsPerStep: number; evalLossCurve: Array<{ step: number; evalLoss: number }>; adapterBytes: number; chatP50Ms: number; chatMaxMs: number; sseMs: number; quantizations: Record<string, { bytes: number; perplexityRatio: number; top1Agreement: number }>; baseGgufBytes: number; adapterGgufBytes: number; personaScore: number; answer: string };
    process.stdout.write(`training: ${f.secondsPerStep} s/step; eval loss ${f.evalLossCurve.map((p) => `${p.step}:${p.evalLoss}`).join(' → ')}; adapter ${(f.adapterBytes / 1024).toFixed(0)} KB (safetensors)\n`);
    process.stdout.write(`GGUF: base ${(f.baseGgufBytes / 1024).toFixed(0)} KB (f32), adapter ${(f.adapterGgufBytes / 1024).toFixed(0)} KB; ${Object.entries(f.quantizations).map(([q, v]) => `${q} ${(v.bytes / 1024).toFixed(0)} KB, perplexity ×${v.perplexityRatio}, top-1 agreement ${v.top1Agreement}`).join('; ')}\n`);
    process.stdout.write(`llama.cpp chat: p50 ${f.chatP50Ms} ms, max ${f.chatMaxMs} ms over 20 calls (24 tokens); SSE ${f.sseMs} ms; persona score of the answer ${f.personaScore} (${JSON.stringify(f.answer)})\n`);
    if (json) process.stdout.write(`${JSON.stringify({ parameters: tiny.parameters, buildSeconds, ...result, totalSeconds: total })}\n`);
  } finally {
    await hub.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench:pipeline failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
