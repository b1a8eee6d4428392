/**
 * The audit trail of administrative actions (audit_events): who (a person or an API key's name), with
 * which key, when, what, on what, and the numbers of what it did. Written in the same transaction as
 * the action, so an action without its audit row cannot happen. Never holds secrets or raw personal
 * identifiers: targets are ids or hashes.
 */

import os from 'node:os';
import type { Prisma, PrismaClient } from '@prisma/client';

export interface AuditActor {
  /** A person (`cli:<os user>`) or an API key (`apikey:<name>`). */
  actor: string;
  keyId?: string | null;
}

export interface AuditEventInput extends AuditActor {
  action: string;
  target: string;
  details?: Record<string, unknown>;
}

export interface AuditEvent extends AuditEventInput {
  id: string;
  at: Date;
}

export async function recordAuditEvent(db: PrismaClient | Prisma.TransactionClient, event: AuditEventInput): Promise<AuditEvent> {
  const row = await db.auditEvent.create({
    data: { actor: event.actor, keyId: event.keyId ?? null, action: event.action, target: event.target, details: (event.details ?? {}) as Prisma.InputJsonValue },
  });
  return { id: row.id, at: row.at, actor: row.actor, keyId: row.keyId, action: row.action, target: row.target, details: (row.details ?? {}) as Record<string, unknown> };
}

/**
 * Newest first. `action` matches an action or a family of them (`rollout` matches `rollout.pause`);
 * `since` keeps events at or after it.
 */
export async function listAuditEvents(prisma: PrismaClient, filter: { action?: string; target?: string; since?: Date; limit?: number } = {}): Promise<AuditEvent[]> {
  const rows = await prisma.auditEvent.findMany({
    where: {
      ...(filter.action ? { OR: [{ action: filter.action }, { action: { startsWith: `${filter.action}.` } }] } : {}),
      ...(filter.target ? { target: filter.target } : {}),
      ...(filter.since ? { at: { gte: filter.since } } : {}),
    },
    orderBy: { at: 'desc' },
    take: filter.limit ?? 50,
  });
  return rows.map((r) => ({ id: r.id, at: r.at, actor: r.actor, keyId: r.keyId, action: r.action, target: r.target, details: (r.details ?? {}) as Record<string, unknown> }));
}

/** Who runs this CLI (the CLI talks to the database directly, without a key): `cli:<os user>`. */
export const cliActor = () => `cli:${process.env.USER || os.userInfo().username}`;
