import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { PrismaClient } from '@prisma/client';

/**
 * The fine-tuning data set of a use case from its historical logs (what a use-case copy is trained on): a human's corrected
 * output is preferred over the model's; otherwise the call must have a good enough feedback score
 * (or none, unless feedback is required); only successful, guardrail-clean calls; duplicates dropped;
 * personal data redacted; a deterministic train/validation split. Written as chat JSONL
 * ({"messages": [...]}, what TRL's SFTTrainer reads) with a card that counts every filter.
 */

export interface DatasetOptions {
  useCaseId: string;
  outDir: string;
  since?: Date;
  until?: Date;
  /** Calls scored below this are left out (a corrected output is kept whatever the score). */
  minFeedbackScore: number;
  /** Keep only calls that have feedback or a correction. */
  requireFeedback: boolean;
  validationFraction: number;
  maxRows: number;
  /** Salt of the split, so a retrain with "more data" keeps earlier validation rows in validation. */
  splitSeed: string;
}

export interface DatasetCard {
  useCaseId: string;
  trainFile: string;
  validationFile: string;
  counts: {
    logs: number;
    notOk: number;
    shadowOrEvaluation: number;
    guardrailFlagged: number;
    lowFeedback: number;
    noFeedback: number;
    emptyOutput: number;
    duplicates: number;
    corrected: number;
    redacted: number;
    train: number;
    validation: number;
  };
  filters: Omit<DatasetOptions, 'outDir' | 'useCaseId' | 'since' | 'until'> & { since: string | null; until: string | null };
  sha256: { train: string; validation: string };
  createdAt: string;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

const PII: Array<[RegExp, string]> = [
  [/[A-Z0-9._%+-]+@[A-Z0-9.-]+\.[A-Z]{2,}/gi, '[EMAIL]'],
  [/\b(?:\d[ -]?){13,19}\b/g, '[CARD]'],
  [/\b(?:\d{1,3}\.){3}\d{1,3}\b/g, '[IP]'],
  [/(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{3,4}[ .-]\d{3,4}(?:[ .-]\d{2,4})?\b/g, '[PHONE]'],
];

/** Redacts e-mail addresses, card-like numbers, IP addresses and phone numbers. */
export function redactPii(text: string): { text: string; changed: boolean } {
  let out = text;
  for (const [pattern, token] of PII) out = out.replace(pattern, token);
  return { text: out, changed: out !== text };
}

function historyMessages(context: unknown): ChatMessage[] {
  const history = (context as { history?: unknown } | null)?.history;
  if (!Array.isArray(history)) return [];
  return history
    .filter((m): m is { role: string; content: string } => typeof m === 'object' && m !== null && typeof (m as { content?: unknown }).content === 'string')
    .filter((m) => m.role === 'user' || m.role === 'assistant')
    .map((m) => ({ role: m.role as 'user' | 'assistant', content: m.content }));
}

export async function buildDataset(prisma: PrismaClient, options: DatasetOptions): Promise<DatasetCard> {
  const rows = await prisma.modelHistoricalLog.findMany({
    where: { useCase: options.useCaseId, timestamp: { ...(options.since ? { gte: options.since } : {}), ...(options.until ? { lt: options.until } : {}) } },
    select: { id: true, prompt: true, context: true, generatedOutput: true, correctedOutput: true, feedbackScore: true, status: true, role: true, guardrailVerdict: true },
    orderBy: { timestamp: 'desc' },
    take: options.maxRows,
  });
  const flagged = new Set(
    (
      await prisma.guardrailsViolation.findMany({ where: { logId: { in: rows.map((r) => r.id) } }, select: { logId: true } })
    ).map((v) => v.logId),
  );
  const counts: DatasetCard['counts'] = { logs: rows.length, notOk: 0, shadowOrEvaluation: 0, guardrailFlagged: 0, lowFeedback: 0, noFeedback: 0, emptyOutput: 0, duplicates: 0, corrected: 0, redacted: 0, train: 0, validation: 0 };
  const seen = new Set<string>();
  const train: string[] = [];
  const validation: string[] = [];
  for (const row of rows) {
    if (row.status !== null && row.status !== 'ok') {
      counts.notOk++;
      continue;
    }
    // Mirrored shadow answers were never shown to a player, and evaluation replays repeat prompts.
    if (row.role === 'shadow' || row.role === 'evaluation') {
      counts.shadowOrEvaluation++;
      continue;
    }
    if ((row.guardrailVerdict !== null && row.guardrailVerdict !== 'pass') || flagged.has(row.id)) {
      counts.guardrailFlagged++;
      continue;
    }
    const corrected = row.correctedOutput?.trim() ? row.correctedOutput : null;
    if (!corrected) {
      if (row.feedbackScore === null && options.requireFeedback) {
        counts.noFeedback++;
        continue;
      }
      if (row.feedbackScore !== null && row.feedbackScore < options.minFeedbackScore) {
        counts.lowFeedback++;
        continue;
      }
    }
    const output = corrected ?? row.generatedOutput;
    if (!output.trim() || !row.prompt.trim()) {
      counts.emptyOutput++;
      continue;
    }
    const system = (row.context as { system?: unknown } | null)?.system;
    const messages: ChatMessage[] = [
      ...(typeof system === 'string' && system ? [{ role: 'system' as const, content: system }] : []),
      ...historyMessages(row.context),
      { role: 'user', content: row.prompt },
      { role: 'assistant', content: output },
    ];
    let changed = false;
    for (const m of messages) {
      const r = redactPii(m.content);
      m.content = r.text;
      changed ||= r.changed;
    }
    const key = crypto.createHash('sha256').update(JSON.stringify(messages.map((m) => [m.role, m.content.trim().toLowerCase()]))).digest('hex');
    if (seen.has(key)) {
      counts.duplicates++;
      continue;
    }
    seen.add(key);
    if (corrected) counts.corrected++;
    if (changed) counts.redacted++;
    // The split follows the content, not the order: a larger data set keeps each row on its side.
    const bucket = crypto.createHash('sha256').update(`${options.splitSeed}:${key}`).digest().readUInt32BE(0) / 2 ** 32;
    (bucket < options.validationFraction ? validation : train).push(JSON.stringify({ messages }));
  }
  if (validation.length === 0 && train.length > 1) validation.push(train.pop()!);
  counts.train = train.length;
  counts.validation = validation.length;

  fs.mkdirSync(options.outDir, { recursive: true });
  const trainFile = path.join(options.outDir, 'train.jsonl');
  const validationFile = path.join(options.outDir, 'validation.jsonl');
  const trainText = train.map((l) => `${l}\n`).join('');
  const validationText = validation.map((l) => `${l}\n`).join('');
  fs.writeFileSync(trainFile, trainText);
  fs.writeFileSync(validationFile, validationText);
  const card: DatasetCard = {
    useCaseId: options.useCaseId,
    trainFile,
    validationFile,
    counts,
    filters: {
      minFeedbackScore: options.minFeedbackScore,
      requireFeedback: options.requireFeedback,
      validationFraction: options.validationFraction,
      maxRows: options.maxRows,
      splitSeed: options.splitSeed,
      since: options.since?.toISOString() ?? null,
      until: options.until?.toISOString() ?? null,
    },
    sha256: { train: crypto.createHash('sha256').update(trainText).digest('hex'), validation: crypto.createHash('sha256').update(validationText).digest('hex') },
    createdAt: new Date().toISOString(),
  };
  fs.writeFileSync(path.join(options.outDir, 'dataset-card.json'), `${JSON.stringify(card, null, 2)}\n`);
  return card;
}
