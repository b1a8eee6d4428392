import type { PrismaClient } from '@prisma/client';
import type { MmsConfig } from '../config/schema';
import { runGateway } from '../../gateway';

export interface StartedService {
  name: string;
  stop: () => Promise<void>;
}

/** The gateway (data plane) and, mounted on the same server, the management REST API. */
export async function startGatewayService(deps: {
  config: MmsConfig;
  prisma: PrismaClient;
  say: (line: string) => void;
  host?: string;
  port?: number;
  handleSignals?: boolean;
}): Promise<StartedService> {
  const gateway = await runGateway({
    config: deps.config,
    host: deps.host,
    port: deps.port,
    handleSignals: deps.handleSignals ?? false,
    deps: { prisma: deps.prisma },
  });
  deps.say(`gateway: OpenAI-compatible API on ${gateway.address}/v1/chat/completions, metrics on ${gateway.address}/metrics`);
  return { name: 'gateway', stop: gateway.stop };
}

/** Services `mms dev` starts besides Temporal, the database and the control worker. */
export async function startOptionalServices(deps: { config: MmsConfig; prisma: PrismaClient; say: (line: string) => void; gatewayPort?: number }): Promise<StartedService[]> {
  return [await startGatewayService({ config: deps.config, prisma: deps.prisma, say: deps.say, port: deps.gatewayPort })];
}
