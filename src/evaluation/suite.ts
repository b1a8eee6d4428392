import type { Prisma, PrismaClient } from '@prisma/client';
import type { ConfigPrompt, MmsConfig, UseCaseTest } from '../config/schema';
import type { ChatMessage, ChatParams } from '../providers/types';
import { NotFoundError } from '../registry/allocations';
import { hashOf, sha256 } from './canonical';
import { redactPii } from './pii';
import { uncleanSeverity, type SafetyClassifier } from './safety';

export type SuiteItemKind = 'sampled' | 'regression' | 'red_team';

export interface SuiteItem {
  promptHash: string;
  kind: SuiteItemKind;
  /** Where a sampled prompt came from (not part of the hash). */
  source?: { logId: string; recencyStratum: number; feedbackStratum: FeedbackStratum };
}

export type FeedbackStratum = 'none' | 'low' | 'high';

/** Generation params both models answer with: the use case's policy as the registry serves it. */
export type SuiteParams = Required<Pick<ChatParams, 'temperature' | 'maxTokens'>> & Pick<ChatParams, 'topP' | 'topK' | 'stop' | 'seed' | 'frequencyPenalty' | 'presencePenalty'>;

export interface SuiteSpec {
  params: SuiteParams;
  tests: UseCaseTest[];
  rubric: string[];
}

/**
 * A test suite of one use case: prompts sampled from the game's own historical logs (stratified by
 * recency and feedback score, deduplicated, PII redacted, guardrail-clean), plus the fixed regression
 * and red-team sets of the config, with the generation params and the use-case tests. Stored once
 * (evaluation_suites, prompts in evaluation_prompts) and referenced by its hash, so every run of the
 * same hash answers exactly the same prompts.
 */
export interface Suite {
  hash: string;
  useCaseId: string;
  items: SuiteItem[];
  spec: SuiteSpec;
  prompts: Map<string, ChatMessage[]>;
}

export interface SuiteBuildReport {
  hash: string;
  useCaseId: string;
  items: number;
  sampled: number;
  regression: number;
  redTeam: number;
  /** Log rows considered, distinct prompts among them, prompts left out as not guardrail-clean. */
  poolRows: number;
  distinctPrompts: number;
  unclean: number;
  /** PII placeholders inserted, by kind. */
  redactions: Record<string, number>;
  created: boolean;
}

const RECENCY_STRATA = 4;
const FEEDBACK_STRATA: FeedbackStratum[] = ['none', 'low', 'high'];

const feedbackStratum = (score: number | null): FeedbackStratum => (score === null ? 'none' : score < 0.5 ? 'low' : 'high');

const normalized = (messages: ChatMessage[]) => messages.map((m) => `${m.role}:${m.content.toLowerCase().replace(/\s+/g, ' ').trim()}`).join('\n');

export const promptHashOf = (messages: ChatMessage[]) => hashOf(messages);

function renderTemplate(template: string, metadata: Record<string, string>, field: string): string {
  return template.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_.-]*)\s*\}\}/g, (_m, name: string) => {
    const value = metadata[name];
    if (value === undefined) throw new Error(`${field}.metadata.${name}: the system prompt template needs it`);
    return value;
  });
}

function historyOf(context: Record<string, unknown>): ChatMessage[] {
  const raw = Array.isArray(context.history) ? (context.history as unknown[]) : [];
  return raw.flatMap((m) => {
    const msg = m as { role?: unknown; content?: unknown };
    return (msg.role === 'user' || msg.role === 'assistant' || msg.role === 'system') && typeof msg.content === 'string' ? [{ role: msg.role, content: msg.content }] : [];
  });
}

/**
 * Proportional allocation of `size` over the strata (largest remainder), at least one per non-empty
 * stratum while the size allows: rare strata (old prompts with bad feedback) are never left out.
 */
export function allocate(sizes: number[], size: number): number[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total <= size) return [...sizes];
  const nonEmpty = sizes.filter((s) => s > 0).length;
  const floor = size >= nonEmpty ? 1 : 0;
  const out: number[] = sizes.map((s) => (s > 0 ? floor : 0));
  let left = size - out.reduce((a, b) => a + b, 0);
  const quotas = sizes.map((s, i) => ({ i, want: Math.max(0, (s / total) * size - out[i]!), room: s - out[i]! }));
  for (const q of quotas) {
    const take = Math.min(Math.floor(q.want), q.room, left);
    out[q.i]! += take;
    left -= take;
  }
  const byRemainder = [...quotas].sort((a, b) => (b.want % 1) - (a.want % 1) || a.i - b.i);
  while (left > 0) {
    let moved = false;
    for (const q of byRemainder) {
      if (left === 0) break;
      if (out[q.i]! < sizes[q.i]!) {
        out[q.i]!++;
        left--;
        moved = true;
      }
    }
    if (!moved) break;
  }
  return out;
}

interface Candidate {
  logId: string;
  messages: ChatMessage[];
  output: string;
  recencyStratum: number;
  feedbackStratum: FeedbackStratum;
  order: string;
}

type TestingPolicy = MmsConfig['policies']['testing'];
type UseCaseConfig = MmsConfig['useCases'][number];

/**
 * The pool: recent successful calls whose answers passed the guardrails, one per distinct prompt
 * (normalised). Mirrored (shadow) and synthetic (evaluation) calls repeat prompts the primary calls
 * already have.
 */
async function loadPromptPool(prisma: PrismaClient, useCaseId: string, policy: TestingPolicy, sampleSize: number, now: Date) {
  const poolLimit = Math.min(20_000, sampleSize * 20);
  const rows = await prisma.modelHistoricalLog.findMany({
    where: {
      useCase: useCaseId,
      status: 'ok',
      timestamp: { gte: new Date(now.getTime() - policy.promptHistoryDays * 86_400_000), lte: now },
      OR: [{ guardrailVerdict: null }, { guardrailVerdict: 'pass' }],
      NOT: { role: { in: ['shadow', 'evaluation'] } },
    },
    select: { id: true, prompt: true, context: true, generatedOutput: true, feedbackScore: true, timestamp: true },
    orderBy: [{ timestamp: 'desc' }, { id: 'asc' }],
    take: poolLimit,
  });
  const seen = new Set<string>();
  const distinct: Array<Omit<Candidate, 'recencyStratum'>> = [];
  for (const row of rows) {
    const context = (row.context && typeof row.context === 'object' ? row.context : {}) as Record<string, unknown>;
    const system = typeof context.system === 'string' && context.system ? [{ role: 'system' as const, content: context.system }] : [];
    const messages = [...system, ...historyOf(context), { role: 'user' as const, content: row.prompt }];
    const key = sha256(normalized(messages));
    if (seen.has(key)) continue;
    seen.add(key);
    distinct.push({ logId: row.id, messages, output: row.generatedOutput, feedbackStratum: feedbackStratum(row.feedbackScore), order: sha256(`${useCaseId}:${row.id}`) });
  }
  return { poolRows: rows.length, distinct };
}

/** The suite's items and prompts as they are collected; every prompt is PII-redacted on the way in. */
class SuiteCollector {
  readonly items: SuiteItem[] = [];
  readonly prompts = new Map<string, ChatMessage[]>();
  readonly redactions: Record<string, number> = {};

  /** Adds one prompt; with `skipDuplicate`, a prompt already in the suite (after redaction) is not added again and false is returned. */
  add(raw: ChatMessage[], item: Omit<SuiteItem, 'promptHash'>, skipDuplicate = false): boolean {
    const messages = raw.map((m) => ({ role: m.role, content: this.redact(m.content) }));
    const promptHash = promptHashOf(messages);
    if (skipDuplicate && this.prompts.has(promptHash)) return false;
    this.prompts.set(promptHash, messages);
    this.items.push({ promptHash, ...item });
    return true;
  }

  private redact(text: string): string {
    const r = redactPii(text);
    for (const [k, n] of Object.entries(r.found)) this.redactions[k] = (this.redactions[k] ?? 0) + n;
    return r.text;
  }
}

/**
 * Samples `sampleSize` of the clean pool (newest first), stratified by recency (strata of equal size)
 * and feedback score, with a deterministic shuffle of each cell (by hash of the log id).
 */
function sampleStratified(clean: Array<Omit<Candidate, 'recencyStratum'>>, sampleSize: number, suite: SuiteCollector): void {
  const cells = new Map<string, Candidate[]>();
  clean.forEach((c, rank) => {
    const recencyStratum = Math.min(RECENCY_STRATA - 1, Math.floor((rank * RECENCY_STRATA) / clean.length));
    const cellKey = `${recencyStratum}:${c.feedbackStratum}`;
    cells.set(cellKey, [...(cells.get(cellKey) ?? []), { ...c, recencyStratum }]);
  });
  const cellKeys = [...Array(RECENCY_STRATA).keys()].flatMap((r) => FEEDBACK_STRATA.map((f) => `${r}:${f}`));
  const quotas = allocate(
    cellKeys.map((k) => cells.get(k)?.length ?? 0),
    sampleSize,
  );
  for (const [i, cellKey] of cellKeys.entries()) {
    const members = [...(cells.get(cellKey) ?? [])].sort((a, b) => (a.order < b.order ? -1 : 1));
    let taken = 0;
    for (const c of members) {
      if (taken >= quotas[i]!) break;
      if (suite.add(c.messages, { kind: 'sampled', source: { logId: c.logId, recencyStratum: c.recencyStratum, feedbackStratum: c.feedbackStratum } }, true)) taken++;
    }
  }
}

/** The fixed regression and red-team prompts of the config, each with the use case's system prompt rendered from its metadata. */
function addConfigPrompts(suite: SuiteCollector, config: MmsConfig, useCaseConfig: UseCaseConfig, systemPromptTemplate: string): void {
  const fromConfig = (list: ConfigPrompt[], kind: SuiteItemKind, field: string) =>
    list.forEach((p, j) => {
      const where = `useCases[${config.useCases.indexOf(useCaseConfig)}].${field}[${j}]`;
      suite.add([{ role: 'system', content: renderTemplate(systemPromptTemplate, p.metadata, where) }, ...p.history, { role: 'user', content: p.prompt }], { kind });
    });
  fromConfig(
    useCaseConfig.regressionPrompts.map((p) => (typeof p === 'string' ? { prompt: p, metadata: {}, history: [] } : { ...p, history: [] })),
    'regression',
    'regressionPrompts',
  );
  fromConfig(useCaseConfig.evaluation.redTeamPrompts, 'red_team', 'evaluation.redTeamPrompts');
}

/** The generation params of the registry's use case row; unset keys are left out (they would change the hash). */
function suiteParamsOf(useCase: { temperature: number; maxTokens: number; samplingParams: Prisma.JsonValue }): SuiteParams {
  const sampling = (useCase.samplingParams ?? {}) as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  return JSON.parse(
    JSON.stringify({
      temperature: useCase.temperature,
      maxTokens: useCase.maxTokens,
      topP: num(sampling.topP),
      topK: num(sampling.topK),
      stop: Array.isArray(sampling.stop) ? sampling.stop : undefined,
      seed: num(sampling.seed),
      frequencyPenalty: num(sampling.frequencyPenalty),
      presencePenalty: num(sampling.presencePenalty),
    }),
  ) as SuiteParams;
}

/** Builds the suite of a use case (see `Suite`) and stores it under its hash; building it again stores nothing new. */
export async function buildSuite(
  prisma: PrismaClient,
  config: MmsConfig,
  useCaseId: string,
  options: { sampleSize?: number; now?: Date; classifier?: SafetyClassifier } = {},
): Promise<SuiteBuildReport> {
  const useCaseConfig = config.useCases.find((u) => u.id === useCaseId);
  if (!useCaseConfig) throw new NotFoundError(`use case "${useCaseId}" is not in the configuration`);
  const useCase = await prisma.useCase.findUnique({ where: { id: useCaseId } });
  if (!useCase) throw new NotFoundError(`use case "${useCaseId}" is not in the registry`);
  const policy = config.policies.testing;
  const sampleSize = options.sampleSize ?? policy.promptSampleSize;
  const isClean = async (text: string) => !uncleanSeverity((await options.classifier?.(text, useCaseId))?.severity ?? 'none');

  const { poolRows, distinct } = await loadPromptPool(prisma, useCaseId, policy, sampleSize, options.now ?? new Date());
  // Guardrail-clean: a prompt whose text or logged answer the guardrails flag is left out before
  // sampling, so the strata are filled from clean prompts only.
  const clean: typeof distinct = [];
  let unclean = 0;
  for (const c of distinct) {
    if ((await isClean(c.messages[c.messages.length - 1]!.content)) && (await isClean(c.output))) clean.push(c);
    else unclean++;
  }
  const suite = new SuiteCollector();
  sampleStratified(clean, sampleSize, suite);
  const sampled = suite.items.length;
  addConfigPrompts(suite, config, useCaseConfig, useCase.systemPromptTemplate);
  const { items, prompts } = suite;
  if (items.length === 0) {
    throw new NotFoundError(`use case "${useCaseId}" has no prompts to evaluate: no successful calls in the last ${policy.promptHistoryDays} days and no regression or red-team prompts in the config`);
  }

  const spec: SuiteSpec = { params: suiteParamsOf(useCase), tests: useCaseConfig.evaluation.tests, rubric: useCaseConfig.evaluation.rubric };
  const hash = hashOf({ useCaseId, items: items.map((i) => [i.promptHash, i.kind]), spec });
  const created = await prisma.$transaction(async (tx) => {
    await tx.evaluationPrompt.createMany({ data: [...prompts].map(([h, messages]) => ({ hash: h, messages: messages as unknown as Prisma.InputJsonValue })), skipDuplicates: true });
    const made = await tx.evaluationSuite.createMany({
      data: [{ hash, useCaseId, items: items as unknown as Prisma.InputJsonValue, spec: spec as unknown as Prisma.InputJsonValue, promptCount: items.length }],
      skipDuplicates: true,
    });
    return made.count === 1;
  });
  return {
    hash,
    useCaseId,
    items: items.length,
    sampled,
    regression: useCaseConfig.regressionPrompts.length,
    redTeam: useCaseConfig.evaluation.redTeamPrompts.length,
    poolRows,
    distinctPrompts: distinct.length,
    unclean,
    redactions: suite.redactions,
    created,
  };
}

export async function loadSuite(prisma: PrismaClient, hash: string): Promise<Suite> {
  const row = await prisma.evaluationSuite.findUnique({ where: { hash } });
  if (!row) throw new NotFoundError(`evaluation suite ${hash} does not exist`);
  const items = row.items as unknown as SuiteItem[];
  const hashes = [...new Set(items.map((i) => i.promptHash))];
  const prompts = await prisma.evaluationPrompt.findMany({ where: { hash: { in: hashes } } });
  return { hash, useCaseId: row.useCaseId, items, spec: row.spec as unknown as SuiteSpec, prompts: new Map(prompts.map((p) => [p.hash, p.messages as unknown as ChatMessage[]])) };
}
