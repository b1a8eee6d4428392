import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Prisma as PrismaTypes, PrismaClient } from '@prisma/client';
import { judgeCanaryWindow, judgeShadowWindow, type WindowAnalysis } from '../src/analysis/canary';
import { loadGroupSample } from '../src/analysis/samples';
import type { SequentialState } from '../src/analysis/sequential';
import type { RolloutPolicy } from '../src/config/schema';
import { NotFoundError } from '../src/registry/allocations';
import {
  AllocationConflictError,
  RolloutRefusedError,
  applyTraffic,
  assertOwnsAllocation,
  finalizePromotion,
  finishDeployment,
  prepareRollout,
  startDeployment,
  type ApplyTrafficInput,
  type StartDeploymentInput,
} from '../src/registry/rollouts';
import { safeErrorMessage } from '../src/logging/redact';
import { driveEvaluationTraffic, type EvaluationTrafficInput } from './evaluation-traffic';

/** The HTTP client the activities use (global fetch by default; tests may inject another). */
export type HttpFetch = (url: string, init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<{ status: number; text(): Promise<string> }>;

export interface RolloutActivityDeps {
  prisma: PrismaClient;
  /** Wall clock of analysis windows and deployment rows. */
  clock?: () => Date;
  http?: HttpFetch;
  /** Gateway that evaluation traffic goes through, unless the policy names one. */
  gatewayBaseUrl?: string;
  /** Where `apiKeyEnv` names are looked up (process.env by default). */
  env?: Record<string, string | undefined>;
}

/** Registry faults no retry can mend fail fast with their message; anything else is retried. */
async function classify<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof NotFoundError) throw ApplicationFailure.nonRetryable(err.message, 'NotFound');
    if (err instanceof AllocationConflictError) throw ApplicationFailure.nonRetryable(err.message, 'AllocationConflict');
    if (err instanceof RolloutRefusedError) throw ApplicationFailure.nonRetryable(err.message, 'RolloutRefused');
    if (err instanceof ApplicationFailure) throw err;
    throw ApplicationFailure.retryable(safeErrorMessage(err), err instanceof Error ? err.name : 'Error');
  }
}

export interface AnalyseWindowInput {
  useCaseId: string;
  candidateModelId: string;
  stableModelId: string;
  mode: 'canary' | 'shadow';
  /** `<workflowId>/<runId>`: the analysis refuses to judge an allocation this rollout no longer owns. */
  rolloutKey: string;
  /** Start of the stage (when its traffic change was applied): extensions keep accumulating from here. */
  since: string;
  /** Start of stable's fallback baseline when stable served too little in the window (at 100%). */
  baselineSince: string;
  policy: Pick<RolloutPolicy, 'analysis' | 'shadowSuccessRate'>;
  workflowId: string;
  deploymentId: string;
  stageLabel: string;
  /** Idempotency: a retried analysis returns the verdict recorded first. */
  requestKey: string;
  /** The evidence of the stages already closed (sequential analysis over the whole rollout). */
  sequential?: SequentialState;
  /** End of the window (calls that started before it count, wherever they finished); default now. */
  until?: string;
  /** Stable keeps a holdback in this stage: its same-window traffic is the baseline, however small. */
  stableHeldBack?: boolean;
  /**
   * The stage gives stable no traffic (100 %, no holdback): its rows in the window can only be the
   * switch's stragglers (calls routed before the change committed), never a same-window baseline,
   * however many a slow commit or a lagging gateway let through.
   */
  stableServesNoOne?: boolean;
}

export interface WindowVerdict extends WindowAnalysis {
  since: string;
  until: string;
  baselineSource: 'same_window' | 'before_stage';
}

/** The verdict as recorded on the evaluation row, without the row's own bookkeeping fields. */
function storedVerdict(results: unknown): WindowVerdict {
  const { stage: _stage, deploymentId: _deploymentId, ...verdict } = results as WindowVerdict & { stage?: string; deploymentId?: string };
  return verdict;
}

/**
 * The candidate's calls of the window and stable's to judge them against: stable's of the same
 * window, or, when stable served too few of them, its own traffic from before the stage.
 */
async function loadWindowSamples(prisma: PrismaClient, input: AnalyseWindowInput, since: Date, until: Date) {
  const base = { useCaseId: input.useCaseId, since, until };
  const candidate = await loadGroupSample(prisma, { ...base, modelId: input.candidateModelId, roles: input.mode === 'shadow' ? ['shadow'] : ['canary'] });
  let baseline = await loadGroupSample(prisma, { ...base, modelId: input.stableModelId, roles: ['stable'] });
  let baselineSource: WindowVerdict['baselineSource'] = 'same_window';
  if (input.mode === 'canary' && !input.stableHeldBack && (input.stableServesNoOne || baseline.requests < input.policy.analysis.minSamples || baseline.requests * 10 < candidate.requests)) {
    // At 100% (blue-green, all-at-once, a canary without a stable holdback) stable serves no one
    // but the stragglers of the switch, too few to show anything: judge against its own traffic
    // from before this stage instead of calling the window inconclusive forever.
    const earlier = await loadGroupSample(prisma, { ...base, since: new Date(input.baselineSince), until: since, modelId: input.stableModelId, roles: ['stable'] });
    if (earlier.requests > baseline.requests) {
      baseline = earlier;
      baselineSource = 'before_stage';
    }
  }
  return { candidate, baseline, baselineSource };
}

/** Records the verdict as an evaluation row (kind rollout_window / shadow); a concurrent attempt's row, if first, is kept. */
async function recordWindowVerdict(prisma: PrismaClient, input: AnalyseWindowInput, verdict: WindowVerdict, until: Date): Promise<void> {
  await prisma.evaluation
    .create({
      data: {
        useCaseId: input.useCaseId,
        candidateModelId: input.candidateModelId,
        currentModelId: input.stableModelId,
        kind: input.mode === 'shadow' ? 'shadow' : 'rollout_window',
        status: verdict.verdict === 'pass' ? 'passed' : verdict.verdict === 'fail' ? 'failed' : 'inconclusive',
        meetsThreshold: verdict.verdict === 'pass',
        results: { ...verdict, stage: input.stageLabel, deploymentId: input.deploymentId } as unknown as PrismaTypes.InputJsonValue,
        workflowId: input.workflowId,
        requestKey: input.requestKey,
        completedAt: until,
      },
    })
    .catch(async (err: { code?: string }) => {
      if (err.code !== 'P2002') throw err; // a concurrent attempt recorded it first: keep that one
    });
}

/** One POST of a rollout event; 4xx (except 408/429) is a non-retryable failure, anything else retryable. */
async function postEvent(http: HttpFetch, url: string, event: RolloutEvent): Promise<{ status: number }> {
  let res;
  try {
    res = await http(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'mms-rollout/1', 'x-mms-event-id': event.id, 'x-mms-event': event.type },
      body: JSON.stringify(event),
      signal: AbortSignal.timeout(5000),
    });
  } catch (err) {
    throw ApplicationFailure.retryable(`webhook ${event.type} to ${new URL(url).host} failed: ${safeErrorMessage(err)}`, 'WebhookUnreachable');
  }
  await res.text().catch(() => '');
  if (res.status >= 200 && res.status < 300) return { status: res.status };
  const message = `webhook ${event.type} to ${new URL(url).host} answered ${res.status}`;
  if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) throw ApplicationFailure.nonRetryable(message, 'WebhookRejected');
  throw ApplicationFailure.retryable(message, 'WebhookFailed');
}

export function createRolloutActivities(deps: RolloutActivityDeps) {
  const { prisma } = deps;
  const clock = deps.clock ?? (() => new Date());
  const http: HttpFetch = deps.http ?? ((url, init) => fetch(url, init));
  const env = deps.env ?? process.env;

  return {
    async prepareRollout(input: { useCaseId: string; candidate: string; expectedStableModelId?: string }) {
      return classify(() => prepareRollout(prisma, input));
    },

    async startDeployment(input: StartDeploymentInput) {
      return classify(() => startDeployment(prisma, input));
    },

    async applyTraffic(input: ApplyTrafficInput) {
      const context = Context.current();
      const beat = setInterval(() => context.heartbeat(), 1000);
      try {
        return await classify(() => applyTraffic(prisma, input));
      } finally {
        clearInterval(beat);
      }
    },

    async finalizePromotion(input: { useCaseId: string; rolloutKey: string; candidateModelId: string; stableModelId: string; deploymentId: string; reason: string; createdBy: string }) {
      return classify(() => finalizePromotion(prisma, input));
    },

    async finishDeployment(input: { deploymentId: string; status: 'rolled_back' | 'failed'; reason: string; details: Record<string, unknown> }) {
      return classify(() => finishDeployment(prisma, input));
    },

    /**
     * Analyses the stage so far, candidate against stable, from the historical logs, and records the
     * verdict with its numbers as an evaluation row (kind rollout_window / shadow).
     */
    async analyseWindow(input: AnalyseWindowInput): Promise<WindowVerdict> {
      return classify(async () => {
        const recorded = await prisma.evaluation.findUnique({ where: { requestKey: input.requestKey } });
        if (recorded) return storedVerdict(recorded.results);
        await assertOwnsAllocation(prisma, input.useCaseId, input.rolloutKey);
        const until = input.until ? new Date(input.until) : clock();
        const since = new Date(input.since);
        const { candidate, baseline, baselineSource } = await loadWindowSamples(prisma, input, since, until);
        const analysis =
          input.mode === 'shadow'
            ? judgeShadowWindow(candidate, baseline, input.policy.analysis, { state: input.sequential })
            : judgeCanaryWindow(candidate, baseline, input.policy.analysis, { sameWindow: baselineSource === 'same_window', state: input.sequential });
        const verdict: WindowVerdict = { ...analysis, since: since.toISOString(), until: until.toISOString(), baselineSource };
        await recordWindowVerdict(prisma, input, verdict, until);
        const stored = await prisma.evaluation.findUniqueOrThrow({ where: { requestKey: input.requestKey } });
        return storedVerdict(stored.results);
      });
    },

    /**
     * Posts one rollout event to the configured webhook. The event id travels as `x-mms-event-id` so a
     * receiver can drop the duplicate a retry may cause. 4xx (except 408/429) is not retried.
     */
    async postWebhook(input: { url: string; event: RolloutEvent }): Promise<{ status: number }> {
      return postEvent(http, input.url, input.event);
    },

    /** Sends evaluation prompts to the candidate through the gateway for one window (idle canaries). */
    async driveEvaluationTraffic(input: Omit<EvaluationTrafficInput, 'gatewayUrl' | 'apiKey'> & { gatewayUrl?: string; apiKeyEnv?: string }) {
      const gatewayUrl = input.gatewayUrl ?? deps.gatewayBaseUrl;
      if (!gatewayUrl) throw ApplicationFailure.nonRetryable('evaluation traffic is enabled but no gateway URL is known: set policies.rollout.evaluationTraffic.gatewayUrl', 'NoGateway');
      const apiKey = input.apiKeyEnv ? env[input.apiKeyEnv] : undefined;
      if (input.apiKeyEnv && !apiKey) throw ApplicationFailure.nonRetryable(`evaluation traffic: environment variable ${input.apiKeyEnv} is not set`, 'NoApiKey');
      const context = Context.current();
      const { attempt, heartbeatDetails, scheduledTimestampMs } = context.info;
      return driveEvaluationTraffic(
        prisma,
        { ...input, gatewayUrl, apiKey },
        {
          http,
          heartbeat: (d) => context.heartbeat(d),
          cancelled: context.cancellationSignal,
          // a retried attempt resumes where the last one got to, and never re-sends its calls
          retry: attempt > 1 ? { progress: heartbeatDetails, firstScheduledAt: scheduledTimestampMs } : undefined,
        },
      );
    },
  };
}

export type RolloutEventType = 'started' | 'step' | 'paused' | 'resumed' | 'rolled_back' | 'completed';

export interface RolloutEvent {
  /** Stable across retries: `<workflowId>/<runId>/event/<n>`. */
  id: string;
  type: RolloutEventType;
  at: string;
  workflowId: string;
  useCaseId: string;
  strategy: string;
  candidateModelId?: string;
  stableModelId?: string;
  deploymentId?: string;
  stage?: string;
  weightPercent: number;
  reason?: string;
  verdict?: { verdict: string; reason: string };
}

export type RolloutActivities = ReturnType<typeof createRolloutActivities>;
