import type { FastifyInstance } from 'fastify';
import { AdmissionControl } from '../../gateway/admission';
import type { LogSink } from '../../gateway/log-writer';
import { GatewayMetrics } from '../../gateway/metrics';

/** An app whose under-pressure measurement the test sets (register is a no-op: nothing samples). */
function measuredApp() {
  const app = {
    eventLoopDelay: 0,
    eventLoopUtilized: 0,
    register: () => undefined,
    addHook: () => undefined,
    memoryUsage: () => ({ eventLoopDelay: app.eventLoopDelay, eventLoopUtilized: app.eventLoopUtilized }),
  };
  return app;
}

describe('admission control: the event-loop measurement it acts on', () => {
  const logSink = { enqueueLog: () => undefined } as unknown as LogSink;
  let admission: AdmissionControl;
  let app: ReturnType<typeof measuredApp>;
  beforeEach(() => {
    app = measuredApp();
    admission = new AdmissionControl({ maxInFlight: 0, maxEventLoopDelayMs: 20, sampleIntervalMs: 250, retryAfterSeconds: 1 }, new GatewayMetrics(), logSink);
    admission.measureOn(app as unknown as FastifyInstance);
  });
  const after = (delay: number, utilization: number) => {
    app.eventLoopDelay = delay;
    app.eventLoopUtilized = utilization;
    admission.sample();
    return admission.report();
  };

  it('sheds while the loop is both behind and busy: an overloaded loop', () => {
    expect(after(5, 0.5)).toMatchObject({ shedding: false, eventLoopDelayMs: 5, eventLoopUtilization: 0.5 });
    expect(after(35, 0.97)).toMatchObject({ shedding: true, eventLoopDelayMs: 35, eventLoopUtilization: 0.97 });
    expect(after(8, 0.97)).toMatchObject({ shedding: false });
  });

  it('a delay while the loop was mostly idle (one pause, or timers late while it sat descheduled) sheds nothing', () => {
    // What bench:gateway saw at 1,000/s on 2 shared cores: 40-190 ms late timers in windows where the
    // main thread ran 10-20 ms of CPU; the calls shed after them were the ones it was about to serve.
    expect(after(45, 0.3)).toMatchObject({ shedding: false, eventLoopDelayMs: 45 });
    expect(after(190, 0.6)).toMatchObject({ shedding: false });
  });

  it('an interval with no loop sample (reported as infinite) counts as a whole interval behind, judged by the utilisation', () => {
    expect(after(Infinity, 0.2)).toMatchObject({ shedding: false, eventLoopDelayMs: 250 });
    expect(after(Infinity, 1)).toMatchObject({ shedding: true, eventLoopDelayMs: 250 });
  });
});
