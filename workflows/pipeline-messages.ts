import { defineQuery } from '@temporalio/workflow';
import type { CandidateSummary, DiscoverInput } from '../activities/pipeline';
import type { DownloadModelResult, LoraSettings } from '../activities/gpu-activities';

/** Heartbeat details of the GPU activities, as clients read them (`mms pipeline status`). */
export type { DownloadProgress, TrainProgress } from '../activities/gpu-activities';
import type { RolloutPolicy } from '../src/config/schema';
import type { DatasetCard } from '../src/pipeline/dataset';

/**
 * Messages of the self-hosted pipeline, from finding a model to serving its use-case copy: `pipeline:<useCase>` discovers, downloads
 * and starts one child `copy:<useCase>:<copy>` per use-case copy, which builds its dataset, trains,
 * tests until as good, serves and rolls out. Settings are resolved from mms.config.yaml when the
 * pipeline starts and travel in the input, so each run's history shows what it used.
 */

export interface TrainingSettings {
  method: 'lora' | 'full';
  lora: Required<LoraSettings>;
  maxSteps: number;
  learningRate: number;
  batchSize: number;
  evalSteps: number;
  saveSteps: number;
  maxLength: number;
  maxAttempts: number;
  retrainStepsMultiplier: number;
  heartbeatTimeoutSeconds: number;
  threads?: number;
}

export interface DatasetSettings {
  minFeedbackScore: number;
  requireFeedback: boolean;
  validationFraction: number;
  maxRows: number;
  lookbackDays: number;
  minTrainRows: number;
  /** An explicit window of logs (REST historical_logs_range); otherwise the last lookbackDays. */
  since?: string;
  until?: string;
}

export interface ServingSettings {
  kind: 'llama_cpp' | 'vllm' | 'ollama';
  /** Provider id the gateway reaches the copy through; its baseUrl is where the adapter is served. */
  provider: string;
  baseUrl: string;
  apiKeyEnv?: string;
  /** Ollama: the model on the node the adapter applies to (default: the base's registry name). */
  baseModel?: string;
}

export interface PipelineSettings {
  discovery: Omit<DiscoverInput, 'useCaseId'>;
  /** Hub the downloads come from, and the variable holding its token (gated models). */
  hub: { endpoint: string; tokenEnv?: string };
  /** Absolute: downloads, datasets, checkpoints, adapters and GGUF files live under it. */
  modelsDir: string;
  dataset: DatasetSettings;
  training: TrainingSettings;
  quantization: string;
  serving: ServingSettings;
  /**
   * The copy passes when its loss on held-out logged answers (the current model's outputs, or the
   * corrections people made) is at most this: it answers like the model in service.
   */
  evaluation: { maxEvalLoss: number };
  rollout: { strategy: string; policy: RolloutPolicy };
}

export interface PipelineInput {
  useCaseId: string;
  gpuTaskQueue: string;
  settings: PipelineSettings;
  /** Skip the ranking's choice and use this Hub repository as the base. */
  baseRepo?: { repo: string; revision: string };
  requestedBy: string;
}

export type PipelinePhase = 'discovering' | 'downloading' | 'copying' | 'completed' | 'failed';

export interface PipelineStatus {
  useCaseId: string;
  phase: PipelinePhase;
  candidates: Array<Pick<CandidateSummary, 'source' | 'externalId' | 'score' | 'eligible' | 'reasons' | 'rank' | 'parameters' | 'license'>>;
  chosen?: { repo: string; revision: string };
  downloadWorkflowId?: string;
  download?: Pick<DownloadModelResult, 'sha' | 'path' | 'bytes' | 'seconds'>;
  copyWorkflowIds: string[];
  error?: string;
}

export interface PipelineResult {
  useCaseId: string;
  base: { repo: string; sha: string; path: string };
  copies: CopyResult[];
}

export interface CopyInput {
  useCaseId: string;
  copyName: string;
  gpuTaskQueue: string;
  settings: PipelineSettings;
  base: { name: string; repo: string; sha: string; path: string; parameters: number | null };
  requestedBy: string;
}

/** What a training attempt is given: the first from the config, each retrain adjusted by the last verdict. */
export interface AttemptPlan {
  /** Why this training run happens: the first one, or what the previous evaluation found and what changed. */
  reason: string;
  maxSteps: number;
  learningRate: number;
  lookbackDays: number;
}

export interface CopyAttempt extends AttemptPlan {
  attempt: number;
  /** This attempt's registry version of the copy, and the name the serving node knows it by. */
  version: string;
  upstreamModel: string;
  copyModelId?: string;
  trainingWorkflowId: string;
  dataset?: DatasetCard['counts'];
  initialEvalLoss?: number;
  finalEvalLoss?: number;
  secondsPerStep?: number | null;
  /** The evaluate workflow's comparison with the model in service (absent when the loss gate failed first). */
  evaluationWorkflowId?: string;
  evaluation?: { evaluationId: string; meetsThreshold: boolean; failing: string[]; similarity: number | null; prompts: number };
  passed?: boolean;
  verdict?: string;
}

/**
 * The next attempt after a failed one: a loss that did not fall means the step size is wrong (half
 * the learning rate, same steps); a loss that fell but not far enough, or a copy the evaluation found
 * not as good, needs more training on more data (twice the window of logs, and more steps).
 *
 * The steps grow from the first plan, not from the previous one: retrain n (attempt n + 1) trains
 * `first.maxSteps × stepsMultiplier × n`. Compounding (`previous × multiplier`) turned a test's 6
 * steps × 100 into 600 and then 60,000 for attempt 3: a retrain hours long on a CPU, where
 * linear growth gives 600 then 1,200.
 */
export function nextAttemptPlan(first: AttemptPlan, plan: AttemptPlan, failed: CopyAttempt, stepsMultiplier = 2): AttemptPlan {
  const diverged = failed.finalEvalLoss !== undefined && failed.initialEvalLoss !== undefined && failed.finalEvalLoss >= failed.initialEvalLoss;
  if (diverged) {
    const learningRate = plan.learningRate / 2;
    return { ...plan, learningRate, reason: `attempt ${failed.attempt} failed: ${failed.verdict}; retraining with learning rate ${learningRate}` };
  }
  const maxSteps = Math.max(plan.maxSteps, Math.round(first.maxSteps * stepsMultiplier * failed.attempt));
  const next = { ...plan, maxSteps, lookbackDays: plan.lookbackDays * 2 };
  return { ...next, reason: `attempt ${failed.attempt} failed: ${failed.verdict}; retraining with ${next.maxSteps} steps on ${next.lookbackDays} days of logs` };
}

/** The name the serving node knows an attempt's adapter by (each attempt its own, so a retry never swaps a loaded one). */
export const upstreamModelOf = (copyName: string, attempt: number) => `${copyName}-a${attempt}`;

export type CopyPhase = 'registering' | 'dataset' | 'training' | 'evaluating' | 'converting' | 'serving' | 'validating' | 'rolling_out' | 'completed' | 'failed';

export interface CopyStatus {
  useCaseId: string;
  copyName: string;
  phase: CopyPhase;
  /** The latest attempt's registry row. */
  copyModelId?: string;
  baseModelId?: string;
  /** The model in service the copy is compared with (null: none yet, the held-out loss decides). */
  currentModelId?: string | null;
  attempts: CopyAttempt[];
  quantization?: { type: string; bytes: number; quality?: Record<string, unknown> };
  serving?: { baseUrl: string; upstreamModel: string };
  rolloutWorkflowId?: string;
  outcome?: 'promoted' | 'rolled_back' | 'failed';
  error?: string;
}

export interface CopyResult {
  copyName: string;
  copyModelId: string;
  attempts: CopyAttempt[];
  outcome: 'promoted' | 'rolled_back';
  rolloutReason: string;
}

export const pipelineStatusQuery = defineQuery<PipelineStatus>('pipelineStatus');
export const copyStatusQuery = defineQuery<CopyStatus>('copyStatus');

/** One pipeline per use case at a time. */
export const pipelineWorkflowId = (useCaseId: string) => `pipeline:${useCaseId}`;
export const copyWorkflowId = (useCaseId: string, copyName: string) => `copy:${useCaseId}:${copyName}`;

/** `<base>-<use-case-with-dashes>`: the name the original design gives a use-case copy of a base model. */
export const copyNameOf = (baseName: string, useCaseId: string) => `${baseName}-${useCaseId.replace(/_/g, '-')}`;

/** The registry name of a Hub repository: its name without the owner, lower-cased (`Llama-3.1-8B` → `llama-3.1-8b`). */
export const baseNameOf = (repo: string) => repo.split('/').pop()!.toLowerCase();
