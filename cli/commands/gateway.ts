import type { Command } from 'commander';
import { ApiKeyError, createApiKey, listApiKeys, revokeApiKey } from '../../src/auth/api-keys';
import { CliError, table, type CliContext } from '../context';
import { startGatewayService } from '../services';

/** The data plane alone (`mms gateway`), and the API keys callers present to it. */
export function registerGatewayCommands(program: Command, ctx: () => CliContext) {
  program
    .command('gateway')
    .option('--host <host>', 'listen address (default: gateway.host, or $MMS_GATEWAY_HOST)')
    .option('--port <port>', 'listen port (default: gateway.port, or $MMS_GATEWAY_PORT)')
    .description('run the OpenAI-compatible gateway and the management REST API until SIGTERM')
    .action(async (opts: { host?: string; port?: string }) => {
      const c = ctx();
      const config = c.config();
      const port = opts.port ?? process.env.MMS_GATEWAY_PORT;
      if (port !== undefined && !/^\d{1,5}$/.test(port)) throw new CliError(`--port "${port}" is not a port number`, 2);
      const prisma = await c.prisma();
      const say = (line: string) => process.stderr.write(`[mms gateway] ${line}\n`);
      await startGatewayService({ config, prisma, say, host: opts.host ?? process.env.MMS_GATEWAY_HOST, port: port === undefined ? undefined : Number(port), handleSignals: true });
      await new Promise(() => undefined); // serves until a signal stops the process
    });

  const apikey = program.command('apikey').description('API keys for the gateway and the management API (stored hashed)');
  apikey
    .command('create <name>')
    .option('--scope <scope...>', 'gateway and/or admin', ['gateway'])
    .option('--use-case <id...>', 'use cases the key may call (default: all)')
    .description('create a key; it is printed once and only its hash is stored')
    .action(async (name: string, opts: { scope: string[]; useCase?: string[] }) => {
      const c = ctx();
      try {
        const created = await createApiKey(await c.prisma(), { name, scopes: opts.scope, useCases: opts.useCase });
        c.print(created, () => `${created.key}\n(shown once: store it now) id ${created.id}, scopes ${created.scopes.join(',')}, use cases ${created.useCases.join(',')}`);
      } catch (err) {
        throw new CliError((err as Error).message, err instanceof ApiKeyError ? 1 : 2);
      }
    });
  apikey
    .command('list')
    .description('keys by prefix, scope and use cases (never the keys)')
    .action(async () => {
      const c = ctx();
      const rows = await listApiKeys(await c.prisma());
      c.print(rows, () =>
        table([['ID', 'NAME', 'PREFIX', 'SCOPES', 'USE CASES', 'LAST USED', 'REVOKED'], ...rows.map((k) => [k.id, k.name, `${k.keyPrefix}…`, k.scopes.join(','), k.useCases.join(','), k.lastUsedAt?.toISOString(), k.revokedAt?.toISOString()])]),
      );
    });
  apikey
    .command('revoke <idOrPrefix>')
    .description('revoke a key by id or shown prefix')
    .action(async (idOrPrefix: string) => {
      const c = ctx();
      const count = await revokeApiKey(await c.prisma(), idOrPrefix);
      if (count === 0) throw new CliError(`no active API key matches "${idOrPrefix}"`);
      c.print({ revoked: count }, () => `revoked ${count} key(s)`);
    });
}
