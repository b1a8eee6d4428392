import type { PrismaClient } from '@prisma/client';
import { request } from 'undici';
import { allocationEntriesSchema, getServingAllocation, type AllocationEntry } from './allocations';
import { z } from 'zod';

/** Something that serves traffic and can say which allocation of a use case it serves. */
export interface ServingProbe {
  name: string;
  servedAllocation(useCaseId: string): Promise<{ version: number; entries: AllocationEntry[] } | undefined>;
}

/** The registry itself: what every gateway replica loads. */
export const databaseProbe = (prisma: PrismaClient): ServingProbe => ({
  name: 'registry',
  servedAllocation: (useCaseId) => getServingAllocation(prisma, useCaseId),
});

const servedSchema = z.object({ useCase: z.string(), version: z.number().int(), entries: allocationEntriesSchema });

/** A gateway replica, asked over HTTP (GET /v1/allocations/:useCase) which version it has loaded. */
export const gatewayReplicaProbe = (baseUrl: string, adminKey?: string): ServingProbe => ({
  name: `gateway ${baseUrl}`,
  async servedAllocation(useCaseId) {
    const res = await request(new URL(`/v1/allocations/${encodeURIComponent(useCaseId)}`, baseUrl), {
      headers: adminKey ? { authorization: `Bearer ${adminKey}` } : {},
      headersTimeout: 5000,
      bodyTimeout: 5000,
    });
    if (res.statusCode === 404) {
      await res.body.dump();
      return undefined;
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`gateway ${baseUrl} answered ${res.statusCode} for allocation of "${useCaseId}"`);
    }
    const body = servedSchema.parse(await res.body.json());
    return { version: body.version, entries: body.entries };
  },
});
