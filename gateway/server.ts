import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from 'fastify';
import type { PrismaClient } from '@prisma/client';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { MmsConfig } from '../src/config/schema';
import { formatIssues } from '../src/config/load';
import { createLogger } from '../src/logging/logger';
import { safeErrorMessage } from '../src/logging/redact';
import { stateDir as defaultStateDir } from '../src/paths';
import { createProviders } from '../src/providers';
import { findLoggedCall, recordCallFeedback, type LoggedCall } from '../src/registry/feedback';
import type { ChatProvider } from '../src/providers/types';
import { ApiKeyError, authorize, checkNotExpired, keyAllowsUseCase, presentedKey, type ApiKeyRecord, type ApiKeyScope } from '../src/auth/api-keys';
import { NO_LIMITS } from '../src/auth/limits';
import { KeyLimiter, LimitExceededError, type CounterStore } from '../src/auth/limiter';
import { postgresCounterStore } from '../src/auth/counter-store';
import { CallOutcomes, limitOutcomes, logOutcomes, metricOutcomes } from './call-outcome';
import { AdmissionControl } from './admission';
import { ChatHandler, errorBody } from './chat';
import { RequestError } from './chat-request';
import type { Guardrail, OnCriticalViolation } from './guardrails';
import { createTier1Guardrail } from './tier1-guardrail';
import { LogWriter, type LogSink } from './log-writer';
import { PrismaLogStore } from './log-store';
import { ThreadedLogWriter, metricsObserver } from './log-thread';
import { GatewayMetrics } from './metrics';
import { RegistryCache } from './registry-cache';
import { tracedRoute } from './tracing';
import { activeTracing } from '../src/telemetry/tracing';

export interface GatewayDeps {
  prisma: PrismaClient;
  config: MmsConfig;
  logger?: Logger;
  /** The output guardrail; tier 1 (createTier1Guardrail) when omitted, none with `null`. */
  guardrail?: Guardrail | null;
  onCriticalViolation?: OnCriticalViolation;
  /** Mounted on the same server (the management REST API); each registers its own routes and auth. */
  plugins?: FastifyPluginAsync[];
  /** Overrides of config.gateway.host / port (port 0 = any free port). */
  host?: string;
  port?: number;
  /** Overrides of config.gateway.internal.host / port. */
  internalHost?: string;
  internalPort?: number;
  /** The clock of key expiry and limit windows (epoch ms); tests move it instead of waiting. */
  clock?: () => number;
  /** Shared limit counters; PostgreSQL through `prisma` by default. */
  counterStore?: CounterStore;
  /** Where provider keys are read from (apiKeyEnv names); process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Base of relative spill directories; the project's .mms/ by default. */
  stateDir?: string;
  /** Node process metrics (event loop lag, heap, GC) on /metrics too. */
  processMetrics?: boolean;
  /** Provider clients by provider id; built from config.providers when omitted. */
  providers?: Map<string, ChatProvider>;
  /**
   * The database URL: with it, historical logs are written (and the registry fingerprint polled) on a
   * log thread with its own connections, off the request thread. Without it, in-process via `prisma`.
   */
  databaseUrl?: string;
}

export interface Gateway {
  readonly app: FastifyInstance;
  readonly metrics: GatewayMetrics;
  readonly cache: RegistryCache;
  readonly logWriter: LogSink;
  readonly limiter: KeyLimiter;
  /** The internal listener: /metrics, /v1/allocations, the management API (and the data plane). */
  readonly internalApp: FastifyInstance;
  /** Base URL once listening (http://host:port). */
  readonly address: string | undefined;
  /** Base URL of the internal listener once listening. */
  readonly internalAddress: string | undefined;
  /** Loads the registry, then listens (public and internal); resolves to the public base URL. */
  listen(): Promise<string>;
  /** Stops accepting calls, lets calls in flight and mirrored shadow calls finish, flushes the log buffer. */
  close(): Promise<void>;
}

const feedbackSchema = z
  .strictObject({
    request_id: z.string().min(1).max(64),
    /** 0 (bad) … 1 (good). */
    score: z.number().min(0).max(1).optional(),
    feedback: z.union([z.string().max(10_000), z.record(z.string(), z.unknown())]).optional(),
    corrected_output: z.string().max(200_000).optional(),
  })
  .refine((b) => b.score !== undefined || b.feedback !== undefined || b.corrected_output !== undefined, { message: 'at least one of score, feedback, corrected_output is required' });

const ANONYMOUS: ApiKeyRecord = { id: 'anonymous', name: 'anonymous', keyPrefix: 'none', scopes: ['gateway'], useCases: ['*'], limits: NO_LIMITS };

const baseUrlOf = (app: FastifyInstance) => {
  const a = app.server.address();
  return typeof a === 'object' && a ? `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : String(a);
};

/**
 * Where historical-log rows go: with a database URL, a log thread with its own connections (which also
 * polls the registry fingerprint for the cache); without one, an in-process writer over Prisma.
 */
function createLogSink(deps: GatewayDeps, cache: RegistryCache, metrics: GatewayMetrics, logger: Logger): LogSink {
  const { prisma } = deps;
  const gatewayConfig = deps.config.gateway;
  const spillDir = path.resolve(deps.stateDir ?? defaultStateDir, gatewayConfig.log.spillDir);
  return deps.databaseUrl
    ? new ThreadedLogWriter({
        databaseUrl: deps.databaseUrl,
        log: gatewayConfig.log,
        spillDir,
        pollMs: gatewayConfig.allocationPollMs,
        logger,
        metrics,
        prisma,
        onFingerprint: (fp) => cache.onFingerprint(fp),
        onPollError: (message) => cache.onPollError(message),
        onThreadLost: () => cache.pollYourself(),
      })
    : new LogWriter({ store: new PrismaLogStore(prisma), config: gatewayConfig.log, spillDir, logger, observer: metricsObserver(metrics) });
}

/** Per-key limits over shared counters (PostgreSQL by default). */
function createLimiter(deps: GatewayDeps, clock: () => number, logger: Logger): KeyLimiter {
  let lastLimiterError = 0;
  return new KeyLimiter({
    store: deps.counterStore ?? postgresCounterStore(deps.prisma),
    now: clock,
    ...deps.config.gateway.limits,
    onError: (err, what) => {
      // At most one line per 10 s: an unreachable database would otherwise log on every lease.
      if (Date.now() - lastLimiterError < 10_000) return;
      lastLimiterError = Date.now();
      logger.warn({ err: safeErrorMessage(err), what }, 'limit counters unavailable: each replica enforces limits on its own until the database is back');
    },
  });
}

/** Errors in the OpenAI shape, never with a secret or a stack trace in them; every refusal is counted. */
function gatewayErrorHandler(metrics: GatewayMetrics, logger: Logger, bodyLimitBytes: number) {
  return (err: unknown, _req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof LimitExceededError) {
      metrics.rejected.inc({ reason: err.code });
      reply.header('retry-after', String(err.retryAfterSeconds));
      return reply.code(429).send(errorBody(err.message, err.type, null, err.code));
    }
    if (err instanceof RequestError) {
      metrics.rejected.inc({ reason: err.code ?? `http_${err.status}` });
      return reply.code(err.status).send(errorBody(err.message, err.type, err.param, err.code));
    }
    if (err instanceof ApiKeyError) {
      metrics.rejected.inc({ reason: `auth_${err.status}` });
      return reply.code(err.status).send(errorBody(err.message, err.status === 401 ? 'authentication_error' : 'permission_error', null, err.code));
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const code = (err as { code?: string }).code;
      const message = code === 'FST_ERR_CTP_INVALID_JSON_BODY' || code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || (err as Error).name === 'SyntaxError'
        ? 'the request body is not valid JSON'
        : code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? `the request body is larger than ${bodyLimitBytes} bytes`
          : code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? 'content-type must be application/json'
            : safeErrorMessage(err);
      metrics.rejected.inc({ reason: `http_${status}` });
      return reply.code(status).send(errorBody(message, 'invalid_request_error', null, code ?? null));
    }
    logger.error({ err: safeErrorMessage(err) }, 'unexpected gateway error');
    return reply.code(500).send(errorBody('internal gateway error', 'server_error'));
  };
}

/** POST /v1/feedback: a score, a comment or a corrected answer attached to a logged call of the caller's use cases. */
function feedbackHandler(parts: { prisma: PrismaClient; limiter: KeyLimiter; logWriter: LogSink; logger: Logger; servedRecently(requestId: string): boolean; keyOf(req: FastifyRequest): ApiKeyRecord | undefined }) {
  const { prisma, limiter, logWriter, logger, keyOf } = parts;
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const parsed = feedbackSchema.safeParse(req.body);
    if (!parsed.success) {
      const first = formatIssues(parsed.error)[0] ?? 'invalid body';
      const param = first.split(':')[0] ?? null;
      throw new RequestError(400, first.startsWith('(root)') ? first.replace('(root): ', '') : first, param === '(root)' ? null : param);
    }
    const body = parsed.data;
    const key = keyOf(req)!;
    let refused = limiter.admitFeedback(key);
    if (refused instanceof Promise) refused = await refused;
    if (refused) throw refused;
    const findRow = () => findLoggedCall(prisma, body.request_id);
    let row: LoggedCall | null;
    try {
      row = await findRow();
      if (!row && parts.servedRecently(body.request_id)) {
        // A call this replica answered moments ago may still be in the log buffer: write it out, look
        // again. Unknown ids never force a flush (they would let any key stall the log writer).
        await logWriter.flush();
        row = await findRow();
      }
    } catch (err) {
      logger.warn({ err: safeErrorMessage(err) }, 'feedback: database unavailable');
      return reply.code(503).send(errorBody('the historical log is unavailable right now; retry later', 'service_unavailable', null, 'database_unavailable'));
    }
    if (!row || (row.useCase && !keyAllowsUseCase(key, row.useCase))) {
      // A call of a use case the key may not see is reported as missing, so keys cannot probe ids.
      throw new RequestError(404, `request_id: no logged call "${body.request_id}"`, 'request_id', 'request_not_found');
    }
    try {
      await recordCallFeedback(prisma, body.request_id, row, { score: body.score, feedback: body.feedback, correctedOutput: body.corrected_output, by: key.keyPrefix, at: new Date() });
    } catch (err) {
      logger.warn({ err: safeErrorMessage(err) }, 'feedback: update failed');
      return reply.code(503).send(errorBody('the historical log is unavailable right now; retry later', 'service_unavailable', null, 'database_unavailable'));
    }
    return { request_id: body.request_id, status: 'recorded' };
  };
}

/** API-key auth of the route actually dispatched (a route-level preHandler, not a URL-prefix check). */
function keyAuthentication(requireApiKey: boolean, cache: RegistryCache, limiter: KeyLimiter, clock: () => number) {
  /** A known key's record, once it is unexpired, holds the scope, and is counted as used. */
  function admitted(record: ApiKeyRecord, scope: ApiKeyScope): ApiKeyRecord {
    authorize(checkNotExpired(record, clock()), scope);
    limiter.touch(record.id);
    return record;
  }
  /**
   * The caller's key record: synchronously when the key is in memory (the hot path), a promise only when
   * the database must be asked for a key not loaded yet.
   */
  function authenticate(req: FastifyRequest, scope: ApiKeyScope): ApiKeyRecord | Promise<ApiKeyRecord> {
    const key = presentedKey(req.headers);
    if (!key) {
      if (!requireApiKey) return ANONYMOUS;
      throw new ApiKeyError(401, 'missing API key: send "Authorization: Bearer mms_…"');
    }
    const known = cache.keyFor(key);
    if (known) return admitted(known, scope);
    return cache.lookupMissingKey(key).then((record) => {
      if (!record) throw new ApiKeyError(401, 'invalid API key');
      return admitted(record, scope);
    });
  }
  const keyOf = (req: FastifyRequest) => (req as FastifyRequest & { mmsKey?: ApiKeyRecord }).mmsKey;
  const remember = (req: FastifyRequest, record: ApiKeyRecord) => ((req as FastifyRequest & { mmsKey?: ApiKeyRecord }).mmsKey = record);
  /**
   * A callback hook, not an async one: a key already in memory is checked synchronously and the route
   * runs in the same tick (an async hook costs a promise and a microtask hop per call); only a key not
   * loaded yet waits for the database.
   */
  const requireScope = (scope: ApiKeyScope) => (req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
    let record: ApiKeyRecord | Promise<ApiKeyRecord>;
    try {
      record = authenticate(req, scope);
    } catch (err) {
      done(err as Error);
      return;
    }
    if (record instanceof Promise) {
      record.then((r) => {
        remember(req, r);
        done();
      }, done);
      return;
    }
    remember(req, record);
    done();
  };

  return { keyOf, requireScope };
}

/** Internal listener only: what the replica serves and how it is doing. */
function internalRoutes(internalApp: FastifyInstance, cache: RegistryCache, metrics: GatewayMetrics): void {
  // Which allocation this replica serves: read by rollback verification (src/registry/serving-probes.ts).
  internalApp.get<{ Params: { useCase: string } }>('/v1/allocations/:useCase', async (req, reply) => {
    const route = cache.route(req.params.useCase);
    if (!route) return reply.code(404).send(errorBody(`use case "${req.params.useCase.slice(0, 100)}" is not served by this gateway`, 'not_found_error', 'useCase', 'use_case_not_found'));
    return { useCase: route.useCaseId, version: route.version, entries: route.entries, guardrails: route.guardrails ?? null };
  });
  internalApp.get('/metrics', async (_req, reply: FastifyReply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}

/** What the data-plane routes are served by (one set per gateway, mounted on both listeners). */
interface DataPlane {
  chat: ChatHandler;
  cache: RegistryCache;
  admission: AdmissionControl;
  logWriter: LogSink;
  limiter: KeyLimiter;
  prisma: PrismaClient;
  logger: Logger;
  keyOf(req: FastifyRequest): ApiKeyRecord | undefined;
  requireScope(scope: ApiKeyScope): (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void;
  closing(): boolean;
}

/** The data plane: on the public listener, and on the internal one (evaluation traffic goes there). */
function dataPlaneRoutes(app: FastifyInstance, parts: DataPlane): void {
  const { chat, cache, admission, logWriter, limiter, prisma, logger, keyOf, requireScope } = parts;
  // Admission first (onRequest, before the body is read): past a bound the call is shed at once.
  const chatRoute = (req: FastifyRequest, reply: FastifyReply) => chat.handle(req, reply, keyOf(req));
  const tracing = activeTracing();
  app.post('/v1/chat/completions', { onRequest: admission.admit, preHandler: requireScope('gateway') }, tracing ? tracedRoute(tracing.tracer, 'POST /v1/chat/completions', chatRoute) : chatRoute);

  app.get('/v1/models', { preHandler: requireScope('gateway') }, async (req) => {
    const key = keyOf(req)!;
    return {
      object: 'list',
      data: cache
        .useCaseIds()
        .filter((id) => keyAllowsUseCase(key, id))
        .map((id) => ({ id, object: 'model', created: 0, owned_by: 'mms' })),
    };
  });

  app.post('/v1/feedback', { preHandler: requireScope('gateway') }, feedbackHandler({ prisma, limiter, logWriter, logger, servedRecently: (id) => chat.servedRecently(id), keyOf }));

  // ---- operations (both listeners: orchestrators probe either)
  // Pressure is shown, not failed on: a replica that sheds still serves what it admits, and taking
  // every replica out of a load balancer during a spike would turn overload into an outage.
  app.get('/healthz', async () => ({ status: 'ok', pressure: admission.report() }));
  app.get('/readyz', async (_req, reply) => {
    const closing = parts.closing();
    const ready = cache.loaded && !closing;
    const body = {
      status: ready ? 'ready' : closing ? 'closing' : 'loading',
      allocationsLoaded: cache.loaded,
      registryReachable: cache.databaseReachable,
      logDatabaseAvailable: logWriter.databaseAvailable,
      bufferedLogRows: logWriter.buffered,
      pressure: admission.report(),
    };
    return reply.code(ready ? 200 : 503).send(body);
  });
}

/** Both listeners: finish calls in flight on close, answer 503 to new ones meanwhile, outlive load balancers' keep-alive. */
const fastifyOptions = (bodyLimitBytes: number) => ({
  logger: false,
  bodyLimit: bodyLimitBytes,
  return503OnClosing: true,
  forceCloseConnections: 'idle' as const,
  keepAliveTimeout: 65_000,
  // Request ids are ours (x-request-id on the response), never taken from the caller.
  genReqId: () => '',
});

export function createGatewayServer(deps: GatewayDeps): Gateway {
  const { prisma, config } = deps;
  const gatewayConfig = config.gateway;
  const logger = deps.logger ?? createLogger('gateway');
  const metrics = new GatewayMetrics({ defaultMetrics: deps.processMetrics });
  const providers = deps.providers ?? createProviders(config, { env: deps.env, connections: gatewayConfig.upstreamConnections });
  const threaded = Boolean(deps.databaseUrl);
  const cache = new RegistryCache({ prisma, config, providers, logger, metrics, pollMs: gatewayConfig.allocationPollMs, externalFingerprints: threaded });
  const logWriter = createLogSink(deps, cache, metrics, logger);
  // Tier 1 is installed by default (policies.guardrails.tier1, per use case): a gateway never serves unjudged answers by accident.
  const guardrail = deps.guardrail === null ? undefined : (deps.guardrail ?? createTier1Guardrail(config));
  const clock = deps.clock ?? Date.now;
  const limiter = createLimiter(deps, clock, logger);
  // Each finished call is logged, counted and charged by its own subscriber (gateway/call-outcome.ts).
  const outcomes = new CallOutcomes([logOutcomes(logWriter), metricOutcomes(metrics), limitOutcomes(limiter)], logger);
  const chat = new ChatHandler({ cache, logWriter, metrics, outcomes, logger, config: gatewayConfig, guardrail, onCriticalViolation: deps.onCriticalViolation, limiter });
  const admission = new AdmissionControl(gatewayConfig.admission, metrics, logWriter);
  let closing = false;
  let address: string | undefined;
  let internalAddress: string | undefined;

  const serverOptions = fastifyOptions(gatewayConfig.bodyLimitBytes);
  /** What games call. */
  const app = Fastify(serverOptions);
  /** What operators and MMS itself call (metrics, allocations, management API); never published. */
  const internalApp = Fastify(serverOptions);
  admission.measureOn(app);

  const errorHandler = gatewayErrorHandler(metrics, logger, gatewayConfig.bodyLimitBytes);
  for (const server of [app, internalApp]) {
    server.setErrorHandler(errorHandler);
    server.setNotFoundHandler((req, reply) => reply.code(404).send(errorBody(`no route ${req.method} ${req.url.split('?')[0]}`, 'invalid_request_error', null, 'unknown_url')));
  }

  const { keyOf, requireScope } = keyAuthentication(gatewayConfig.requireApiKey, cache, limiter, clock);

  const dataPlane: DataPlane = { chat, cache, admission, logWriter, limiter, prisma, logger, keyOf, requireScope, closing: () => closing };
  dataPlaneRoutes(app, dataPlane);
  dataPlaneRoutes(internalApp, dataPlane);

  internalRoutes(internalApp, cache, metrics);
  // The management API (and any other plugin) lives on the internal listener only.
  for (const plugin of deps.plugins ?? []) void internalApp.register(plugin);

  return {
    app,
    metrics,
    cache,
    logWriter,
    limiter,
    internalApp,
    get address() {
      return address;
    },
    get internalAddress() {
      return internalAddress;
    },
    async listen() {
      await cache.start();
      limiter.start();
      await app.listen({ host: deps.host ?? gatewayConfig.host, port: deps.port ?? gatewayConfig.port, backlog: gatewayConfig.listenBacklog });
      address = baseUrlOf(app);
      try {
        await internalApp.listen({ host: deps.internalHost ?? gatewayConfig.internal.host, port: deps.internalPort ?? gatewayConfig.internal.port });
      } catch (err) {
        await app.close();
        throw err;
      }
      internalAddress = baseUrlOf(internalApp);
      logger.info({ address, internalAddress, useCases: cache.useCaseIds() }, 'gateway listening');
      return address;
    },
    async close() {
      if (closing) return;
      closing = true;
      await Promise.all([app.close(), internalApp.close()]);
      // Mirrored calls started before the close still log their rows (bounded wait).
      if (chat.shadowCalls.size > 0) {
        await Promise.race([Promise.allSettled([...chat.shadowCalls]), new Promise((r) => setTimeout(r, 10_000).unref())]);
      }
      cache.stop();
      await limiter.stop().catch((err: unknown) => logger.warn({ err: safeErrorMessage(err) }, 'limit counters: final settle failed'));
      await logWriter.close();
      if (!deps.providers) await Promise.all([...providers.values()].map((p) => p.close().catch(() => undefined)));
      logger.info({ written: logWriter.stats.written, spilled: logWriter.stats.spilled }, 'gateway stopped');
    },
  };
}
