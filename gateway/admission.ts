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
  /** Mean event-loop delay over the last sample interval (ms). */
  eventLoopDelayMs: number;
  /** Share of the last sample interval the event loop was busy (0..1). */
  eventLoopUtilization: number;
  maxEventLoopDelayMs: number;
  shedTotal: number;
}

/**
 * The event loop counts as behind only when, over one sample interval, its mean delay passed the bound
 * *and* it was busy at least this share of the interval. Why: bench:gateway shed 200-2,700 calls a
 * round at 1,000/s with the loop about 40 % busy: traced per 50 ms window, a window with one GC pause
 * (19-50 ms) or one wait for a core (10-20 ms of main-thread CPU in 50-90 ms of wall time) read as
 * overload, and the calls shed in the next window were the backlog of that pause, i.e. the calls the
 * gateway was about to serve. An overloaded loop is busy all the time (utilisation near 1) and behind in
 * every interval; the 250 ms default interval averages a single pause out. Limit: a loop with calls
 * queued that waits for a core (a starved host) counts as busy too (libuv counts only its wait for events
 * as idle), so on a loaded shared host this still sheds (bench:gateway at load 11).
 */
const OVERLOADED_UTILIZATION = 0.9;

/**
 * Admission control of the chat route. A call is refused at once (503, `retry-after`, an OpenAI-style
 * error body with code `overloaded`) when this replica already has `maxInFlight` chat calls in flight,
 * or when its event loop is behind: mean delay over the last sample interval past `maxEventLoopDelayMs`
 * with the loop busy (see OVERLOADED_UTILIZATION), both measured by @fastify/under-pressure. The
 * check runs on the route's onRequest hook, before the body is read or parsed, so a shed call costs the
 * replica almost nothing and the calls it admitted keep their latency. Every shed call is counted
 * (`mms_gateway_shed_requests_total{reason}`) and logged as one historical-log row with status `shed`
 * and no prompt, output or sticky key (the body was never read). Health, readiness and metrics are never shed.
 */
export class AdmissionControl {
  private inFlightCalls = 0;
  private shedCalls = 0;
  private loopDelayMs = 0;
  private loopUtilization = 0;
  /** Decided once per sample interval, so a call pays two comparisons. */
  private loopBehind = false;
  private readMeasurement: () => { eventLoopDelay: number; eventLoopUtilized: number } = () => ({ eventLoopDelay: 0, eventLoopUtilized: 0 });
  private readonly retryAfter: string;
  /** The 503 bodies, built once: a shed call must cost next to nothing. */
  private readonly shedBodies: Record<ShedReason, string>;

  constructor(
    private readonly config: GatewayConfig['admission'],
    private readonly metrics: GatewayMetrics,
    private readonly logWriter: LogSink,
  ) {
    this.retryAfter = String(config.retryAfterSeconds);
    this.shedBodies = {
      in_flight: JSON.stringify(errorBody(`the gateway is at capacity (${config.maxInFlight} calls in flight); retry after ${this.retryAfter} s`, 'service_unavailable', null, 'overloaded')),
      event_loop_delay: JSON.stringify(errorBody(`the gateway is overloaded (its event loop is more than ${config.maxEventLoopDelayMs} ms behind); retry after ${this.retryAfter} s`, 'service_unavailable', null, 'overloaded')),
    };
    metrics.inFlightNow = () => this.inFlightCalls;
    metrics.eventLoopDelayNow = () => this.loopDelayMs;
  }

  get inFlight(): number {
    return this.inFlightCalls;
  }

  /**
   * Measures the event loop with @fastify/under-pressure on `app` (once per process is enough): its
   * delay (the mean over each sample interval, above its 10 ms resolution) and its utilisation over the
   * same interval. Its own onRequest check stays off (no max* option): the chat route's hook decides, so
   * nothing else (health, readiness, metrics) is ever shed.
   */
  measureOn(app: FastifyInstance): void {
    const interval = this.config.sampleIntervalMs;
    void app.register(underPressure, { sampleInterval: interval, eventLoopUtilizationMode: 'interval', exposeStatusRoute: false });
    const measured = app as FastifyInstance & { memoryUsage?: () => { eventLoopDelay: number; eventLoopUtilized: number } };
    this.readMeasurement = () => (measured.memoryUsage ? measured.memoryUsage() : { eventLoopDelay: 0, eventLoopUtilized: 0 });
    const timer = setInterval(() => this.sample(), interval);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
  }

  /** Reads the last interval's measurement and decides whether the loop is behind (every sample interval). */
  sample(): void {
    const { eventLoopDelay, eventLoopUtilized } = this.readMeasurement();
    // under-pressure reports an interval in which its monitor got no sample as an infinite delay: the
    // loop ran no timer for the whole interval (blocked, or the process was not scheduled). The
    // utilisation tells which of the two it was.
    this.loopDelayMs = Number.isFinite(eventLoopDelay) ? eventLoopDelay : this.config.sampleIntervalMs;
    this.loopUtilization = Number.isFinite(eventLoopUtilized) ? eventLoopUtilized : 0;
    const max = this.config.maxEventLoopDelayMs;
    this.loopBehind = max > 0 && this.loopDelayMs > max && this.loopUtilization >= OVERLOADED_UTILIZATION;
  }

  report(): PressureReport {
    return {
      shedding: this.overloaded() !== undefined,
      inFlight: this.inFlightCalls,
      maxInFlight: this.config.maxInFlight,
      eventLoopDelayMs: Math.round(this.loopDelayMs * 100) / 100,
      eventLoopUtilization: Math.round(this.loopUtilization * 1000) / 1000,
      maxEventLoopDelayMs: this.config.maxEventLoopDelayMs,
      shedTotal: this.shedCalls,
    };
  }

  private overloaded(): ShedReason | undefined {
    const { maxInFlight } = this.config;
    if (maxInFlight > 0 && this.inFlightCalls >= maxInFlight) return 'in_flight';
    if (this.loopBehind) return 'event_loop_delay';
    return undefined;
  }

  /** The chat route's onRequest hook: admit (and count until the response closes) or shed at once. */
  readonly admit = (req: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const reason = this.overloaded();
    if (reason === undefined) {
      this.inFlightCalls++;
      // `on`, not `once`: a response closes once, and once's wrapper and its removal cost per call.
      reply.raw.on('close', this.release);
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
    reply.code(503).header('retry-after', this.retryAfter).header('x-request-id', requestId).header('content-type', 'application/json; charset=utf-8').send(this.shedBodies[reason]);
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
