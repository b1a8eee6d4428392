import type { PrismaClient } from '@prisma/client';
import type { MmsConfig } from '../config/schema';

export interface StartedService {
  name: string;
  stop: () => Promise<void>;
}

/**
 * Services `mms dev` starts besides Temporal, the database and the control worker. The gateway and
 * the management API join here as they are built.
 */
export async function startOptionalServices(_deps: { config: MmsConfig; prisma: PrismaClient; databaseUrl: string; say: (line: string) => void }): Promise<StartedService[]> {
  return [];
}
