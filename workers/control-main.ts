/**
 * Entrypoint of a control worker process (task queue mms-control). Production runs N replicas of it;
 * `mms dev` runs it in-process. Needs DATABASE_URL (or a running embedded database) and Temporal.
 */
import { Runtime } from '@temporalio/worker';
import { loadConfig } from '../src/config/load';
import { findDatabase } from '../src/db/database';
import { createPrisma } from '../src/db/prisma';
import { connectClient, connectWorkerConnection, temporalNamespace } from '../src/temporal/connection';
import { createControlWorker } from './control';
import { ensureControlPlane } from './control-schedules';
import { startTracingFromEnv } from '../src/telemetry/tracing';
import { pipelineInputFor } from '../clients/meta';
import { createLogger } from '../src/logging/logger';
import { syncUseCases } from '../src/registry/use-cases';
import { temporalLogger, temporalRuntimeOptions } from '../src/temporal/logger';
import { ensureLocalEmbeddings } from '../src/embeddings/local-server';
import { tier2JudgeOrReason } from '../src/guardrails/tier2-window';
import { createEvaluationDeps, type EvaluationDeps } from '../src/evaluation';

async function main() {
  // Before any Temporal client or worker exists: with OTEL_* set, workflows and activities join the callers' traces.
  const tracing = startTracingFromEnv('mms-control-worker');
  const logger = createLogger('control-worker');
  // Temporal's own lines (worker, activities, workflows, core) through the same logger
  Runtime.install(temporalRuntimeOptions(temporalLogger(logger)));
  const config = loadConfig();
  const databaseUrl = await findDatabase();
  if (!databaseUrl) throw new Error('no database: set DATABASE_URL or start `mms dev` (embedded PostgreSQL)');
  const prisma = createPrisma(databaseUrl);
  // every replica syncs the config's use cases at start (idempotent, under an advisory lock)
  const synced = await syncUseCases(prisma, config);
  logger.info({ useCases: synced.map((s) => `${s.useCaseId} ${s.action}`) }, `use cases synced from the config (${synced.length})`);
  // Evaluations need embeddings: the configured provider, or the local server (started here if none runs).
  let evaluation: Omit<EvaluationDeps, 'prisma'> | undefined;
  let stopEmbeddings = async () => undefined as void;
  try {
    let embeddingsUrl: string | undefined;
    if (config.embeddings.provider === 'local') {
      const local = await ensureLocalEmbeddings({ threads: config.embeddings.threads, onProgress: (line) => logger.info(line) });
      embeddingsUrl = local.url;
      stopEmbeddings = local.stop;
    }
    evaluation = createEvaluationDeps(config, { embeddingsUrl });
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'evaluations disabled on this worker: no embeddings');
  }
  // Tier 2 of the guardrails judges the monitors' windows with the same embeddings client.
  const guardrailsTier2 = tier2JudgeOrReason(config, evaluation?.embeddings);
  if ('unavailable' in guardrailsTier2) logger.warn({ reason: guardrailsTier2.unavailable }, 'guardrails tier 2 off on this worker');
  else logger.info({ guards: guardrailsTier2.guards.map((g) => g.name) }, 'guardrails tier 2 on');
  const connection = await connectWorkerConnection(config);
  const worker = await createControlWorker({
    connection,
    namespace: temporalNamespace(config),
    taskQueue: process.env.MMS_CONTROL_TASK_QUEUE ?? config.temporal.controlTaskQueue,
    prisma,
    gatewayReplicaUrls: config.gateway.replicaUrls,
    config,
    evaluation,
    pipelineInput: pipelineInputFor(config),
    guardrailsTier2,
    tracing,
  });
  // The historical-log schedules follow this worker's config (idempotent: unchanged ones are left alone).
  // MMS_SCHEDULES=off leaves the cluster's schedules to another process (the test stack sets it, so
  // workers spawned by one test file never rewrite the schedules another file asserts on).
  // The guardrails monitors are cluster-wide singletons too (one per use case), left alone alike.
  let schedules: Array<{ scheduleId: string; result: string }> | 'left alone (MMS_SCHEDULES=off)' = 'left alone (MMS_SCHEDULES=off)';
  let monitors: Awaited<ReturnType<typeof ensureControlPlane>>['monitors'] | 'left alone (MMS_SCHEDULES=off)' = 'left alone (MMS_SCHEDULES=off)';
  if (process.env.MMS_SCHEDULES !== 'off') {
    const client = await connectClient(config);
    ({ schedules, monitors } = await ensureControlPlane(client, config, prisma));
    await client.connection.close();
  }
  logger.info({ taskQueue: worker.options.taskQueue, schedules, guardrailsMonitors: monitors }, 'control worker running');
  // Worker.run() shuts down gracefully on SIGINT/SIGTERM (Runtime's default shutdown signals).
  await worker.run();
  await tracing?.shutdown(); // flushes the spans still batched
  await stopEmbeddings();
  await prisma.$disconnect();
  await connection.close();
}

main().catch((err) => {
  process.stderr.write(`control worker failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
