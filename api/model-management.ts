import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { PrismaClient } from '@prisma/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { guardrailsReport } from '../src/guardrails/report';
import { resolvePolicy } from '../src/guardrails/policy';
import { guardrailsOverrideInForce, NoGuardrailsOverrideError } from '../src/meta/guardrails';
import { revertGuardrails } from '../clients/guardrails-monitor';
import { listHistory } from '../src/registry/history';
import { listDecisions } from '../src/meta/decisions';
import type { MmsConfig, RolloutPolicy } from '../src/config/schema';
import { formatIssues } from '../src/config/load';
import { verifyApiKey } from '../src/auth/api-keys';
import { safeErrorMessage } from '../src/logging/redact';
import { recordAuditEvent } from '../src/audit/events';
import { servingStableModel } from '../src/registry/rollouts';
import { forgetPlayer } from '../src/logs/forget';
import { retentionPlan } from '../src/logs/plan';
import { retentionPolicy } from '../src/logs/retention';
import { PipelineAlreadyRunningError, PipelineRequestError, pipelineSettings, startPipeline } from '../clients/pipeline';
import { NotFoundError } from '../src/registry/allocations';
import { DuplicateModelError, ModelRequestError, modelStatuses, registerModel, validationProblem, validationState } from '../src/registry/models';
import { resolveUndoTarget } from '../src/registry/snapshots';
import { startValidation } from '../clients/validation';
import { latestPaidRanking } from '../clients/paid-switch';
import { EvaluationRequestError, evaluationReport, startEvaluation } from '../clients/evaluation';
import { NoRolloutError, RolloutAlreadyRunningError, RolloutRequestError, readRollout, rolloutHandle, startRollout } from '../clients/rollout';
import {
  PolicyOverrideError,
  RolloutControlError,
  abortRollout,
  pauseRollout,
  policyWithOverrides,
  promoteRollout,
  requestedBy,
  resumeRollout,
  rolloutRunning,
} from '../clients/rollout-control';
import { rollbackWorkflow } from '../workflows/rollback';
import { rollbackWorkflowId } from '../workflows/rollback-messages';
import { rolloutStrategies, windowSecondsLeft, type RolloutStatus } from '../workflows/rollout-messages';

/**
 * The management REST API of the original design (deploy, rollback) plus rollout control and the
 * historical-log routes, as a fastify plugin mounted on the gateway's server (or any other). Every
 * route needs an API key (Authorization: Bearer) that the injected verifier accepts — the admin scope.
 * Bodies are validated with zod; a bad field is named in the error and nothing changes.
 *
 *   POST /api/v1/model-management/test       {candidate, against?, use_case?, sample_size?} | the seed's {candidate_model_id, current_model_id?}
 *                                            → 202 {workflow_id}; ?wait=true → 200 the report
 *   POST /api/v1/model-management/deploy     {new_model_id, current_model_id, strategy, force?, steps?, window_seconds?}
 *   POST /api/v1/model-management/rollback   {model_id, snapshot_id?, reason?} | {use_case, reason?} (undo)
 *   POST /api/v1/model-management/models     {use_case, provider, model, name?, version?, params?, validate?}
 *   GET  /api/v1/model-management/models[?use_case=&status=], /models/:model_id
 *   POST /api/v1/model-management/models/:model_id/validate
 *   GET  /api/v1/model-management/rollouts/:use_case
 *   POST /api/v1/model-management/rollouts/:use_case/pause|resume|abort|promote
 *   POST /api/v1/model-management/logs/forget   {player | sticky_key_hash, reason?}  (audited)
 *   GET  /api/v1/model-management/logs/retention
 *   POST /api/v1/model-management/fine-tune  {use_cases, base_model_id?, base_repo?, historical_logs_range?} → 202 {workflow_ids}
 */

/** Resolves a presented key to its holder, or throws an error with `status` 401 or 403. */
export type ApiKeyVerifier = (presented: string | undefined) => Promise<{ keyPrefix: string; name: string; id?: string }>;

export interface ModelManagementDeps {
  prisma: PrismaClient;
  temporal: Client | (() => Promise<Client>);
  config: MmsConfig;
  verifyApiKey: ApiKeyVerifier;
}

const PREFIX = '/api/v1/model-management';

const uuid = (what: string) => z.uuid({ error: (issue) => (issue.input === undefined ? 'is required' : `must be ${what} (a UUID)`) });
const strategyField = z.enum(rolloutStrategies, { error: (issue) => (issue.input === undefined ? 'is required' : `must be one of ${rolloutStrategies.join(', ')}`) });

const deployBody = z.strictObject({
  new_model_id: uuid('a model id'),
  current_model_id: uuid('a model id'),
  strategy: strategyField,
  /** Required for all_at_once. */
  force: z.boolean({ error: 'must be true or false' }).optional(),
  /** Overrides of the configured policy for this rollout. */
  steps: z.array(z.number({ error: 'must be a number' }).int({ error: 'must be a whole number' }).min(1, { error: 'must be >= 1' }).max(100, { error: 'must be <= 100' })).min(1, { error: 'must have at least one step' }).optional(),
  window_seconds: z.number({ error: 'must be a number of seconds' }).positive({ error: 'must be > 0' }).optional(),
});

const reasonField = z.string({ error: 'must be text' }).min(1, { error: 'must not be empty' }).max(1000, { error: 'must be at most 1000 characters' }).optional();
const useCaseField = z.string({ error: (i) => (i.input === undefined ? 'is required' : 'must be text') }).regex(/^[a-z][a-z0-9_]{0,99}$/, { error: 'must be a use case id (lower_snake_case)' });

/** The seed's rollback body: back to a model's latest snapshot, or to a given snapshot of it. */
const rollbackBody = z.strictObject({ model_id: uuid('a model id'), snapshot_id: uuid('a snapshot id').optional(), reason: reasonField });
/** `use_case` alone: undo the last change of the use case's serving model. */
const undoBody = z.strictObject({ use_case: useCaseField, reason: reasonField });

const registerBody = z.strictObject({
  use_case: useCaseField,
  provider: z.string({ error: (i) => (i.input === undefined ? 'is required' : 'must be text') }).min(1, { error: 'must not be empty' }),
  model: z.string({ error: (i) => (i.input === undefined ? 'is required' : 'must be text') }).min(1, { error: 'must not be empty' }),
  name: z.string({ error: 'must be text' }).optional(),
  version: z.string({ error: 'must be text' }).optional(),
  params: z.record(z.string(), z.union([z.string(), z.number(), z.array(z.string())]), { error: 'must be an object of parameter values' }).optional(),
  /** Start validate:<model_id> at once (default); false registers an unvalidated candidate. */
  validate: z.boolean({ error: 'must be true or false' }).default(true),
});

const modelRef = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/**
 * An evaluation request. `candidate` (a model id or registry name) and `against` (`current`, `stable`
 * or a model id; default `current`) are the CLI's words; `candidate_model_id` / `current_model_id`
 * are the seed's. One spelling per side, so a body never names two different models.
 */
const testBody = z
  .strictObject({
    candidate: z.string({ error: 'must be text: a model id or name' }).trim().min(1, { error: 'must not be empty' }).max(200, { error: 'must be at most 200 characters' }).optional(),
    candidate_model_id: uuid('a model id').optional(),
    against: z
      .string({ error: 'must be text' })
      .refine((v) => v === 'current' || v === 'stable' || modelRef.test(v), { error: 'must be current, stable or a model id (a UUID)' })
      .optional(),
    current_model_id: uuid('a model id').optional(),
    use_case: useCaseField.optional(),
    sample_size: z.number({ error: 'must be a number' }).int({ error: 'must be a whole number' }).min(1, { error: 'must be >= 1' }).max(10_000, { error: 'must be <= 10000' }).optional(),
  })
  .superRefine((b, ctx) => {
    if (b.candidate === undefined && b.candidate_model_id === undefined) ctx.addIssue({ code: 'custom', path: ['candidate'], message: 'is required (a model id or name; or candidate_model_id)' });
    if (b.candidate !== undefined && b.candidate_model_id !== undefined) ctx.addIssue({ code: 'custom', path: ['candidate_model_id'], message: 'give candidate or candidate_model_id, not both' });
    if (b.against !== undefined && b.current_model_id !== undefined) ctx.addIssue({ code: 'custom', path: ['current_model_id'], message: 'give against or current_model_id, not both' });
  });
const testQuery = z.strictObject({ wait: z.enum(['true', 'false'], { error: 'must be true or false' }).optional() });

const forgetBody = z.strictObject({
  player: z.string({ error: 'must be text' }).min(1, { error: 'must not be empty' }).max(512).optional(),
  sticky_key_hash: z.string({ error: 'must be text' }).regex(/^[0-9a-f]{64}$/, { error: 'must be 64 lowercase hex characters (SHA-256)' }).optional(),
  reason: z.string({ error: 'must be text' }).max(1000).optional(),
});
const isoDate = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' });
const fineTuneBody = z
  .strictObject({
    use_cases: z.array(z.string().regex(/^[a-z][a-z0-9_]{0,99}$/, { error: 'must be a use case id (lower_snake_case)' }), { error: 'is required' }).min(1, { error: 'must name at least one use case' }).max(50),
    /** A base model of the registry (a previous pipeline's download): its pinned repository and commit are reused. */
    base_model_id: uuid('a model id').optional(),
    /** A Hugging Face repository to use as the base instead of the ranking's choice. */
    base_repo: z.string().regex(/^[\w.-]+\/[\w.-]+(@[\w./-]+)?$/, { error: 'must be owner/name[@revision]' }).optional(),
    historical_logs_range: z.strictObject({ start: isoDate, end: isoDate.optional() }).optional(),
  })
  .refine((b) => !(b.base_model_id && b.base_repo), { error: 'give base_model_id or base_repo, not both', path: ['base_repo'] });

const guardrailsQuery = z.object({
  hours: z.coerce.number({ error: 'must be a number of hours' }).positive({ error: 'must be > 0' }).max(24 * 90, { error: 'must be at most 2160 (90 days)' }).default(24),
  window_minutes: z.coerce.number({ error: 'must be a number of minutes' }).int({ error: 'must be a whole number' }).min(1, { error: 'must be >= 1' }).max(24 * 60).default(60),
});

const historyQuery = z.object({
  limit: z.coerce.number({ error: 'must be a number' }).int({ error: 'must be a whole number' }).min(1, { error: 'must be >= 1' }).max(10_000, { error: 'must be at most 10000' }).default(50),
});

/** `GET …/decisions`: the meta loop's and the guardrails monitor's decisions, newest first. */
const decisionsQuery = z.object({
  use_case: z.string().regex(/^[a-z][a-z0-9_]{0,99}$/, { error: 'must be a use case id (lower_snake_case)' }).optional(),
  since: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time (2026-11-30T12:00:00Z)' }).optional(),
  source: z.enum(['meta', 'guardrails'], { error: 'must be meta or guardrails' }).optional(),
  actions_only: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
  limit: z.coerce.number({ error: 'must be a number' }).int({ error: 'must be a whole number' }).min(1, { error: 'must be >= 1' }).max(10_000, { error: 'must be at most 10000' }).default(100),
});

const useCaseParam = z.string().regex(/^[a-z][a-z0-9_]{0,99}$/, { error: 'must be a use case id (lower_snake_case)' });
const pauseBody = z.strictObject({ reason: z.string({ error: 'must be text' }).max(1000).optional() });
const abortBody = z.strictObject({ reason: z.string({ error: (i) => (i.input === undefined ? 'is required' : 'must be text') }).trim().min(1, { error: 'must not be empty' }).max(1000) });
const promoteBody = z.strictObject({ full: z.boolean({ error: 'must be true or false' }).default(true) });

/** An API error: status, one sentence, the field it is about. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const first = formatIssues(result.error)[0] ?? 'invalid request body';
  const colon = first.indexOf(': ');
  const field = colon > 0 ? first.slice(0, colon) : undefined;
  throw new ApiError(400, first, field === '(root)' ? undefined : field, 'invalid_request');
}

/** The policy of one rollout: the configured one with the request's overrides, validated as the config is. */
function policyFor(config: MmsConfig, overrides: { steps?: number[]; window_seconds?: number }): RolloutPolicy {
  try {
    return policyWithOverrides(config.policies.rollout, { steps: overrides.steps, windowSeconds: overrides.window_seconds });
  } catch (err) {
    if (!(err instanceof PolicyOverrideError)) throw err;
    throw new ApiError(400, err.spelled({ windowSeconds: 'window_seconds' }), err.field === 'steps' ? 'steps' : 'window_seconds', 'invalid_request');
  }
}

/** The audit action of each POST route (every one is an administrative action). */
const auditActions: Record<string, string> = {
  [`${PREFIX}/test`]: 'evaluation.start',
  [`${PREFIX}/deploy`]: 'rollout.start',
  [`${PREFIX}/rollback`]: 'rollback',
  [`${PREFIX}/use-cases/:use_case/guardrails/revert`]: 'guardrails.revert',
  [`${PREFIX}/rollouts/:use_case/pause`]: 'rollout.pause',
  [`${PREFIX}/rollouts/:use_case/resume`]: 'rollout.resume',
  [`${PREFIX}/rollouts/:use_case/abort`]: 'rollout.abort',
  [`${PREFIX}/rollouts/:use_case/promote`]: 'rollout.promote',
};

const statusBody = (status: RolloutStatus) => ({ ...status, windowSecondsLeft: windowSecondsLeft(status, Date.now()) ?? null });

/** What every route group of the management API shares: its dependencies, the Temporal client, auth and the audit target. */
interface RouteContext {
  deps: ModelManagementDeps;
  temporal: () => Promise<Client>;
  /** Route options that authenticate the caller (an admin key) before the handler runs. */
  authenticated: { preHandler: (req: FastifyRequest) => Promise<void> };
  /** Who asked, as written in deployments, audit events and workflow inputs (`api:<key name>`). */
  by: (req: FastifyRequest) => Promise<string>;
  /** The audited target of a POST when it is not the route's use case or model id. */
  auditTarget: (req: FastifyRequest, target: string) => void;
  /** The id of the key the request came with (null without one). */
  keyIdOf: (req: FastifyRequest) => string | null;
}

export function modelManagementApi(deps: ModelManagementDeps): FastifyPluginAsync {
  const temporal = async () => (typeof deps.temporal === 'function' ? deps.temporal() : deps.temporal);

  return async (app) => {
    app.setErrorHandler((err: unknown, _req, reply) => {
      if (err instanceof ApiError) return reply.code(err.status).send({ error: { message: err.message, field: err.field ?? null, code: err.code ?? null } });
      const status = (err as { status?: number; statusCode?: number }).status ?? (err as { statusCode?: number }).statusCode;
      if (status === 401 || status === 403) return reply.code(status).send({ error: { message: (err as Error).message, field: null, code: status === 401 ? 'unauthorized' : 'forbidden' } });
      if (typeof status === 'number' && status >= 400 && status < 500) return reply.code(status).send({ error: { message: safeErrorMessage(err), field: null, code: 'invalid_request' } });
      return reply.code(500).send({ error: { message: 'internal error of the management API', field: null, code: 'internal' } });
    });

    // Auth on every route of this plugin, checked for the route actually dispatched.
    const callers = new WeakMap<FastifyRequest, string>();
    const keyIds = new WeakMap<FastifyRequest, string>();
    const authenticated = {
      preHandler: async (req: FastifyRequest) => {
        const auth = req.headers.authorization;
        const match = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
        const who = await deps.verifyApiKey(match?.[1]);
        callers.set(req, requestedBy.api(who));
        if (who.id) keyIds.set(req, who.id);
      },
    };
    const by = async (req: FastifyRequest) => callers.get(req) ?? 'api:unknown';

    // The admin audit: every authenticated POST, whatever its outcome, with the key it came through.
    const auditTargets = new WeakMap<FastifyRequest, string>();
    const auditTarget = (req: FastifyRequest, target: string) => auditTargets.set(req, target);
    app.addHook('onResponse', async (req, reply) => {
      const actor = callers.get(req);
      const action = auditActions[req.routeOptions.url ?? ''];
      if (!actor || !action || req.method !== 'POST') return;
      const body = req.body && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {};
      const target = auditTargets.get(req) ?? (req.params as { use_case?: string }).use_case ?? String(body.new_model_id ?? body.model_id ?? 'unknown');
      await recordAuditEvent(deps.prisma, { actor, keyId: keyIds.get(req) ?? null, action, target, details: { via: 'rest', status: reply.statusCode, request: body } }).catch((err: unknown) =>
        req.log.error({ err: safeErrorMessage(err) }, 'audit: could not record the admin action'),
      );
    });
    const ctx: RouteContext = { deps, temporal, authenticated, by, auditTarget, keyIdOf: (req) => keyIds.get(req) ?? null };
    evaluationRoute(app, ctx);
    deploymentRoutes(app, ctx);
    rollbackRoute(app, ctx);
    modelRoutes(app, ctx);
    rolloutRoutes(app, ctx);
    logsAndReportRoutes(app, ctx);
    paidDiscoveryRoute(app, ctx);
    guardrailsPolicyRoutes(app, ctx);
  };
}

/**
 * GET /use-cases/:use_case/guardrails: the policy the gateway applies (policies.guardrails with the update in
 * force, if any, and that update with its version); POST …/revert: the operator's revert (`mms guardrails revert`).
 */
function guardrailsPolicyRoutes(app: FastifyInstance, { deps, temporal, authenticated, by }: RouteContext): void {
  const useCaseOf = async (params: unknown) => {
    const useCase = parse(z.object({ use_case: useCaseParam }), params).use_case;
    if (!(await deps.prisma.useCase.findUnique({ where: { id: useCase }, select: { id: true } }))) throw new ApiError(404, `use_case: use case "${useCase}" is not in the registry`, 'use_case', 'not_found');
    return useCase;
  };
  app.get<{ Params: { use_case: string } }>(`${PREFIX}/use-cases/:use_case/guardrails`, authenticated, async (req) => {
    const useCase = await useCaseOf(req.params);
    const inForce = await guardrailsOverrideInForce(deps.prisma, useCase);
    const policy = resolvePolicy(deps.config.policies.guardrails, useCase, inForce);
    return { use_case: useCase, in_force: inForce ?? null, actions: policy.actions, severities: policy.severities };
  });
  app.post<{ Params: { use_case: string } }>(`${PREFIX}/use-cases/:use_case/guardrails/revert`, authenticated, async (req) => {
    const useCase = await useCaseOf(req.params);
    const body = parse(z.strictObject({ reason: z.string().min(1).max(500) }), req.body ?? {});
    try {
      const r = await revertGuardrails({ prisma: deps.prisma, temporal, policyConfig: deps.config.policies.guardrails }, { useCaseId: useCase, actor: await by(req), reason: body.reason });
      return { use_case: useCase, decision_id: r.decisionId, version: r.version, reverted_version: r.revertedVersion, monitor: r.monitor };
    } catch (err) {
      if (err instanceof NoGuardrailsOverrideError) throw new ApiError(409, err.message, undefined, 'nothing_to_revert');
      throw err;
    }
  });
}

/** POST /test: evaluate a candidate against the model in service (202 with the workflow id; ?wait=true answers with the report). */
function evaluationRoute(app: FastifyInstance, { deps, temporal, authenticated, auditTarget }: RouteContext): void {
  app.post(`${PREFIX}/test`, authenticated, async (req, reply: FastifyReply) => {
    const query = parse(testQuery, req.query);
    const body = parse(testBody, req.body);
    // errors name the field as the caller spelled it
    const spelled = (field: string) => (field === 'candidate' && body.candidate_model_id ? 'candidate_model_id' : field === 'against' && body.current_model_id ? 'current_model_id' : field);
    let started;
    try {
      started = await startEvaluation(
        { client: await temporal(), prisma: deps.prisma, config: deps.config },
        { candidate: body.candidate ?? body.candidate_model_id!, against: body.against ?? body.current_model_id ?? 'current', useCaseId: body.use_case, sampleSize: body.sample_size },
      );
    } catch (err) {
      if (!(err instanceof EvaluationRequestError)) throw err;
      const field = spelled(err.field);
      const message = err.message.startsWith(`${err.field}:`) ? `${field}${err.message.slice(err.field.length)}` : err.message;
      throw new ApiError(err.status, message, field, err.status === 404 ? 'not_found' : err.status === 422 ? 'no_suite' : 'invalid_request');
    }
    auditTarget(req, started.useCaseId);
    const s = started.suite;
    const accepted = {
      workflow_id: started.workflowId,
      use_case: started.useCaseId,
      candidate_model_id: started.candidateModelId,
      current_model_id: started.currentModelId,
      suite: { hash: s.hash, prompts: s.items, sampled: s.sampled, regression: s.regression, red_team: s.redTeam },
    };
    if (query.wait !== 'true') return reply.code(202).send({ ...accepted, status: 'running' });
    try {
      const { result, report } = await evaluationReport(deps.prisma, started.handle);
      return reply.code(200).send({
        ...accepted,
        status: report.meetsThreshold ? 'passed' : 'failed',
        evaluation_id: result.evaluationId,
        meets_threshold: report.meetsThreshold,
        // the seed's score is the calibrated similarity: the threshold is defined on it (the report says so)
        similarity_score: report.similarity.calibrated,
        failing: report.failing,
        test_results: report,
      });
    } catch (err) {
      if (err instanceof WorkflowFailedError) throw new ApiError(422, `evaluation failed: ${err.cause?.message ?? err.message}`, undefined, 'evaluation_failed');
      throw err;
    }
  });
}

/** POST /deploy (start a rollout) and /fine-tune (start the self-hosted pipeline). */
function deploymentRoutes(app: FastifyInstance, { deps, temporal, authenticated, by, auditTarget }: RouteContext): void {
  app.post(`${PREFIX}/deploy`, authenticated, async (req, reply: FastifyReply) => {
    const body = parse(deployBody, req.body);
    const [candidate, current] = await Promise.all([
      deps.prisma.model.findUnique({ where: { id: body.new_model_id } }),
      deps.prisma.model.findUnique({ where: { id: body.current_model_id } }),
    ]);
    if (!candidate) throw new ApiError(404, `new_model_id: model ${body.new_model_id} is not in the registry`, 'new_model_id', 'not_found');
    if (!current) throw new ApiError(404, `current_model_id: model ${body.current_model_id} is not in the registry`, 'current_model_id', 'not_found');
    if (candidate.useCase !== current.useCase) {
      throw new ApiError(409, `new_model_id: model ${candidate.id} serves use case "${candidate.useCase}", current_model_id serves "${current.useCase}"`, 'new_model_id', 'use_case_mismatch');
    }
    auditTarget(req, current.useCase);
    const stable = await servingStableModel(deps.prisma, current.useCase);
    if (stable !== current.id) {
      throw new ApiError(409, `current_model_id: model ${current.id} is not the stable model of "${current.useCase}" (it serves ${stable ?? 'nothing'})`, 'current_model_id', 'not_current');
    }
    const policy = policyFor(deps.config, body);
    // players move only to a model that answered its validation prompts, unless forced
    const problem = body.force ? undefined : await validationProblem(deps.prisma, candidate);
    if (problem) throw new ApiError(409, `new_model_id: refusing to roll out: ${problem} ("force": true)`, 'new_model_id', 'not_validated');
    try {
      const started = await startRollout(await temporal(), deps.config, {
        useCaseId: current.useCase,
        candidate: candidate.id,
        strategy: body.strategy,
        force: body.force,
        policy,
        requestedBy: await by(req),
        expectedStableModelId: current.id,
      }, `${candidate.modelName}@${candidate.version}`);
      return reply.code(202).send({
        deployment_id: started.deploymentId,
        status: 'in_progress',
        use_case: current.useCase,
        strategy: body.strategy,
        workflow_id: started.workflowId,
        run_id: started.runId,
        ...(body.strategy === 'all_at_once' ? { warning: 'all_at_once moves every player to the candidate in one step' } : {}),
      });
    } catch (err) {
      if (err instanceof RolloutAlreadyRunningError) throw new ApiError(409, err.message, undefined, 'rollout_running');
      if (err instanceof RolloutRequestError) throw new ApiError(400, `strategy: ${err.message}`, body.strategy === 'all_at_once' ? 'force' : 'strategy', 'invalid_request');
      throw err;
    }
  });

  app.post(`${PREFIX}/fine-tune`, authenticated, async (req, reply: FastifyReply) => {
    const body = parse(fineTuneBody, req.body);
    let baseRepo: { repo: string; revision: string } | undefined;
    if (body.base_repo) {
      const [repo, revision] = body.base_repo.split('@');
      baseRepo = { repo: repo!, revision: revision ?? 'main' };
    }
    if (body.base_model_id) {
      const base = await deps.prisma.model.findUnique({ where: { id: body.base_model_id } });
      const pinned = base?.configuration as { repo?: string; sha?: string } | null | undefined;
      if (!base) throw new ApiError(404, `base_model_id: model ${body.base_model_id} is not in the registry`, 'base_model_id', 'not_found');
      if (!pinned?.repo || !pinned.sha) throw new ApiError(409, `base_model_id: model ${base.id} (${base.modelName}) is not a downloaded base model (no repository and commit recorded)`, 'base_model_id', 'not_a_base');
      baseRepo = { repo: pinned.repo, revision: pinned.sha };
    }
    const range = body.historical_logs_range;
    if (range?.end && range.start >= range.end) throw new ApiError(400, 'historical_logs_range.end: must be after start', 'historical_logs_range.end', 'invalid_request');
    // Every use case is checked before any pipeline starts: a bad one changes nothing.
    const settings = body.use_cases.map((useCaseId) => {
      try {
        const s = pipelineSettings(deps.config, useCaseId);
        if (range) s.dataset = { ...s.dataset, since: range.start, ...(range.end ? { until: range.end } : {}) };
        return { useCaseId, settings: s };
      } catch (err) {
        if (err instanceof PipelineRequestError) throw new ApiError(400, `use_cases: ${err.message}`, 'use_cases', 'invalid_request');
        throw err;
      }
    });
    const client = await temporal();
    const started: Array<{ use_case: string; workflow_id: string; run_id: string }> = [];
    try {
      for (const { useCaseId, settings: s } of settings) {
        const p = await startPipeline(client, deps.config, { useCaseId, requestedBy: await by(req), settings: s, ...(baseRepo ? { baseRepo } : {}) });
        started.push({ use_case: useCaseId, workflow_id: p.workflowId, run_id: p.runId });
      }
    } catch (err) {
      if (err instanceof PipelineAlreadyRunningError) throw new ApiError(409, err.message, 'use_cases', 'pipeline_running');
      throw err;
    }
    return reply.code(202).send({ training_status: 'in_progress', workflow_ids: started.map((p) => p.workflow_id), pipelines: started, fine_tuned_models: [] });
  });
}

/** POST /rollback: back to a snapshot, a model's latest snapshot or the model that served before (undo). */
function rollbackRoute(app: FastifyInstance, { deps, temporal, authenticated, by, auditTarget }: RouteContext): void {
  app.post(`${PREFIX}/rollback`, authenticated, async (req) => {
    const raw = (req.body ?? {}) as Record<string, unknown>;
    if (raw.use_case !== undefined && (raw.model_id !== undefined || raw.snapshot_id !== undefined)) {
      throw new ApiError(400, 'use_case: give use_case alone (undo) or model_id with an optional snapshot_id, not both', 'use_case', 'invalid_request');
    }
    const body = raw.use_case !== undefined ? parse(undoBody, raw) : parse(rollbackBody, raw);
    let useCase: string;
    let target: { snapshotId: string } | { modelId: string } | { undo: true };
    if ('use_case' in body) {
      if (!(await deps.prisma.useCase.findUnique({ where: { id: body.use_case } }))) throw new ApiError(404, `use_case: "${body.use_case}" is not in the registry`, 'use_case', 'not_found');
      useCase = body.use_case;
      auditTarget(req, useCase);
      target = { undo: true };
      try {
        await resolveUndoTarget(deps.prisma, useCase); // nothing to undo is a 409 before any workflow starts
      } catch (err) {
        if (err instanceof NotFoundError) throw new ApiError(409, err.message, 'use_case', 'nothing_to_undo');
        throw err;
      }
    } else {
      const model = await deps.prisma.model.findUnique({ where: { id: body.model_id } });
      if (!model) throw new ApiError(404, `model_id: model ${body.model_id} is not in the registry`, 'model_id', 'not_found');
      if (body.snapshot_id) {
        const snapshot = await deps.prisma.modelSnapshot.findUnique({ where: { id: body.snapshot_id } });
        if (!snapshot || snapshot.useCaseId !== model.useCase) {
          throw new ApiError(404, `snapshot_id: no snapshot ${body.snapshot_id} of use case "${model.useCase}"`, 'snapshot_id', 'not_found');
        }
      }
      useCase = model.useCase;
      auditTarget(req, useCase);
      target = body.snapshot_id ? { snapshotId: body.snapshot_id } : { modelId: model.id };
    }
    const client = await temporal();
    if (await rolloutRunning(client, useCase)) {
      throw new ApiError(409, `a rollout of "${useCase}" is running; abort it (POST ${PREFIX}/rollouts/${useCase}/abort), which restores the state it started from`, undefined, 'rollout_running');
    }
    const requestedBy = await by(req);
    try {
      const result = await client.workflow.execute(rollbackWorkflow, {
        taskQueue: deps.config.temporal.controlTaskQueue,
        workflowId: rollbackWorkflowId(useCase),
        args: [{ useCaseId: useCase, target, reason: body.reason ?? 'rollback requested through the management API', requestedBy }],
        workflowExecutionTimeout: '5 minutes',
        staticSummary: 'undo' in target ? `undo on ${useCase} (management API)` : `rollback of ${useCase} (management API)`,
        staticDetails: `requested by ${requestedBy}`,
      });
      const restored = result.restoredModelId ? await deps.prisma.model.findUnique({ where: { id: result.restoredModelId }, select: { modelName: true, version: true } }) : null;
      return {
        status: 'rolled_back',
        use_case: useCase,
        undo: 'undo' in target,
        deployment_id: result.deploymentId,
        snapshot_id: result.snapshotId,
        model_id: result.restoredModelId,
        model_name: restored ? `${restored.modelName}@${restored.version}` : null,
        previous_model_id: result.previousModelId,
        allocation_version: result.allocationVersion,
        verified_by: result.verifiedBy,
      };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new ApiError(409, `a rollback of "${useCase}" is already running`, undefined, 'rollback_running');
      if (err instanceof WorkflowFailedError) throw new ApiError(422, `rollback failed: ${err.cause?.message ?? err.message}`, undefined, 'rollback_failed');
      throw err;
    }
  });
}

/** Models: register (validated at once), list, read, validate again. */
function modelRoutes(app: FastifyInstance, { deps, temporal, authenticated, by }: RouteContext): void {
  const modelBody = async (row: { id: string; modelName: string; version: string; useCase: string; provider: string | null; upstreamModel: string | null; status: string; configuration: unknown; createdAt: Date }) => {
    const v = await validationState(deps.prisma, row.id);
    return {
      model_id: row.id,
      name: row.modelName,
      version: row.version,
      use_case: row.useCase,
      provider: row.provider,
      upstream_model: row.upstreamModel,
      status: row.status,
      params: (row.configuration as { params?: unknown } | null)?.params ?? {},
      created_at: row.createdAt.toISOString(),
      validation: { state: v.state, reason: v.reason ?? null, evaluation_id: v.evaluationId ?? null, at: v.at ?? null },
    };
  };
  const validate = async (row: Parameters<typeof startValidation>[2], who: string) => {
    const started = await startValidation(await temporal(), deps.config, row, who);
    return { workflow_id: started.workflowId, run_id: started.runId, state: 'running' };
  };

  app.post(`${PREFIX}/models`, authenticated, async (req, reply: FastifyReply) => {
    const body = parse(registerBody, req.body);
    const who = await by(req);
    let row;
    try {
      row = await registerModel(deps.prisma, deps.config, {
        useCaseId: body.use_case,
        provider: body.provider,
        upstreamModel: body.model,
        name: body.name,
        version: body.version,
        params: body.params,
        status: body.validate ? 'testing' : 'candidate',
        registeredBy: who,
      });
    } catch (err) {
      if (err instanceof ModelRequestError) throw new ApiError(err.field === 'use_case' ? 404 : 400, err.message, err.field, err.field === 'use_case' ? 'not_found' : 'invalid_request');
      if (err instanceof DuplicateModelError) return reply.code(409).send({ error: { message: err.message, field: 'name', code: 'duplicate', existing_model_id: err.existingId } });
      throw err;
    }
    const validation = body.validate ? await validate(row, who) : null;
    return reply.code(201).send({ ...(await modelBody(row)), validation_workflow: validation });
  });

  app.get<{ Querystring: { use_case?: string; status?: string } }>(`${PREFIX}/models`, authenticated, async (req) => {
    const query = parse(z.strictObject({ use_case: useCaseField.optional(), status: z.enum(modelStatuses, { error: `must be one of ${modelStatuses.join(', ')}` }).optional() }), req.query);
    const rows = await deps.prisma.model.findMany({ where: { useCase: query.use_case, status: query.status }, orderBy: { createdAt: 'desc' }, take: 1000 });
    return { models: await Promise.all(rows.map(modelBody)) };
  });

  const modelParam = (params: unknown) => parse(z.object({ model_id: uuid('a model id') }), params).model_id;
  const modelOr404 = async (id: string) => {
    const row = await deps.prisma.model.findUnique({ where: { id } });
    if (!row) throw new ApiError(404, `model_id: model ${id} is not in the registry`, 'model_id', 'not_found');
    return row;
  };
  app.get<{ Params: { model_id: string } }>(`${PREFIX}/models/:model_id`, authenticated, async (req) => modelBody(await modelOr404(modelParam(req.params))));
  app.post<{ Params: { model_id: string } }>(`${PREFIX}/models/:model_id/validate`, authenticated, async (req, reply: FastifyReply) => {
    const row = await modelOr404(modelParam(req.params));
    parse(z.strictObject({}), req.body);
    return reply.code(202).send({ ...(await modelBody(row)), validation_workflow: await validate(row, await by(req)) });
  });
}

/** Running rollouts: status, pause, resume, abort, promote (through clients/rollout, as the CLI). */
function rolloutRoutes(app: FastifyInstance, { temporal, authenticated, by }: RouteContext): void {
  const handleFor = async (useCase: string) => {
    try {
      return await rolloutHandle(await temporal(), useCase);
    } catch (err) {
      if (err instanceof NoRolloutError) throw new ApiError(404, err.message, 'use_case', 'not_found');
      throw err;
    }
  };
  const control = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (err instanceof RolloutControlError) throw new ApiError(409, err.code === 'finished' ? 'the rollout has finished' : err.message, undefined, err.code);
      throw err;
    }
  };

  app.get<{ Params: { use_case: string } }>(`${PREFIX}/rollouts/:use_case`, authenticated, async (req) => {
    const useCase = parse(z.object({ use_case: useCaseParam }), req.params).use_case;
    const handle = await handleFor(useCase);
    const reading = await readRollout(await temporal(), handle);
    if (reading.status) return statusBody(reading.status);
    // no worker answered (e.g. a finished rollout whose worker is gone): what Temporal recorded
    return { workflowId: reading.workflowId, runId: reading.runId, live: false, execution: reading.execution, phase: reading.state ?? null, summary: reading.summary ?? null };
  });
  app.post<{ Params: { use_case: string } }>(`${PREFIX}/rollouts/:use_case/pause`, authenticated, async (req) => {
    const useCase = parse(z.object({ use_case: useCaseParam }), req.params).use_case;
    const body = parse(pauseBody, req.body);
    const handle = await handleFor(useCase);
    const who = await by(req);
    return statusBody(await control(() => pauseRollout(handle, { reason: body.reason ?? `paused by ${who}`, by: who })));
  });
  app.post<{ Params: { use_case: string } }>(`${PREFIX}/rollouts/:use_case/resume`, authenticated, async (req) => {
    const useCase = parse(z.object({ use_case: useCaseParam }), req.params).use_case;
    parse(z.strictObject({}), req.body);
    const handle = await handleFor(useCase);
    const who = await by(req);
    return statusBody(await control(() => resumeRollout(handle, { by: who })));
  });
  app.post<{ Params: { use_case: string } }>(`${PREFIX}/rollouts/:use_case/abort`, authenticated, async (req) => {
    const useCase = parse(z.object({ use_case: useCaseParam }), req.params).use_case;
    const body = parse(abortBody, req.body);
    const handle = await handleFor(useCase);
    const who = await by(req);
    return statusBody(await control(() => abortRollout(handle, { reason: body.reason, by: who })));
  });
  app.post<{ Params: { use_case: string } }>(`${PREFIX}/rollouts/:use_case/promote`, authenticated, async (req) => {
    const useCase = parse(z.object({ use_case: useCaseParam }), req.params).use_case;
    const body = parse(promoteBody, req.body);
    const handle = await handleFor(useCase);
    const who = await by(req);
    return statusBody(await control(() => promoteRollout(handle, { full: body.full, by: who })));
  });
}

/** Historical logs (forget a player, the retention plan), the guardrails report, a use case's history. */
/** GET /discover?use_case=: the use case's latest paid ranking (a dry-run or real `paidSwitch`), every row with its score parts and their sources. */
function paidDiscoveryRoute(app: FastifyInstance, { deps, authenticated }: RouteContext): void {
  app.get<{ Querystring: Record<string, string> }>(`${PREFIX}/discover`, authenticated, async (req) => {
    const { use_case: useCase } = parse(z.object({ use_case: useCaseParam }), req.query);
    if (!deps.config.useCases.some((u) => u.id === useCase)) throw new ApiError(404, `use_case: "${useCase}" is not a use case of the config`, 'use_case', 'not_found');
    const ranking = await latestPaidRanking(deps.prisma, useCase);
    if (!ranking) throw new ApiError(404, `use_case: "${useCase}" has not been ranked yet: run \`mms discover --use-case ${useCase}\` or \`mms switch ${useCase} --dry-run\``, 'use_case', 'not_ranked');
    const d = ranking.decision;
    return {
      use_case: useCase,
      decision_id: ranking.decisionId,
      ranked_at: ranking.createdAt,
      workflow_id: ranking.workflowId,
      status: ranking.status,
      dry_run: d.dryRun,
      decision: d.decision,
      reason: d.reason,
      trigger: d.trigger ?? null,
      outcome: d.outcome ?? null,
      current_model_id: d.currentModelId,
      best: d.best,
      margin: d.margin,
      shutdown: d.shutdown,
      weights: d.weights,
      token_mix: d.tokenMix,
      spending: d.spending,
      candidates: d.table,
    };
  });
}

function logsAndReportRoutes(app: FastifyInstance, { deps, authenticated, by, keyIdOf }: RouteContext): void {
  // ---- historical logs: a player's right to be forgotten, and what retention will drop when
  app.post(`${PREFIX}/logs/forget`, authenticated, async (req) => {
    const body = parse(forgetBody, req.body);
    if (Boolean(body.player) === Boolean(body.sticky_key_hash)) throw new ApiError(400, 'player: give exactly one of player or sticky_key_hash', 'player', 'invalid_request');
    const report = await forgetPlayer(deps.prisma, body.player ? { player: body.player } : { stickyKeyHash: body.sticky_key_hash! }, {
      actor: await by(req),
      keyId: keyIdOf(req),
      reason: body.reason,
    });
    return {
      sticky_key_hash: report.stickyKeyHash,
      deleted: { logs: report.logs, long_term_logs: report.longTermLogs, violations: report.violations, evaluation_replays: report.evaluationReplays },
      audit_event_id: report.auditEventId,
    };
  });
  // The guardrails report of the original design: what the guardrails saw and did for one model (counts, rates per window, engagement health, interventions).
  app.get<{ Params: { model_id: string }; Querystring: Record<string, string> }>(`${PREFIX}/guardrails/:model_id`, authenticated, async (req) => {
    const { model_id: modelId } = parse(z.object({ model_id: uuid('a model id') }), req.params);
    const query = parse(guardrailsQuery, req.query);
    const model = await deps.prisma.model.findUnique({ where: { id: modelId } });
    if (!model) throw new ApiError(404, `model_id: model ${modelId} is not in the registry`, 'model_id', 'not_found');
    const report = await guardrailsReport(deps.prisma, { useCaseId: model.useCase, modelId }, { since: new Date(Date.now() - query.hours * 3600_000), windowMinutes: query.window_minutes });
    return { model_id: modelId, model_name: model.modelName, use_case: model.useCase, ...report };
  });
  // The use case's timeline as `mms history` prints it: deployments, rollbacks, snapshots, interventions.
  app.get<{ Params: { use_case: string }; Querystring: Record<string, string> }>(`${PREFIX}/history/:use_case`, authenticated, async (req) => {
    const useCase = parse(z.object({ use_case: useCaseParam }), req.params).use_case;
    const { limit } = parse(historyQuery, req.query);
    if (!(await deps.prisma.useCase.findUnique({ where: { id: useCase }, select: { id: true } }))) throw new ApiError(404, `use_case: use case "${useCase}" is not in the registry`, 'use_case', 'not_found');
    return { use_case: useCase, events: await listHistory(deps.prisma, useCase, limit) };
  });
  // Every decision with its rule, reasons, numbers, the workflow it started and its outcome (`mms decisions`).
  app.get<{ Querystring: Record<string, string> }>(`${PREFIX}/decisions`, authenticated, async (req) => {
    const q = parse(decisionsQuery, req.query);
    const rows = await listDecisions(deps.prisma, { useCaseId: q.use_case, since: q.since ? new Date(q.since) : undefined, source: q.source, includeNone: q.actions_only !== 'true', limit: q.limit });
    return {
      decisions: rows.map((d) => ({
        id: d.id, at: d.at.toISOString(), use_case: d.useCaseId, source: d.source, decision_type: d.decisionType, action: d.action, rule: d.rule, status: d.status, reason: d.reason,
        dry_run: d.dryRun, workflow_id: d.workflowId, action_workflow_id: d.actionWorkflowId, outcome: d.outcome, numbers: d.numbers, executed_at: d.executedAt?.toISOString() ?? null,
      })),
    };
  });
  app.get(`${PREFIX}/logs/retention`, authenticated, async () =>
    retentionPlan(deps.prisma, retentionPolicy(deps.config.logs, deps.config.useCases.map((u) => u.id))),
  );
}


/** The verifier over src/auth: a stored, unrevoked key with the `admin` scope (401/403 otherwise). */
export const adminKeyVerifier =
  (prisma: PrismaClient): ApiKeyVerifier =>
  (presented) =>
    verifyApiKey(prisma, presented, { scope: 'admin' });
