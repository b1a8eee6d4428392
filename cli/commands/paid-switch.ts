import type { Command } from 'commander';
import { WorkflowFailedError } from '@temporalio/client';
import { webUiLink } from '../../src/temporal/connection';
import { latestPaidRanking, PaidSwitchRequestError, startPaidSwitch } from '../../clients/paid-switch';
import type { PaidSwitchDecision, PaidSwitchResult, RankingRow } from '../../workflows/paid-switch-messages';
import { CliError, table, type CliContext } from '../context';

/**
 * `mms switch <useCase> [--dry-run] [--wait]` starts (or joins) `paidSwitch:<useCase>`;
 * `mms discover --use-case X` runs the ranking as a dry run and prints the ranked table: score parts,
 * price source, shutdown dates, and the decision the switch would take.
 */
const f3 = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x.toFixed(3));
const usd = (x: number | null) => (x === null ? '-' : `$${x.toPrecision(3)}`);

export function renderRanking(decision: PaidSwitchDecision, options: { provider?: string[]; limit?: number } = {}): string {
  const rows = decision.table.filter((r) => r.isCurrent || !options.provider?.length || options.provider.includes(r.provider));
  const shown = rows.filter((r) => r.probe !== 'excluded').slice(0, options.limit ?? 20);
  const excluded = rows.filter((r) => r.probe === 'excluded').length;
  const note = (r: RankingRow) => [r.isCurrent ? 'current' : r.probe === 'not_selected' ? `prior ${f3(r.prior)}, not probed` : r.probe, ...r.notes].join('; ');
  const s = decision.spending;
  return [
    table([
      ['RANK', 'PROVIDER', 'MODEL', 'SCORE', 'PERF', 'COST', 'LATENCY', 'QUALITY', '$/REQUEST', 'PRICE SOURCE', 'SHUTDOWN', 'NOTE'],
      ...shown.map((r) => [
        r.rank ?? '-',
        r.provider,
        r.upstreamId,
        f3(r.score),
        f3(r.parts?.performance.value),
        f3(r.parts?.costEfficiency.value),
        f3(r.parts?.latency.value),
        f3(r.parts?.quality.value),
        usd(r.costPerRequestUsd),
        r.priceSource ?? '-',
        r.shutdownAt ? `${r.shutdownAt.slice(0, 10)} (${r.shutdownSource})` : '-',
        note(r),
      ]),
    ]),
    `${excluded} model(s) left out by the compatibility filters (--json lists each with its reasons; the score parts' sources too)`,
    `weights: performance ${decision.weights.performanceScore}, cost ${decision.weights.costEfficiency}, latency ${decision.weights.latency}, quality ${decision.weights.qualityMetrics}; token mix: ${Math.round(decision.tokenMix.inputTokens)} in / ${Math.round(decision.tokenMix.outputTokens)} out (${decision.tokenMix.source})`,
    s ? `spending: $${s.spentUsd.toFixed(6)} of the $${s.capUsd} cap, ${s.calls} call(s), ${s.refused} refused by the cap` : '',
    `decision: ${decision.decision}${decision.dryRun ? ' (dry run)' : ''}: ${decision.reason}`,
  ]
    .filter(Boolean)
    .join('\n');
}

async function runSwitch(c: CliContext, useCaseId: string, opts: { dryRun: boolean; wait: boolean; spendingCap?: string }): Promise<PaidSwitchResult | undefined> {
  const config = c.config();
  const spendingCapUsd = opts.spendingCap === undefined ? undefined : Number(opts.spendingCap);
  if (spendingCapUsd !== undefined && !Number.isFinite(spendingCapUsd)) throw new CliError('--spending-cap: must be a number of USD', 2);
  let started;
  try {
    started = await startPaidSwitch(await c.temporal(), config, { useCaseId, dryRun: opts.dryRun, requestedBy: 'cli', ...(spendingCapUsd !== undefined ? { spendingCapUsd } : {}) });
  } catch (err) {
    if (err instanceof PaidSwitchRequestError) throw new CliError(err.message, 2);
    throw err;
  }
  const id = started.handle.workflowId;
  c.progress(`${started.joined ? 'joined the running' : 'started'} ${id}\n  ${webUiLink(config, id)}`);
  if (!opts.wait) return undefined;
  try {
    return await started.handle.result();
  } catch (err) {
    if (err instanceof WorkflowFailedError) throw new CliError(`${id} failed: ${(err.cause as Error | undefined)?.message ?? err.message}`);
    throw err;
  }
}

/** `mms discover --use-case X`: the ranked table of a dry-run switch (scan, filter, probe, score). */
export async function discoverRanked(c: CliContext, useCaseId: string, opts: { provider?: string[]; limit?: string }) {
  const result = await runSwitch(c, useCaseId, { dryRun: true, wait: true });
  const ranking = await latestPaidRanking(await c.prisma(), useCaseId);
  const decision = ranking?.decision ?? result!.decision;
  c.print({ useCase: useCaseId, decisionId: result!.decisionId, ...decision }, () => renderRanking(decision, { provider: opts.provider, limit: Number(opts.limit ?? 20) || 20 }));
}

export function registerPaidSwitchCommands(program: Command, ctx: () => CliContext) {
  program
    .command('switch <useCase>')
    .description('paid models: scan, rank on the use case\'s logged prompts, and switch to the best when it beats the current model by the margin (validate, shadow, canary, promote)')
    .option('--dry-run', 'record the decision and its ranking table; change nothing else')
    .option('--wait', 'wait for the switch to end and print its outcome')
    .option('--spending-cap <usd>', 'this run\'s cap on provider calls (default paidModels.ranking.spendingCapUsd)')
    .action(async (useCaseId: string, opts: { dryRun?: boolean; wait?: boolean; spendingCap?: string }) => {
      const c = ctx();
      const result = await runSwitch(c, useCaseId, { dryRun: Boolean(opts.dryRun), wait: Boolean(opts.wait), ...(opts.spendingCap !== undefined ? { spendingCap: opts.spendingCap } : {}) });
      if (!result) {
        c.print({ workflowId: `paidSwitch:${useCaseId}` }, () => `paidSwitch:${useCaseId} running (mms switch ${useCaseId} --wait joins it)`);
        return;
      }
      c.print(result, () => [renderRanking(result.decision), `outcome: ${result.outcome}: ${result.reason}`].join('\n'));
      if (result.outcome === 'rolled_back' || result.outcome === 'validation_failed') throw new CliError(`the switch did not complete: ${result.outcome}`, 1);
    });
}
