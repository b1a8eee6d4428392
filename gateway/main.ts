/**
 * Entrypoint of a gateway process: `node bin/run-ts.js gateway/main.ts`. Config from MMS_CONFIG (or
 * ./mms.config.yaml), database from DATABASE_URL (or the embedded one of `mms dev`); MMS_GATEWAY_PORT,
 * MMS_GATEWAY_HOST, MMS_GATEWAY_INTERNAL_PORT and MMS_GATEWAY_INTERNAL_HOST override the config.
 * Syncs the config's use cases into the registry first.
 * Prints one JSON line `{"address": …, "internalAddress": …}` on stdout once it serves, so
 * supervisors, tests and the bench know where it listens.
 */
import { startTracingFromEnv } from '../src/telemetry/tracing';
import { runGateway } from './index';

function portFromEnv(name: string): number | undefined {
  const value = process.env[name];
  if (!value) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name}: must be a port number (0-65535)`);
  return port;
}

async function main() {
  // Before the server exists: with OTEL_* set, every call is a SERVER span, exported over OTLP.
  const tracing = startTracingFromEnv('mms-gateway');
  const gateway = await runGateway({
    port: portFromEnv('MMS_GATEWAY_PORT'),
    host: process.env.MMS_GATEWAY_HOST || undefined,
    internalPort: portFromEnv('MMS_GATEWAY_INTERNAL_PORT'),
    internalHost: process.env.MMS_GATEWAY_INTERNAL_HOST || undefined,
    syncUseCases: true,
    handleSignals: false,
  });
  // A signal: finish the calls in flight and flush the log buffer, then the spans still batched.
  const stop = () =>
    void gateway
      .stop()
      .then(() => tracing?.shutdown())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          process.stderr.write(`gateway stop failed: ${err instanceof Error ? err.message : String(err)}\n`);
          process.exit(1);
        },
      );
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdout.write(`${JSON.stringify({ address: gateway.address, internalAddress: gateway.internalAddress, pid: process.pid })}\n`);
}

main().catch((err) => {
  process.stderr.write(`gateway failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
