import fs from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { TrainProgress } from '../../activities/gpu-activities';
import type { GpuWorkerProcess } from '../../src/gpu/worker-process';
import { fineTuneWorkflow } from '../../workflows/fine-tune';
import { fineTuneStatusQuery, fineTuneWorkflowId, type FineTuneInput } from '../../workflows/fine-tune-messages';
import { createTestDatabase, startControlWorker, temporalClient, uniqueTaskQueue, type TestDatabase } from '../support/stack';
import { waitFor } from '../support/wait-for';
import { GENEROUS_MS, lastCompleteCheckpointStep, startTestGpuWorker, tempDir, tinyModelAndData, untilClosed, waitForHeartbeat } from './support';

/**
 * Real training on the real stack: the TypeScript workflow calls the Python worker's activity by
 * name on its own task queue; TRL trains a LoRA adapter on a tiny Llama built from a config.
 */
describe('fine-tune workflow on the Python GPU worker', () => {
  let db: TestDatabase;
  let client: Client;
  let control: Awaited<ReturnType<typeof startControlWorker>>;
  let gpu: GpuWorkerProcess | undefined;
  let work: string;
  let data: Awaited<ReturnType<typeof tinyModelAndData>>;
  let baseModelId: string;
  let copyModelId: string;
  const controlQueue = uniqueTaskQueue('control-ft');
  const gpuQueue = uniqueTaskQueue('gpu-ft');

  beforeAll(async () => {
    work = tempDir('fine-tune');
    [db, client, data] = await Promise.all([createTestDatabase(), temporalClient(), tinyModelAndData(work)]);
    control = await startControlWorker({ taskQueue: controlQueue, prisma: db.prisma });
    gpu = await startTestGpuWorker(gpuQueue);
    const base = await db.prisma.model.create({ data: { modelName: 'tiny-llama', modelType: 'self_hosted', useCase: 'npc_dialogue', version: '1', status: 'candidate', modelPath: data.baseModelPath } });
    const copy = await db.prisma.model.create({ data: { modelName: 'tiny-llama-npc-dialogue', modelType: 'self_hosted', useCase: 'npc_dialogue', version: '1', status: 'candidate', baseModelId: base.id } });
    baseModelId = base.id;
    copyModelId = copy.id;
  }, GENEROUS_MS);

  afterAll(async () => {
    await gpu?.stop();
    await control?.stop();
    await db?.drop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const input = (name: string, training: Partial<FineTuneInput['training']>): FineTuneInput => ({
    useCaseId: 'npc_dialogue',
    copyModelId,
    baseModelId,
    gpuTaskQueue: gpuQueue,
    reason: 'first training',
    heartbeatTimeoutSeconds: 5,
    training: { baseModelPath: data.baseModelPath, trainFile: data.trainFile, validationFile: data.validationFile, outputDir: path.join(work, name), ...training },
  });

  it('trains a LoRA whose validation loss falls, and a SIGKILLed worker resumes from its last checkpoint', async () => {
    expect(data.parameters).toBeGreaterThan(500_000);
    expect(data.parameters).toBeLessThan(2_000_000);
    const handle = await client.workflow.start(fineTuneWorkflow, {
      taskQueue: controlQueue,
      workflowId: fineTuneWorkflowId('npc_dialogue', 'tiny-llama-npc-dialogue', 1),
      args: [input('killed', { maxSteps: 60, saveSteps: 10, evalSteps: 20, learningRate: 1e-2, lora: { rank: 8, alpha: 16, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] } })],
    });
    // Kill the worker once checkpoint 20 (or a later one) is completely on disk and training went
    // past it: the conditions themselves, however long the machine's load makes them take.
    const outputDir = path.join(work, 'killed');
    const checkpointStep = await untilClosed(handle, waitFor('a complete checkpoint at step 20 or later', () => (lastCompleteCheckpointStep(outputDir) >= 20 ? lastCompleteCheckpointStep(outputDir) : undefined), GENEROUS_MS, 200));
    const before = await waitForHeartbeat<TrainProgress>(handle, (d) => d.step > checkpointStep);
    await gpu!.kill();
    // The checkpoint the retry must resume from (a later one may have completed just before the kill).
    const checkpointAtKill = lastCompleteCheckpointStep(outputDir);
    gpu = await startTestGpuWorker(gpuQueue);

    const { training, trainingJobId } = await handle.result();
    expect(training.resumedFromStep).toBeGreaterThanOrEqual(20);
    expect(training.resumedFromStep).toBe(checkpointAtKill);
    expect(before.step).toBeGreaterThan(checkpointStep);
    expect(training.step).toBe(60);
    // Step counts prove the retry continued: it ran only the steps after its checkpoint.
    expect(training.stepsThisAttempt).toBe(60 - training.resumedFromStep);
    expect(training.finalEvalLoss).toBeLessThan(training.initialEvalLoss * 0.95);
    const curve = training.evalLossCurve.map((p) => p.evalLoss);
    expect(curve[curve.length - 1]).toBeLessThan(curve[1]!);
    expect(training.adapterBytes).toBeGreaterThan(10_000);
    expect(training.adapterBytes).toBeLessThan(1_000_000);
    expect(fs.existsSync(path.join(training.adapterPath, 'adapter_model.safetensors'))).toBe(true);

    const job = await db.prisma.trainingJob.findUniqueOrThrow({ where: { id: trainingJobId } });
    expect(job).toMatchObject({ status: 'succeeded', method: 'lora', baseModelId, outputModelId: copyModelId, outputPath: training.adapterPath });
    expect((job.metrics as { resumedFromStep: number }).resumedFromStep).toBe(training.resumedFromStep);
    process.stdout.write(`[fine-tune] eval loss ${training.evalLossCurve.map((p) => `${p.step}:${p.evalLoss}`).join(' ')}; ${training.secondsPerStep} s/step; adapter ${training.adapterBytes} B; resumed at ${training.resumedFromStep}\n`);
  }, 2 * GENEROUS_MS);

  it('cancellation stops the trainer and records the job as cancelled', async () => {
    const handle = await client.workflow.start(fineTuneWorkflow, {
      taskQueue: controlQueue,
      workflowId: fineTuneWorkflowId('npc_dialogue', 'tiny-llama-npc-dialogue', 2),
      args: [input('cancelled', { maxSteps: 5000, saveSteps: 1000, evalSteps: 1000 })],
    });
    await waitForHeartbeat<TrainProgress>(handle, (d) => d.step >= 3);
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const { trainingJobId } = await handle.query(fineTuneStatusQuery);
    const job = await db.prisma.trainingJob.findUniqueOrThrow({ where: { id: trainingJobId } });
    expect(job.status).toBe('cancelled');
    // The activity acknowledged the cancellation (WAIT_CANCELLATION_COMPLETED): nothing runs any more.
    expect((await handle.describe()).raw.pendingActivities ?? []).toHaveLength(0);
    expect(fs.existsSync(path.join(work, 'cancelled', 'adapter'))).toBe(false);
  }, GENEROUS_MS);

  it('refuses a bad request at once, naming the field', async () => {
    const handle = await client.workflow.start(fineTuneWorkflow, {
      taskQueue: controlQueue,
      workflowId: fineTuneWorkflowId('npc_dialogue', 'tiny-llama-npc-dialogue', 3),
      args: [input('bad', { method: 'qlora' as 'lora' })],
    });
    const err = (await handle.result().catch((e: unknown) => e)) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(String((err.cause as Error)?.cause ?? err.cause)).toMatch(/method: must be "lora" or "full"/);
  });
});
