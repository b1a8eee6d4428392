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

/** The paid switch's registry work: plan a ranking (filter, prior, probes, budget), then score and decide, then record the outcome. */
export function createPaidSwitchActivities({ prisma, config, now = () => new Date() }: PaidSwitchActivityDeps) {
  const paid = config.paidModels;

  /** The model in service and its catalog entry (price, shutdown date). */
  async function currentOf(useCaseId: string) {
    const allocation = await getServingAllocation(prisma, useCaseId);
    const id = allocation ? stableModelId(allocation.entries) : undefined;
    if (!id) throw new NotFoundError(`use case "${useCaseId}" has no stable model to compare with (is it in the registry? \`mms usecase sync\`)`);
    const model = await prisma.model.findUniqueOrThrow({ where: { id } });
    return model;
  }

  async function findOrRegister(useCaseId: string, provider: string, upstreamId: string): Promise<string> {
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

  return {
    /**
     * Filters the stored catalog for the use case, scores the cheap prior, registers the top K as
     * candidate models (evaluations compare registry models), builds the probe suite from the use
     * case's logs and opens the run's spending budget with the price of every endpoint it may call.
     */
    async planPaidRanking(input: { useCaseId: string; workflowId: string; scanId?: string; spendingCapUsd?: number; rollout?: { strategy?: string; policy?: RolloutPolicy } }): Promise<PaidRankingPlan> {
      return withHeartbeat(() =>
        failFastOnNotFound(async () => {
          const useCase = config.useCases.find((u) => u.id === input.useCaseId);
          if (!useCase) throw refuse(`use case "${input.useCaseId}" is not in the config (use cases: ${config.useCases.map((u) => u.id).join(', ')})`);
          const catalog = await latestCatalog(prisma, input.scanId ? { scanId: input.scanId } : {});
          if (!catalog) throw refuse('no paid catalog has been scanned yet: run `mms discover` or let the scan schedule run');
          const current = await currentOf(input.useCaseId);
          const at = now();
          const mix = await observedTokenMix(prisma, config, input.useCaseId, paid.ranking.tokenMixDays, at);
          const filters = filtersFor(config, input.useCaseId);
          const entries: RankedEntry[] = catalog.entries.map((e) => ({ ...e, capabilities: e.capabilities as unknown as RankedEntry['capabilities'] }));
          const isCurrent = (e: RankedEntry) => e.provider === current.provider && e.upstreamId === (current.upstreamModel ?? current.modelName);
          const problems = entries.map((e) => (isCurrent(e) ? [] : compatibilityProblems(e, filters)));
          const compatible = entries.filter((e, i) => problems[i]!.length === 0 && !isCurrent(e));
          const priors = priorScores(compatible, mix, at);
          const byPrior = compatible.map((e, i) => ({ e, ...priors[i]! })).sort((a, b) => b.prior - a.prior);
          const top = byPrior.slice(0, paid.ranking.topK);

          // Prices of every endpoint the run may call: the candidates, the model in service, the judge.
          const prices: Record<string, EndpointPrice> = {};
          const priceFor = (provider: string, upstream: string): EndpointPrice | undefined => {
            const configured = config.providers[provider]?.prices[upstream];
            if (configured) return { ...configured, source: `config:providers.${provider}.prices` };
            const entry = entries.find((e) => e.provider === provider && e.upstreamId === upstream);
            return entry ? endpointPrice(entry) : undefined;
          };
          const currentUpstream = current.upstreamModel ?? current.modelName;
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

          const currentEntry = entries.find(isCurrent);
          const shutdownAt = currentEntry?.shutdownAt ?? null;
          const shutdown = shutdownAt && shutdownAt.getTime() - at.getTime() <= paid.shutdownNoticeDays * 86_400_000 ? { at: shutdownAt.toISOString(), source: currentEntry?.shutdownSource ?? null } : null;

          const probes: PlannedProbe[] = [];
          for (const { e, prior } of top) probes.push({ modelId: await findOrRegister(input.useCaseId, e.provider, e.upstreamId), provider: e.provider, upstreamId: e.upstreamId, prior });
          const suite = await buildSuite(prisma, config, input.useCaseId, { sampleSize: paid.ranking.probePrompts, classifier: guardrailsClassifier(config), now: at });
          const rankingId = await openSpendingBudget(prisma, { purpose: `${input.workflowId} ranking`, capUsd: input.spendingCapUsd ?? paid.ranking.spendingCapUsd, prices });

          // The ranking table, stored before any call: every entry, why it is out or where it stands.
          const priorOf = new Map(byPrior.map((p, i) => [keyOf(p.e.provider, p.e.upstreamId), { ...p, position: i }]));
          const rows: StoredRow[] = entries.map((e, i) => {
            const key = keyOf(e.provider, e.upstreamId);
            const p = priorOf.get(key);
            const probe = probes.find((q) => q.provider === e.provider && q.upstreamId === e.upstreamId);
            const price = e.inputPerMTok !== null && e.outputPerMTok !== null ? { inputPerMTok: e.inputPerMTok, outputPerMTok: e.outputPerMTok } : null;
            return {
              rankingId,
              kind: e.kind,
              provider: e.provider,
              upstreamId: e.upstreamId,
              modelId: isCurrent(e) ? current.id : (probe?.modelId ?? null),
              isCurrent: isCurrent(e),
              excluded: problems[i]!,
              prior: p?.prior ?? null,
              priorParts: p?.parts ?? null,
              probe: isCurrent(e) ? 'current' : problems[i]!.length ? 'excluded' : probe ? 'skipped' : 'not_selected',
              costPerRequestUsd: price ? costPerRequest(price, mix) : null,
              inputPerMTok: e.inputPerMTok,
              outputPerMTok: e.outputPerMTok,
              priceSource: e.priceSource,
              contextLength: e.contextLength,
              shutdownAt: e.shutdownAt?.toISOString() ?? null,
              shutdownSource: e.shutdownSource,
            };
          });
          if (!rows.some((r) => r.isCurrent)) {
            rows.push({
              rankingId, kind: current.modelType, provider: current.provider, upstreamId: currentUpstream, modelId: current.id, isCurrent: true, excluded: [], prior: null, priorParts: null, probe: 'current',
              costPerRequestUsd: costPerRequest(currentPrice, mix), inputPerMTok: currentPrice.inputPerMTok, outputPerMTok: currentPrice.outputPerMTok, priceSource: currentPrice.source, contextLength: null, shutdownAt: null, shutdownSource: null,
            });
          }
          await prisma.$transaction(async (tx) => {
            await tx.discoveredCandidate.deleteMany({ where: { useCaseId: input.useCaseId, source: { in: ['openai', 'anthropic', 'google', 'openrouter', 'paid'] } } });
            await tx.discoveredCandidate.createMany({
              data: rows.map((r) => ({ source: ['openai', 'anthropic', 'google', 'openrouter'].includes(r.kind) ? r.kind : 'paid', externalId: keyOf(r.provider, r.upstreamId), useCaseId: input.useCaseId, metadata: { ...r, tokenMix: mix } as unknown as Prisma.InputJsonValue, score: null })),
              skipDuplicates: true,
            });
          }, { timeout: 60_000 });
          return {
            rankingId,
            scanId: catalog.scanId,
            currentModelId: current.id,
            suiteHash: suite.hash,
            suitePrompts: suite.items,
            probes,
            compatible: compatible.length,
            excluded: entries.length - compatible.length - (currentEntry ? 1 : 0),
            shutdown,
            rollout: { strategy: input.rollout?.strategy ?? paid.rolloutStrategy, policy: input.rollout?.policy ?? config.policies.rollout },
          };
        }),
      );
    },

    /**
     * Before a probe: an earlier run of the same evaluation (same candidate, current model and suite)
     * whose answers its spending cap refused keeps those prompts unfinished, so this run asks them
     * again from its own budget; the answers it did buy stay cached. Returns the prompts reopened.
     */
    async reopenCappedEvaluation(input: { evaluationWorkflowId: string }): Promise<number> {
      const evaluation = await prisma.evaluation.findUnique({ where: { requestKey: input.evaluationWorkflowId }, select: { id: true, budgetId: true } });
      if (!evaluation?.budgetId) return 0;
      const budget = await prisma.spendingBudget.findUnique({ where: { id: evaluation.budgetId }, select: { refused: true } });
      if (!budget?.refused) return 0;
      // a refused judge call leaves an unreadable verdict (no error class): reopen those prompts too
      return prisma.$executeRaw`delete from evaluation_prompt_results where evaluation_id = ${evaluation.id}::uuid
        and (details->'candidate'->>'errorClass' = ${SPENDING_CAP_ERROR} or details->'current'->>'errorClass' = ${SPENDING_CAP_ERROR} or details->'judge'->>'preference' = 'invalid')`;
    },

    /** What the run may still spend (the workflow stops probing once nothing is left). */
    async paidRankingSpending(input: { rankingId: string }): Promise<SpendingReport> {
      return failFastOnNotFound(() => spendingReport(prisma, input.rankingId));
    },

    /** Scores the probe evaluations (and the current model on the same evaluations), ranks, decides and records the decision. */
    async decidePaidSwitch(input: { useCaseId: string; rankingId: string; workflowId: string; dryRun: boolean; trigger: PaidSwitchTrigger; probes: ProbeOutcome[]; shutdown: PaidSwitchDecision['shutdown']; currentModelId: string }): Promise<{ decisionId: string; decision: PaidSwitchDecision }> {
      return withHeartbeat(() =>
        failFastOnNotFound(async () => {
          const stored = await prisma.discoveredCandidate.findMany({ where: { useCaseId: input.useCaseId, metadata: { path: ['rankingId'], equals: input.rankingId } } });
          const rows = stored.map((s) => s.metadata as unknown as StoredRow & { tokenMix: TokenMix });
          const mix = rows[0]?.tokenMix ?? (await observedTokenMix(prisma, config, input.useCaseId, paid.ranking.tokenMixDays, now()));
          const measured: MeasuredModel[] = [];
          const capped = async (evaluationId: string, side: 'candidate' | 'current') => {
            const rows = await prisma.$queryRaw<Array<{ n: bigint }>>`select count(*) as n from evaluation_prompt_results where evaluation_id = ${evaluationId}::uuid and details->${side}->>'errorClass' = ${SPENDING_CAP_ERROR}`;
            return Number(rows[0]?.n ?? 0);
          };
          const currentRow = rows.find((r) => r.isCurrent);
          let currentMeasured = false;
          for (const probe of input.probes) {
            if (probe.state !== 'evaluated' || !probe.evaluationId) continue;
            const report = await loadEvaluationReport(prisma, probe.evaluationId);
            const row = rows.find((r) => r.modelId === probe.modelId && !r.isCurrent);
            if (!report || !row) continue;
            measured.push(measuredFromReport(report, 'candidate', probe.modelId, { usd: row.costPerRequestUsd ?? 0, source: row.priceSource ?? 'unknown' }, await capped(probe.evaluationId, 'candidate')));
            if (!currentMeasured && currentRow) {
              // every probe shares the suite and the current model's (cached) answers: the first one measures it
              measured.push(measuredFromReport(report, 'current', input.currentModelId, { usd: currentRow.costPerRequestUsd ?? 0, source: currentRow.priceSource ?? 'unknown' }, await capped(probe.evaluationId, 'current')));
              currentMeasured = true;
            }
          }
          const scores = scoreMeasured(measured, config.policies.ranking.paid, mix);
          const table: RankingRow[] = rows.map((r) => {
            const s = r.modelId ? scores.get(r.modelId) : undefined;
            const outcome = input.probes.find((p) => p.modelId === r.modelId);
            const { rankingId: _r, kind: _k, tokenMix: _t, ...rest } = r as StoredRow & { tokenMix?: TokenMix };
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
          const verdict = decide({ rows: table, currentModelId: input.currentModelId, margin: paid.switchMargin, shutdown: input.shutdown });
          const spending = await spendingReport(prisma, input.rankingId);
          const decision: PaidSwitchDecision = { ...verdict, dryRun: input.dryRun, currentModelId: input.currentModelId, margin: paid.switchMargin, shutdown: input.shutdown, weights: config.policies.ranking.paid, tokenMix: mix, spending, table };
          await prisma.$transaction(async (tx) => {
            for (const r of table.filter((t) => t.score !== null)) {
              await tx.discoveredCandidate.updateMany({ where: { useCaseId: input.useCaseId, externalId: keyOf(r.provider, r.upstreamId), metadata: { path: ['rankingId'], equals: input.rankingId } }, data: { score: r.score, rank: r.rank, scoreBreakdown: r.parts as unknown as Prisma.InputJsonValue } });
            }
          });
          const row = await prisma.optimizationDecision.create({
            data: {
              useCaseId: input.useCaseId,
              decisionType: verdict.decision === 'switch' ? 'deploy_model' : 'none',
              targetModelId: verdict.best?.modelId ?? null,
              currentModelId: input.currentModelId,
              reason: `${input.dryRun ? 'dry run: ' : ''}${verdict.reason}`,
              details: { kind: 'paid_switch', trigger: input.trigger, rankingId: input.rankingId, ...decision } as unknown as Prisma.InputJsonValue,
              status: input.dryRun || verdict.decision === 'keep' ? (verdict.decision === 'switch' ? 'proposed' : 'rejected') : 'executing',
              workflowId: input.workflowId,
            },
          });
          // The workflow history keeps the rows that matter; the full table is in optimization_decisions.details.
          return { decisionId: row.id, decision: { ...decision, table: compactTable(table) } };
        }),
      );
    },

    /** The switch's end: executed (promoted), or failed with the reason (validation, rollback). */
    async finishPaidSwitch(input: { decisionId: string; outcome: string; reason: string }): Promise<void> {
      const row = await prisma.optimizationDecision.findUnique({ where: { id: input.decisionId } });
      if (!row) throw ApplicationFailure.nonRetryable(`decision ${input.decisionId} does not exist`, 'NotFound');
      await prisma.optimizationDecision.update({
        where: { id: input.decisionId },
        data: { status: input.outcome === 'promoted' ? 'executed' : 'failed', executedAt: new Date(), details: { ...(row.details as object), outcome: input.outcome, outcomeReason: input.reason } as Prisma.InputJsonValue },
      });
    },

    /** Use cases whose model shuts down within the notice, per the latest catalog. */
    async paidShutdownNotices(): Promise<Array<{ useCaseId: string; model: string; shutdownAt: string }>> {
      const catalog = await latestCatalog(prisma);
      if (!catalog) return [];
      const at = now();
      const out: Array<{ useCaseId: string; model: string; shutdownAt: string }> = [];
      for (const useCase of config.useCases.filter((u) => u.kind === 'paid')) {
        const allocation = await getServingAllocation(prisma, useCase.id);
        const id = allocation ? stableModelId(allocation.entries) : undefined;
        const model = id ? await prisma.model.findUnique({ where: { id } }) : null;
        if (!model) continue;
        const entry = catalog.entries.find((e) => e.provider === model.provider && e.upstreamId === (model.upstreamModel ?? model.modelName));
        if (entry?.shutdownAt && entry.shutdownAt.getTime() - at.getTime() <= paid.shutdownNoticeDays * 86_400_000) {
          out.push({ useCaseId: useCase.id, model: `${entry.provider}/${entry.upstreamId}`, shutdownAt: entry.shutdownAt.toISOString() });
        }
      }
      return out;
    },
  };
}

/** The rows worth carrying in a workflow history: scored, probed, the current model, and the next 10 by prior. */
export function compactTable(table: RankingRow[]): RankingRow[] {
  const important = table.filter((r) => r.score !== null || r.isCurrent || !['not_selected', 'excluded'].includes(r.probe));
  const next = table.filter((r) => r.probe === 'not_selected').slice(0, 10);
  return [...important, ...next];
}

export type PaidSwitchActivities = ReturnType<typeof createPaidSwitchActivities>;
