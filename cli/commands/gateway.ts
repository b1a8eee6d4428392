import type { Command } from 'commander';
import { ApiKeyError, ApiKeyNotFoundError, createApiKey, listApiKeys, revokeApiKey, rotateApiKey, updateApiKey, type ApiKeySettings } from '../../src/auth/api-keys';
import { budgetPeriods, describeLimits, parseDuration, parseExpiry, parseLimitValue, parseUseCaseValues, type BudgetPeriod } from '../../src/auth/limits';
import { listAuditEvents } from '../../src/audit/events';
import { CliError, table, type CliContext } from '../context';
import { startGatewayService } from '../services';
import { startTracingFromEnv } from '../../src/telemetry/tracing';

interface LimitOptions {
  rpm?: string;
  tpm?: string;
  useCaseRpm?: string[];
  useCaseTpm?: string[];
  budgetUsd?: string;
  budgetPeriod?: string;
  expires?: string;
  useCase?: string[];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The limit flags shared by `apikey create` and `apikey update` ("none" clears a limit on update). */
function limitFlags(cmd: Command): Command {
  return cmd
    .option('--rpm <n>', 'requests per minute over all use cases')
    .option('--tpm <n>', 'tokens (input + output) per minute over all use cases')
    .option('--use-case-rpm <useCase=n>', 'requests per minute to one use case (repeatable)', collect)
    .option('--use-case-tpm <useCase=n>', 'tokens per minute to one use case (repeatable)', collect)
    .option('--budget-usd <usd>', 'spend budget in USD, counted from the logged cost of each call')
    .option('--budget-period <period>', `when the budget resets: ${budgetPeriods.join(' | ')} (UTC; default monthly)`)
    .option('--expires <when>', 'expiry: a duration from now (30d, 12h) or a date (2027-01-31T00:00:00Z)');
}

/** Flags → settings; every bad value is an error naming its flag (exit 2), before anything changes. */
function settingsOf(opts: LimitOptions, forUpdate: boolean): ApiKeySettings {
  const none = (v: string | undefined) => forUpdate && v === 'none';
  const s: ApiKeySettings = {};
  try {
    if (opts.rpm !== undefined) s.rpm = none(opts.rpm) ? null : parseLimitValue(opts.rpm, '--rpm');
    if (opts.tpm !== undefined) s.tpm = none(opts.tpm) ? null : parseLimitValue(opts.tpm, '--tpm');
    const perUseCase: NonNullable<ApiKeySettings['useCaseLimits']> = {};
    for (const item of opts.useCaseRpm ?? []) {
      const [id, value] = item.split('=');
      if (forUpdate && value === 'none' && id) perUseCase[id] = { ...perUseCase[id], rpm: null };
      else for (const [u, n] of Object.entries(parseUseCaseValues([item], '--use-case-rpm'))) perUseCase[u] = { ...perUseCase[u], rpm: n };
    }
    for (const item of opts.useCaseTpm ?? []) {
      const [id, value] = item.split('=');
      if (forUpdate && value === 'none' && id) perUseCase[id] = { ...perUseCase[id], tpm: null };
      else for (const [u, n] of Object.entries(parseUseCaseValues([item], '--use-case-tpm'))) perUseCase[u] = { ...perUseCase[u], tpm: n };
    }
    if (Object.keys(perUseCase).length > 0) s.useCaseLimits = perUseCase;
    if (opts.budgetUsd !== undefined) {
      if (none(opts.budgetUsd)) s.budgetUsd = null;
      else {
        const usd = Number(opts.budgetUsd);
        if (!Number.isFinite(usd) || usd <= 0) throw new Error(`--budget-usd: "${opts.budgetUsd}" is not an amount of USD above 0`);
        s.budgetUsd = usd;
      }
    }
    if (opts.budgetPeriod !== undefined) {
      if (!(budgetPeriods as readonly string[]).includes(opts.budgetPeriod)) throw new Error(`--budget-period: must be one of ${budgetPeriods.join(', ')}, got "${opts.budgetPeriod}"`);
      s.budgetPeriod = opts.budgetPeriod as BudgetPeriod;
    }
    if (opts.expires !== undefined) s.expiresAt = none(opts.expires) ? null : parseExpiry(opts.expires, Date.now(), '--expires');
    if (opts.useCase !== undefined) s.useCases = opts.useCase;
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  return s;
}

/** Errors of the key functions: a bad value is a usage error (2), a missing key a failure (1). */
async function keyAction<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError((err as Error).message, err instanceof ApiKeyError || err instanceof ApiKeyNotFoundError ? 1 : 2);
  }
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined);

/** The data plane alone (`mms gateway`), the API keys callers present to it, and the admin audit. */
export function registerGatewayCommands(program: Command, ctx: () => CliContext) {
  registerGatewayRunCommand(program, ctx);
  registerApiKeyCommands(program, ctx);
  registerAuditCommand(program, ctx);
}

/** `mms gateway`: the data plane and the internal listener, until SIGTERM. */
function registerGatewayRunCommand(program: Command, ctx: () => CliContext) {
  program
    .command('gateway')
    .option('--host <host>', 'listen address (default: gateway.host, or $MMS_GATEWAY_HOST)')
    .option('--port <port>', 'listen port (default: gateway.port, or $MMS_GATEWAY_PORT)')
    .option('--internal-host <host>', 'internal listener address (default: gateway.internal.host, or $MMS_GATEWAY_INTERNAL_HOST)')
    .option('--internal-port <port>', 'internal listener port (default: gateway.internal.port, or $MMS_GATEWAY_INTERNAL_PORT)')
    .option('--exit-with-parent', 'stop (gracefully) when stdin closes: how `mms dev` runs its gateway process')
    .description('sync the config\'s use cases, then run the OpenAI-compatible gateway (public listener) and metrics, allocations and the management REST API (internal listener) until SIGTERM')
    .action(async (opts: { host?: string; port?: string; internalHost?: string; internalPort?: string; exitWithParent?: boolean }) => {
      const c = ctx();
      const config = c.config();
      const port = opts.port ?? process.env.MMS_GATEWAY_PORT;
      const internalPort = opts.internalPort ?? process.env.MMS_GATEWAY_INTERNAL_PORT;
      if (port !== undefined && !/^\d{1,5}$/.test(port)) throw new CliError(`--port "${port}" is not a port number`, 2);
      if (internalPort !== undefined && !/^\d{1,5}$/.test(internalPort)) throw new CliError(`--internal-port "${internalPort}" is not a port number`, 2);
      // Before any Temporal client exists: with OTEL_* set, a chat call and the workflow it signals share a trace.
      const tracing = startTracingFromEnv('mms-gateway');
      const prisma = await c.prisma();
      const say = (line: string) => process.stderr.write(`[mms gateway] ${line}\n`);
      if (opts.exitWithParent) {
        // The parent's end of the pipe closes when it exits, however it exits: stop as on SIGTERM.
        process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
        process.stdin.resume();
      }
      const service = await startGatewayService({
        config,
        prisma,
        say,
        host: opts.host ?? process.env.MMS_GATEWAY_HOST,
        port: port === undefined ? undefined : Number(port),
        internalHost: opts.internalHost ?? process.env.MMS_GATEWAY_INTERNAL_HOST,
        internalPort: internalPort === undefined ? undefined : Number(internalPort),
        handleSignals: false,
        syncUseCases: true,
      });
      // A signal: finish the calls in flight, flush the log buffer, then the spans still batched.
      const stop = (signal: NodeJS.Signals) => {
        say(`${signal}: stopping the gateway: finishing calls in flight and flushing logs`);
        service
          .stop()
          .then(() => tracing?.shutdown())
          .then(
            () => process.exit(0),
            (err: unknown) => {
              say(`stopping failed: ${(err as Error).message}`);
              process.exit(1);
            },
          );
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      await new Promise(() => undefined); // serves until a signal stops the process
    });
}

/** `mms apikey create|update|rotate|list|revoke`. */
function registerApiKeyCommands(program: Command, ctx: () => CliContext) {
  const apikey = program.command('apikey').description('API keys for the gateway and the management API (stored hashed), with their limits');
  limitFlags(
    apikey
      .command('create <name>')
      .option('--scope <scope...>', 'gateway and/or admin', ['gateway'])
      .option('--use-case <id...>', 'use cases the key may call (default: all)'),
  )
    .description('create a key; it is printed once and only its hash is stored')
    .action(async (name: string, opts: LimitOptions & { scope: string[] }) => {
      const c = ctx();
      const settings = settingsOf(opts, false);
      const prisma = await c.prisma();
      const created = await keyAction(() => createApiKey(prisma, { ...settings, name, scopes: opts.scope, useCases: opts.useCase }));
      await c.audit('apikey.create', created.keyPrefix, { keyId: created.id, name: created.name, scopes: created.scopes, useCases: created.useCases, limits: describeLimits(created.limits), expiresAt: iso(settings.expiresAt) ?? null });
      c.print(
        created,
        () =>
          `${created.key}\n(shown once: store it now) id ${created.id}, scopes ${created.scopes.join(',')}, use cases ${created.useCases.join(',')}, limits ${describeLimits(created.limits)}` +
          (created.notAfter ? `, expires ${new Date(created.notAfter).toISOString()}` : ''),
      );
    });
  limitFlags(apikey.command('update <idOrPrefix>').option('--use-case <id...>', 'replace the use cases the key may call'))
    .description('change limits, budget, expiry or use cases of a key ("none" clears a limit: --rpm none); gateways apply it within one poll')
    .action(async (idOrPrefix: string, opts: LimitOptions) => {
      const c = ctx();
      const settings = settingsOf(opts, true);
      const prisma = await c.prisma();
      const updated = await keyAction(() => updateApiKey(prisma, idOrPrefix, settings));
      await c.audit('apikey.update', updated.keyPrefix, { keyId: updated.id, changed: updated.changed, limits: describeLimits(updated.limits), useCases: updated.useCases, expiresAt: updated.notAfter ? new Date(updated.notAfter).toISOString() : null });
      c.print(updated, () => `updated ${updated.keyPrefix}… (${updated.changed.join(', ')}): limits ${describeLimits(updated.limits)}, use cases ${updated.useCases.join(',')}`);
    });
  apikey
    .command('rotate <idOrPrefix>')
    .option('--grace <duration>', 'how long the old secret keeps working (0 = not at all)', '24h')
    .description('issue a new secret (printed once); the old one stays valid through the grace period; limits and spend carry over')
    .action(async (idOrPrefix: string, opts: { grace: string }) => {
      const c = ctx();
      let graceMs: number;
      try {
        graceMs = parseDuration(opts.grace, '--grace');
      } catch (err) {
        throw new CliError((err as Error).message, 2);
      }
      const prisma = await c.prisma();
      const rotated = await keyAction(() => rotateApiKey(prisma, idOrPrefix, graceMs));
      await c.audit('apikey.rotate', rotated.keyPrefix, { keyId: rotated.id, rotatedFrom: idOrPrefix, previousValidUntil: rotated.previousValidUntil.toISOString() });
      c.print(
        { ...rotated, previousValidUntil: rotated.previousValidUntil.toISOString() },
        () => `${rotated.key}\n(shown once: store it now) new secret of ${rotated.name} (id ${rotated.id}); the old secret ${graceMs > 0 ? `works until ${rotated.previousValidUntil.toISOString()}` : 'no longer works'}`,
      );
    });
  apikey
    .command('list')
    .description('keys by prefix, scope and use cases, with limits, spend against budget, expiry and last use (never the keys)')
    .action(async () => {
      const c = ctx();
      const rows = await listApiKeys(await c.prisma());
      c.print(rows, () =>
        table([
          ['ID', 'NAME', 'PREFIX', 'SCOPES', 'USE CASES', 'LIMITS', 'SPEND', 'EXPIRES', 'LAST USED', 'STATE'],
          ...rows.map((k) => [
            k.id,
            k.name,
            `${k.keyPrefix}…`,
            k.scopes.join(','),
            k.useCases.join(','),
            describeLimits(k.limits),
            k.spendUsd === null ? undefined : `$${k.spendUsd.toFixed(4)} of $${k.limits.budgetUsd} (resets ${iso(k.budgetResetsAt)})`,
            iso(k.expiresAt),
            iso(k.lastUsedAt),
            k.revokedAt
              ? `revoked ${iso(k.revokedAt)}`
              : k.expiresAt && k.expiresAt.getTime() <= Date.now()
                ? 'expired'
                : k.previousKeyExpiresAt && k.previousKeyExpiresAt.getTime() > Date.now()
                  ? `rotated; old secret until ${iso(k.previousKeyExpiresAt)}`
                  : 'active',
          ]),
        ]),
      );
    });
  apikey
    .command('revoke <idOrPrefix>')
    .description('revoke a key by id or shown prefix')
    .action(async (idOrPrefix: string) => {
      const c = ctx();
      const revoked = await revokeApiKey(await c.prisma(), idOrPrefix);
      if (revoked.length === 0) throw new CliError(`no active API key matches "${idOrPrefix}"`);
      for (const k of revoked) await c.audit('apikey.revoke', k.keyPrefix, { keyId: k.id, name: k.name });
      c.print({ revoked: revoked.length }, () => `revoked ${revoked.length} key(s)`);
    });

}

/** `mms audit`: who did which administrative action, when. */
function registerAuditCommand(program: Command, ctx: () => CliContext) {
  program
    .command('audit')
    .option('--since <when>', 'only events after this: a duration back from now (24h, 7d) or a date (2026-11-30)', '7d')
    .option('--action <prefix>', 'only these actions (apikey, rollout.abort, rollback, …)')
    .option('--target <target>', 'only events on this use case / key prefix')
    .option('--limit <n>', 'at most this many events', '200')
    .description('administrative actions (keys, deploys, rollbacks, pause, resume, abort, promote): who, with which key, when, what; newest first')
    .action(async (opts: { since: string; action?: string; target?: string; limit: string }) => {
      const c = ctx();
      let since: Date;
      let limit: number;
      try {
        since = /^\d{4}-\d{2}-\d{2}/.test(opts.since) ? parseExpiry(opts.since, 0, '--since') : new Date(Date.now() - parseDuration(opts.since, '--since'));
        limit = parseLimitValue(opts.limit, '--limit');
      } catch (err) {
        throw new CliError((err as Error).message, 2);
      }
      const events = await listAuditEvents(await c.prisma(), { since, action: opts.action, target: opts.target, limit });
      c.print(events, () =>
        events.length === 0
          ? `no admin actions since ${since.toISOString()}`
          : table([
              ['AT', 'ACTOR', 'KEY', 'ACTION', 'TARGET', 'DETAILS'],
              ...events.map((e) => [iso(e.at), e.actor, e.keyId ?? undefined, e.action, e.target, e.details === null ? undefined : JSON.stringify(e.details)]),
            ]),
      );
    });
}
