/**
 * The per-prompt work of one evaluation: both models answer (cached), the candidate's answer is
 * judged for safety and the use-case tests, embedded against the current model's, and judged
 * pairwise in both orders. Each finished prompt is one row of evaluation_prompt_results, so a
 * resumed run (after a crash) starts from the first unfinished prompt and calls nothing twice.
 */

import type { Prisma, PrismaClient } from '@prisma/client';
import type { MmsConfig } from '../config/schema';
import { prismaEmbeddingsCache, withEmbeddingsCache } from '../embeddings/cache';
import { cosine, type EmbeddingsClient } from '../embeddings/client';
import { NotFoundError } from '../registry/allocations';
import type { ChatMessage, ChatProvider } from '../providers/types';
import { createBudgetGuard } from './budget';
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
  const answers = new AnswerService({ prisma, config, providers: deps.providers, limiter, onProviderCall: deps.onProviderCall, budget });
  const checks = createAnswerChecks(suite.spec.tests);
  const judgeEndpoint: ModelEndpoint | undefined = policy.judge ? { key: `${policy.judge.provider}/${policy.judge.model}`, providerId: policy.judge.provider, upstreamModel: policy.judge.model } : undefined;
  const calibration = calibrationIndexes(suite, policy.calibrationPrompts);
  const embeddings = withEmbeddingsCache(deps.embeddings, prismaEmbeddingsCache(prisma));

  const finished = new Set((await prisma.evaluationPromptResult.findMany({ where: { evaluationId }, select: { itemIndex: true } })).map((r) => r.itemIndex));
  const total = suite.items.length;
  let done = finished.size;
  onProgress({ done, total });
  const pending = suite.items.map((item, index) => ({ item, index })).filter(({ index }) => !finished.has(index));

  const judgeCall = async (messages: ChatMessage[]) => {
    const a = await answers.answer({ endpoint: judgeEndpoint!, promptHash: promptHashOf(messages), messages, params: JUDGE_PARAMS, sample: 0 });
    return a.ok ? a.content : '';
  };
  const classify = async (a: AnswerSummary) => (a.ok && deps.classifier ? deps.classifier(a.content, suite.useCaseId) : null);

  // Twice as many prompts in flight as provider calls: while some embed, judge and store, the others'
  // calls wait in the limiter, so it stays full. A crash re-asks at most the calls in flight (the
  // answers of finished calls are cached).
  await forEachConcurrent(pending, policy.concurrency * 2, async ({ item, index }) => {
    const messages = suite.prompts.get(item.promptHash);
    if (!messages) throw new NotFoundError(`prompt ${item.promptHash} of suite ${suite.hash} is missing`);
    const ask = (endpoint: ModelEndpoint, sample: number) => answers.answer({ endpoint, promptHash: item.promptHash, messages, params: suite.spec.params, sample });
    const [candidate, current, currentSecond] = await Promise.all([
      ask(models.candidate.endpoint, 0),
      ask(models.current.endpoint, 0),
      calibration.has(index) ? ask(models.current.endpoint, 1) : Promise.resolve(undefined),
    ]);
    const texts = [candidate, current, currentSecond].map((a) => (a?.ok ? a.content : undefined));
    const toEmbed = texts.filter((t): t is string => t !== undefined);
    const vectors = toEmbed.length ? await embeddings.embed(toEmbed) : [];
    const vectorOf = (i: number) => (texts[i] === undefined ? undefined : vectors[texts.slice(0, i).filter((t) => t !== undefined).length]);
    const [vCandidate, vCurrent, vSecond] = [vectorOf(0), vectorOf(1), vectorOf(2)];

    let judge: PairwiseVerdict | null = null;
    const personaOutcomes: TestOutcome[] = [];
    if (judgeEndpoint && judged(item.kind) && candidate.ok && current.ok) {
      const [first, second] = await Promise.all([
        judgeCall(pairwiseJudgeMessages(suite.spec.rubric, messages, current.content, candidate.content)),
        judgeCall(pairwiseJudgeMessages(suite.spec.rubric, messages, candidate.content, current.content)),
      ]);
      const a = parseJudgeChoice(first);
      const b = parseJudgeChoice(second);
      judge = combineOrders(a.choice, b.choice, [a.reason, b.reason]);
    }
    if (judged(item.kind) && candidate.ok) {
      for (const t of checks.personaTests) {
        if (!judgeEndpoint) {
          personaOutcomes.push({ test: t.name, passed: false, detail: 'not judged: no judge model configured (policies.testing.judge)' });
          continue;
        }
        const verdict = parsePersonaVerdict(await judgeCall(personaJudgeMessages(t.persona, messages, candidate.content)));
        personaOutcomes.push(verdict.consistent ? { test: t.name, passed: true } : { test: t.name, passed: false, detail: verdict.consistent === false ? verdict.reason || 'out of persona' : verdict.reason });
      }
    }
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
    await prisma.evaluationPromptResult.createMany({
      data: [{ evaluationId, itemIndex: index, promptHash: item.promptHash, kind: item.kind, details: details as unknown as Prisma.InputJsonValue, currentEmbedding: vCurrent ? Array.from(vCurrent) : [] }],
      skipDuplicates: true,
    });
    done++;
    onProgress({ done, total });
  });
  return { done, total };
}
