/**
 * Entrypoint of a control worker process (task queue mms-control). Production runs N replicas of it;
 * `mms dev` runs it in-process. Needs DATABASE_URL (or a running embedded database) and Temporal.
 */
import { Runtime, DefaultLogger } from '@temporalio/worker';
import { loadConfig } from '../src/config/load';
import { findDatabase } from '../src/db/database';
import { createPrisma } from '../src/db/prisma';
import { connectClient, connectWorkerConnection, temporalNamespace } from '../src/temporal/connection';
import { createControlWorker } from './control';
import { ensureLogSchedules } from './log-schedules';
import { createLogger } from '../src/logging/logger';

async function main() {
  const logger = createLogger('control-worker');
  Runtime.install({ logger: new DefaultLogger((process.env.MMS_TEMPORAL_LOG_LEVEL as 'WARN') ?? 'WARN') });
  const config = loadConfig();
  const databaseUrl = await findDatabase();
  if (!databaseUrl) throw new Error('no database: set DATABASE_URL or start `mms dev` (embedded PostgreSQL)');
  const prisma = createPrisma(databaseUrl);
  const connection = await connectWorkerConnection(config);
  const worker = await createControlWorker({
    connection,
    namespace: temporalNamespace(config),
    taskQueue: process.env.MMS_CONTROL_TASK_QUEUE ?? config.temporal.controlTaskQueue,
    prisma,
    gatewayReplicaUrls: config.gateway.replicaUrls,
  });
  // The historical-log schedules follow this worker's config (idempotent: unchanged ones are left alone).
  const client = await connectClient(config);
  const schedules = await ensureLogSchedules(client, config);
  await client.connection.close();
  logger.info({ taskQueue: worker.options.taskQueue, schedules }, 'control worker running');
  // Worker.run() shuts down gracefully on SIGINT/SIGTERM (Runtime's default shutdown signals).
  await worker.run();
  await prisma.$disconnect();
  await connection.close();
}

main().catch((err) => {
  process.stderr.write(`control worker failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
