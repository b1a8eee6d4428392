/**
 * Entrypoint of a gateway process: `node bin/run-ts.js gateway/main.ts`. Config from MMS_CONFIG (or
 * ./mms.config.yaml), database from DATABASE_URL (or the embedded one of `mms dev`); MMS_GATEWAY_PORT
 * and MMS_GATEWAY_HOST override the config. Syncs the config's use cases into the registry first. Prints one JSON line `{"address": …}` on stdout once it
 * serves, so supervisors, tests and the bench know where it listens.
 */
import { runGateway } from './index';

async function main() {
  const port = process.env.MMS_GATEWAY_PORT ? Number(process.env.MMS_GATEWAY_PORT) : undefined;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new Error('MMS_GATEWAY_PORT: must be a port number (0-65535)');
  const gateway = await runGateway({ port, host: process.env.MMS_GATEWAY_HOST || undefined, syncUseCases: true });
  process.stdout.write(`${JSON.stringify({ address: gateway.address, pid: process.pid })}\n`);
}

main().catch((err) => {
  process.stderr.write(`gateway failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
