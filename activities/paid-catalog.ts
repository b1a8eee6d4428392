import type { PrismaClient } from '@prisma/client';
import { scanPaidCatalog, storeCatalogScan, type PaidCatalogDeps, type StoredScan } from '../src/discovery/paid-catalog';
import { withHeartbeat } from './registry';

export type PaidCatalogActivityDeps = PaidCatalogDeps & { prisma: PrismaClient };

/**
 * The paid-model scan as an activity: read every paid provider's list, store one catalog diffed against
 * the last scan. A refused key or a missing one is in the result's provider statuses, not a failure:
 * retrying cannot mend a key, and the other providers' catalogs are still worth keeping.
 */
export function createPaidCatalogActivities({ prisma, ...deps }: PaidCatalogActivityDeps) {
  return {
    async scanPaidCatalog(input: { providers?: string[] } = {}): Promise<Omit<StoredScan, 'changes'> & { changes: Record<string, number> }> {
      return withHeartbeat(async () => {
        const stored = await storeCatalogScan(prisma, await scanPaidCatalog(deps, input.providers));
        // Histories keep counts; the changes themselves are in paid_catalog_changes.
        const changes: Record<string, number> = {};
        for (const c of stored.changes) changes[c.change] = (changes[c.change] ?? 0) + 1;
        return { ...stored, changes };
      });
    },
  };
}
export type PaidCatalogActivities = ReturnType<typeof createPaidCatalogActivities>;
