import type { FastifyInstance } from 'fastify';
import { AdmissionControl } from '../../gateway/admission';
import type { LogSink } from '../../gateway/log-writer';
import { GatewayMetrics } from '../../gateway/metrics';

/** An app whose under-pressure measurement the test sets (register is a no-op: nothing samples). */
function measuredApp() {
  const app = { eventLoopDelay: 0, register: () => undefined, memoryUsage: () => ({ eventLoopDelay: app.eventLoopDelay }) };
  return app;
}

describe('admission control: the event-loop delay it acts on', () => {
  const logSink = { enqueueLog: () => undefined } as unknown as LogSink;

  it('sheds past the bound, and an interval under-pressure could not sample (reported as infinite) keeps the last measured delay', () => {
    const app = measuredApp();
    const admission = new AdmissionControl({ maxInFlight: 0, maxEventLoopDelayMs: 20, sampleIntervalMs: 50, retryAfterSeconds: 1 }, new GatewayMetrics(), logSink);
    admission.measureOn(app as unknown as FastifyInstance);
    app.eventLoopDelay = 5;
    expect(admission.report()).toMatchObject({ shedding: false, eventLoopDelayMs: 5 });
    app.eventLoopDelay = Infinity;
    expect(admission.report()).toMatchObject({ shedding: false, eventLoopDelayMs: 5 });
    app.eventLoopDelay = 35;
    expect(admission.report()).toMatchObject({ shedding: true, eventLoopDelayMs: 35 });
    app.eventLoopDelay = Infinity;
    expect(admission.report()).toMatchObject({ shedding: true, eventLoopDelayMs: 35 });
  });
});
