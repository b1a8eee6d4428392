import type { Logger as PinoLogger } from 'pino';
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';

const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/** An error as one line: its type and message (the stack stays in the workflow history, where the Web UI shows it). */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const type = (err as { type?: string }).type;
  const cause = err.cause instanceof Error && err.cause.message !== err.message ? ` (cause: ${describeError(err.cause)})` : '';
  return `${type ? `${type}: ` : ''}${err.message}${cause}`;
}

/**
 * The runtime options that send Temporal's core (Rust) logs through `logger` too, as `temporalLogger`
 * lines, instead of the core's own coloured console format: WARN and above from the core, ERROR from
 * other crates (the SDK's defaults).
 */
export function temporalRuntimeOptions(logger: TemporalLogger) {
  return { logger, telemetryOptions: { logging: { forward: {}, filter: { core: 'WARN', other: 'ERROR' } } } } as const;
}

/**
 * Temporal's worker, workflow and core logs through our pino logger (`Runtime.install(temporalRuntimeOptions(...))`),
 * so `mms dev` shows one kind of line. The component is Temporal's `sdkComponent` (worker, activity,
 * workflow, core); errors become one line each. Expected retries are raised as BENIGN application
 * failures, which the SDK logs at DEBUG, so they stay out of an INFO terminal.
 */
export function temporalLogger(logger: PinoLogger): TemporalLogger {
  const children = new Map<string, PinoLogger>();
  const child = (component: string) => {
    let c = children.get(component);
    if (!c) children.set(component, (c = logger.child({ component: `temporal ${component}` })));
    return c;
  };
  const log = (level: LogLevel, message: string, meta: LogMetadata = {}) => {
    const method = levels[level] ?? 'info';
    const target = child(String(meta.sdkComponent ?? 'sdk'));
    if (!target.isLevelEnabled(method)) return;
    const fields: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(meta)) {
      if (key === 'sdkComponent' || value === undefined) continue;
      fields[key] = value instanceof Error || key === 'error' || key === 'failure' ? describeError(value) : value;
    }
    target[method](fields, message);
  };
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}
