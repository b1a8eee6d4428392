import { PrismaClient } from '@prisma/client';
import { PrismaPg } from '@prisma/adapter-pg';

export type Prisma = PrismaClient;
export { Prisma as PrismaNamespace } from '@prisma/client';

/** A Prisma client over the pg driver adapter (no native query engine to download). */
export function createPrisma(databaseUrl: string, options: { max?: number } = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: options.max ?? 10, idleTimeoutMillis: 10_000 });
  return new PrismaClient({ adapter });
}
