import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Per (use case, model, role) children, resolved once so the hot path does no label hashing. */
export interface CallMetrics {
  ok(latencySeconds: number): void;
  failed(errorClass: string, latencySeconds: number): void;
  ttft(seconds: number): void;
  tokens(input: number, output: number): void;
  cost(usd: number): void;
}

/** Prometheus metrics of one gateway (own registry, so several gateways can live in one process). */
export class GatewayMetrics {
  readonly registry = new Registry();
  /**
   * The per-call counters (answered calls, tokens, cost) are plain numbers in each (use case, model,
   * role) child, folded into prom-client when /metrics is read (`collect`): prom-client hashes the label
   * set on every `inc`, four times per call. Failures, rarer, go straight to prom-client.
   */
  private readonly requests: Counter = new Counter({ name: 'mms_gateway_requests_total', help: 'Calls by use case, model, role and status', labelNames: ['use_case', 'model', 'role', 'status'], registers: [this.registry], collect: (): void => this.fold() });
  private readonly errors = new Counter({ name: 'mms_gateway_errors_total', help: 'Failed calls by error class', labelNames: ['use_case', 'model', 'role', 'error_class'], registers: [this.registry] });
  private readonly latency = new Histogram({ name: 'mms_gateway_request_duration_seconds', help: 'Total call latency', labelNames: ['use_case', 'model', 'role'], buckets: latencyBuckets, registers: [this.registry] });
  private readonly ttftHistogram = new Histogram({ name: 'mms_gateway_time_to_first_token_seconds', help: 'Time to the first streamed token', labelNames: ['use_case', 'model', 'role'], buckets: latencyBuckets, registers: [this.registry] });
  private readonly tokenCounter: Counter = new Counter({ name: 'mms_gateway_tokens_total', help: 'Tokens by direction (input | output)', labelNames: ['use_case', 'model', 'role', 'direction'], registers: [this.registry], collect: (): void => this.fold() });
  private readonly costCounter: Counter = new Counter({ name: 'mms_gateway_cost_usd_total', help: 'Cost in USD from the price table', labelNames: ['use_case', 'model', 'role'], registers: [this.registry], collect: (): void => this.fold() });
  readonly rejected = new Counter({ name: 'mms_gateway_rejected_requests_total', help: 'Requests refused before any provider call', labelNames: ['reason'], registers: [this.registry] });
  readonly retries = new Counter({ name: 'mms_gateway_upstream_retries_total', help: 'Upstream attempts retried within the budget', labelNames: ['provider', 'error_class'], registers: [this.registry] });
  readonly fallbacks = new Counter({ name: 'mms_gateway_fallbacks_total', help: 'Calls answered by the use case fallback model', labelNames: ['use_case'], registers: [this.registry] });
  readonly shadowSkipped = new Counter({ name: 'mms_gateway_shadow_skipped_total', help: 'Mirrored calls skipped because maxShadowInFlight was reached', labelNames: ['use_case'], registers: [this.registry] });
  readonly allocationVersion = new Gauge({ name: 'mms_gateway_allocation_version', help: 'Allocation version this replica serves', labelNames: ['use_case'], registers: [this.registry] });
  readonly registryLoads = new Counter({ name: 'mms_gateway_registry_reloads_total', help: 'Reloads of allocations, use cases and keys', labelNames: ['result'], registers: [this.registry] });
  readonly logRowsWritten = new Counter({ name: 'mms_gateway_log_rows_written_total', help: 'Historical-log rows inserted (including replayed spill)', registers: [this.registry] });
  readonly logRowsSpilled = new Counter({ name: 'mms_gateway_log_rows_spilled_total', help: 'Rows written to the spill file while the database was unavailable', registers: [this.registry] });
  readonly logRowsDropped = new Counter({ name: 'mms_gateway_log_rows_dropped_total', help: 'Rows lost because the spill file reached spillMaxBytes', registers: [this.registry] });
  readonly logBuffered = new Gauge({ name: 'mms_gateway_log_buffered_rows', help: 'Rows waiting to be written', registers: [this.registry] });
  readonly spillBytes = new Gauge({ name: 'mms_gateway_log_spill_bytes', help: 'Bytes in this replica’s spill files', registers: [this.registry] });
  readonly databaseUp = new Gauge({ name: 'mms_gateway_database_up', help: '1 when the last registry poll or log write reached the database', registers: [this.registry] });
  readonly shed = new Counter({ name: 'mms_gateway_shed_requests_total', help: 'Chat calls refused with 503 by admission control, by reason (in_flight | event_loop_delay)', labelNames: ['reason'], registers: [this.registry] });
  /** Read at scrape time from admission control. */
  inFlightNow: () => number = () => 0;
  readonly inFlight: Gauge = new Gauge({ name: 'mms_gateway_in_flight_requests', help: 'Chat calls in flight on this replica', registers: [this.registry], collect: (): void => this.inFlight.set(this.inFlightNow()) });
  eventLoopDelayNow: () => number = () => 0;
  readonly eventLoopDelay: Gauge = new Gauge({ name: 'mms_gateway_event_loop_delay_seconds', help: 'Event-loop delay admission control sees (mean over the last sample interval)', registers: [this.registry], collect: (): void => this.eventLoopDelay.set(this.eventLoopDelayNow() / 1000) });
  readonly guardrailViolations = new Counter({ name: 'mms_gateway_guardrail_violations_total', help: 'Guardrail violations', labelNames: ['use_case', 'model', 'role', 'severity'], registers: [this.registry] });

  /** By use case, then model, then role: a lookup per call without building a key string. */
  private readonly children = new Map<string, Map<string, Map<string, CallMetrics>>>();
  /** What each child counted since the last fold. */
  private readonly pending: Array<{ ok: number; tokensIn: number; tokensOut: number; cost: number; fold(): void }> = [];

  /** Adds what the children counted since the last scrape to the prom-client counters. */
  private fold(): void {
    for (const p of this.pending) p.fold();
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'mms_gateway_process_' });
  }

  forCall(useCase: string, model: string, role: string): CallMetrics {
    let byModel = this.children.get(useCase);
    if (!byModel) this.children.set(useCase, (byModel = new Map()));
    let byRole = byModel.get(model);
    if (!byRole) byModel.set(model, (byRole = new Map()));
    let child = byRole.get(role);
    if (child) return child;
    const labels = { use_case: useCase, model, role };
    const okCounter = this.requests.labels({ ...labels, status: 'ok' });
    const latency = this.latency.labels(labels);
    const ttft = this.ttftHistogram.labels(labels);
    const tokensIn = this.tokenCounter.labels({ ...labels, direction: 'input' });
    const tokensOut = this.tokenCounter.labels({ ...labels, direction: 'output' });
    const cost = this.costCounter.labels(labels);
    const counted = {
      ok: 0,
      tokensIn: 0,
      tokensOut: 0,
      cost: 0,
      fold() {
        if (counted.ok > 0) okCounter.inc(counted.ok);
        if (counted.tokensIn > 0) tokensIn.inc(counted.tokensIn);
        if (counted.tokensOut > 0) tokensOut.inc(counted.tokensOut);
        if (counted.cost > 0) cost.inc(counted.cost);
        counted.ok = counted.tokensIn = counted.tokensOut = counted.cost = 0;
      },
    };
    this.pending.push(counted);
    child = {
      ok: (s) => {
        counted.ok++;
        latency.observe(s);
      },
      failed: (errorClass, s) => {
        this.requests.inc({ ...labels, status: errorClass === 'stream_incomplete' || errorClass === 'client_disconnected' ? 'incomplete' : 'error' });
        this.errors.inc({ ...labels, error_class: errorClass });
        latency.observe(s);
      },
      ttft: (s) => ttft.observe(s),
      tokens: (i, o) => {
        if (i > 0) counted.tokensIn += i;
        if (o > 0) counted.tokensOut += o;
      },
      cost: (usd) => {
        if (usd > 0) counted.cost += usd;
      },
    };
    byRole.set(role, child);
    return child;
  }

  violation(useCase: string, model: string, role: string, severity: string) {
    this.guardrailViolations.inc({ use_case: useCase, model, role, severity });
  }
}
