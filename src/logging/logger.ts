import tty from 'node:tty';
import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { redactSecrets } from './redact';

export const logFormats = ['pretty', 'json'] as const;
export type LogFormat = (typeof logFormats)[number];

/**
 * How log lines look: MMS_LOG_FORMAT when set; JSON in production (NODE_ENV=production, for log
 * shippers); otherwise lines a person reads when they go to a terminal, JSON when piped. `mms dev`
 * sets MMS_LOG_FORMAT=pretty (its terminal is for people) unless `--log-format json`.
 */
export function logFormat(fd = logFd()): LogFormat {
  const explicit = process.env.MMS_LOG_FORMAT;
  if (explicit === 'json' || explicit === 'pretty') return explicit;
  if (process.env.NODE_ENV === 'production') return 'json';
  return tty.isatty(fd) ? 'pretty' : 'json';
}

/** Parses a `--log-format` value; undefined when it is not one of the formats. */
export const parseLogFormat = (value: string | undefined): LogFormat | undefined => (logFormats as readonly string[]).includes(value ?? '') ? (value as LogFormat) : undefined;

const logFd = () => (process.env.MMS_LOG_FD === '1' ? 1 : 2);

/**
 * `[12:04:05.123] INFO: gateway: listening {"address":…}` — time, level, component, message, then the
 * fields on the same line.
 */
function prettyStream(fd: number): DestinationStream {
  return pretty({
    destination: fd,
    sync: false,
    colorize: tty.isatty(fd),
    singleLine: true,
    translateTime: 'HH:MM:ss.l',
    ignore: 'pid,hostname,name,component',
    messageFormat: '{name}{if component} › {component}{end}: {msg}',
    errorLikeObjectKeys: [], // err/error stay fields of the one line
  }) as DestinationStream;
}

/** `{err: Error}` → `{error: "Error: message"}`: pino-pretty would print the stack over many lines. */
function oneLineError(object: Record<string, unknown>): Record<string, unknown> {
  if (!('err' in object)) return object;
  const { err, ...rest } = object;
  return { ...rest, error: err instanceof Error ? `${err.name}: ${err.message}` : err };
}

/**
 * One logger for every process. Log lines are redacted as whole strings (not only known paths), so
 * a key that ends up inside an error message or a nested object is masked too (the pretty stream
 * receives the already redacted line).
 */
export function createLogger(name: string, level = process.env.MMS_LOG_LEVEL ?? 'info'): Logger {
  const fd = logFd();
  const format = logFormat(fd);
  return pino(
    {
      name,
      level,
      // a person's terminal gets one line per error; JSON keeps the stack for the log store
      ...(format === 'pretty' ? { formatters: { log: oneLineError } } : {}),
      redact: {
        paths: ['*.apiKey', '*.authorization', '*.headers.authorization', '*.headers["x-api-key"]', '*.password'],
        censor: '[REDACTED]',
      },
      hooks: {
        streamWrite: (line) => redactSecrets(line),
      },
    },
    format === 'pretty' ? prettyStream(fd) : pino.destination({ fd, sync: false }),
  );
}
