import os from 'node:os';
import type { Prisma, PrismaClient } from '@prisma/client';

/**
 * The admin audit (`audit_events`): every administrative action — key changes, deploys, rollbacks,
 * pause, resume, abort, promote — from the CLI or the management REST API, with who did it, from
 * which key, when, what and on what. Rows are only ever inserted. Details never carry a secret
 * (a key's prefix at most).
 */
export interface AuditEventInput {
  /** `cli:<user>@<host>` or `api:<key name> (<prefix>…)`. */
  actor: string;
  /** The API key the action came through (REST), null from the CLI. */
  keyId?: string | null;
  /** Dotted verb: `apikey.create`, `rollout.start`, `rollback`, `rollout.pause`, … */
  action: string;
  /** What it acted on: a use case id, a key prefix, a model id. */
  target: string;
  details?: Record<string, unknown>;
  at?: Date;
}

export interface AuditEvent {
  id: string;
  at: Date;
  actor: string;
  keyId: string | null;
  action: string;
  target: string;
  details: unknown;
}

export async function recordAuditEvent(prisma: PrismaClient | Prisma.TransactionClient, event: AuditEventInput): Promise<AuditEvent> {
  return prisma.auditEvent.create({
    data: {
      actor: event.actor.slice(0, 255),
      keyId: event.keyId ?? null,
      action: event.action.slice(0, 100),
      target: event.target.slice(0, 255),
      details: (event.details ?? undefined) as Prisma.InputJsonValue | undefined,
      ...(event.at ? { at: event.at } : {}),
    },
  });
}

export async function listAuditEvents(prisma: PrismaClient, filter: { since?: Date; action?: string; target?: string; limit?: number } = {}): Promise<AuditEvent[]> {
  return prisma.auditEvent.findMany({
    where: {
      ...(filter.since ? { at: { gte: filter.since } } : {}),
      ...(filter.action ? { action: { startsWith: filter.action } } : {}),
      ...(filter.target ? { target: filter.target } : {}),
    },
    orderBy: { at: 'desc' },
    take: Math.min(filter.limit ?? 200, 10_000),
  });
}

/** Who runs this CLI: the OS user and host (the CLI talks to the database directly, without a key). */
export const cliActor = () => `cli:${process.env.USER ?? os.userInfo().username ?? 'unknown'}@${os.hostname()}`;
