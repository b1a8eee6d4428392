import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { MmsConfig } from '../src/config/schema';
import { loadConfig } from '../src/config/load';
import { findDatabase } from '../src/db/database';
import { createPrisma } from '../src/db/prisma';
import { createLogger } from '../src/logging/logger';
import { safeErrorMessage } from '../src/logging/redact';
import { syncUseCases } from '../src/registry/use-cases';
import { createGatewayServer, type Gateway, type GatewayDeps } from './server';
import type { Guardrail, OnCriticalViolation } from './guardrails';

export { createGatewayServer, type Gateway, type GatewayDeps } from './server';
export type { Guardrail, GuardrailContext, GuardrailVerdict, GuardrailViolation, CriticalViolationEvent, OnCriticalViolation } from './guardrails';
export { stickyBucket, buildBucketTable } from '../src/routing/buckets';

export interface RunGatewayOptions {
  /** Validated config; loaded from configPath (or MMS_CONFIG / ./mms.config.yaml) when omitted. */
  config?: MmsConfig;
  configPath?: string;
  /** DATABASE_URL, else the embedded PostgreSQL a running `mms dev` started. */
  databaseUrl?: string;
  host?: string;
  port?: number;
  internalHost?: string;
  internalPort?: number;
  plugins?: FastifyPluginAsync[];
  guardrail?: Guardrail | null;
  onCriticalViolation?: OnCriticalViolation;
  logger?: Logger;
  /**
   * Sync the config's use cases into the registry before serving (idempotent, under a lock), so a
   * gateway started on its own (compose, `mms gateway`) serves them. `mms dev` syncs once itself.
   */
  syncUseCases?: boolean;
  /** Close cleanly (flushing the log buffer) on SIGTERM / SIGINT, then exit. Default true. */
  handleSignals?: boolean;
  /** Extra deps passed through to createGatewayServer. */
  deps?: Partial<GatewayDeps>;
}

/**
 * `mms gateway`: the data plane alone. Needs a migrated database (the registry) and the config that
 * names the providers; serves until SIGTERM, then stops accepting calls, finishes those in flight and
 * flushes every queued log row before exiting.
 */
export async function runGateway(options: RunGatewayOptions = {}): Promise<Gateway & { stop(): Promise<void> }> {
  const logger = options.logger ?? createLogger('gateway');
  const config = options.config ?? loadConfig(options.configPath);
  const databaseUrl = options.databaseUrl ?? (await findDatabase());
  if (!databaseUrl) throw new Error('no database: set DATABASE_URL, or start the embedded one with `mms dev`');
  const prisma = createPrisma(databaseUrl, { max: 8 });
  if (options.syncUseCases) {
    try {
      const synced = await syncUseCases(prisma, config);
      logger.info({ useCases: synced.map((s) => `${s.useCaseId} ${s.action}`) }, `use cases synced from the config (${synced.length})`);
    } catch (err) {
      await prisma.$disconnect();
      throw err;
    }
  }
  const gateway = createGatewayServer({
    prisma,
    config,
    logger,
    guardrail: options.guardrail,
    onCriticalViolation: options.onCriticalViolation,
    plugins: options.plugins,
    host: options.host,
    port: options.port,
    internalHost: options.internalHost,
    internalPort: options.internalPort,
    processMetrics: true,
    databaseUrl,
    ...options.deps,
  });
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await gateway.close();
      await prisma.$disconnect();
    })());
  if (options.handleSignals !== false) {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info({ signal }, 'stopping the gateway: finishing calls in flight and flushing logs');
      stop()
        .then(() => process.exit(0))
        .catch((err) => {
          logger.error({ err: safeErrorMessage(err) }, 'gateway stop failed');
          process.exit(1);
        });
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  try {
    await gateway.listen();
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  return Object.assign(gateway, { stop });
}
