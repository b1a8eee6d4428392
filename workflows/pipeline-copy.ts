import { ApplicationFailure, executeChild, proxyActivities, setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import type { EvaluationActivities } from '../activities/evaluation';
import type { GpuActivities, PrepareServingCopyResult } from '../activities/gpu-activities';
import type { PipelineActivities } from '../activities/pipeline';
import { MmsCandidateModel, MmsStatus, MmsStep, MmsUseCase } from '../src/temporal/search-attributes';
import { evaluateWorkflow } from './evaluate';
import { evaluateWorkflowId } from './evaluate-messages';
import { fineTuneWorkflow } from './fine-tune';
import { fineTuneWorkflowId } from './fine-tune-messages';
import { copyStatusQuery, nextAttemptPlan, upstreamModelOf, type AttemptPlan, type CopyAttempt, type CopyInput, type CopyResult, type CopyStatus } from './pipeline-messages';
import { rolloutWorkflow } from './rollout';
import { rolloutWorkflowId } from './rollout-messages';
import { validateModelWorkflow } from './validate';
import { validateWorkflowId } from './validate-messages';

// Registry writes and reads of the logs: idempotent, retried with backoff. Refusals (not enough
// data, unknown use case, an adapter the serving node refuses) are non-retryable in the activity.
const control = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

// The evaluation suite is built from the use case's logs and config: a database read, retried; a
// worker without evaluation dependencies fails it at once with the reason.
const suites = proxyActivities<EvaluationActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10, nonRetryableErrorTypes: ['NotFound', 'EvaluationUnavailable'] },
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

export const failureMessage = (err: unknown): string => {
  let e = err as { cause?: unknown; message?: string } | undefined;
  while (e?.cause) e = e.cause as typeof e;
  return e?.message ?? String(err);
};

/** What one attempt left on disk and on the serving node, for the deploy step. */
interface TrainedAttempt {
  record: CopyAttempt;
  copyModelId: string;
  adapterPath: string;
  gguf?: PrepareServingCopyResult;
}

/**
 * One use-case copy: each training attempt is its own registry version of `<base>-<use-case>`
 * (lineage to the base), trained, gated on its held-out loss, served, and compared with the model in
 * service by the evaluate workflow; a failed attempt is marked failed and the next one gets more
 * data and steps, or a lower learning rate when the loss did not fall. The passing one is
 * validated and rolled out.
 */
class CopyRun {
  readonly status: CopyStatus;
  private readonly gpu: ReturnType<typeof gpuActivities>;
  private readonly copyDir: string;
  private readonly versionPrefix: string;

  constructor(private readonly input: CopyInput) {
    this.status = { useCaseId: input.useCaseId, copyName: input.copyName, phase: 'registering', attempts: [] };
    this.gpu = gpuActivities(input.gpuTaskQueue);
    this.copyDir = `${input.settings.modelsDir}/copies/${input.useCaseId}/${input.copyName}`;
    // One version per training attempt of this run: the base commit and the run's start time keep
    // a later pipeline run from overwriting rows an earlier one put in service.
    const started = workflowInfo().startTime.toISOString().replace(/[-:T]/g, '').slice(0, 14);
    this.versionPrefix = `${input.base.sha.slice(0, 12)}-${started}`;
  }

  async run(): Promise<CopyResult> {
    const { settings } = this.input;
    const current = await control.currentModelOf({ useCaseId: this.input.useCaseId });
    this.status.currentModelId = current.modelId;
    const first: AttemptPlan = { reason: 'first training', maxSteps: settings.training.maxSteps, learningRate: settings.training.learningRate, lookbackDays: settings.dataset.lookbackDays };
    let plan = first;
    for (let attempt = 1; attempt <= settings.training.maxAttempts; attempt++) {
      const trained = await this.attempt(attempt, plan, current.modelId);
      if (trained.record.passed) return this.deploy(trained);
      plan = nextAttemptPlan(first, plan, trained.record, settings.training.retrainStepsMultiplier);
    }
    throw ApplicationFailure.nonRetryable(`${this.input.copyName} did not pass after ${settings.training.maxAttempts} attempt(s): ${this.status.attempts.at(-1)?.verdict}`, 'NotAsGood');
  }

  /** Register this attempt's version, build its dataset, train it, then gate it. */
  private async attempt(attempt: number, plan: AttemptPlan, currentModelId: string | null): Promise<TrainedAttempt> {
    const { settings, useCaseId, copyName } = this.input;
    const version = `${this.versionPrefix}-a${attempt}`;
    const upstreamModel = upstreamModelOf(copyName, attempt);
    const record: CopyAttempt = { attempt, ...plan, version, upstreamModel, trainingWorkflowId: fineTuneWorkflowId(useCaseId, `${copyName}@${version}`, attempt) };
    this.status.attempts.push(record);
    this.status.phase = 'registering';
    const registered = await control.registerUseCaseCopy({
      useCaseId,
      base: { ...this.input.base, source: 'huggingface' },
      copyName,
      provider: settings.serving.provider,
      upstreamModel,
      version,
      configuration: { quantization: settings.quantization, training: { method: settings.training.method, lora: settings.training.lora, maxSteps: plan.maxSteps, learningRate: plan.learningRate }, attempt, reason: plan.reason, pipelineWorkflowId: workflowInfo().workflowId },
    });
    record.copyModelId = registered.copyModelId;
    this.status.copyModelId = registered.copyModelId;
    this.status.baseModelId = registered.baseModelId;
    const dir = `${this.copyDir}/attempt-${attempt}`;

    this.status.phase = 'dataset';
    const card = await control.buildTrainingDataset({ useCaseId, copyModelId: registered.copyModelId, outDir: `${dir}/dataset`, lookbackDays: plan.lookbackDays, ...(settings.dataset.since ? { since: settings.dataset.since } : {}), ...(settings.dataset.until ? { until: settings.dataset.until } : {}), minFeedbackScore: settings.dataset.minFeedbackScore, requireFeedback: settings.dataset.requireFeedback, validationFraction: settings.dataset.validationFraction, maxRows: settings.dataset.maxRows, minTrainRows: settings.dataset.minTrainRows, splitSeed: copyName });
    record.dataset = card.counts;

    this.status.phase = 'training';
    const t = settings.training;
    const { training } = await executeChild(fineTuneWorkflow, {
      workflowId: record.trainingWorkflowId,
      args: [{ useCaseId, copyModelId: registered.copyModelId, baseModelId: registered.baseModelId, gpuTaskQueue: this.input.gpuTaskQueue, reason: plan.reason, heartbeatTimeoutSeconds: t.heartbeatTimeoutSeconds, training: { baseModelPath: this.input.base.path, trainFile: card.trainFile, validationFile: card.validationFile, outputDir: `${dir}/training`, method: t.method, lora: t.lora, maxSteps: plan.maxSteps, learningRate: plan.learningRate, batchSize: t.batchSize, evalSteps: Math.min(t.evalSteps, plan.maxSteps), saveSteps: Math.min(t.saveSteps, plan.maxSteps), maxLength: t.maxLength, ...(t.threads ? { threads: t.threads } : {}) } }],
    });
    Object.assign(record, { initialEvalLoss: training.initialEvalLoss, finalEvalLoss: training.finalEvalLoss, secondsPerStep: training.secondsPerStep });
    const trained: TrainedAttempt = { record, copyModelId: registered.copyModelId, adapterPath: training.adapterPath };
    await this.gate(trained, card.validationFile, currentModelId);
    await control.updateCopy({ copyModelId: registered.copyModelId, modelPath: training.adapterPath, configuration: { attempts: this.status.attempts }, performanceMetrics: { heldOutLoss: training.finalEvalLoss, heldOutLossBefore: training.initialEvalLoss }, ...(record.passed ? {} : { status: 'failed' as const }) });
    return trained;
  }

  /**
   * Test until as good: first the held-out loss (cheap, no serving needed), then the served copy
   * against the model in service through the evaluate workflow (a child; issue 11's criteria:
   * similarity, judged quality, latency, safety, use-case tests). Without a model in service the
   * held-out loss decides.
   */
  private async gate(trained: TrainedAttempt, validationFile: string, currentModelId: string | null): Promise<void> {
    const { record } = trained;
    const threshold = this.input.settings.evaluation.maxEvalLoss;
    const loss = record.finalEvalLoss!;
    this.status.phase = 'evaluating';
    if (loss > threshold || loss >= record.initialEvalLoss!) {
      record.passed = false;
      record.verdict = `held-out loss ${loss} (from ${record.initialEvalLoss}) must fall and be ≤ ${threshold}`;
      return;
    }
    trained.gguf = await this.serve(record, trained.adapterPath, validationFile);
    if (!currentModelId) {
      record.passed = true;
      record.verdict = `held-out loss ${loss} ≤ ${threshold} (from ${record.initialEvalLoss}); no model in service to compare with`;
      return;
    }
    const suite = await suites.prepareEvaluationSuite({ useCaseId: this.input.useCaseId });
    record.evaluationWorkflowId = evaluateWorkflowId(trained.copyModelId, currentModelId, suite.hash);
    this.status.phase = 'evaluating';
    const evaluation = await executeChild(evaluateWorkflow, { workflowId: record.evaluationWorkflowId, args: [{ candidateModelId: trained.copyModelId, currentModelId, suiteHash: suite.hash }] });
    record.evaluation = { evaluationId: evaluation.evaluationId, meetsThreshold: evaluation.meetsThreshold, failing: evaluation.failing, similarity: evaluation.similarity.calibrated, prompts: evaluation.prompts };
    record.passed = evaluation.meetsThreshold;
    record.verdict = evaluation.meetsThreshold
      ? `as good as the model in service on ${evaluation.prompts} prompt(s) (held-out loss ${loss})`
      : `not as good as the model in service: ${evaluation.failing.join('; ')}`;
  }

  /** GGUF + quantisation, then the adapter onto the serving node under this attempt's name. */
  private async serve(record: CopyAttempt, adapterPath: string, validationFile: string): Promise<PrepareServingCopyResult> {
    const { settings } = this.input;
    this.status.phase = 'converting';
    const gguf = await this.gpu.gpuPrepareServingCopy({ baseModelPath: this.input.base.path, adapterPath, outputDir: `${this.copyDir}/attempt-${record.attempt}/gguf`, quantization: settings.quantization, validationFile });
    if (gguf.quantized) this.status.quantization = { type: gguf.quantized.quantization, bytes: gguf.quantized.bytes, ...(gguf.quantized.quality ? { quality: gguf.quantized.quality } : {}) };
    this.status.phase = 'serving';
    const serving = settings.serving;
    const upstreamModel = record.upstreamModel;
    if (serving.kind === 'llama_cpp') {
      const url = new URL(serving.baseUrl);
      await this.gpu.gpuStartLlamaServer({ modelPath: gguf.servedModelPath, loraPath: gguf.servedLoraPath, host: url.hostname, port: Number(url.port || 80), alias: upstreamModel, stateDir: `${settings.modelsDir}/serving` });
    } else {
      await control.registerAdapter({ kind: serving.kind, baseUrl: serving.baseUrl, ...(serving.apiKeyEnv ? { apiKeyEnv: serving.apiKeyEnv } : {}), name: upstreamModel, adapterPath: serving.kind === 'vllm' ? adapterPath : gguf.adapter!.path, baseModel: serving.baseModel ?? this.input.base.name });
    }
    this.status.serving = { baseUrl: serving.baseUrl, upstreamModel };
    await control.updateCopy({ copyModelId: record.copyModelId!, configuration: { gguf, serving: this.status.serving, quantizationResult: this.status.quantization ?? null } });
    return gguf;
  }

  /** The passing copy: the validate workflow's smoke check, then the rollout workflow (canary by default). */
  private async deploy(trained: TrainedAttempt): Promise<CopyResult> {
    const { useCaseId, settings, requestedBy, copyName } = this.input;
    const { copyModelId } = trained;
    this.status.phase = 'validating';
    await executeChild(validateModelWorkflow, { workflowId: validateWorkflowId(copyModelId), args: [{ modelId: copyModelId, requestedBy, comparedWithCurrent: true }] });
    this.status.phase = 'rolling_out';
    this.status.rolloutWorkflowId = rolloutWorkflowId(useCaseId);
    const rollout = await executeChild(rolloutWorkflow, {
      workflowId: this.status.rolloutWorkflowId,
      args: [{ useCaseId, candidate: copyModelId, strategy: settings.rollout.strategy, policy: settings.rollout.policy, requestedBy, deploymentId: uuid4() }],
      typedSearchAttributes: [
        { key: MmsUseCase, value: useCaseId },
        { key: MmsCandidateModel, value: copyModelId },
        { key: MmsStep, value: 0 },
        { key: MmsStatus, value: 'preparing' },
      ],
    });
    this.status.outcome = rollout.outcome;
    this.status.phase = 'completed';
    return { copyName, copyModelId, attempts: this.status.attempts, outcome: rollout.outcome, rolloutReason: rollout.reason };
  }
}

/** `copy:<useCase>:<copy>`: train and test until as good (bounded attempts, each with its reason), then deploy. */
export async function copyWorkflow(input: CopyInput): Promise<CopyResult> {
  const copy = new CopyRun(input);
  setHandler(copyStatusQuery, () => copy.status);
  try {
    return await copy.run();
  } catch (err) {
    copy.status.phase = 'failed';
    copy.status.outcome = 'failed';
    copy.status.error = failureMessage(err);
    throw err;
  }
}
