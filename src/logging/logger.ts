import pino, { type Logger } from 'pino';
import { redactSecrets } from './redact';

/**
 * One logger for every process. Log lines are redacted as whole strings (not only known paths), so
 * a key that ends up inside an error message or a nested object is masked too.
 */
export function createLogger(name: string, level = process.env.MMS_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: ['*.apiKey', '*.authorization', '*.headers.authorization', '*.headers["x-api-key"]', '*.password'],
        censor: '[REDACTED]',
      },
      hooks: {
        streamWrite: (line) => redactSecrets(line),
      },
    },
    pino.destination({ fd: process.env.MMS_LOG_FD === '1' ? 1 : 2, sync: false }),
  );
}
