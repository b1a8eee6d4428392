import crypto from 'node:crypto';
import type { PrismaClient } from '@prisma/client';
import { recordAuditEvent, type AuditActor } from '../audit/events';
import { evaluationStickyKey } from '../routing/buckets';

/**
 * A player's right to be forgotten. The gateway never stores a player id: it stores the SHA-256 of
 * the sticky key (the `x-mms-sticky-key` header, else the request's `user`), which is what a game
 * sends as its player id. Forgetting deletes, in one transaction, every row of that hash in every
 * partition of the logs and in the long-term table, the guardrail violations of those calls, and the
 * derived rows: evaluation calls that replayed one of the player's prompts. Roll-ups are aggregates
 * with no player in them and stay. The audit row (hash only, never the raw id) is in the same
 * transaction: there is no forgetting without its record.
 */
export type PlayerRef = { player: string } | { stickyKeyHash: string };

export const stickyKeyHash = (key: string) => crypto.createHash('sha256').update(key).digest('hex');

/** Hashes of the first evaluation keys (those rollouts use unless a canary is below ~0.4%). */
const EVALUATION_KEYS_SEARCHED = 8192;
let evaluationHashes: string[] | undefined;
const evaluationKeyHashes = () => (evaluationHashes ??= Array.from({ length: EVALUATION_KEYS_SEARCHED }, (_v, n) => stickyKeyHash(evaluationStickyKey(n))));

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
      if (all.length > 0) {
        const first = new Date(Math.min(...all.map((r) => r.timestamp.getTime())));
        const prompts = new Map<string, { useCase: string; prompt: string }>();
        for (const r of all) if (r.use_case && r.prompt) prompts.set(`${r.use_case}\u0000${r.prompt}`, { useCase: r.use_case, prompt: r.prompt });
        if (prompts.size > 0) {
          const useCases = [...prompts.values()].map((p) => p.useCase);
          const texts = [...prompts.values()].map((p) => p.prompt);
          // Evaluation traffic replays recent player prompts under keys mms-eval-<n>, always after the original.
          evaluationReplays = await tx.$queryRaw<Array<{ log_id: string }>>`
            delete from model_historical_logs l
             using (select distinct u, p from unnest(${useCases}::text[], ${texts}::text[]) as x(u, p)) f
             where l.sticky_key_hash = any(${evaluationKeyHashes()}::text[]) and l.use_case = f.u and l.prompt = f.p and l."timestamp" >= ${first}
            returning l.log_id::text`;
        }
      }
      const ids = [...all, ...evaluationReplays].map((r) => r.log_id);
      let violations = 0;
      if (ids.length > 0) {
        violations += await tx.$executeRaw`delete from guardrails_violations where log_id = any(${ids}::uuid[])`;
        violations += await tx.$executeRaw`delete from guardrails_violations_long_term where log_id = any(${ids}::uuid[])`;
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
