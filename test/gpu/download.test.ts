import fs from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { DownloadModelResult, DownloadProgress } from '../../activities/gpu-activities';
import type { GpuWorkerProcess } from '../../src/gpu/worker-process';
import { downloadModelWorkflow } from '../../workflows/download-model';
import { downloadModelWorkflowId, type DownloadModelWorkflowInput } from '../../workflows/download-model-messages';
import { repoFromDirectory, sha256, startFakeHub, type FakeHub, type FakeRepo } from '../../testkit/fake-huggingface';
import { createTestDatabase, startControlWorker, temporalClient, uniqueTaskQueue, type TestDatabase } from '../support/stack';
import { gpuCli, startTestGpuWorker, tempDir, waitForHeartbeat } from './support';

/**
 * The download manager (Python activity gpuDownloadModel) against a fake Hub on 127.0.0.1 that
 * speaks the Hub's wire format: pinned commit, LFS sha256, HTTP Range resume, refusals.
 */
describe('download manager on the GPU worker', () => {
  let hub: FakeHub;
  let db: TestDatabase;
  let client: Client;
  let control: Awaited<ReturnType<typeof startControlWorker>>;
  let gpu: GpuWorkerProcess | undefined;
  let work: string;
  let repo: FakeRepo;
  const controlQueue = uniqueTaskQueue('control-dl');
  const gpuQueue = uniqueTaskQueue('gpu-dl');
  let n = 0;

  beforeAll(async () => {
    work = tempDir('download');
    const data = path.join(work, 'data.jsonl');
    await gpuCli('persona', '64', data);
    const tiny = await gpuCli<{ path: string }>('build-tiny', path.join(work, 'tiny'), data);
    [hub, client, db] = await Promise.all([startFakeHub(), temporalClient(), createTestDatabase()]);
    repo = hub.addRepo(repoFromDirectory('mms-test/tiny-llama', tiny.path, { pipelineTag: 'text-generation', license: 'apache-2.0' }));
    control = await startControlWorker({ taskQueue: controlQueue, prisma: db.prisma });
    gpu = await startTestGpuWorker(gpuQueue);
  });

  afterAll(async () => {
    await gpu?.stop();
    await control?.stop();
    await hub?.close();
    await db?.drop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  afterEach(() => {
    for (const key of Object.keys(hub.faults)) delete hub.faults[key as keyof typeof hub.faults];
  });

  function start(overrides: Partial<DownloadModelWorkflowInput['download']> = {}, heartbeatTimeoutSeconds = 30) {
    const modelsDir = path.join(work, `models-${++n}`);
    const input: DownloadModelWorkflowInput = { gpuTaskQueue: gpuQueue, heartbeatTimeoutSeconds, download: { endpoint: hub.url, repo: repo.id, revision: 'main', modelsDir, ...overrides } };
    return { modelsDir, handle: client.workflow.start(downloadModelWorkflow, { taskQueue: controlQueue, workflowId: `${downloadModelWorkflowId(repo.id, 'main')}:${n}`, args: [input] }) };
  }

  async function failure(promise: Promise<unknown>): Promise<string> {
    const err = await promise.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as Error & { cause?: Error & { type?: string } };
    return `${cause.cause?.type ?? ''}: ${cause.cause?.message ?? cause.message}`;
  }

  it('downloads the safetensors checkpoint pinned to the commit, every file verified', async () => {
    const { handle, modelsDir } = start();
    const result: DownloadModelResult = await (await handle).result();
    expect(result.sha).toBe(repo.sha);
    expect(result.path).toBe(path.join(modelsDir, repo.id, repo.sha));
    const weights = repo.files.find((f) => f.path === 'model.safetensors')!;
    expect(result.files.find((f) => f.path === 'model.safetensors')).toEqual({ path: 'model.safetensors', bytes: weights.content.length, sha256: sha256(weights.content) });
    expect(sha256(fs.readFileSync(path.join(result.path, 'model.safetensors')))).toBe(sha256(weights.content));
    expect(fs.existsSync(path.join(result.path, 'config.json'))).toBe(true);
    expect(fs.existsSync(path.join(result.path, 'tokenizer.json'))).toBe(true);
    // Every file came from /resolve/<sha>/, never from a moving branch.
    expect(hub.requests.filter((r) => r.includes('/resolve/')).every((r) => r.includes(`/resolve/${repo.sha}/`))).toBe(true);
  });

  it('rejects a file whose bytes do not match the LFS sha256, and deletes it', async () => {
    hub.faults.flipByteOf = 'model.safetensors';
    const { handle, modelsDir } = start();
    expect(await failure((await handle).result())).toMatch(/^ChecksumMismatch: model\.safetensors: sha256 [0-9a-f]{64} does not match the LFS oid/);
    const dir = path.join(modelsDir, repo.id, repo.sha);
    expect(fs.existsSync(path.join(dir, 'model.safetensors'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'model.safetensors.partial'))).toBe(false);
  });

  it('refuses a listed path that would escape the models directory before writing anything', async () => {
    hub.faults.extraTreeEntries = [{ path: '../../escaped.safetensors', size: 10, lfs: true }];
    const { handle, modelsDir } = start();
    expect(await failure((await handle).result())).toMatch(/^PathEscape: refused "\.\.\/\.\.\/escaped\.safetensors"/);
    expect(fs.existsSync(path.join(modelsDir, repo.id, repo.sha, 'model.safetensors'))).toBe(false);
    expect(fs.existsSync(path.join(modelsDir, '..', 'escaped.safetensors'))).toBe(false);
  });

  it('refuses pickled weights', async () => {
    const { handle } = start({ files: ['config.json', 'pytorch_model.bin'] });
    expect(await failure((await handle).result())).toMatch(/^BadRequest: files\[1\]: pytorch_model\.bin is a pickled weights file; only safetensors are downloaded/);
    const pickled = hub.addRepo({ id: 'mms-test/pickled-only', sha: 'a'.repeat(40), pipelineTag: 'text-generation', files: [{ path: 'config.json', content: Buffer.from('{}') }, { path: 'pytorch_model.bin', content: Buffer.alloc(64), lfs: true }] });
    const second = start({ repo: pickled.id });
    expect(await failure((await second.handle).result())).toMatch(/^NoSafetensors: no safetensors weights in the repository \(pickled weights are refused; found: \.bin\)/);
  });

  it('refuses to start when the disk would not keep the required free space', async () => {
    const { handle } = start({ minFreeBytes: Number.MAX_SAFE_INTEGER });
    expect(await failure((await handle).result())).toMatch(/^DiskFull: \d+ bytes to download/);
  });

  it('resumes after a SIGKILL with a Range request from the heartbeated offset and re-verifies the whole file', async () => {
    const weights = repo.files.find((f) => f.path === 'model.safetensors')!;
    hub.faults.bytesPerSecond = 400_000;
    const { handle: started } = start({}, 3);
    const handle = await started;
    const before = await waitForHeartbeat<DownloadProgress>(handle, (d) => d.file === 'model.safetensors' && d.offset > 500_000);
    await gpu!.kill();
    hub.faults.bytesPerSecond = 4_000_000;
    gpu = await startTestGpuWorker(gpuQueue);
    const result = await handle.result();
    expect(result.resumedAt['model.safetensors']).toBeGreaterThanOrEqual(before.offset);
    expect(hub.ranges.some((r) => r.path === 'model.safetensors' && r.range === `bytes=${result.resumedAt['model.safetensors']}-`)).toBe(true);
    expect(result.files.find((f) => f.path === 'model.safetensors')!.sha256).toBe(sha256(weights.content));
    expect(sha256(fs.readFileSync(path.join(result.path, 'model.safetensors')))).toBe(sha256(weights.content));
  });
});
