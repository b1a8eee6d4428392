import * as otel from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/**
 * OpenTelemetry traces across a gateway call, the workflow it signals and that workflow's activities
 * (Temporal's interceptors carry the context in headers). Off unless the standard OTEL_* variables
 * ask for it: nothing is loaded into the hot path and no span is made when they are unset.
 */
export interface Tracing {
  readonly resource: Resource;
  readonly spanProcessor: SpanProcessor;
  readonly tracer: otel.Tracer;
  shutdown(): Promise<void>;
}

let active: Tracing | undefined;

/** The tracing this process started, if any (the gateway and the Temporal client and worker ask). */
export function activeTracing(): Tracing | undefined {
  return active;
}

/**
 * Whether the OTEL_* variables turn traces on: an OTLP endpoint (general or for traces) or
 * OTEL_TRACES_EXPORTER=otlp, unless OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none.
 */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.toLowerCase() === 'true') return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.toLowerCase();
  if (exporter === 'none') return false;
  if (exporter !== undefined && exporter !== 'otlp') throw new Error(`OTEL_TRACES_EXPORTER: only "otlp" and "none" are supported, got "${env.OTEL_TRACES_EXPORTER}"`);
  return exporter === 'otlp' || Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Starts tracing for this process: a global tracer provider with the async-hooks context manager and
 * the W3C propagator, spans batched to `spanProcessor` (default: OTLP over HTTP/protobuf, configured by
 * OTEL_EXPORTER_OTLP_* as the exporter reads them). OTEL_SERVICE_NAME overrides `serviceName`.
 */
export function startTracing(options: { serviceName: string; spanProcessor?: SpanProcessor; env?: NodeJS.ProcessEnv }): Tracing {
  if (active) return active;
  const env = options.env ?? process.env;
  const resource = new Resource({ 'service.name': env.OTEL_SERVICE_NAME || options.serviceName });
  const spanProcessor = options.spanProcessor ?? new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  const tracing: Tracing = {
    resource,
    spanProcessor,
    tracer: otel.trace.getTracer('mms'),
    async shutdown() {
      if (active !== tracing) return;
      active = undefined;
      await provider.shutdown();
      otel.trace.disable();
      otel.context.disable();
      otel.propagation.disable();
    },
  };
  active = tracing;
  return tracing;
}

/** Starts tracing when the environment asks for it (see tracingRequested); undefined otherwise. */
export function startTracingFromEnv(serviceName: string, env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
  return tracingRequested(env) ? startTracing({ serviceName, env }) : undefined;
}
