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

  it('hides no core warning: a query answered to nobody is prevented at its callers (readRollout, rollback --wait), not filtered here', () => {
    const { logger, lines } = capture();
    const log = temporalLogger(logger);
    log.log('WARN', 'Query not found when attempting to respond to it', { sdkComponent: 'core', error: 'query task not found, or already expired' });
    expect(lines).toEqual([expect.objectContaining({ level: 40, component: 'temporal core', msg: 'Query not found when attempting to respond to it' })]);
  });

  it("forwards the core's logs to the logger instead of the console", () => {
    const options = temporalRuntimeOptions(temporalLogger(capture().logger));
    expect(options.telemetryOptions.logging).toEqual({ forward: {}, filter: { core: 'WARN', other: 'ERROR' } });
  });
});
