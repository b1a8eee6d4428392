import type { PrismaClient } from '@prisma/client';
import { paidCandidateFiltersSchema, type MmsConfig, type PaidCandidateFilters } from '../config/schema';
import type { EvaluationReport } from '../evaluation/report';
import type { EndpointPrice, SpendingReport } from '../evaluation/budget';
import type { CatalogEntry } from './paid-catalog';

/**
 * Ranking the paid catalog for one use case (issue 14): compatibility filters from the config, a cheap
 * prior (price at the use case's token mix, context, recency) that picks the top K, then the seed's
 * score over the probe evaluations of those K on the use case's own logged prompts:
 *   score = performance × w1 + cost_efficiency × w2 + latency × w3 + quality × w4   (policies.ranking.paid)
 * Every part carries its value, weight and where it came from; the model in service is scored on the
 * same evaluations, so "beats the current model by the margin" compares like with like.
 */

export type { SpendingReport };

/** What one call of the use case uses, from its logs: the basis of cost = price × token mix. */
export interface TokenMix {
  inputTokens: number;
  outputTokens: number;
  calls: number;
  source: string;
}

/** One entry as the ranking sees it (a stored catalog row or a freshly scanned one). */
export type RankedEntry = Pick<CatalogEntry, 'provider' | 'upstreamId' | 'contextLength' | 'inputPerMTok' | 'outputPerMTok' | 'priceSource' | 'upstreamCreatedAt' | 'shutdownAt' | 'shutdownSource'> & {
  kind: string;
  capabilities: { tools: boolean | null; jsonMode: boolean | null };
};

export interface ScorePart {
  /** 0..1; null when not measured (then the row has no score). */
  value: number | null;
  weight: number;
  source: string;
}

export interface ScoreParts {
  performance: ScorePart;
  costEfficiency: ScorePart;
  latency: ScorePart;
  quality: ScorePart;
}

export interface RankingRow {
  /** 1 = best among the scored rows; null for rows not scored (filtered out, not probed). */
  rank: number | null;
  provider: string;
  upstreamId: string;
  modelId: string | null;
  isCurrent: boolean;
  /** Why the compatibility filters left it out (empty when compatible). */
  excluded: string[];
  prior: number | null;
  priorParts: { cost: number; context: number; recency: number } | null;
  probe: 'evaluated' | 'not_selected' | 'skipped' | 'failed' | 'excluded' | 'current';
  evaluationId: string | null;
  score: number | null;
  parts: ScoreParts | null;
  /** Eligible to replace the current model: scored, safety and use-case tests passed, evaluation complete. */
  eligible: boolean;
  notes: string[];
  costPerRequestUsd: number | null;
  inputPerMTok: number | null;
  outputPerMTok: number | null;
  priceSource: string | null;
  contextLength: number | null;
  shutdownAt: string | null;
  shutdownSource: string | null;
}

/** Why a paid switch runs (kept here, below activities/ and workflows/, which both name it): asked for (CLI, REST), the scan schedule, a shutdown notice, or the meta loop. */
export interface PaidSwitchTrigger {
  kind: 'manual' | 'schedule' | 'shutdown' | 'meta';
  reason: string;
}

export interface PaidSwitchDecision {
  decision: 'switch' | 'keep';
  reason: string;
  dryRun: boolean;
  currentModelId: string;
  currentScore: number | null;
  best: { modelId: string; provider: string; upstreamId: string; score: number } | null;
  margin: number;
  /** The current model's shutdown date when it is within the notice (the switch's reason then). */
  shutdown: { at: string; source: string | null } | null;
  weights: MmsConfig['policies']['ranking']['paid'];
  tokenMix: TokenMix;
  spending: SpendingReport | null;
  /** Scored and probe rows first, then the rest; the full table is in optimization_decisions.details. */
  table: RankingRow[];
}

/** The filters of a use case: its own entry, else `default`, else no filtering. */
export function filtersFor(config: Pick<MmsConfig, 'paidModels'>, useCaseId: string): PaidCandidateFilters {
  return config.paidModels.filters[useCaseId] ?? config.paidModels.filters.default ?? paidCandidateFiltersSchema.parse({});
}

/** Why an entry cannot serve the use case; empty when it can. Unknown support for a required parameter leaves it out. */
export function compatibilityProblems(entry: RankedEntry, filters: PaidCandidateFilters): string[] {
  const problems: string[] = [];
  const id = `${entry.provider}/${entry.upstreamId}`;
  if (filters.allowedProviders.length > 0 && !filters.allowedProviders.includes(entry.provider)) problems.push(`provider ${entry.provider} is not in allowedProviders`);
  const excluded = filters.exclude.find((pattern) => new RegExp(pattern).test(id));
  if (excluded) problems.push(`excluded by /${excluded}/`);
  if (filters.minContext > 0) {
    if (entry.contextLength === null) problems.push(`context window unknown (minContext ${filters.minContext})`);
    else if (entry.contextLength < filters.minContext) problems.push(`context ${entry.contextLength} < minContext ${filters.minContext}`);
  }
  for (const param of filters.requiredParams) {
    const supported = param === 'tools' ? entry.capabilities.tools : entry.capabilities.jsonMode;
    if (supported !== true) problems.push(`${param} ${supported === false ? 'not supported' : 'support unknown'}`);
  }
  if (entry.inputPerMTok === null || entry.outputPerMTok === null) problems.push('no price from any source: it can be neither costed nor held to the spending cap');
  else {
    if (filters.maxInputPerMTok !== undefined && entry.inputPerMTok > filters.maxInputPerMTok) problems.push(`input $${entry.inputPerMTok}/Mtok > maxInputPerMTok $${filters.maxInputPerMTok}`);
    if (filters.maxOutputPerMTok !== undefined && entry.outputPerMTok > filters.maxOutputPerMTok) problems.push(`output $${entry.outputPerMTok}/Mtok > maxOutputPerMTok $${filters.maxOutputPerMTok}`);
  }
  return problems;
}

/**
 * The use case's mean input and output tokens per successful call over the last `days` of its logs;
 * without logged token counts, its maxTokens as output and 1000 input tokens (said in the source).
 */
export async function observedTokenMix(prisma: PrismaClient, config: Pick<MmsConfig, 'useCases'>, useCaseId: string, days: number, now = new Date()): Promise<TokenMix> {
  const since = new Date(now.getTime() - days * 86_400_000);
  const agg = await prisma.modelHistoricalLog.aggregate({
    where: { useCase: useCaseId, status: 'ok', timestamp: { gte: since }, tokensIn: { not: null }, tokensOut: { not: null }, role: { not: 'evaluation' } },
    _avg: { tokensIn: true, tokensOut: true },
    _count: { _all: true },
  });
  const calls = agg._count._all;
  if (calls > 0 && agg._avg.tokensIn !== null && agg._avg.tokensOut !== null) {
    return { inputTokens: agg._avg.tokensIn, outputTokens: agg._avg.tokensOut, calls, source: `mean of ${calls} logged calls of the last ${days} days` };
  }
  const maxTokens = config.useCases.find((u) => u.id === useCaseId)?.maxTokens ?? 1000;
  return { inputTokens: 1000, outputTokens: maxTokens, calls: 0, source: `no logged token counts in the last ${days} days: assumed 1000 input tokens and the use case's maxTokens (${maxTokens}) as output` };
}

export const costPerRequest = (price: { inputPerMTok: number; outputPerMTok: number }, mix: TokenMix) => (mix.inputTokens * price.inputPerMTok + mix.outputTokens * price.outputPerMTok) / 1_000_000;

const YEAR_MS = 365 * 86_400_000;

/**
 * The cheap prior, from the catalog alone (no call): cost at the token mix relative to the cheapest
 * compatible entry (×0.5), context on a log scale relative to the largest (×0.25), recency as a
 * one-year decay of the created date (×0.25; unknown = 0.5). It only picks which K are probed.
 */
export function priorScores(entries: RankedEntry[], mix: TokenMix, now: Date): Array<{ prior: number; parts: { cost: number; context: number; recency: number } }> {
  const costs = entries.map((e) => (e.inputPerMTok === null || e.outputPerMTok === null ? null : costPerRequest({ inputPerMTok: e.inputPerMTok, outputPerMTok: e.outputPerMTok }, mix)));
  const positive = costs.filter((c): c is number => c !== null && c > 0);
  const cheapest = positive.length ? Math.min(...positive) : 0;
  const maxContext = Math.max(1, ...entries.map((e) => e.contextLength ?? 0));
  return entries.map((e, i) => {
    const c = costs[i];
    const cost = c === null || c === undefined ? 0 : c === 0 ? 1 : cheapest / c;
    const context = e.contextLength ? Math.log1p(e.contextLength) / Math.log1p(maxContext) : 0;
    const recency = e.upstreamCreatedAt ? Math.exp(-Math.max(0, now.getTime() - e.upstreamCreatedAt.getTime()) / YEAR_MS) : 0.5;
    const parts = { cost: round(cost), context: round(context), recency: round(recency) };
    return { prior: round(0.5 * cost + 0.25 * context + 0.25 * recency), parts };
  });
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;

/** What a probe evaluation measured for one model (the candidate side, or the current side for the model in service). */
export interface MeasuredModel {
  key: string;
  isCurrent: boolean;
  evaluationId: string;
  requests: number;
  errorRate: number;
  latencyP50Ms: number | null;
  /** Mean pass rate of the use-case tests (null when the use case has none). */
  testPassRate: number | null;
  /** Candidate's share of the judge's preferences (ties half); the current model is 0.5 by definition. */
  judgeScore: number | null;
  judge: string | null;
  calibratedSimilarity: number | null;
  safetyFailed: boolean;
  testsFailed: boolean;
  /** Answers not asked for because of the spending cap. */
  capped: number;
  costPerRequestUsd: number;
  priceSource: string;
}

/** The two sides of a probe evaluation's report, as the scoring needs them. */
export function measuredFromReport(report: EvaluationReport, side: 'candidate' | 'current', key: string, cost: { usd: number; source: string }, capped: number): MeasuredModel {
  const perf = report.performance[side];
  const rates = report.tests.map((t) => (side === 'candidate' ? t.candidatePassRate : t.currentPassRate)).filter((r): r is number => r !== null);
  const criterion = (name: string) => report.criteria.find((c) => c.name === name)?.status;
  return {
    key,
    isCurrent: side === 'current',
    evaluationId: report.evaluationId,
    requests: perf.requests,
    errorRate: perf.errorRate,
    latencyP50Ms: perf.latencyP50Ms,
    testPassRate: rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : null,
    judgeScore: report.quality.score === null ? null : side === 'candidate' ? report.quality.score : 0.5,
    judge: report.quality.judge,
    calibratedSimilarity: side === 'candidate' ? report.similarity.calibrated : 1,
    safetyFailed: side === 'candidate' && criterion('safety') === 'failed',
    testsFailed: side === 'candidate' && criterion('use_case_tests') === 'failed',
    capped,
    costPerRequestUsd: cost.usd,
    priceSource: cost.source,
  };
}

/**
 * The seed's score for every measured model. Latency and cost are relative to the best of the table
 * (fastest p50 = 1, cheapest = 1), so the current model and the candidates share one scale.
 */
export function scoreMeasured(models: MeasuredModel[], weights: MmsConfig['policies']['ranking']['paid'], mix: TokenMix): Map<string, { score: number | null; parts: ScoreParts; eligible: boolean; notes: string[] }> {
  const latencies = models.flatMap((m) => (m.latencyP50Ms !== null && m.latencyP50Ms > 0 ? [m.latencyP50Ms] : []));
  const fastest = latencies.length ? Math.min(...latencies) : null;
  const costs = models.map((m) => m.costPerRequestUsd).filter((c) => c > 0);
  const cheapest = costs.length ? Math.min(...costs) : 0;
  const out = new Map<string, { score: number | null; parts: ScoreParts; eligible: boolean; notes: string[] }>();
  for (const m of models) {
    const ev = `evaluation ${m.evaluationId}`;
    const performance: ScorePart = {
      value: round((1 - m.errorRate) * (m.testPassRate ?? 1)),
      weight: weights.performanceScore,
      source: `${ev}: ${m.requests} answers, error rate ${(m.errorRate * 100).toFixed(1)}%, use-case tests ${m.testPassRate === null ? 'none configured' : `${(m.testPassRate * 100).toFixed(1)}% passed`}`,
    };
    const costEfficiency: ScorePart = {
      value: m.costPerRequestUsd <= 0 ? 1 : round(cheapest / m.costPerRequestUsd),
      weight: weights.costEfficiency,
      source: `$${m.costPerRequestUsd.toPrecision(3)}/request = price (${m.priceSource}) × token mix (${Math.round(mix.inputTokens)} in, ${Math.round(mix.outputTokens)} out: ${mix.source}); cheapest in the table = 1`,
    };
    const latency: ScorePart =
      m.latencyP50Ms === null || fastest === null
        ? { value: null, weight: weights.latency, source: `${ev}: no successful answer to time` }
        : { value: round(fastest / m.latencyP50Ms), weight: weights.latency, source: `${ev}: p50 ${Math.round(m.latencyP50Ms)} ms on the probes; fastest in the table = 1` };
    const quality: ScorePart =
      m.judgeScore !== null
        ? { value: round(m.judgeScore), weight: weights.qualityMetrics, source: m.isCurrent ? `judge ${m.judge}: the reference of the pairwise comparisons (0.5 = as good as itself)` : `${ev}: judge ${m.judge} preferred it in ${(m.judgeScore * 100).toFixed(1)}% of pairs against the current model (ties half, both orders)` }
        : m.calibratedSimilarity !== null
          ? { value: round(Math.max(0, Math.min(1, m.calibratedSimilarity)) / 2), weight: weights.qualityMetrics, source: `${ev}: not judged (no judge in policies.testing.judge, or no valid verdict): half the calibrated similarity to the current model (${m.calibratedSimilarity.toFixed(3)}), so an unjudged model never looks better than the current one` }
          : { value: null, weight: weights.qualityMetrics, source: `${ev}: neither judged nor comparable` };
    const parts: ScoreParts = { performance, costEfficiency, latency, quality };
    const values = Object.values(parts);
    const score = values.some((p) => p.value === null) ? null : round(values.reduce((s, p) => s + p.value! * p.weight, 0));
    const notes: string[] = [];
    if (m.capped > 0) notes.push(`incomplete: ${m.capped} answer(s) not asked for because of the spending cap`);
    if (m.safetyFailed) notes.push('failed the safety check of the evaluation');
    if (m.testsFailed) notes.push('failed the use-case tests of the evaluation');
    if (score === null) notes.push('not scored: a part could not be measured');
    out.set(m.key, { score, parts, eligible: score !== null && m.capped === 0 && !m.safetyFailed && !m.testsFailed, notes });
  }
  return out;
}

/** The decision: switch to the best eligible candidate when it beats the current model by the margin, or when the current model shuts down within the notice. */
export function decide(input: { rows: RankingRow[]; currentModelId: string; margin: number; shutdown: PaidSwitchDecision['shutdown'] }): Pick<PaidSwitchDecision, 'decision' | 'reason' | 'best' | 'currentScore'> {
  const current = input.rows.find((r) => r.isCurrent);
  const currentScore = current?.score ?? null;
  const eligible = input.rows.filter((r) => !r.isCurrent && r.eligible && r.score !== null && r.modelId).sort((a, b) => b.score! - a.score!);
  const top = eligible[0];
  const best = top ? { modelId: top.modelId!, provider: top.provider, upstreamId: top.upstreamId, score: top.score! } : null;
  const name = (b: NonNullable<typeof best>) => `${b.provider}/${b.upstreamId}`;
  if (input.shutdown) {
    if (!best) return { decision: 'keep', reason: `the current model shuts down on ${input.shutdown.at.slice(0, 10)}, but no compatible candidate is eligible to replace it`, best, currentScore };
    return { decision: 'switch', reason: `the current model shuts down on ${input.shutdown.at.slice(0, 10)} (${input.shutdown.source ?? 'catalog'}), within the notice: switching to the best candidate ${name(best)} (score ${best.score}${currentScore === null ? '' : ` vs current ${currentScore}`}; the margin is waived)`, best, currentScore };
  }
  if (!best) return { decision: 'keep', reason: 'no compatible candidate was probed and eligible', best, currentScore };
  if (currentScore === null) return { decision: 'keep', reason: `the current model could not be scored, so ${name(best)} (score ${best.score}) cannot be shown to beat it`, best, currentScore };
  if (best.score >= currentScore + input.margin) return { decision: 'switch', reason: `${name(best)} scores ${best.score}, beating the current model's ${currentScore} by ${round(best.score - currentScore)} ≥ margin ${input.margin}`, best, currentScore };
  return { decision: 'keep', reason: `the best candidate ${name(best)} scores ${best.score}, not ahead of the current model's ${currentScore} by the margin ${input.margin}`, best, currentScore };
}

/** Prices of the endpoints a ranking run may call: from the catalog rows, the config's price table for the others. */
export function endpointPrice(entry: Pick<RankedEntry, 'inputPerMTok' | 'outputPerMTok' | 'priceSource'>): EndpointPrice | undefined {
  return entry.inputPerMTok === null || entry.outputPerMTok === null ? undefined : { inputPerMTok: entry.inputPerMTok, outputPerMTok: entry.outputPerMTok, source: entry.priceSource ?? 'catalog' };
}
