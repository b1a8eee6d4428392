import type { Command } from 'commander';
import { WorkflowFailedError } from '@temporalio/client';
import { discoverHuggingFace, discoverOllama, rankCandidates } from '../../src/discovery/self-hosted';
import { NoPipelineError, PipelineAlreadyRunningError, PipelineRequestError, cancelPipeline, pipelineSettings, readPipeline, renderPipeline, startPipeline } from '../../clients/pipeline';
import { webUiLink } from '../../src/temporal/connection';
import { CliError, table, type CliContext } from '../context';
import { discoverPaid } from './discover-paid';
import { discoverRanked } from './paid-switch';

/**
 * `mms pipeline start|status|cancel <useCase>` (discover → download → copy → dataset → train → test
 * until as good → serve → roll out, as `pipeline:<useCase>`), and `mms discover --self-hosted`.
 */

const requestedBy = () => `cli:${process.env.USER ?? 'unknown'}`;

function parseRepo(value: string | undefined): { repo: string; revision: string } | undefined {
  if (value === undefined) return undefined;
  const m = /^([\w.-]+\/[\w.-]+)(?:@([\w./-]+))?$/.exec(value);
  if (!m) throw new CliError(`--base must be owner/name[@revision], got "${value}"`, 2);
  return { repo: m[1]!, revision: m[2] ?? 'main' };
}

export function registerPipelineCommands(program: Command, ctx: () => CliContext) {
  const pipeline = program.command('pipeline').description('self-hosted pipeline of a use case: discover, download, fine-tune a use-case copy on the GPU worker, test until as good, deploy');

  pipeline
    .command('start <useCase>')
    .description('start pipeline:<useCase>')
    .option('--base <owner/name[@revision]>', 'use this Hugging Face repository as the base instead of the ranking\'s choice')
    .option('--wait', 'wait until the pipeline ends; exit 1 if it fails')
    .action(async (useCase: string, opts: { base?: string; wait?: boolean }) => {
      const c = ctx();
      const config = c.config();
      const client = await c.temporal();
      let started;
      try {
        started = await startPipeline(client, config, { useCaseId: useCase, baseRepo: parseRepo(opts.base), requestedBy: requestedBy() });
      } catch (err) {
        if (err instanceof PipelineRequestError) throw new CliError(err.message, 2);
        if (err instanceof PipelineAlreadyRunningError) throw new CliError(err.message);
        throw err;
      }
      const link = webUiLink(config, started.workflowId, started.runId);
      if (!opts.wait) {
        c.print({ workflowId: started.workflowId, runId: started.runId, webUi: link }, () => `pipeline started: ${started.workflowId}\n${link}\nfollow it with \`mms pipeline status ${useCase}\``);
        return;
      }
      c.progress(`pipeline started: ${started.workflowId}\n${link}`);
      try {
        const result = await started.handle.result();
        c.print(result, () => result.copies.map((copy) => `${copy.copyName}: ${copy.outcome} after ${copy.attempts.length} training attempt(s) — ${copy.rolloutReason}`).join('\n'));
      } catch (err) {
        if (err instanceof WorkflowFailedError) throw new CliError(`pipeline of "${useCase}" failed: ${(err.cause?.cause as Error | undefined)?.message ?? err.cause?.message ?? err.message}`);
        throw err;
      }
    });

  pipeline
    .command('status <useCase>')
    .description('phase, candidates, download progress, training step / loss / eval loss, attempts, serving and rollout')
    .action(async (useCase: string) => {
      const c = ctx();
      try {
        const reading = await readPipeline(await c.temporal(), useCase);
        c.print(reading, () => renderPipeline(reading));
      } catch (err) {
        if (err instanceof NoPipelineError) throw new CliError(err.message);
        throw err;
      }
    });

  pipeline
    .command('cancel <useCase>')
    .description('cancel pipeline:<useCase>: a running download or training stops (its checkpoint stays on disk)')
    .action(async (useCase: string) => {
      const c = ctx();
      try {
        await cancelPipeline(await c.temporal(), useCase);
      } catch (err) {
        if (err instanceof NoPipelineError) throw new CliError(err.message);
        throw err;
      }
      c.print({ cancelled: true, workflowId: `pipeline:${useCase}` }, () => `cancellation requested: pipeline:${useCase}`);
    });

  program
    .command('discover')
    .description('paid models: scan OpenAI, Anthropic, Google and OpenRouter, store and print the catalog (prices with their source, shutdown dates, changes since the last scan); with --use-case: ranked for that use case on its logged prompts (a dry-run paidSwitch); --self-hosted: discover and rank self-hosted candidates')
    .option('--self-hosted', 'Hugging Face text-generation models and the Ollama node, ranked with policies.ranking.selfHosted')
    .option('--provider <id...>', 'paid: only these providers of the config (OpenRouter is still read for prices)')
    .option('--use-case <id>', 'paid: rank the catalog for this use case (filters, probes on its logged prompts, score parts); --self-hosted: the use case whose settings pick the sources')
    .option('--limit <n>', 'rows to show (paid: all by default)')
    .action(async (opts: { selfHosted?: boolean; provider?: string[]; useCase?: string; limit?: string }) => {
      const c = ctx();
      if (!opts.selfHosted) {
        if (opts.useCase) return discoverRanked(c, opts.useCase, opts);
        return discoverPaid(c, opts);
      }
      if (opts.provider) throw new CliError('--provider is for paid discovery (without --self-hosted)', 2);
      const config = c.config();
      const useCase = opts.useCase ?? config.useCases.find((u) => u.kind === 'self_hosted')?.id;
      if (!useCase) throw new CliError('no self_hosted use case is configured', 2);
      let settings;
      try {
        settings = pipelineSettings(config, useCase);
      } catch (err) {
        if (err instanceof PipelineRequestError) throw new CliError(err.message, 2);
        throw err;
      }
      const d = settings.discovery;
      const hfToken = d.huggingface?.tokenEnv ? process.env[d.huggingface.tokenEnv] : undefined;
      const sources = await Promise.allSettled([
        d.huggingface ? discoverHuggingFace({ hubUrl: d.huggingface.hubUrl, limit: d.huggingface.limit, ...(hfToken ? { accessToken: hfToken } : {}) }) : Promise.resolve([]),
        d.ollama ? discoverOllama(d.ollama) : Promise.resolve([]),
      ]);
      const failures = sources.flatMap((s, i) => (s.status === 'rejected' ? [`${i === 0 ? 'huggingface' : 'ollama'}: ${(s.reason as Error).message}`] : []));
      const found = sources.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
      if (!found.length && failures.length) throw new CliError(`discovery failed: ${failures.join('; ')}`);
      const ranked = rankCandidates(found, { weights: d.weights, gpuMemoryGb: d.gpuMemoryGb, licenseAllowList: d.licenseAllowList, now: new Date() }).slice(0, Number(opts.limit ?? 20) || 20);
      for (const f of failures) c.progress(`warning: ${f}`);
      c.print(ranked, () =>
        table([
          ['RANK', 'SOURCE', 'MODEL', 'SCORE', 'PARAMS', 'VRAM GB', 'LICENSE', 'ELIGIBLE'],
          ...ranked.map((r, i) => [i + 1, r.source, r.externalId, r.score.toFixed(3), r.parameters ? `${(r.parameters / 1e9).toFixed(2)}B` : '-', r.estimatedVramGb?.toFixed(1), r.license, r.eligible ? 'yes' : `no: ${r.reasons.join('; ')}`]),
        ]),
      );
    });
}
