import pino from 'pino';
import { temporalLogger, temporalRuntimeOptions } from '../../src/temporal/logger';

/** Lines a pino logger at INFO wrote, parsed. */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

describe('temporalLogger', () => {
  it("logs Temporal's lines at their level, with the component and errors as one line", () => {
    const { logger, lines } = capture();
    const log = temporalLogger(logger);
    log.warn('Activity failed', { sdkComponent: 'activity', error: new Error('upstream down') });
    log.debug('hidden at INFO');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, component: 'temporal activity', error: 'upstream down', msg: 'Activity failed' });
  });

  it('keeps a core warning about a query its caller stopped waiting for out of an INFO terminal', () => {
    const { logger, lines } = capture();
    const log = temporalLogger(logger);
    log.log('WARN', 'Query not found when attempting to respond to it', { sdkComponent: 'core', error: 'query task not found, or already expired' });
    log.log('WARN', 'Failed to poll for task', { sdkComponent: 'core' });
    expect(lines.map((l) => l.msg)).toEqual(['Failed to poll for task']);
  });

  it("forwards the core's logs to the logger instead of the console", () => {
    const options = temporalRuntimeOptions(temporalLogger(capture().logger));
    expect(options.telemetryOptions.logging).toEqual({ forward: {}, filter: { core: 'WARN', other: 'ERROR' } });
  });
});
