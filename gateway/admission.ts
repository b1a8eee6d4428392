import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import underPressure from '@fastify/under-pressure';
import type { GatewayConfig } from '../src/config/schema';
import { errorBody } from './chat';
import type { LogSink } from './log-writer';
import type { GatewayMetrics } from './metrics';

/** Why a call was shed: the replica's event loop lags, or it already has maxInFlight calls in flight. */
export type ShedReason = 'event_loop_delay' | 'in_flight';

/** What /healthz and /readyz show of the pressure. */
export interface PressureReport {
  /** True while new chat calls are being shed. */
  shedding: boolean;
  inFlight: number;
  maxInFlight: number;
  eventLoopDelayMs: number;
  maxEventLoopDelayMs: number;
  shedTotal: number;
}

/**
 * Admission control of the chat route. A call is refused at once (503, `retry-after`, an OpenAI-style
 * error body with code `overloaded`) when this replica already has `maxInFlight` chat calls in flight,
 * or when its event loop lags more than `maxEventLoopDelayMs` (measured by @fastify/under-pressure). The
 * check runs on the route's onRequest hook, before the body is read or parsed, so a shed call costs the
 * replica almost nothing and the calls it admitted keep their latency. Every shed call is counted
 * (`mms_gateway_shed_requests_total{reason}`) and logged as one historical-log row with status `shed`
 * and no prompt, output or sticky key (the body was never read). Health, readiness and metrics are never shed.
 */
export class AdmissionControl {
  private inFlightCalls = 0;
  private shedCalls = 0;
  private eventLoopDelay: () => number = () => 0;
  private readonly retryAfter: string;

  constructor(
    private readonly config: GatewayConfig['admission'],
    private readonly metrics: GatewayMetrics,
    private readonly logWriter: LogSink,
  ) {
    this.retryAfter = String(config.retryAfterSeconds);
    metrics.inFlightNow = () => this.inFlightCalls;
    metrics.eventLoopDelayNow = () => this.eventLoopDelay();
  }

  get inFlight(): number {
    return this.inFlightCalls;
  }

  /**
   * Measures the event-loop delay with @fastify/under-pressure on `app` (once per process is enough).
   * Its own onRequest check stays off (no max* option): the chat route's hook decides, so nothing
   * else (health, readiness, metrics) is ever shed.
   */
  measureOn(app: FastifyInstance): void {
    void app.register(underPressure, { sampleInterval: this.config.sampleIntervalMs, exposeStatusRoute: false });
    const measured = app as FastifyInstance & { memoryUsage?: () => { eventLoopDelay: number } };
    // under-pressure reports an interval in which its histogram got no sample (a descheduled process on
    // a loaded host) as an infinite delay: that is "not measured", so the last measured delay stands.
    let lastMeasured = 0;
    this.eventLoopDelay = () => {
      const delay = measured.memoryUsage ? measured.memoryUsage().eventLoopDelay : 0;
      if (Number.isFinite(delay)) lastMeasured = delay;
      return lastMeasured;
    };
  }

  report(): PressureReport {
    const eventLoopDelayMs = Math.round(this.eventLoopDelay() * 100) / 100;
    return {
      shedding: this.overloaded() !== undefined,
      inFlight: this.inFlightCalls,
      maxInFlight: this.config.maxInFlight,
      eventLoopDelayMs,
      maxEventLoopDelayMs: this.config.maxEventLoopDelayMs,
      shedTotal: this.shedCalls,
    };
  }

  private overloaded(): ShedReason | undefined {
    const { maxInFlight, maxEventLoopDelayMs } = this.config;
    if (maxInFlight > 0 && this.inFlightCalls >= maxInFlight) return 'in_flight';
    if (maxEventLoopDelayMs > 0 && this.eventLoopDelay() > maxEventLoopDelayMs) return 'event_loop_delay';
    return undefined;
  }

  /** The chat route's onRequest hook: admit (and count until the response closes) or shed at once. */
  readonly admit = (req: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const reason = this.overloaded();
    if (reason === undefined) {
      this.inFlightCalls++;
      reply.raw.once('close', this.release);
      done();
      return;
    }
    this.shed(req, reply, reason);
  };

  private readonly release = () => {
    this.inFlightCalls--;
  };

  private shed(req: FastifyRequest, reply: FastifyReply, reason: ShedReason) {
    const started = performance.now();
    this.shedCalls++;
    this.metrics.shed.inc({ reason });
    const requestId = randomUUID();
    const message =
      reason === 'in_flight'
        ? `the gateway is at capacity (${this.config.maxInFlight} calls in flight); retry after ${this.retryAfter} s`
        : `the gateway is overloaded (event loop ${this.eventLoopDelay().toFixed(0)} ms behind); retry after ${this.retryAfter} s`;
    reply.code(503).header('retry-after', this.retryAfter).header('x-request-id', requestId).send(errorBody(message, 'service_unavailable', null, 'overloaded'));
    // One row per shed call, without its body (never read): the call is accounted for, not lost.
    this.logWriter.enqueueLog({
      id: requestId,
      requestId,
      modelId: null,
      useCase: null,
      role: 'none',
      allocationVersion: null,
      status: 'shed',
      errorClass: reason,
      prompt: '',
      context: { shed: reason, route: req.url.split('?')[0] },
      generatedOutput: '',
      latencyMs: performance.now() - started,
      ttftMs: null,
      tokensIn: null,
      tokensOut: null,
      costUsd: null,
      guardrailVerdict: null,
      stickyKey: null,
      performanceMetrics: null,
      timestamp: new Date(),
    });
  }
}
