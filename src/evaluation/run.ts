/**
 * The per-prompt work of one evaluation: both models answer (cached), the candidate's answer is
 * judged for safety and the use-case tests, embedded against the current model's, and judged
 * pairwise in both orders. Each finished prompt is one row of evaluation_prompt_results, so a
 * resumed run (after a crash) starts from the first unfinished prompt and calls nothing twice.
 */

import type { PrismaClient } from '@prisma/client';
import type { MmsConfig } from '../config/schema';
import { prismaEmbeddingsCache, withEmbeddingsCache } from '../embeddings/cache';
import { coalesced } from '../embeddings/coalesce';
import { cosine, type EmbeddingsClient } from '../embeddings/client';
import { NotFoundError } from '../registry/allocations';
import type { ChatMessage, ChatProvider } from '../providers/types';
import { createBudgetGuard } from './budget';
import { jsonbText } from '../db/jsonb';
import { AnswerService, modelEndpoint, type Answer, type FailedAnswer, type ModelEndpoint } from './answers';
import { createAnswerChecks, type TestOutcome } from './checks';
import { combineOrders, JUDGE_PARAMS, pairwiseJudgeMessages, parseJudgeChoice, parsePersonaVerdict, personaJudgeMessages, type PairwiseVerdict } from './judge';
import { CallLimiter, forEachConcurrent } from './limiter';
import type { SafetyClassifier, SafetyVerdict } from './safety';
import { loadSuite, promptHashOf, type Suite, type SuiteItem } from './suite';

export interface EvaluationDeps {
  prisma: PrismaClient;
  config: MmsConfig;
  providers: Map<string, ChatProvider>;
  embeddings: EmbeddingsClient;
  /** The guardrails' verdict per text; without one, safety is "not checked" (never a pass). */
  classifier?: SafetyClassifier;
  onProviderCall?: (endpoint: ModelEndpoint) => void;
  /** Where the time goes, span by span (the bench's per-phase timeline); nothing is recorded without it. */
  trace?: (span: PhaseSpan) => void;
}

/**
 * provider: one provider call; answers: a prompt waiting for its answers (limiter queue included);
 * embed: a prompt waiting for its vectors (cache lookup, server batches, cache write); judge: its
 * judge calls; store: its result row's write.
 */
export type EvaluationPhase = 'provider' | 'answers' | 'embed' | 'judge' | 'store';
export interface PhaseSpan {
  phase: EvaluationPhase;
  /** performance.now() milliseconds */
  startMs: number;
  endMs: number;
}

export type AnswerSummary = (Omit<Answer, 'ok'> & { ok: true }) | FailedAnswer;

export interface PromptDetails {
  kind: SuiteItem['kind'];
  candidate: AnswerSummary;
  current: AnswerSummary;
  /** Cosine of the candidate's and the current model's answers, and of the current model's two samples. */
  similarity: { raw: number | null; self: number | null };
  safety: { candidate: SafetyVerdict | null; current: SafetyVerdict | null };
  tests: { candidate: TestOutcome[]; current: TestOutcome[] };
  judge: PairwiseVerdict | null;
}

export interface Progress {
  done: number;
  total: number;
}

interface Models {
  candidate: { id: string; name: string; endpoint: ModelEndpoint };
  current: { id: string; name: string; endpoint: ModelEndpoint };
  useCaseId: string;
}

export async function loadEvaluationModels(prisma: PrismaClient, candidateModelId: string, currentModelId: string): Promise<Models> {
  const [candidate, current] = await Promise.all([prisma.model.findUnique({ where: { id: candidateModelId } }), prisma.model.findUnique({ where: { id: currentModelId } })]);
  if (!candidate) throw new NotFoundError(`candidate model ${candidateModelId} is not in the registry`);
  if (!current) throw new NotFoundError(`current model ${currentModelId} is not in the registry`);
  return {
    candidate: { id: candidate.id, name: `${candidate.modelName}@${candidate.version}`, endpoint: modelEndpoint(candidate) },
    current: { id: current.id, name: `${current.modelName}@${current.version}`, endpoint: modelEndpoint(current) },
    useCaseId: candidate.useCase,
  };
}

const judged = (kind: SuiteItem['kind']) => kind !== 'red_team';

/** Answered prompts waiting for their vectors, judge and row at most (evaluatePrompts). */
const FINISH_BACKLOG = 1000;

/** Items that also get a second sample of the current model (its self-similarity): the first N non-red-team ones. */
export function calibrationIndexes(suite: Suite, count: number): Set<number> {
  const out = new Set<number>();
  suite.items.forEach((item, i) => {
    if (out.size < count && judged(item.kind)) out.add(i);
  });
  return out;
}

const strip = (a: Answer | FailedAnswer): AnswerSummary => {
  if (!a.ok) return a;
  const { ok: _ok, ...rest } = a;
  return { ok: true, ...rest };
};

export async function evaluatePrompts(deps: EvaluationDeps, evaluationId: string, onProgress: (p: Progress) => void = () => undefined): Promise<Progress> {
  const { prisma, config } = deps;
  const evaluation = await prisma.evaluation.findUnique({ where: { id: evaluationId } });
  if (!evaluation?.suiteHash || !evaluation.currentModelId) throw new NotFoundError(`evaluation ${evaluationId} does not exist`);
  const suite = await loadSuite(prisma, evaluation.suiteHash);
  const models = await loadEvaluationModels(prisma, evaluation.candidateModelId, evaluation.currentModelId);
  const policy = config.policies.testing;
  const limiter = new CallLimiter(policy.concurrency, policy.requestsPerSecond);
  const budget = evaluation.budgetId ? await createBudgetGuard(prisma, evaluation.budgetId) : undefined;
  const answers = new AnswerService({ prisma, config, providers: deps.providers, limiter, onProviderCall: deps.onProviderCall, budget, onProviderSpan: deps.trace && ((startMs, endMs) => deps.trace!({ phase: 'provider', startMs, endMs })) });
  const checks = createAnswerChecks(suite.spec.tests);
  const judgeEndpoint: ModelEndpoint | undefined = policy.judge ? { key: `${policy.judge.provider}/${policy.judge.model}`, providerId: policy.judge.provider, upstreamModel: policy.judge.model } : undefined;
  const calibration = calibrationIndexes(suite, policy.calibrationPrompts);
  const embeddings = withEmbeddingsCache(deps.embeddings, prismaEmbeddingsCache(prisma));

  const finished = new Set((await prisma.evaluationPromptResult.findMany({ where: { evaluationId }, select: { itemIndex: true } })).map((r) => r.itemIndex));
  const total = suite.items.length;
  let done = finished.size;
  onProgress({ done, total });
  const pending = suite.items.map((item, index) => ({ item, index })).filter(({ index }) => !finished.has(index));
  // every answer this run needs, looked up in one query (a resumed run or a second suite finds most here)
  await answers.prefetch(
    pending.flatMap(({ item, index }) => [
      { endpoint: models.candidate.endpoint, promptHash: item.promptHash, params: suite.spec.params, sample: 0 },
      { endpoint: models.current.endpoint, promptHash: item.promptHash, params: suite.spec.params, sample: 0 },
      ...(calibration.has(index) ? [{ endpoint: models.current.endpoint, promptHash: item.promptHash, params: suite.spec.params, sample: 1 }] : []),
    ]),
  );
  const storeResult = coalesced((rows: PromptResultRow[]) => prisma.$executeRawUnsafe(INSERT_PROMPT_RESULTS_SQL, jsonbText(rows)).then(() => undefined));
  const timed = phaseTimer(deps.trace);
  const judgeCall = async (messages: ChatMessage[]) => {
    const a = await answers.answer({ endpoint: judgeEndpoint!, promptHash: promptHashOf(messages), messages, params: JUDGE_PARAMS, sample: 0 });
    return a.ok ? a.content : '';
  };
  const classify = async (a: AnswerSummary) => (a.ok && deps.classifier ? deps.classifier(a.content, suite.useCaseId) : null);

  const answerPrompt = async (item: SuiteItem, index: number) => {
    const messages = suite.prompts.get(item.promptHash);
    if (!messages) throw new NotFoundError(`prompt ${item.promptHash} of suite ${suite.hash} is missing`);
    const ask = (endpoint: ModelEndpoint, samples: number[]) => answers.answerSamples({ endpoint, promptHash: item.promptHash, messages, params: suite.spec.params }, samples);
    // The calibration's second sample of the current model comes in the same call as its answer where
    // the provider has a choices parameter (n: 2), else in a call of its own beside it, within the same limiter.
    const [[candidate], [current, currentSecond]] = await Promise.all([ask(models.candidate.endpoint, [0]), ask(models.current.endpoint, calibration.has(index) ? [0, 1] : [0])]);
    return { messages, candidate: candidate!, current: current!, currentSecond };
  };

  const finishPrompt = async (item: SuiteItem, index: number, { messages, candidate, current, currentSecond }: Awaited<ReturnType<typeof answerPrompt>>) => {
    const texts = [candidate, current, currentSecond].map((a) => (a?.ok ? a.content : undefined));
    const toEmbed = texts.filter((t): t is string => t !== undefined);
    const vectors = toEmbed.length ? await timed('embed', () => embeddings.embed(toEmbed)) : [];
    const vectorOf = (i: number) => (texts[i] === undefined ? undefined : vectors[texts.slice(0, i).filter((t) => t !== undefined).length]);
    const [vCandidate, vCurrent, vSecond] = [vectorOf(0), vectorOf(1), vectorOf(2)];

    const { judge, personaOutcomes } = judged(item.kind)
      ? await judgeAnswers({ rubric: suite.spec.rubric, personaTests: checks.personaTests, judgeCall: judgeEndpoint && ((m: ChatMessage[]) => timed('judge', () => judgeCall(m))) }, messages, candidate, current)
      : { judge: null, personaOutcomes: [] };
    const details: PromptDetails = {
      kind: item.kind,
      candidate: strip(candidate),
      current: strip(current),
      similarity: {
        raw: vCandidate && vCurrent ? cosine(vCandidate, vCurrent) : null,
        self: vCurrent && vSecond ? cosine(vCurrent, vSecond) : null,
      },
      safety: { candidate: await classify(candidate), current: await classify(current) },
      tests: {
        candidate: judged(item.kind) && candidate.ok ? [...checks.run(candidate.content), ...personaOutcomes] : [],
        current: judged(item.kind) && current.ok ? checks.run(current.content) : [],
      },
      judge,
    };
    // prompts finishing together share one INSERT
    await timed('store', () => storeResult([evaluationId, index, item.promptHash, item.kind, details, vCurrent ? Array.from(vCurrent) : []]));
    done++;
    onProgress({ done, total });
  };

  // Two stages, so the provider calls never wait for the embeddings: 2 × `concurrency` prompts are
  // asked at a time (2–3 calls each, so the limiter always has calls queued), and each answered prompt is
  // handed to the finishing stage (embed, judge, store) without being awaited. Its vectors are
  // requested as its answers arrive, so the embeddings server works in small streamed batches while
  // the provider calls go on, instead of after them. At most FINISH_BACKLOG prompts wait to be
  // finished: memory stays bounded (a few kB a prompt) in a large suite whose embedding is the slower
  // stage, and a smaller bound would make the answers wait for the embeddings again (at 32, a loaded
  // machine stretched the provider calls of bench:eval from 14 s to 50 s). A crash loses only
  // unfinished prompts, whose answers are cached: the next attempt calls nothing again for them.
  const backlog = FINISH_BACKLOG;
  const finishing = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  await forEachConcurrent(pending, 2 * policy.concurrency, async ({ item, index }) => {
    if (failure) throw failure.error;
    const answered = await timed('answers', () => answerPrompt(item, index));
    const finish: Promise<void> = finishPrompt(item, index, answered)
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => finishing.delete(finish));
    finishing.add(finish);
    while (finishing.size >= backlog) await Promise.race(finishing);
  });
  await Promise.all(finishing);
  if (failure) throw failure.error;
  return { done, total };
}

/** A row of evaluation_prompt_results in INSERT_PROMPT_RESULTS_SQL's column order. */
type PromptResultRow = [evaluationId: string, itemIndex: number, promptHash: string, kind: string, details: PromptDetails, currentEmbedding: number[]];

/**
 * Prompts finishing together share one INSERT, from one jsonb parameter: Prisma's createMany compiled
 * each batch (details and 384 floats a row) anew in its query compiler. The vector's JSON array becomes
 * a real[] literal; each float32 prints as the shortest double that reads back to it, so real[] reads
 * back the same float. A resumed attempt's row already there is kept.
 */
const INSERT_PROMPT_RESULTS_SQL = `insert into evaluation_prompt_results (evaluation_id, item_index, prompt_hash, kind, details, current_embedding)
  select (r->>0)::uuid, (r->>1)::int, r->>2, r->>3, r->4, translate(r->>5, '[]', '{}')::real[]
  from jsonb_array_elements($1::jsonb) as r on conflict do nothing`;

/** Times a phase of an evaluation run when the caller traces them (bench:eval's timeline). */
function phaseTimer(trace: EvaluationDeps['trace']) {
  return async <T>(phase: EvaluationPhase, work: () => Promise<T>): Promise<T> => {
    if (!trace) return work();
    const startMs = performance.now();
    try {
      return await work();
    } finally {
      trace({ phase, startMs, endMs: performance.now() });
    }
  };
}

/**
 * The judge's pairwise verdict, asked in both orders (position bias cancels out), and the persona
 * tests of the candidate's answer. Without a judge model, persona tests fail as "not judged".
 */
async function judgeAnswers(
  judging: { rubric: Suite['spec']['rubric']; personaTests: ReturnType<typeof createAnswerChecks>['personaTests']; judgeCall: ((messages: ChatMessage[]) => Promise<string>) | undefined },
  messages: ChatMessage[],
  candidate: Answer | FailedAnswer,
  current: Answer | FailedAnswer,
): Promise<{ judge: PairwiseVerdict | null; personaOutcomes: TestOutcome[] }> {
  const { rubric, personaTests, judgeCall } = judging;
  let judge: PairwiseVerdict | null = null;
  const personaOutcomes: TestOutcome[] = [];
  if (judgeCall && candidate.ok && current.ok) {
    const [first, second] = await Promise.all([
      judgeCall(pairwiseJudgeMessages(rubric, messages, current.content, candidate.content)),
      judgeCall(pairwiseJudgeMessages(rubric, messages, candidate.content, current.content)),
    ]);
    const a = parseJudgeChoice(first);
    const b = parseJudgeChoice(second);
    judge = combineOrders(a.choice, b.choice, [a.reason, b.reason]);
  }
  if (!candidate.ok) return { judge, personaOutcomes };
  for (const t of personaTests) {
    if (!judgeCall) {
      personaOutcomes.push({ test: t.name, passed: false, detail: 'not judged: no judge model configured (policies.testing.judge)' });
      continue;
    }
    const verdict = parsePersonaVerdict(await judgeCall(personaJudgeMessages(t.persona, messages, candidate.content)));
    personaOutcomes.push(verdict.consistent ? { test: t.name, passed: true } : { test: t.name, passed: false, detail: verdict.consistent === false ? verdict.reason || 'out of persona' : verdict.reason });
  }
  return { judge, personaOutcomes };
}
