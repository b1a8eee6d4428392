import type { PrismaClient } from '@prisma/client';
import type { Client } from '@temporalio/client';
import type { MmsConfig } from '../src/config/schema';
import { connectClient } from '../src/temporal/connection';
import { adminKeyVerifier, modelManagementApi } from '../api/model-management';
import { criticalViolationNotifier } from '../clients/rollout';
import { runGateway, type OnCriticalViolation } from '../gateway';

export interface StartedService {
  name: string;
  stop: () => Promise<void>;
}

/**
 * The gateway (data plane) with the management REST API mounted on the same server, and critical
 * guardrail violations signalled to the use case's running rollout. Temporal is connected on first
 * use, so the data plane serves even while Temporal is down. Tracing is the entry point's to start
 * (before this, so a chat call and what it signals share a trace) and to flush after `stop`.
 */
export async function startGatewayService(deps: {
  config: MmsConfig;
  prisma: PrismaClient;
  say: (line: string) => void;
  host?: string;
  port?: number;
  internalHost?: string;
  internalPort?: number;
  handleSignals?: boolean;
  /** Sync the config's use cases before serving (`mms gateway`; `mms dev` has synced already). */
  syncUseCases?: boolean;
}): Promise<StartedService & { address: string; internalAddress: string }> {
  let client: Promise<Client> | undefined;
  const temporal = () => {
    client ??= connectClient(deps.config).catch((err) => {
      client = undefined; // try again on the next call
      throw err;
    });
    return client;
  };
  const notify: OnCriticalViolation = async (event) => {
    await criticalViolationNotifier(await temporal())(event);
  };
  const gateway = await runGateway({
    config: deps.config,
    host: deps.host,
    port: deps.port,
    internalHost: deps.internalHost,
    internalPort: deps.internalPort,
    handleSignals: deps.handleSignals ?? false,
    syncUseCases: deps.syncUseCases ?? false,
    plugins: [modelManagementApi({ prisma: deps.prisma, temporal, config: deps.config, verifyApiKey: adminKeyVerifier(deps.prisma) })],
    onCriticalViolation: notify,
    deps: { prisma: deps.prisma },
  });
  deps.say(`gateway: OpenAI-compatible API on ${gateway.address}/v1/chat/completions`);
  deps.say(`gateway: internal listener (do not publish) ${gateway.internalAddress}: management API /api/v1/model-management, /metrics, /v1/allocations/:useCase`);
  return {
    name: 'gateway',
    address: gateway.address!,
    internalAddress: gateway.internalAddress!,
    stop: async () => {
      await gateway.stop();
      if (client) await (await client.catch(() => undefined))?.connection.close();
    },
  };
}
