import * as otel from '@opentelemetry/api';
import type { FastifyReply, FastifyRequest } from 'fastify';

type Route = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/**
 * A route whose handling is one SERVER span, continuing the caller's trace (W3C `traceparent`), and
 * active while the handler runs: what the call triggers (a critical violation signalled to the rollout
 * workflow, through Temporal's client interceptor) joins the same trace. Used only when tracing is on.
 */
export function tracedRoute(tracer: otel.Tracer, name: string, route: Route): Route {
  return (req, reply) => {
    const parent = otel.propagation.extract(otel.ROOT_CONTEXT, req.headers);
    const attributes = { 'http.request.method': req.method, 'http.route': req.routeOptions.url ?? req.url };
    return tracer.startActiveSpan(name, { kind: otel.SpanKind.SERVER, attributes }, parent, async (span) => {
      try {
        return await route(req, reply);
      } catch (err) {
        span.recordException(err as Error);
        throw err;
      } finally {
        span.setAttribute('http.response.status_code', reply.statusCode);
        // The OpenAI body's `model` names the use case; the reply's headers say who served it.
        const useCase = (req.body as { model?: unknown } | undefined)?.model;
        if (typeof useCase === 'string') span.setAttribute('mms.use_case', useCase);
        for (const [header, attribute] of [['x-mms-model', 'mms.model'], ['x-mms-role', 'mms.role'], ['x-mms-allocation-version', 'mms.allocation_version']] as const) {
          const value = reply.getHeader(header);
          if (typeof value === 'string') span.setAttribute(attribute, value);
        }
        if (reply.statusCode >= 500) span.setStatus({ code: otel.SpanStatusCode.ERROR });
        span.end();
      }
    });
  };
}
