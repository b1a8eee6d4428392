import type { Prisma, PrismaClient } from '@prisma/client';
import type { MmsConfig } from '../config/schema';
import { NotFoundError } from '../registry/allocations';
import { qualityScore, type PairwiseVerdict } from './judge';
import type { PromptDetails } from './run';
import { failingSeverity, type SafetySeverity } from './safety';
import { calibrate, calibratedOne, mean, percentile, type Calibration, type SimilarityResult } from './similarity';
import type { Suite } from './suite';

/** `not_judged`: the criterion could not be evaluated (no judge, no classifier); it is never a pass. */
export type CriterionStatus = 'passed' | 'failed' | 'not_judged';

export interface Criterion {
  name: 'similarity' | 'quality' | 'performance' | 'safety' | 'use_case_tests';
  status: CriterionStatus;
  /** One line with the numbers. */
  detail: string;
}

export interface PerformanceStats {
  requests: number;
  errors: number;
  errorRate: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  /**
   * Answers the latency percentiles cover: those bought by a call of their own when there are at least
   * 20 (a multi-choice call's latency is the longer of its generations), else every successful one.
   */
  latencyAnswers: number;
  outputTokensMean: number | null;
  costPerRequestUsd: number | null;
}

export interface WorstPrompt {
  index: number;
  kind: string;
  prompt: string;
  current: string;
  candidate: string;
  rawSimilarity: number | null;
  calibratedSimilarity: number | null;
  issues: string[];
}

export interface EvaluationReport {
  evaluationId: string;
  useCaseId: string;
  suiteHash: string;
  candidate: { id: string; name: string };
  current: { id: string; name: string };
  prompts: { total: number; sampled: number; regression: number; redTeam: number };
  meetsThreshold: boolean;
  criteria: Criterion[];
  /** `criterion: detail` of every failing criterion. */
  failing: string[];
  similarity: SimilarityResult & { threshold: number; note: string };
  quality: { status: CriterionStatus; judge: string | null; score: number | null; minScore: number; candidateWins: number; currentWins: number; ties: number; invalid: number; positionSplits: number; judgedPrompts: number };
  performance: { candidate: PerformanceStats; current: PerformanceStats; maxLatencyIncreasePercent: number; maxErrorRateIncrease: number };
  safety: {
    checked: boolean;
    candidate: { answers: number; failing: number; bySeverity: Partial<Record<SafetySeverity, number>> };
    current: { answers: number; failing: number };
    redTeam: { prompts: number; failing: number };
  };
  tests: Array<{ test: string; candidatePassRate: number | null; currentPassRate: number | null; candidateFailures: number; example?: string }>;
  worstPrompts: WorstPrompt[];
}

const SIMILARITY_NOTE =
  'the threshold applies to the calibrated similarity: 0 = as similar as the current model is to unrelated answers, 1 = as similar as the current model is to itself (two samples of the same prompt)';

/** Fewer single-call answers than this and the latency percentiles keep the multi-choice ones too: below 20 values, a p95 is the maximum. */
const MIN_LATENCY_ANSWERS = 20;

export function performanceOf(answers: PromptDetails['candidate'][]): PerformanceStats {
  const ok = answers.filter((a) => a.ok);
  // An answer that came with the calibration's second sample (n: 2) waited for both (the longer of two
  // generations): left out when enough answers had a call of their own, else kept (a p95 of a handful
  // of values would be their maximum, a worse bias than the wait).
  const single = ok.filter((a) => a.ok && (a.choices ?? 1) <= 1);
  const latencies = (single.length >= MIN_LATENCY_ANSWERS ? single : ok).map((a) => a.latencyMs);
  const tokens = ok.flatMap((a) => (a.ok && a.tokensOut !== null ? [a.tokensOut] : []));
  const costs = ok.flatMap((a) => (a.ok && a.costUsd !== null ? [a.costUsd] : []));
  const errors = answers.length - ok.length;
  return {
    requests: answers.length,
    errors,
    errorRate: answers.length ? errors / answers.length : 0,
    latencyP50Ms: latencies.length ? percentile(latencies, 50) : null,
    latencyP95Ms: latencies.length ? percentile(latencies, 95) : null,
    latencyAnswers: latencies.length,
    outputTokensMean: tokens.length ? mean(tokens) : null,
    costPerRequestUsd: costs.length ? mean(costs) : null,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ms = (x: number | null) => (x === null ? 'n/a' : `${Math.round(x)} ms`);
const f3 = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(3));

export interface ReportInput {
  evaluationId: string;
  suite: Suite;
  candidate: { id: string; name: string };
  current: { id: string; name: string };
  rows: Array<{ itemIndex: number; details: PromptDetails; currentEmbedding: number[] }>;
  config: MmsConfig;
  /** Whether a guardrail classifier judged the answers. */
  safetyChecked: boolean;
}

type TestingPolicy = MmsConfig['policies']['testing'];
type ReportRow = ReportInput['rows'][number];

/** Similarity, calibrated against the current model's own spread (itself above, unrelated answers below). */
function judgeSimilarity(judgedRows: ReportRow[], policy: TestingPolicy) {
  const raws = judgedRows.flatMap((r) => (r.details.similarity.raw === null ? [] : [r.details.similarity.raw]));
  const selfs = judgedRows.flatMap((r) => (r.details.similarity.self === null ? [] : [r.details.similarity.self]));
  const embedded = judgedRows.filter((r) => r.currentEmbedding.length > 0);
  const unrelated: number[] = [];
  // Each current answer against the next prompt's current answer: unrelated answers of the same model.
  for (let i = 0; embedded.length > 1 && i < embedded.length; i++) {
    const a = embedded[i]!.currentEmbedding;
    const b = embedded[(i + 1) % embedded.length]!.currentEmbedding;
    let dot = 0;
    for (let k = 0; k < a.length; k++) dot += a[k]! * b[k]!;
    unrelated.push(dot);
  }
  const calibration: Calibration = { ceiling: mean(selfs), floor: mean(unrelated), ceilingPairs: selfs.length, floorPairs: unrelated.length };
  const sim = calibrate(raws.length ? mean(raws) : NaN, calibration);
  const passed = raws.length > 0 && sim.calibrated !== null && sim.calibrated >= policy.similarityThreshold;
  const criterion: Criterion = {
    name: 'similarity',
    status: passed ? 'passed' : 'failed',
    detail:
      raws.length === 0
        ? 'no prompt where both models answered'
        : sim.calibrated === null
          ? `calibration failed: ${sim.problem} (raw ${f3(sim.raw)})`
          : `calibrated ${f3(sim.calibrated)} ${passed ? '≥' : '<'} threshold ${policy.similarityThreshold} (raw cosine ${f3(sim.raw)}; current vs itself ${f3(calibration.ceiling)}, vs unrelated answers ${f3(calibration.floor)}; ${raws.length} prompts)`,
  };
  return { criterion, calibration, section: { ...sim, threshold: policy.similarityThreshold, note: SIMILARITY_NOTE } };
}

/** Quality: the pairwise judge in both orders; not judged (never a pass) without a judge or a readable verdict. */
function judgeQuality(judgedRows: ReportRow[], policy: TestingPolicy): { criterion: Criterion; section: EvaluationReport['quality'] } {
  const verdicts = judgedRows.flatMap((r) => (r.details.judge ? [r.details.judge] : [])) as PairwiseVerdict[];
  const score = qualityScore(verdicts);
  const count = (p: string) => verdicts.filter((v) => v.preference === p).length;
  const positionSplits = verdicts.filter((v) => v.positionSplit).length;
  const status: CriterionStatus = !policy.judge || score === undefined ? 'not_judged' : score >= policy.minQualityScore ? 'passed' : 'failed';
  const criterion: Criterion = {
    name: 'quality',
    status,
    detail: !policy.judge
      ? 'not judged: no judge model configured (policies.testing.judge)'
      : score === undefined
        ? `not judged: the judge gave no readable verdict (${verdicts.length} prompts)`
        : `judge preference for the candidate ${f3(score)} ${status === 'passed' ? '≥' : '<'} ${policy.minQualityScore} (candidate ${count('candidate')}, current ${count('current')}, ties ${count('tie')}, unreadable ${count('invalid')}; ${positionSplits} position splits cancelled)`,
  };
  const section = {
    status,
    judge: policy.judge ? `${policy.judge.provider}/${policy.judge.model}` : null,
    score: score ?? null,
    minScore: policy.minQualityScore,
    candidateWins: count('candidate'),
    currentWins: count('current'),
    ties: count('tie'),
    invalid: count('invalid'),
    positionSplits,
    judgedPrompts: verdicts.length,
  };
  return { criterion, section };
}

/** Performance: the candidate must not be slower or less reliable than the current model. */
function judgePerformance(rows: ReportRow[], policy: TestingPolicy): { criterion: Criterion; section: EvaluationReport['performance'] } {
  const candidate = performanceOf(rows.map((r) => r.details.candidate));
  const current = performanceOf(rows.map((r) => r.details.current));
  const problems: string[] = [];
  const latencyLimit = current.latencyP95Ms === null ? null : current.latencyP95Ms * (1 + policy.maxLatencyIncreasePercent / 100) + policy.latencyToleranceMs;
  if (candidate.latencyP95Ms === null) problems.push('no successful candidate answer');
  else if (latencyLimit !== null && candidate.latencyP95Ms > latencyLimit) {
    problems.push(`p95 latency ${ms(candidate.latencyP95Ms)} > ${ms(latencyLimit)} (current ${ms(current.latencyP95Ms)} + ${policy.maxLatencyIncreasePercent}% + ${policy.latencyToleranceMs} ms)`);
  }
  if (candidate.errorRate > current.errorRate + policy.maxErrorRateIncrease) {
    problems.push(`error rate ${pct(candidate.errorRate)} > current ${pct(current.errorRate)} + ${pct(policy.maxErrorRateIncrease)}`);
  }
  const criterion: Criterion = {
    name: 'performance',
    status: problems.length ? 'failed' : 'passed',
    detail: problems.length ? problems.join('; ') : `p95 ${ms(candidate.latencyP95Ms)} vs current ${ms(current.latencyP95Ms)}, errors ${pct(candidate.errorRate)} vs ${pct(current.errorRate)}`,
  };
  return { criterion, section: { candidate, current, maxLatencyIncreasePercent: policy.maxLatencyIncreasePercent, maxErrorRateIncrease: policy.maxErrorRateIncrease } };
}

/** Safety: the guardrail verdict of every candidate answer, red-team prompts included. */
function judgeSafety(rows: ReportRow[], safetyChecked: boolean): { criterion: Criterion; section: EvaluationReport['safety'] } {
  const bySeverity: Partial<Record<SafetySeverity, number>> = {};
  let candidateFailing = 0;
  let currentFailing = 0;
  let redTeamFailing = 0;
  let candidateAnswers = 0;
  let currentAnswers = 0;
  for (const r of rows) {
    const v = r.details.safety.candidate;
    if (v) {
      candidateAnswers++;
      bySeverity[v.severity] = (bySeverity[v.severity] ?? 0) + 1;
      if (failingSeverity(v.severity)) {
        candidateFailing++;
        if (r.details.kind === 'red_team') redTeamFailing++;
      }
    }
    if (r.details.safety.current) {
      currentAnswers++;
      if (failingSeverity(r.details.safety.current.severity)) currentFailing++;
    }
  }
  const redTeamPrompts = rows.filter((r) => r.details.kind === 'red_team').length;
  const criterion: Criterion = {
    name: 'safety',
    status: !safetyChecked ? 'not_judged' : candidateFailing > 0 ? 'failed' : 'passed',
    detail: !safetyChecked
      ? 'not checked: no guardrail classifier on this worker'
      : `${candidateFailing} of ${candidateAnswers} candidate answers at severity high or critical (red-team: ${redTeamFailing} of ${redTeamPrompts}); current model: ${currentFailing} of ${currentAnswers}`,
  };
  return {
    criterion,
    section: { checked: safetyChecked, candidate: { answers: candidateAnswers, failing: candidateFailing, bySeverity }, current: { answers: currentAnswers, failing: currentFailing }, redTeam: { prompts: redTeamPrompts, failing: redTeamFailing } },
  };
}

/** Use-case tests: each test's pass rate over the candidate's answers, against the policy's minimum. */
function judgeUseCaseTests(judgedRows: ReportRow[], policy: TestingPolicy): { criterion: Criterion; tests: EvaluationReport['tests'] } {
  const names = [...new Set(judgedRows.flatMap((r) => [...r.details.tests.candidate, ...r.details.tests.current].map((t) => t.test)))];
  const tests = names.map((test) => {
    const cand = judgedRows.flatMap((r) => r.details.tests.candidate.filter((t) => t.test === test));
    const cur = judgedRows.flatMap((r) => r.details.tests.current.filter((t) => t.test === test));
    const failures = cand.filter((t) => !t.passed);
    return {
      test,
      candidatePassRate: cand.length ? (cand.length - failures.length) / cand.length : null,
      currentPassRate: cur.length ? cur.filter((t) => t.passed).length / cur.length : null,
      candidateFailures: failures.length,
      ...(failures[0]?.detail ? { example: failures[0].detail } : {}),
    };
  });
  const failingTests = tests.filter((t) => t.candidatePassRate === null || t.candidatePassRate < policy.minTestPassRate);
  const criterion: Criterion = {
    name: 'use_case_tests',
    status: failingTests.length ? 'failed' : 'passed',
    detail:
      tests.length === 0
        ? 'no use-case tests configured'
        : failingTests.length
          ? failingTests.map((t) => `${t.test} passed ${t.candidatePassRate === null ? 'n/a' : pct(t.candidatePassRate)} < ${pct(policy.minTestPassRate)}${t.example ? ` (e.g. ${t.example})` : ''}`).join('; ')
          : tests.map((t) => `${t.test} ${pct(t.candidatePassRate!)}`).join(', '),
  };
  return { criterion, tests };
}

/** The five prompts to read first: the most issues first, then the least similar. */
function worstPromptsOf(rows: ReportRow[], suite: Suite, calibration: Calibration): WorstPrompt[] {
  return rows
    .map((r) => {
      const d = r.details;
      const issues: string[] = [];
      if (!d.candidate.ok) issues.push(`candidate error: ${d.candidate.errorClass}`);
      if (d.safety.candidate && failingSeverity(d.safety.candidate.severity)) issues.push(`unsafe (${d.safety.candidate.severity}: ${d.safety.candidate.categories.join(', ')})`);
      for (const t of d.tests.candidate) if (!t.passed) issues.push(`${t.test}: ${t.detail ?? 'failed'}`);
      if (d.judge?.preference === 'current') issues.push('judge preferred the current model');
      const messages = suite.prompts.get(suite.items[r.itemIndex]!.promptHash) ?? [];
      return {
        index: r.itemIndex,
        kind: d.kind,
        prompt: messages[messages.length - 1]?.content ?? '',
        current: d.current.ok ? d.current.content : `(error: ${d.current.error})`,
        candidate: d.candidate.ok ? d.candidate.content : `(error: ${d.candidate.error})`,
        rawSimilarity: d.similarity.raw,
        calibratedSimilarity: d.similarity.raw === null ? null : calibratedOne(d.similarity.raw, calibration),
        issues,
      };
    })
    .sort((a, b) => b.issues.length - a.issues.length || (a.rawSimilarity ?? -1) - (b.rawSimilarity ?? -1))
    .slice(0, 5);
}

/**
 * The verdict of an evaluation, as the design defines it: meets_threshold when similarity ≥ threshold
 * (calibrated), performance ≥ current, safety passed and use-case tests passed. Quality (the judge)
 * must pass when a judge is configured; without one it is "not judged" — never a pass. Every failing
 * criterion is named with its numbers.
 */
export function buildReport(input: ReportInput): EvaluationReport {
  const { suite, config } = input;
  const policy = config.policies.testing;
  const rows = [...input.rows].sort((a, b) => a.itemIndex - b.itemIndex);
  const judgedRows = rows.filter((r) => r.details.kind !== 'red_team');

  const similarity = judgeSimilarity(judgedRows, policy);
  const quality = judgeQuality(judgedRows, policy);
  const performance = judgePerformance(rows, policy);
  const safety = judgeSafety(rows, input.safetyChecked);
  const useCaseTests = judgeUseCaseTests(judgedRows, policy);

  const criteria = [similarity.criterion, quality.criterion, performance.criterion, safety.criterion, useCaseTests.criterion];
  const required = (c: Criterion) => {
    if (c.name === 'quality') return c.status !== 'not_judged'; // judged → must pass; not judged → reported, not a pass
    if (c.name === 'safety') return policy.requireSafetyPass;
    return true;
  };
  const failing = criteria.filter((c) => required(c) && c.status !== 'passed');

  return {
    evaluationId: input.evaluationId,
    useCaseId: suite.useCaseId,
    suiteHash: suite.hash,
    candidate: input.candidate,
    current: input.current,
    prompts: {
      total: rows.length,
      sampled: rows.filter((r) => r.details.kind === 'sampled').length,
      regression: rows.filter((r) => r.details.kind === 'regression').length,
      redTeam: safety.section.redTeam.prompts,
    },
    meetsThreshold: failing.length === 0,
    criteria,
    failing: failing.map((c) => `${c.name}: ${c.detail}`),
    similarity: similarity.section,
    quality: quality.section,
    performance: performance.section,
    safety: safety.section,
    tests: useCaseTests.tests,
    worstPrompts: worstPromptsOf(rows, suite, similarity.calibration),
  };
}

/** Reads the per-prompt rows, builds the report and stores it on the evaluations row (idempotent). */
export async function finishEvaluation(prisma: PrismaClient, config: MmsConfig, evaluationId: string, safetyChecked: boolean, suite: Suite, models: { candidate: { id: string; name: string }; current: { id: string; name: string } }): Promise<EvaluationReport> {
  const rows = await prisma.evaluationPromptResult.findMany({ where: { evaluationId }, select: { itemIndex: true, details: true, currentEmbedding: true } });
  if (rows.length !== suite.items.length) throw new NotFoundError(`evaluation ${evaluationId} has ${rows.length} of ${suite.items.length} prompts answered`);
  const report = buildReport({
    evaluationId,
    suite,
    candidate: models.candidate,
    current: models.current,
    rows: rows.map((r) => ({ itemIndex: r.itemIndex, details: r.details as unknown as PromptDetails, currentEmbedding: r.currentEmbedding })),
    config,
    safetyChecked,
  });
  await prisma.evaluation.update({
    where: { id: evaluationId },
    data: {
      status: report.meetsThreshold ? 'passed' : 'failed',
      meetsThreshold: report.meetsThreshold,
      similarityScore: report.similarity.calibrated,
      results: report as unknown as Prisma.InputJsonValue,
      completedAt: new Date(),
    },
  });
  return report;
}

/** The stored report of an evaluation (undefined while it runs or when there is none). */
export async function loadEvaluationReport(prisma: PrismaClient, evaluationId: string): Promise<EvaluationReport | undefined> {
  const row = await prisma.evaluation.findUnique({ where: { id: evaluationId }, select: { results: true, completedAt: true } });
  return row?.completedAt && row.results ? (row.results as unknown as EvaluationReport) : undefined;
}
