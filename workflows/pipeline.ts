import { ApplicationFailure, executeChild, proxyActivities, setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import type { GpuActivities } from '../activities/gpu-activities';
import type { PipelineActivities } from '../activities/pipeline';
import { MmsCandidateModel, MmsStatus, MmsStep, MmsUseCase } from '../src/temporal/search-attributes';
import { downloadModelWorkflow } from './download-model';
import { downloadModelWorkflowId } from './download-model-messages';
import { fineTuneWorkflow } from './fine-tune';
import { fineTuneWorkflowId } from './fine-tune-messages';
import {
  baseNameOf,
  copyNameOf,
  copyStatusQuery,
  copyWorkflowId,
  pipelineStatusQuery,
  type CopyAttempt,
  type CopyInput,
  type CopyResult,
  type CopyStatus,
  type PipelineInput,
  type PipelineResult,
  type PipelineStatus,
} from './pipeline-messages';
import { rolloutWorkflow } from './rollout';
import { rolloutWorkflowId } from './rollout-messages';

// Registry writes and reads of the logs: idempotent, retried with backoff. Refusals (not enough
// data, unknown use case, an adapter the serving node refuses) are non-retryable in the activity.
const control = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

// Discovery calls the Hub and the Ollama node: a few retries, then the pipeline fails with the reason.
const discovery = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

// The served copy must answer before it gets traffic: a server that is still loading gets a minute.
const probe = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 ms', backoffCoefficient: 1.5, maximumInterval: '5 seconds', maximumAttempts: 20 },
});

function gpuActivities(taskQueue: string) {
  // GGUF conversion, quantisation and quality measurement, and starting llama.cpp, on the GPU node.
  // They heartbeat between phases; a failure is retried a few times (conversion is idempotent).
  return proxyActivities<GpuActivities>({
    taskQueue,
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '10 minutes',
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 3, nonRetryableErrorTypes: ['BadRequest'] },
  });
}

const cause = (err: unknown): string => {
  let e = err as { cause?: unknown; message?: string } | undefined;
  while (e?.cause) e = e.cause as typeof e;
  return e?.message ?? String(err);
};

/**
 * `pipeline:<useCase>`: discover and rank self-hosted models, download the best eligible one pinned
 * to its commit (a child, shared by every copy of that base), then one child per use-case copy.
 */
export async function pipelineWorkflow(input: PipelineInput): Promise<PipelineResult> {
  const status: PipelineStatus = { useCaseId: input.useCaseId, phase: 'discovering', candidates: [], copyWorkflowIds: [] };
  setHandler(pipelineStatusQuery, () => status);
  try {
    let chosen = input.baseRepo;
    const ranked = await discovery.discoverSelfHosted({ ...input.settings.discovery, useCaseId: input.useCaseId });
    status.candidates = ranked.slice(0, 10).map(({ source, externalId, score, eligible, reasons, rank, parameters, license }) => ({ source, externalId, score, eligible, reasons, rank, parameters, license }));
    if (!chosen) {
      // Training needs the weights: only Hub repositories with safetensors can be the base.
      const top = ranked.find((c) => c.eligible && c.source === 'huggingface');
      if (!top) throw ApplicationFailure.nonRetryable(`no eligible self-hosted model for "${input.useCaseId}" (${ranked.length} discovered; ${ranked.slice(0, 3).map((c) => `${c.externalId}: ${c.reasons.join('; ')}`).join(' | ') || 'none'})`, 'NoCandidate');
      chosen = { repo: top.externalId, revision: 'main' };
    }
    status.chosen = chosen;
    status.phase = 'downloading';
    status.downloadWorkflowId = downloadModelWorkflowId(chosen.repo, chosen.revision);
    const download = await executeChild(downloadModelWorkflow, {
      workflowId: status.downloadWorkflowId,
      args: [{ gpuTaskQueue: input.gpuTaskQueue, download: { endpoint: input.settings.hub.endpoint, repo: chosen.repo, revision: chosen.revision, modelsDir: `${input.settings.modelsDir}/downloads`, ...(input.settings.hub.tokenEnv ? { tokenEnv: input.settings.hub.tokenEnv } : {}) } }],
    });
    status.download = { sha: download.sha, path: download.path, bytes: download.bytes, seconds: download.seconds };
    status.phase = 'copying';
    const parameters = ranked.find((c) => c.externalId === chosen.repo)?.parameters ?? null;
    const baseName = baseNameOf(chosen.repo);
    const copyName = copyNameOf(baseName, input.useCaseId);
    const copyId = copyWorkflowId(input.useCaseId, copyName);
    status.copyWorkflowIds.push(copyId);
    const copy = await executeChild(copyWorkflow, {
      workflowId: copyId,
      args: [{ useCaseId: input.useCaseId, copyName, gpuTaskQueue: input.gpuTaskQueue, settings: input.settings, base: { name: baseName, repo: chosen.repo, sha: download.sha, path: download.path, parameters }, requestedBy: input.requestedBy }],
    });
    status.phase = 'completed';
    return { useCaseId: input.useCaseId, base: { repo: chosen.repo, sha: download.sha, path: download.path }, copies: [copy] };
  } catch (err) {
    status.phase = 'failed';
    status.error = cause(err);
    throw err;
  }
}

/**
 * `copy:<useCase>:<copy>`: register the copy, then train and test until it is as good (bounded
 * attempts, each with its reason; a retrain gets more data and more steps), then GGUF + quantise,
 * serve the adapter, validate it with a real call, and roll it out with the rollout workflow.
 */
export async function copyWorkflow(input: CopyInput): Promise<CopyResult> {
  const status: CopyStatus = { useCaseId: input.useCaseId, copyName: input.copyName, phase: 'registering', attempts: [] };
  setHandler(copyStatusQuery, () => status);
  const gpu = gpuActivities(input.gpuTaskQueue);
  const { settings } = input;
  const copyDir = `${settings.modelsDir}/copies/${input.useCaseId}/${input.copyName}`;
  const { workflowId } = workflowInfo();
  try {
    const upstreamModel = input.copyName;
    const registered = await control.registerUseCaseCopy({
      useCaseId: input.useCaseId,
      base: { ...input.base, source: 'huggingface' },
      copyName: input.copyName,
      provider: settings.serving.provider,
      upstreamModel,
      version: input.base.sha.slice(0, 12),
      configuration: { quantization: settings.quantization, training: { method: settings.training.method, lora: settings.training.lora }, pipelineWorkflowId: workflowId },
    });
    status.copyModelId = registered.copyModelId;
    status.baseModelId = registered.baseModelId;

    let maxSteps = settings.training.maxSteps;
    let lookbackDays = settings.dataset.lookbackDays;
    let reason = 'first training';
    let passed: CopyAttempt | undefined;
    let adapterPath = '';
    let validationFile = '';
    for (let attempt = 1; attempt <= settings.training.maxAttempts; attempt++) {
      const record: CopyAttempt = { attempt, reason, maxSteps, learningRate: settings.training.learningRate, lookbackDays, trainingWorkflowId: fineTuneWorkflowId(input.useCaseId, input.copyName, attempt) };
      status.attempts.push(record);
      status.phase = 'dataset';
      const card = await control.buildTrainingDataset({
        useCaseId: input.useCaseId,
        copyModelId: registered.copyModelId,
        outDir: `${copyDir}/attempt-${attempt}/dataset`,
        lookbackDays,
        ...(settings.dataset.since ? { since: settings.dataset.since } : {}),
        ...(settings.dataset.until ? { until: settings.dataset.until } : {}),
        minFeedbackScore: settings.dataset.minFeedbackScore,
        requireFeedback: settings.dataset.requireFeedback,
        validationFraction: settings.dataset.validationFraction,
        maxRows: settings.dataset.maxRows,
        minTrainRows: settings.dataset.minTrainRows,
        splitSeed: input.copyName,
      });
      record.dataset = card.counts;
      status.phase = 'training';
      const { training } = await executeChild(fineTuneWorkflow, {
        workflowId: record.trainingWorkflowId,
        args: [
          {
            useCaseId: input.useCaseId,
            copyModelId: registered.copyModelId,
            baseModelId: registered.baseModelId,
            gpuTaskQueue: input.gpuTaskQueue,
            reason,
            heartbeatTimeoutSeconds: settings.training.heartbeatTimeoutSeconds,
            training: {
              baseModelPath: input.base.path,
              trainFile: card.trainFile,
              validationFile: card.validationFile,
              outputDir: `${copyDir}/attempt-${attempt}/training`,
              method: settings.training.method,
              lora: settings.training.lora,
              maxSteps,
              learningRate: settings.training.learningRate,
              batchSize: settings.training.batchSize,
              evalSteps: Math.min(settings.training.evalSteps, maxSteps),
              saveSteps: Math.min(settings.training.saveSteps, maxSteps),
              maxLength: settings.training.maxLength,
            },
          },
        ],
      });
      record.initialEvalLoss = training.initialEvalLoss;
      record.finalEvalLoss = training.finalEvalLoss;
      record.secondsPerStep = training.secondsPerStep;
      status.phase = 'evaluating';
      const threshold = settings.evaluation.maxEvalLoss;
      record.passed = training.finalEvalLoss <= threshold && training.finalEvalLoss < training.initialEvalLoss;
      record.verdict = record.passed
        ? `held-out loss ${training.finalEvalLoss} ≤ ${threshold} (from ${training.initialEvalLoss})`
        : `held-out loss ${training.finalEvalLoss} > ${threshold} (from ${training.initialEvalLoss})`;
      await control.updateCopy({ copyModelId: registered.copyModelId, configuration: { attempts: status.attempts } });
      if (record.passed) {
        passed = record;
        adapterPath = training.adapterPath;
        validationFile = card.validationFile;
        break;
      }
      // Not as good yet: train longer, on a longer window of logs (more data if there is any).
      reason = `attempt ${attempt} failed: ${record.verdict}; retraining with ${maxSteps * 2} steps and ${lookbackDays * 2} days of logs`;
      maxSteps *= 2;
      lookbackDays *= 2;
    }
    if (!passed) throw ApplicationFailure.nonRetryable(`${input.copyName} did not pass after ${settings.training.maxAttempts} attempt(s): ${status.attempts.at(-1)?.verdict}`, 'NotAsGood');

    status.phase = 'converting';
    const gguf = await gpu.gpuPrepareServingCopy({ baseModelPath: input.base.path, adapterPath, outputDir: `${copyDir}/gguf`, quantization: settings.quantization, validationFile });
    if (gguf.quantized) status.quantization = { type: gguf.quantized.quantization, bytes: gguf.quantized.bytes, ...(gguf.quantized.quality ? { quality: gguf.quantized.quality } : {}) };

    status.phase = 'serving';
    const serving = settings.serving;
    if (serving.kind === 'llama_cpp') {
      const url = new URL(serving.baseUrl);
      await gpu.gpuStartLlamaServer({ modelPath: gguf.servedModelPath, loraPath: gguf.servedLoraPath, host: url.hostname, port: Number(url.port || 80), alias: upstreamModel, stateDir: `${settings.modelsDir}/serving` });
    } else {
      await control.registerAdapter({
        kind: serving.kind,
        baseUrl: serving.baseUrl,
        ...(serving.apiKeyEnv ? { apiKeyEnv: serving.apiKeyEnv } : {}),
        name: upstreamModel,
        adapterPath: serving.kind === 'vllm' ? adapterPath : gguf.adapter!.path,
        baseModel: input.base.name,
      });
    }
    status.serving = { baseUrl: serving.baseUrl, upstreamModel };
    await control.updateCopy({
      copyModelId: registered.copyModelId,
      status: 'testing',
      modelPath: adapterPath,
      configuration: { gguf, serving: status.serving, quantization: settings.quantization, quantizationResult: status.quantization ?? null },
      performanceMetrics: { heldOutLoss: passed.finalEvalLoss, heldOutLossBefore: passed.initialEvalLoss },
    });

    status.phase = 'validating';
    await probe.probeServedCopy({ baseUrl: serving.baseUrl, ...(serving.apiKeyEnv ? { apiKeyEnv: serving.apiKeyEnv } : {}), model: upstreamModel, prompt: 'Hello' });

    status.phase = 'rolling_out';
    status.rolloutWorkflowId = rolloutWorkflowId(input.useCaseId);
    const rollout = await executeChild(rolloutWorkflow, {
      workflowId: status.rolloutWorkflowId,
      args: [{ useCaseId: input.useCaseId, candidate: registered.copyModelId, strategy: settings.rollout.strategy, policy: settings.rollout.policy, requestedBy: input.requestedBy, deploymentId: uuid4() }],
      typedSearchAttributes: [
        { key: MmsUseCase, value: input.useCaseId },
        { key: MmsCandidateModel, value: registered.copyModelId },
        { key: MmsStep, value: 0 },
        { key: MmsStatus, value: 'preparing' },
      ],
    });
    status.outcome = rollout.outcome;
    status.phase = 'completed';
    return { copyName: input.copyName, copyModelId: registered.copyModelId, attempts: status.attempts, outcome: rollout.outcome, rolloutReason: rollout.reason };
  } catch (err) {
    status.phase = 'failed';
    status.outcome = 'failed';
    status.error = cause(err);
    throw err;
  }
}
