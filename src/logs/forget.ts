/**
 * A player's right to be forgotten. The gateway never stores a player id: it stores the SHA-256 of
 * the sticky key (the `x-mms-sticky-key` header, else the request's `user`), which is what a game
 * sends as its player id. Forgetting deletes, in one transaction, every row of that hash in every
 * partition of the logs and in the long-term table, the guardrail violations of those calls, and the
 * derived rows: evaluation calls that replayed one of the player's prompts. Roll-ups are aggregates
 * with no player in them and stay. The audit row (hash only, never the raw id) is in the same
 * transaction: there is no forgetting without its record.
 */

import crypto from 'node:crypto';
import { Prisma, type PrismaClient } from '@prisma/client';
import { recordAuditEvent, type AuditActor } from '../audit/events';
import { allocationEntriesSchema } from '../registry/allocations';
import { buildBucketTable, stickyKeysFor } from '../routing/buckets';

export type PlayerRef = { player: string } | { stickyKeyHash: string };

export const stickyKeyHash = (key: string) => crypto.createHash('sha256').update(key).digest('hex');

/**
 * The hashes of every sticky key evaluation traffic can have sent for these use cases: under each
 * allocation version (versions are never deleted), the keys stickyKeysFor gives each served model.
 * Usually a few dozen, where probing a fixed first-8,192 keys cost 8,192 index probes per partition
 * (and missed the keys of canaries below ~0.4%).
 */
async function evaluationKeyHashes(tx: Pick<PrismaClient, 'trafficAllocation'>, useCases: string[]): Promise<string[]> {
  const allocations = await tx.trafficAllocation.findMany({ where: { useCaseId: { in: useCases } }, select: { useCaseId: true, entries: true } });
  const keys = new Set<string>();
  const seen = new Set<string>();
  for (const a of allocations) {
    const parsed = allocationEntriesSchema.safeParse(a.entries);
    if (!parsed.success) continue; // an allocation the gateway cannot serve sent no evaluation traffic
    const signature = `${a.useCaseId}\u0000${JSON.stringify(parsed.data)}`;
    if (seen.has(signature)) continue;
    seen.add(signature);
    for (const e of buildBucketTable(parsed.data).served) for (const key of stickyKeysFor(a.useCaseId, parsed.data, e.modelId)) keys.add(key);
  }
  return [...keys].map(stickyKeyHash);
}

export function resolvePlayerHash(ref: PlayerRef): string {
  if ('player' in ref) {
    if (typeof ref.player !== 'string' || ref.player.length === 0) throw new Error('player: must be a non-empty string');
    return stickyKeyHash(ref.player);
  }
  if (typeof ref.stickyKeyHash !== 'string' || !/^[0-9a-f]{64}$/.test(ref.stickyKeyHash)) throw new Error('sticky_key_hash: must be 64 lowercase hex characters (SHA-256)');
  return ref.stickyKeyHash;
}

export interface ForgetReport {
  stickyKeyHash: string;
  logs: number;
  longTermLogs: number;
  violations: number;
  evaluationReplays: number;
  auditEventId: string;
  durationMs: number;
}

export async function forgetPlayer(prisma: PrismaClient, ref: PlayerRef, by: AuditActor & { reason?: string }): Promise<ForgetReport> {
  const hash = resolvePlayerHash(ref);
  const started = performance.now();
  return prisma.$transaction(
    async (tx) => {
      // The player's rows, with what is needed to find their violations and the replays of their prompts.
      const recent = await tx.$queryRaw<Array<{ log_id: string; use_case: string | null; prompt: string; timestamp: Date }>>`
        delete from model_historical_logs where sticky_key_hash = ${hash} returning log_id::text, use_case, prompt, "timestamp"`;
      const kept = await tx.$queryRaw<Array<{ log_id: string; use_case: string | null; prompt: string; timestamp: Date }>>`
        delete from model_historical_logs_long_term where sticky_key_hash = ${hash} returning log_id::text, use_case, prompt, "timestamp"`;
      const all = [...recent, ...kept];
      let evaluationReplays: Array<{ log_id: string }> = [];
      const prompts = new Map<string, { useCase: string; prompt: string }>();
      for (const r of all) if (r.use_case && r.prompt) prompts.set(`${r.use_case}\u0000${r.prompt}`, { useCase: r.use_case, prompt: r.prompt });
      const replayKeys = prompts.size > 0 ? await evaluationKeyHashes(tx, [...new Set([...prompts.values()].map((p) => p.useCase))]) : [];
      if (replayKeys.length > 0) {
        const first = new Date(Math.min(...all.map((r) => r.timestamp.getTime())));
        const useCases = [...prompts.values()].map((p) => p.useCase);
        const texts = [...prompts.values()].map((p) => p.prompt);
        // Evaluation traffic replays recent player prompts under its keys, always after the original; a
        // replay with feedback or a violation may have been moved to the long-term table.
        for (const table of [Prisma.raw('model_historical_logs'), Prisma.raw('model_historical_logs_long_term')]) {
          evaluationReplays = evaluationReplays.concat(
            await tx.$queryRaw<Array<{ log_id: string }>>`
              delete from ${table} l
               using unnest(${useCases}::text[], ${texts}::text[]) as f(u, p)
               where l.sticky_key_hash = any(${replayKeys}::text[]) and l.use_case = f.u and l.prompt = f.p and l."timestamp" >= ${first}
              returning l.log_id::text`,
          );
        }
      }
      const ids = [...all, ...evaluationReplays].map((r) => r.log_id);
      let violations = 0;
      if (ids.length > 0) {
        // A join, not log_id = any(…): with thousands of ids the planner can hash-join each small
        // violations partition instead of probing its index once per id in every partition.
        violations += await tx.$executeRaw`delete from guardrails_violations v using unnest(${ids}::uuid[]) as x(id) where v.log_id = x.id`;
        violations += await tx.$executeRaw`delete from guardrails_violations_long_term v using unnest(${ids}::uuid[]) as x(id) where v.log_id = x.id`;
      }
      const counts = { logs: recent.length, longTermLogs: kept.length, violations, evaluationReplays: evaluationReplays.length };
      const audit = await recordAuditEvent(tx, {
        actor: by.actor,
        keyId: by.keyId ?? null,
        action: 'logs.forget_player',
        target: `sticky_key_hash:${hash}`,
        details: { ...counts, ...(by.reason ? { reason: by.reason } : {}) },
      });
      return { stickyKeyHash: hash, ...counts, auditEventId: audit.id, durationMs: performance.now() - started };
    },
    { timeout: 10 * 60_000, maxWait: 30_000 },
  );
}
