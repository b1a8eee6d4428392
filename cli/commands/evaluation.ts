import fs from 'node:fs';
import type { Command } from 'commander';
import { WorkflowFailedError } from '@temporalio/client';
import { renderReportMarkdown, renderReportText } from '../../src/evaluation';
import { webUiLink } from '../../src/temporal/connection';
import { EvaluationRequestError, evaluationProgress, evaluationReport, startEvaluation } from '../../clients/evaluation';
import { CliError, type CliContext } from '../context';

/**
 * `mms eval <candidate> --against <current|stable|model id>`: compares a candidate with the model in
 * service on the use case's suite (built from its logs), waits for the evaluate workflow, and prints
 * the summary and the worst prompts side by side. Exit status 0 when the candidate meets the
 * threshold, 1 when it does not (so CI can gate on it).
 */
export function registerEvaluationCommands(program: Command, ctx: () => CliContext) {
  program
    .command('eval <candidate>')
    .description('compare a candidate model (id or name) with the current or stable model of its use case')
    .requiredOption('--against <model>', 'current | stable | a model id')
    .option('--use-case <id>', 'the use case, when the candidate name exists in several')
    .option('--sample-size <n>', 'prompts sampled from the logs (default policies.testing.promptSampleSize)')
    .option('--markdown <file>', 'also write the report as Markdown to this file')
    .option('--no-wait', 'start the evaluation, print its workflow id and return')
    .action(async (candidate: string, opts: { against: string; useCase?: string; sampleSize?: string; markdown?: string; wait: boolean }) => {
      const c = ctx();
      const config = c.config();
      const sampleSize = opts.sampleSize === undefined ? undefined : Number(opts.sampleSize);
      if (sampleSize !== undefined && (!Number.isInteger(sampleSize) || sampleSize < 1 || sampleSize > 10_000)) throw new CliError('--sample-size: must be a whole number from 1 to 10000', 2);
      const prisma = await c.prisma();
      const client = await c.temporal();
      let started;
      try {
        started = await startEvaluation({ client, prisma, config }, { candidate, against: opts.against, useCaseId: opts.useCase, sampleSize });
      } catch (err) {
        if (err instanceof EvaluationRequestError) throw new CliError(err.message, err.status === 400 ? 2 : 1);
        throw err;
      }
      const s = started.suite;
      c.progress(`suite ${s.hash.slice(0, 12)} of ${started.useCaseId}: ${s.items} prompts (${s.sampled} from ${s.distinctPrompts} distinct logged prompts, ${s.regression} regression, ${s.redTeam} red-team; ${s.unclean} left out by the guardrails)`);
      c.progress(`workflow ${started.workflowId}\n  ${webUiLink(config, started.workflowId)}`);
      if (!opts.wait) {
        c.print({ workflowId: started.workflowId, suiteHash: s.hash, candidateModelId: started.candidateModelId, currentModelId: started.currentModelId }, () => started.workflowId);
        return;
      }
      let last = -1;
      const ticker = setInterval(() => {
        void evaluationProgress(prisma, started.workflowId).then((p) => {
          if (p && p.done !== last) {
            last = p.done;
            c.progress(`evaluated ${p.done}/${p.total} prompts`);
          }
        });
      }, 2000);
      try {
        const { report } = await evaluationReport(prisma, started.handle);
        if (opts.markdown) fs.writeFileSync(opts.markdown, renderReportMarkdown(report));
        c.print(report, () => renderReportText(report));
        if (!report.meetsThreshold) throw new CliError(`${report.candidate.name} does not meet the threshold: ${report.failing.map((f) => f.split(':')[0]).join(', ')}`, 1);
      } catch (err) {
        if (err instanceof WorkflowFailedError) throw new CliError(`evaluation failed: ${(err.cause as Error | undefined)?.message ?? err.message}`);
        throw err;
      } finally {
        clearInterval(ticker);
      }
    });
}
