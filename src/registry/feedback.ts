import type { Prisma, PrismaClient } from '@prisma/client';

/** A logged call that feedback can be attached to, and where its row lives. */
export interface LoggedCall {
  useCase: string | null;
  /** With the request id, the row's key (`timestamp` is the partition key of the daily partitions). */
  timestamp: Date;
  /** The row was kept past its day partition, in the long-term table. */
  longTerm: boolean;
}

/** What a player or a game says of one answer (the `POST /v1/feedback` body, checked). */
export interface CallFeedback {
  /** 0 (bad) … 1 (good). */
  score?: number;
  feedback?: string | Record<string, unknown>;
  correctedOutput?: string;
  /** The prefix of the key that sent it (never the key). */
  by: string;
  at: Date;
}

/**
 * Finds the logged call of a request id. Logged calls are unique by (request_id, timestamp), the
 * partition key: the lookup probes each day partition's index on request_id, then the long-term table
 * (rows kept past their partition).
 */
export async function findLoggedCall(prisma: PrismaClient, requestId: string): Promise<LoggedCall | null> {
  const where = { requestId };
  const select = { useCase: true, timestamp: true };
  const recent = await prisma.modelHistoricalLog.findFirst({ where, select });
  if (recent) return { ...recent, longTerm: false };
  const kept = await prisma.modelHistoricalLogLongTerm.findFirst({ where, select });
  return kept && { ...kept, longTerm: true };
}

/** Attaches feedback to a logged call's row (found by findLoggedCall); fields left out keep their value. */
export async function recordCallFeedback(prisma: PrismaClient, requestId: string, call: LoggedCall, feedback: CallFeedback): Promise<void> {
  const data = {
    userFeedback: { score: feedback.score, feedback: feedback.feedback, by: feedback.by, at: feedback.at.toISOString() } as Prisma.InputJsonValue,
    ...(feedback.score !== undefined ? { feedbackScore: feedback.score } : {}),
    ...(feedback.correctedOutput !== undefined ? { correctedOutput: feedback.correctedOutput } : {}),
    feedbackAt: feedback.at,
  };
  const where = { requestId, timestamp: call.timestamp };
  if (call.longTerm) await prisma.modelHistoricalLogLongTerm.updateMany({ where, data });
  else await prisma.modelHistoricalLog.updateMany({ where, data });
}
