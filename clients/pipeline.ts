import path from 'node:path';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { MmsConfig } from '../src/config/schema';
import { stateDir } from '../src/paths';
import { pendingActivityProgress } from '../src/gpu/progress';
import { pipelineWorkflow } from '../workflows/pipeline';
import {
  copyStatusQuery,
  pipelineStatusQuery,
  pipelineWorkflowId,
  type CopyStatus,
  type DownloadProgress,
  type PipelineSettings,
  type PipelineStatus,
  type TrainProgress,
} from '../workflows/pipeline-messages';

/** Starting, reading and cancelling `pipeline:<useCase>` from clients (CLI, REST API, tests, bench). */

export class PipelineRequestError extends Error {
  override name = 'PipelineRequestError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}
export class PipelineAlreadyRunningError extends Error {
  override name = 'PipelineAlreadyRunningError';
}
export class NoPipelineError extends Error {
  override name = 'NoPipelineError';
}

/** The settings one pipeline run uses, resolved from mms.config.yaml (errors name the config key). */
export function pipelineSettings(config: MmsConfig, useCaseId: string): PipelineSettings {
  const useCase = config.useCases.find((u) => u.id === useCaseId);
  if (!useCase) throw new PipelineRequestError(`unknown use case "${useCaseId}" (configured: ${config.useCases.map((u) => u.id).join(', ')})`, 'use_case');
  if (useCase.kind !== 'self_hosted') throw new PipelineRequestError(`use case "${useCaseId}" is ${useCase.kind}: only self_hosted use cases have use-case copies to fine-tune`, 'use_case');
  const sh = config.selfHosted;
  const provider = (key: string, id: string, kinds: string[]) => {
    const p = config.providers[id];
    if (!p) throw new PipelineRequestError(`selfHosted.${key}: unknown provider "${id}" (defined: ${Object.keys(config.providers).join(', ')})`, key);
    if (!kinds.includes(p.kind)) throw new PipelineRequestError(`selfHosted.${key}: provider "${id}" is ${p.kind}, expected ${kinds.join(' or ')}`, key);
    return p;
  };
  const hub = provider('huggingface.provider', sh.huggingface.provider, ['huggingface']);
  const ollama = config.providers[sh.ollama.provider];
  const servingKinds = sh.serving.kind === 'ollama' ? ['ollama'] : ['openai_compatible'];
  const serving = provider('serving.provider', sh.serving.provider, servingKinds);
  const modelsDir = path.isAbsolute(sh.modelsDir) ? sh.modelsDir : path.join(stateDir, sh.modelsDir);
  return {
    discovery: {
      huggingface: { hubUrl: hub.baseUrl.replace(/\/+$/, ''), limit: sh.huggingface.limit, ...(hub.apiKeyEnv ? { tokenEnv: hub.apiKeyEnv } : {}) },
      ...(ollama?.kind === 'ollama' ? { ollama: { host: ollama.baseUrl, pullable: sh.ollama.pullable } } : {}),
      weights: config.policies.ranking.selfHosted,
      gpuMemoryGb: sh.gpuMemoryGb,
      licenseAllowList: sh.licenseAllowList,
    },
    hub: { endpoint: hub.baseUrl.replace(/\/+$/, ''), ...(hub.apiKeyEnv ? { tokenEnv: hub.apiKeyEnv } : {}) },
    modelsDir,
    dataset: sh.dataset,
    training: sh.training,
    quantization: sh.copies[useCaseId]?.quantization ?? sh.defaultQuantization,
    serving: { kind: sh.serving.kind, provider: sh.serving.provider, baseUrl: serving.baseUrl.replace(/\/+$/, ''), ...(serving.apiKeyEnv ? { apiKeyEnv: serving.apiKeyEnv } : {}), ...(sh.serving.baseModel ? { baseModel: sh.serving.baseModel } : {}) },
    evaluation: sh.evaluation,
    rollout: { strategy: config.policies.rollout.strategy, policy: config.policies.rollout },
  };
}

export interface StartedPipeline {
  workflowId: string;
  runId: string;
  handle: WorkflowHandle<typeof pipelineWorkflow>;
}

export async function startPipeline(
  client: Client,
  config: MmsConfig,
  request: { useCaseId: string; baseRepo?: { repo: string; revision: string }; requestedBy: string; settings?: PipelineSettings },
): Promise<StartedPipeline> {
  const settings = request.settings ?? pipelineSettings(config, request.useCaseId);
  const workflowId = pipelineWorkflowId(request.useCaseId);
  try {
    const handle = await client.workflow.start(pipelineWorkflow, {
      taskQueue: config.temporal.controlTaskQueue,
      workflowId,
      args: [{ useCaseId: request.useCaseId, gpuTaskQueue: config.temporal.gpuTaskQueue, settings, requestedBy: request.requestedBy, ...(request.baseRepo ? { baseRepo: request.baseRepo } : {}) }],
      memo: { summary: `self-hosted pipeline of ${request.useCaseId} (requested by ${request.requestedBy})` },
    });
    return { workflowId, runId: handle.firstExecutionRunId, handle };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new PipelineAlreadyRunningError(`a pipeline of "${request.useCaseId}" is already running (workflow ${workflowId}); see \`mms pipeline status ${request.useCaseId}\` or cancel it with \`mms pipeline cancel ${request.useCaseId}\``);
    }
    throw err;
  }
}

export interface PipelineReading {
  workflowId: string;
  execution: string;
  status?: PipelineStatus;
  copies: Array<{ workflowId: string; status?: CopyStatus; training?: TrainProgress & { attempt: number } }>;
  download?: DownloadProgress;
}

async function tryQuery<T>(work: () => Promise<T>): Promise<T | undefined> {
  return work().catch(() => undefined);
}

/** The pipeline's state, each copy's state, and the live progress of a running download or training. */
export async function readPipeline(client: Client, useCaseId: string): Promise<PipelineReading> {
  const workflowId = pipelineWorkflowId(useCaseId);
  const handle = client.workflow.getHandle(workflowId);
  let execution: string;
  try {
    execution = (await handle.describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new NoPipelineError(`no pipeline of "${useCaseId}" has run (workflow ${workflowId} not found)`);
    throw err;
  }
  const status = await tryQuery(() => handle.query(pipelineStatusQuery));
  const reading: PipelineReading = { workflowId, execution, ...(status ? { status } : {}), copies: [] };
  if (status?.downloadWorkflowId && status.phase === 'downloading') {
    const progress = await tryQuery(() => pendingActivityProgress(client.workflow.getHandle(status.downloadWorkflowId!)));
    const details = progress?.find((p) => p.activityType === 'gpuDownloadModel')?.details as DownloadProgress | undefined;
    if (details) reading.download = details;
  }
  for (const copyId of status?.copyWorkflowIds ?? []) {
    const copyHandle = client.workflow.getHandle(copyId);
    const copy = await tryQuery(() => copyHandle.query(copyStatusQuery));
    const entry: PipelineReading['copies'][number] = { workflowId: copyId, ...(copy ? { status: copy } : {}) };
    const attempt = copy?.attempts.at(-1);
    if (copy?.phase === 'training' && attempt) {
      const progress = await tryQuery(() => pendingActivityProgress(client.workflow.getHandle(attempt.trainingWorkflowId)));
      const details = progress?.find((p) => p.activityType === 'gpuTrainAdapter')?.details as TrainProgress | undefined;
      if (details) entry.training = { ...details, attempt: attempt.attempt };
    }
    reading.copies.push(entry);
  }
  return reading;
}

export async function cancelPipeline(client: Client, useCaseId: string): Promise<void> {
  const handle = client.workflow.getHandle(pipelineWorkflowId(useCaseId));
  try {
    await handle.cancel();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new NoPipelineError(`no running pipeline of "${useCaseId}"`);
    throw err;
  }
}

const mb = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MB`;

/** The human view of `mms pipeline status`. */
export function renderPipeline(reading: PipelineReading): string {
  const s = reading.status;
  const lines = [`${reading.workflowId}  ${reading.execution.toLowerCase()}${s ? `  phase ${s.phase}` : ''}${s?.error ? `  error: ${s.error}` : ''}`];
  if (s?.candidates.length) {
    lines.push('candidates:');
    for (const c of s.candidates.slice(0, 5)) lines.push(`  #${c.rank} ${c.source}:${c.externalId}  score ${c.score.toFixed(3)}${c.eligible ? '' : `  (ineligible: ${c.reasons.join('; ')})`}`);
  }
  if (s?.chosen) lines.push(`base: ${s.chosen.repo}@${s.download?.sha ?? s.chosen.revision}${s.download ? ` (${mb(s.download.bytes)} in ${s.download.seconds} s)` : ''}`);
  if (reading.download) {
    const d = reading.download;
    lines.push(`download: ${mb(d.bytesDone)} of ${mb(d.bytesTotal)} (${d.bytesTotal ? ((100 * d.bytesDone) / d.bytesTotal).toFixed(1) : '0'}%)${d.file ? `, ${d.file} at byte ${d.offset}` : ''}`);
  }
  for (const copy of reading.copies) {
    const c = copy.status;
    lines.push(`copy ${c?.copyName ?? copy.workflowId}: ${c?.phase ?? '?'}${c?.outcome ? ` (${c.outcome})` : ''}${c?.error ? ` — ${c.error}` : ''}`);
    if (copy.training) {
      const t = copy.training;
      lines.push(`  training attempt ${t.attempt}: step ${t.step}/${t.maxSteps}  loss ${t.loss ?? '-'}  eval loss ${t.evalLoss ?? '-'}  checkpoint ${t.lastCheckpointStep ?? '-'}${t.resumedFromStep ? `  (resumed at ${t.resumedFromStep})` : ''}`);
    }
    for (const a of c?.attempts ?? []) {
      lines.push(`  attempt ${a.attempt}: ${a.reason}; ${a.maxSteps} steps, lr ${a.learningRate}, ${a.dataset ? `${a.dataset.train}/${a.dataset.validation} rows` : 'dataset pending'}${a.finalEvalLoss !== undefined ? `, eval loss ${a.initialEvalLoss} → ${a.finalEvalLoss}` : ''}${a.verdict ? ` — ${a.passed ? 'passed' : 'failed'}: ${a.verdict}` : ''}`);
    }
    if (c?.quantization) lines.push(`  quantisation ${c.quantization.type}: ${mb(c.quantization.bytes)}${c.quantization.quality ? `, perplexity ratio ${String(c.quantization.quality.perplexityRatio)} vs unquantised` : ''}`);
    if (c?.serving) lines.push(`  served at ${c.serving.baseUrl} as ${c.serving.upstreamModel}`);
    if (c?.rolloutWorkflowId) lines.push(`  rollout: ${c.rolloutWorkflowId} (mms rollout status ${c.useCaseId})`);
  }
  return lines.join('\n');
}
