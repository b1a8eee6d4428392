import { ApplicationFailure } from '@temporalio/activity';
import type { Prisma, PrismaClient } from '@prisma/client';
import type { MmsConfig, RolloutPolicy } from '../src/config/schema';
import { latestCatalog } from '../src/discovery/paid-catalog';
import {
  compatibilityProblems,
  decide,
  endpointPrice,
  filtersFor,
  measuredFromReport,
  observedTokenMix,
  priorScores,
  scoreMeasured,
  costPerRequest,
  type MeasuredModel,
  type PaidSwitchDecision,
  type PaidSwitchTrigger,
  type RankedEntry,
  type RankingRow,
  type TokenMix,
} from '../src/discovery/paid-ranking';
import { openSpendingBudget, spendingReport, SPENDING_CAP_ERROR, type EndpointPrice, type SpendingReport } from '../src/evaluation';
import { buildSuite } from '../src/evaluation/suite';
import { loadEvaluationReport } from '../src/evaluation/report';
import { guardrailsClassifier } from '../src/evaluation/deps';
import { getServingAllocation, NotFoundError, stableModelId } from '../src/registry/allocations';
import { registerModel, DuplicateModelError } from '../src/registry/models';
import { useCaseCopyName } from '../src/registry/use-cases';
import { failFastOnNotFound, withHeartbeat } from './registry';

export interface PaidSwitchActivityDeps {
  prisma: PrismaClient;
  config: MmsConfig;
  now?: () => Date;
}

export interface PlannedProbe {
  modelId: string;
  provider: string;
  upstreamId: string;
  prior: number;
}

export interface PaidRankingPlan {
  rankingId: string;
  scanId: string;
  currentModelId: string;
  suiteHash: string;
  suitePrompts: number;
  probes: PlannedProbe[];
  compatible: number;
  excluded: number;
  shutdown: PaidSwitchDecision['shutdown'];
  rollout: { strategy: string; policy: RolloutPolicy };
}

export interface ProbeOutcome {
  modelId: string;
  state: 'evaluated' | 'failed' | 'skipped';
  evaluationId?: string;
  detail?: string;
}

/** The stored plan of a ranking run: every catalog entry of the scan as the ranking saw it, in discovered_candidates.metadata. */
interface StoredRow extends Omit<RankingRow, 'rank' | 'score' | 'parts' | 'eligible' | 'notes' | 'evaluationId'> {
  rankingId: string;
  kind: string;
}

const refuse = (message: string) => ApplicationFailure.nonRetryable(message, 'PaidSwitchRefused');
const keyOf = (provider: string, upstreamId: string) => `${provider}/${upstreamId}`;
const DAY_MS = 86_400_000;

/** The dependencies every paid-switch step works over (the factory's, with the clock resolved). */
type Deps = Required<PaidSwitchActivityDeps>;
type CurrentModel = Awaited<ReturnType<typeof currentOf>>;

export interface PlanPaidRankingInput {
  useCaseId: string;
  workflowId: string;
  scanId?: string;
  spendingCapUsd?: number;
  rollout?: { strategy?: string; policy?: RolloutPolicy };
}

export interface DecidePaidSwitchInput {
  useCaseId: string;
  rankingId: string;
  workflowId: string;
  dryRun: boolean;
  trigger: PaidSwitchTrigger;
  probes: ProbeOutcome[];
  shutdown: PaidSwitchDecision['shutdown'];
  currentModelId: string;
}

/** The model in service and its catalog entry (price, shutdown date). */
async function currentOf(prisma: PrismaClient, useCaseId: string) {
  const allocation = await getServingAllocation(prisma, useCaseId);
  const id = allocation ? stableModelId(allocation.entries) : undefined;
  if (!id) throw new NotFoundError(`use case "${useCaseId}" has no stable model to compare with (is it in the registry? \`mms usecase sync\`)`);
  return prisma.model.findUniqueOrThrow({ where: { id } });
}

const upstreamOf = (model: CurrentModel) => model.upstreamModel ?? model.modelName;

/** The candidate model of a catalog entry for the use case: the one registered on an earlier run, or a new `candidate` row. */
async function findOrRegister({ prisma, config }: Deps, useCaseId: string, provider: string, upstreamId: string): Promise<string> {
  const existing = await prisma.model.findFirst({ where: { useCase: useCaseId, provider, upstreamModel: upstreamId }, orderBy: { createdAt: 'desc' } });
  if (existing) return existing.id;
  const name = useCaseCopyName(upstreamId.split('/').pop()!, useCaseId);
  for (const version of ['1', `paid-${provider}`]) {
    try {
      const created = await registerModel(prisma, config, { useCaseId, provider, upstreamModel: upstreamId, name, version, status: 'candidate', registeredBy: 'paid-switch' });
      await prisma.model.update({ where: { id: created.id }, data: { configuration: { ...(created.configuration as object), source: 'paid_discovery' } as Prisma.InputJsonValue } });
      return created.id;
    } catch (err) {
      if (!(err instanceof DuplicateModelError)) throw err;
    }
  }
  throw refuse(`could not register ${provider}/${upstreamId} for "${useCaseId}": the names ${name}@1 and ${name}@paid-${provider} are taken by other models`);
}

/** The catalog as the use case sees it: why each entry is out (the model in service never is), the compatible ones by prior, the top K. */
function filterAndPrior(config: MmsConfig, useCaseId: string, entries: RankedEntry[], isCurrent: (e: RankedEntry) => boolean, mix: TokenMix, at: Date) {
  const filters = filtersFor(config, useCaseId);
  const problems = entries.map((e) => (isCurrent(e) ? [] : compatibilityProblems(e, filters)));
  const compatible = entries.filter((e, i) => problems[i]!.length === 0 && !isCurrent(e));
  const priors = priorScores(compatible, mix, at);
  const byPrior = compatible.map((e, i) => ({ e, ...priors[i]! })).sort((a, b) => b.prior - a.prior);
  return { problems, compatible, byPrior, top: byPrior.slice(0, config.paidModels.ranking.topK) };
}

/**
 * Prices of every endpoint the run may call — the candidates, the model in service, the judge — for
 * its spending budget. An endpoint without a price refuses the run: its calls could not be held to the cap.
 */
function endpointPrices(config: MmsConfig, entries: RankedEntry[], current: CurrentModel, top: Array<{ e: RankedEntry }>): { prices: Record<string, EndpointPrice>; currentPrice: EndpointPrice } {
  const prices: Record<string, EndpointPrice> = {};
  const priceFor = (provider: string, upstream: string): EndpointPrice | undefined => {
    const configured = config.providers[provider]?.prices[upstream];
    if (configured) return { ...configured, source: `config:providers.${provider}.prices` };
    const entry = entries.find((e) => e.provider === provider && e.upstreamId === upstream);
    return entry ? endpointPrice(entry) : undefined;
  };
  const currentUpstream = upstreamOf(current);
  const currentPrice = current.provider ? priceFor(current.provider, currentUpstream) : undefined;
  if (!current.provider || !currentPrice) {
    throw refuse(`the current model ${current.modelName} (${current.provider ?? 'no provider'}/${currentUpstream}) has no price in the catalog or in providers.${current.provider}.prices: its calls cannot be costed or held to the spending cap`);
  }
  prices[keyOf(current.provider, currentUpstream)] = currentPrice;
  const judge = config.policies.testing.judge;
  if (judge) {
    const judgePrice = priceFor(judge.provider, judge.model);
    if (!judgePrice) throw refuse(`the judge ${judge.provider}/${judge.model} has no price in the catalog or in providers.${judge.provider}.prices: its calls cannot be held to the spending cap`);
    prices[keyOf(judge.provider, judge.model)] = judgePrice;
  }
  for (const { e } of top) prices[keyOf(e.provider, e.upstreamId)] = endpointPrice(e)!;
  return { prices, currentPrice };
}

/** The current model's shutdown date when it falls within paidModels.shutdownNoticeDays (the margin is then waived). */
function shutdownWithinNotice(config: MmsConfig, currentEntry: RankedEntry | undefined, at: Date): PaidSwitchDecision['shutdown'] {
  const shutdownAt = currentEntry?.shutdownAt ?? null;
  return shutdownAt && shutdownAt.getTime() - at.getTime() <= config.paidModels.shutdownNoticeDays * DAY_MS ? { at: shutdownAt.toISOString(), source: currentEntry?.shutdownSource ?? null } : null;
}

interface RankingTableInput {
  rankingId: string;
  entries: RankedEntry[];
  problems: string[][];
  byPrior: Array<{ e: RankedEntry; prior: number; parts: RankingRow['priorParts'] }>;
  probes: PlannedProbe[];
  isCurrent: (e: RankedEntry) => boolean;
  current: CurrentModel;
  currentPrice: EndpointPrice;
  mix: TokenMix;
}

/** The ranking table before any call: every catalog entry, why it is out or where it stands by prior; the model in service always in it. */
function rankingTable(t: RankingTableInput): StoredRow[] {
  const priorOf = new Map(t.byPrior.map((p, i) => [keyOf(p.e.provider, p.e.upstreamId), { ...p, position: i }]));
  const rows: StoredRow[] = t.entries.map((e, i) => {
    const p = priorOf.get(keyOf(e.provider, e.upstreamId));
    const probe = t.probes.find((q) => q.provider === e.provider && q.upstreamId === e.upstreamId);
    const price = e.inputPerMTok !== null && e.outputPerMTok !== null ? { inputPerMTok: e.inputPerMTok, outputPerMTok: e.outputPerMTok } : null;
    const current = t.isCurrent(e);
    return {
      rankingId: t.rankingId,
      kind: e.kind,
      provider: e.provider,
      upstreamId: e.upstreamId,
      modelId: current ? t.current.id : (probe?.modelId ?? null),
      isCurrent: current,
      excluded: t.problems[i]!,
      prior: p?.prior ?? null,
      priorParts: p?.parts ?? null,
      probe: current ? 'current' : t.problems[i]!.length ? 'excluded' : probe ? 'skipped' : 'not_selected',
      costPerRequestUsd: price ? costPerRequest(price, t.mix) : null,
      inputPerMTok: e.inputPerMTok,
      outputPerMTok: e.outputPerMTok,
      priceSource: e.priceSource,
      contextLength: e.contextLength,
      shutdownAt: e.shutdownAt?.toISOString() ?? null,
      shutdownSource: e.shutdownSource,
    };
  });
  if (!rows.some((r) => r.isCurrent)) {
    const { current, currentPrice } = t;
    rows.push({
      // endpointPrices refused a current model without a provider, so it has one here
      rankingId: t.rankingId, kind: current.modelType, provider: current.provider!, upstreamId: upstreamOf(current), modelId: current.id, isCurrent: true, excluded: [], prior: null, priorParts: null, probe: 'current',
      costPerRequestUsd: costPerRequest(currentPrice, t.mix), inputPerMTok: currentPrice.inputPerMTok, outputPerMTok: currentPrice.outputPerMTok, priceSource: currentPrice.source, contextLength: null, shutdownAt: null, shutdownSource: null,
    });
  }
  return rows;
}

const PAID_SOURCES = ['openai', 'anthropic', 'google', 'openrouter'];

/** Replaces the use case's paid discovered_candidates with this run's table (each row carries the run's id and token mix). */
async function storeRankingTable(prisma: PrismaClient, useCaseId: string, rows: StoredRow[], mix: TokenMix): Promise<void> {
  await prisma.$transaction(async (tx) => {
    await tx.discoveredCandidate.deleteMany({ where: { useCaseId, source: { in: [...PAID_SOURCES, 'paid'] } } });
    await tx.discoveredCandidate.createMany({
      data: rows.map((r) => ({ source: PAID_SOURCES.includes(r.kind) ? r.kind : 'paid', externalId: keyOf(r.provider, r.upstreamId), useCaseId, metadata: { ...r, tokenMix: mix } as unknown as Prisma.InputJsonValue, score: null })),
      skipDuplicates: true,
    });
  }, { timeout: 60_000 });
}

/**
 * Filters the stored catalog for the use case, scores the cheap prior, registers the top K as
 * candidate models (evaluations compare registry models), builds the probe suite from the use
 * case's logs and opens the run's spending budget with the price of every endpoint it may call.
 */
async function planPaidRanking(d: Deps, input: PlanPaidRankingInput): Promise<PaidRankingPlan> {
  const { prisma, config } = d;
  const paid = config.paidModels;
  if (!config.useCases.some((u) => u.id === input.useCaseId)) throw refuse(`use case "${input.useCaseId}" is not in the config (use cases: ${config.useCases.map((u) => u.id).join(', ')})`);
  const catalog = await latestCatalog(prisma, input.scanId ? { scanId: input.scanId } : {});
  if (!catalog) throw refuse('no paid catalog has been scanned yet: run `mms discover` or let the scan schedule run');
  const current = await currentOf(prisma, input.useCaseId);
  const at = d.now();
  const mix = await observedTokenMix(prisma, config, input.useCaseId, paid.ranking.tokenMixDays, at);
  const entries: RankedEntry[] = catalog.entries.map((e) => ({ ...e, capabilities: e.capabilities as unknown as RankedEntry['capabilities'] }));
  const isCurrent = (e: RankedEntry) => e.provider === current.provider && e.upstreamId === upstreamOf(current);
  const { problems, compatible, byPrior, top } = filterAndPrior(config, input.useCaseId, entries, isCurrent, mix, at);
  const { prices, currentPrice } = endpointPrices(config, entries, current, top);
  const currentEntry = entries.find(isCurrent);

  const probes: PlannedProbe[] = [];
  for (const { e, prior } of top) probes.push({ modelId: await findOrRegister(d, input.useCaseId, e.provider, e.upstreamId), provider: e.provider, upstreamId: e.upstreamId, prior });
  const suite = await buildSuite(prisma, config, input.useCaseId, { sampleSize: paid.ranking.probePrompts, classifier: guardrailsClassifier(config), now: at });
  const rankingId = await openSpendingBudget(prisma, { purpose: `${input.workflowId} ranking`, capUsd: input.spendingCapUsd ?? paid.ranking.spendingCapUsd, prices });
  await storeRankingTable(prisma, input.useCaseId, rankingTable({ rankingId, entries, problems, byPrior, probes, isCurrent, current, currentPrice, mix }), mix);
  return {
    rankingId,
    scanId: catalog.scanId,
    currentModelId: current.id,
    suiteHash: suite.hash,
    suitePrompts: suite.items,
    probes,
    compatible: compatible.length,
    excluded: entries.length - compatible.length - (currentEntry ? 1 : 0),
    shutdown: shutdownWithinNotice(config, currentEntry, at),
    rollout: { strategy: input.rollout?.strategy ?? paid.rolloutStrategy, policy: input.rollout?.policy ?? config.policies.rollout },
  };
}

/**
 * Before a probe: an earlier run of the same evaluation (same candidate, current model and suite)
 * whose answers its spending cap refused keeps those prompts unfinished, so this run asks them
 * again from its own budget; the answers it did buy stay cached. Returns the prompts reopened.
 */
async function reopenCappedEvaluation(prisma: PrismaClient, input: { evaluationWorkflowId: string }): Promise<number> {
  const evaluation = await prisma.evaluation.findUnique({ where: { requestKey: input.evaluationWorkflowId }, select: { id: true, budgetId: true } });
  if (!evaluation?.budgetId) return 0;
  const budget = await prisma.spendingBudget.findUnique({ where: { id: evaluation.budgetId }, select: { refused: true } });
  if (!budget?.refused) return 0;
  // a refused judge call leaves an unreadable verdict (no error class): reopen those prompts too
  return prisma.$executeRaw`delete from evaluation_prompt_results where evaluation_id = ${evaluation.id}::uuid
    and (details->'candidate'->>'errorClass' = ${SPENDING_CAP_ERROR} or details->'current'->>'errorClass' = ${SPENDING_CAP_ERROR} or details->'judge'->>'preference' = 'invalid')`;
}

type StoredRowWithMix = StoredRow & { tokenMix: TokenMix };

/** Answers of one side of an evaluation the spending cap refused. */
async function cappedAnswers(prisma: PrismaClient, evaluationId: string, side: 'candidate' | 'current'): Promise<number> {
  const rows = await prisma.$queryRaw<Array<{ n: bigint }>>`select count(*) as n from evaluation_prompt_results where evaluation_id = ${evaluationId}::uuid and details->${side}->>'errorClass' = ${SPENDING_CAP_ERROR}`;
  return Number(rows[0]?.n ?? 0);
}

/** Each evaluated candidate's measurements, and the current model's from the first evaluation (every probe shares the suite and its cached answers). */
async function measureProbes(prisma: PrismaClient, rows: StoredRowWithMix[], input: DecidePaidSwitchInput): Promise<MeasuredModel[]> {
  const measured: MeasuredModel[] = [];
  const currentRow = rows.find((r) => r.isCurrent);
  let currentMeasured = false;
  for (const probe of input.probes) {
    if (probe.state !== 'evaluated' || !probe.evaluationId) continue;
    const report = await loadEvaluationReport(prisma, probe.evaluationId);
    const row = rows.find((r) => r.modelId === probe.modelId && !r.isCurrent);
    if (!report || !row) continue;
    measured.push(measuredFromReport(report, 'candidate', probe.modelId, { usd: row.costPerRequestUsd ?? 0, source: row.priceSource ?? 'unknown' }, await cappedAnswers(prisma, probe.evaluationId, 'candidate')));
    if (!currentMeasured && currentRow) {
      measured.push(measuredFromReport(report, 'current', input.currentModelId, { usd: currentRow.costPerRequestUsd ?? 0, source: currentRow.priceSource ?? 'unknown' }, await cappedAnswers(prisma, probe.evaluationId, 'current')));
      currentMeasured = true;
    }
  }
  return measured;
}

/** The stored table with each row's score, parts, eligibility and notes, ranked (scored first, then by prior). */
function scoredTable(rows: StoredRowWithMix[], scores: ReturnType<typeof scoreMeasured>, measured: MeasuredModel[], probes: ProbeOutcome[]): RankingRow[] {
  const table: RankingRow[] = rows.map((r) => {
    const s = r.modelId ? scores.get(r.modelId) : undefined;
    const outcome = probes.find((p) => p.modelId === r.modelId);
    const { rankingId: _r, kind: _k, tokenMix: _t, ...rest } = r;
    return {
      ...rest,
      probe: r.isCurrent ? 'current' : outcome ? outcome.state : r.probe,
      evaluationId: outcome?.evaluationId ?? (r.isCurrent ? (measured.find((m) => m.isCurrent)?.evaluationId ?? null) : null),
      rank: null,
      score: s?.score ?? null,
      parts: s?.parts ?? null,
      eligible: !r.isCurrent && (s?.eligible ?? false),
      notes: [...(s?.notes ?? []), ...(outcome?.detail ? [outcome.detail] : [])],
    };
  });
  table.sort((a, b) => (b.score ?? -1) - (a.score ?? -1) || (b.prior ?? -1) - (a.prior ?? -1) || a.upstreamId.localeCompare(b.upstreamId));
  let rank = 0;
  for (const r of table) if (r.score !== null) r.rank = ++rank;
  return table;
}

/** The scores into discovered_candidates and the decision (with its full table) into optimization_decisions. */
async function recordPaidDecision(prisma: PrismaClient, input: DecidePaidSwitchInput, decision: PaidSwitchDecision): Promise<string> {
  await prisma.$transaction(async (tx) => {
    for (const r of decision.table.filter((t) => t.score !== null)) {
      await tx.discoveredCandidate.updateMany({ where: { useCaseId: input.useCaseId, externalId: keyOf(r.provider, r.upstreamId), metadata: { path: ['rankingId'], equals: input.rankingId } }, data: { score: r.score, rank: r.rank, scoreBreakdown: r.parts as unknown as Prisma.InputJsonValue } });
    }
  });
  const row = await prisma.optimizationDecision.create({
    data: {
      useCaseId: input.useCaseId,
      decisionType: decision.decision === 'switch' ? 'deploy_model' : 'none',
      targetModelId: decision.best?.modelId ?? null,
      currentModelId: input.currentModelId,
      reason: `${input.dryRun ? 'dry run: ' : ''}${decision.reason}`,
      details: { kind: 'paid_switch', trigger: input.trigger, rankingId: input.rankingId, ...decision } as unknown as Prisma.InputJsonValue,
      status: input.dryRun || decision.decision === 'keep' ? (decision.decision === 'switch' ? 'proposed' : 'rejected') : 'executing',
      workflowId: input.workflowId,
    },
  });
  return row.id;
}

/** Scores the probe evaluations (and the current model on the same evaluations), ranks, decides and records the decision. */
async function decidePaidSwitch(d: Deps, input: DecidePaidSwitchInput): Promise<{ decisionId: string; decision: PaidSwitchDecision }> {
  const { prisma, config } = d;
  const stored = await prisma.discoveredCandidate.findMany({ where: { useCaseId: input.useCaseId, metadata: { path: ['rankingId'], equals: input.rankingId } } });
  const rows = stored.map((s) => s.metadata as unknown as StoredRowWithMix);
  const mix = rows[0]?.tokenMix ?? (await observedTokenMix(prisma, config, input.useCaseId, config.paidModels.ranking.tokenMixDays, d.now()));
  const measured = await measureProbes(prisma, rows, input);
  const table = scoredTable(rows, scoreMeasured(measured, config.policies.ranking.paid, mix), measured, input.probes);
  const margin = config.paidModels.switchMargin;
  const verdict = decide({ rows: table, currentModelId: input.currentModelId, margin, shutdown: input.shutdown });
  const spending = await spendingReport(prisma, input.rankingId);
  const decision: PaidSwitchDecision = { ...verdict, dryRun: input.dryRun, currentModelId: input.currentModelId, margin, shutdown: input.shutdown, weights: config.policies.ranking.paid, tokenMix: mix, spending, table };
  const decisionId = await recordPaidDecision(prisma, input, decision);
  // The workflow history keeps the rows that matter; the full table is in optimization_decisions.details.
  return { decisionId, decision: { ...decision, table: compactTable(table) } };
}

/** The switch's end: executed (promoted), or failed with the reason (validation, rollback). */
async function finishPaidSwitch(prisma: PrismaClient, input: { decisionId: string; outcome: string; reason: string }): Promise<void> {
  const row = await prisma.optimizationDecision.findUnique({ where: { id: input.decisionId } });
  if (!row) throw ApplicationFailure.nonRetryable(`decision ${input.decisionId} does not exist`, 'NotFound');
  await prisma.optimizationDecision.update({
    where: { id: input.decisionId },
    data: { status: input.outcome === 'promoted' ? 'executed' : 'failed', executedAt: new Date(), details: { ...(row.details as object), outcome: input.outcome, outcomeReason: input.reason } as Prisma.InputJsonValue },
  });
}

/** Use cases whose model shuts down within the notice, per the latest catalog. */
async function paidShutdownNotices({ prisma, config, now }: Deps): Promise<Array<{ useCaseId: string; model: string; shutdownAt: string }>> {
  const catalog = await latestCatalog(prisma);
  if (!catalog) return [];
  const at = now();
  const out: Array<{ useCaseId: string; model: string; shutdownAt: string }> = [];
  for (const useCase of config.useCases.filter((u) => u.kind === 'paid')) {
    const allocation = await getServingAllocation(prisma, useCase.id);
    const id = allocation ? stableModelId(allocation.entries) : undefined;
    const model = id ? await prisma.model.findUnique({ where: { id } }) : null;
    if (!model) continue;
    const entry = catalog.entries.find((e) => e.provider === model.provider && e.upstreamId === upstreamOf(model));
    if (entry?.shutdownAt && entry.shutdownAt.getTime() - at.getTime() <= config.paidModels.shutdownNoticeDays * DAY_MS) {
      out.push({ useCaseId: useCase.id, model: `${entry.provider}/${entry.upstreamId}`, shutdownAt: entry.shutdownAt.toISOString() });
    }
  }
  return out;
}

/** The paid switch's registry work: plan a ranking (filter, prior, probes, budget), then score and decide, then record the outcome. */
export function createPaidSwitchActivities({ prisma, config, now = () => new Date() }: PaidSwitchActivityDeps) {
  const d: Deps = { prisma, config, now };
  return {
    planPaidRanking: (input: PlanPaidRankingInput): Promise<PaidRankingPlan> => withHeartbeat(() => failFastOnNotFound(() => planPaidRanking(d, input))),
    reopenCappedEvaluation: (input: { evaluationWorkflowId: string }): Promise<number> => reopenCappedEvaluation(prisma, input),
    /** What the run may still spend (the workflow stops probing once nothing is left). */
    paidRankingSpending: (input: { rankingId: string }): Promise<SpendingReport> => failFastOnNotFound(() => spendingReport(prisma, input.rankingId)),
    decidePaidSwitch: (input: DecidePaidSwitchInput): Promise<{ decisionId: string; decision: PaidSwitchDecision }> => withHeartbeat(() => failFastOnNotFound(() => decidePaidSwitch(d, input))),
    finishPaidSwitch: (input: { decisionId: string; outcome: string; reason: string }): Promise<void> => finishPaidSwitch(prisma, input),
    paidShutdownNotices: (): Promise<Array<{ useCaseId: string; model: string; shutdownAt: string }>> => paidShutdownNotices(d),
  };
}

/** The rows worth carrying in a workflow history: scored, probed, the current model, and the next 10 by prior. */
export function compactTable(table: RankingRow[]): RankingRow[] {
  const important = table.filter((r) => r.score !== null || r.isCurrent || !['not_selected', 'excluded'].includes(r.probe));
  const next = table.filter((r) => r.probe === 'not_selected').slice(0, 10);
  return [...important, ...next];
}

export type PaidSwitchActivities = ReturnType<typeof createPaidSwitchActivities>;
