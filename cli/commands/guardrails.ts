import fs from 'node:fs';
import type { Command } from 'commander';
import { classifyOutput, type HarmCategory, type Severity } from '../../src/guardrails';
import { guardrailsReport } from '../../src/guardrails/report';
import { CliError, table, type CliContext } from '../context';
import { cliActor } from '../../src/audit/events';
import { NoGuardrailsOverrideError } from '../../src/meta/guardrails';
import { revertGuardrails } from '../../clients/guardrails-monitor';

interface CheckLine {
  id: string | number;
  text: string;
  use_case?: string;
}

/** Reads `{"id", "text", "use_case"?}` lines; a bad line is an error naming the line and the field, before anything is written. */
export function parseCheckInput(content: string, source: string): CheckLine[] {
  const out: CheckLine[] = [];
  content.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new CliError(`${source}:${i + 1}: not a JSON object`, 2);
    }
    const v = value as Record<string, unknown>;
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new CliError(`${source}:${i + 1}: not a JSON object`, 2);
    if (typeof v.id !== 'string' && typeof v.id !== 'number') throw new CliError(`${source}:${i + 1}: id: must be a string or a number`, 2);
    if (typeof v.text !== 'string') throw new CliError(`${source}:${i + 1}: text: must be a string`, 2);
    if (v.use_case !== undefined && typeof v.use_case !== 'string') throw new CliError(`${source}:${i + 1}: use_case: must be a string`, 2);
    out.push({ id: v.id, text: v.text, use_case: v.use_case as string | undefined });
  });
  return out;
}

async function readInput(file: string): Promise<string> {
  if (file !== '-') {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new CliError(`--file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, 2);
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(2)}%`);

/** `mms guardrails check|report`. */
export function registerGuardrailsCommands(program: Command, ctx: () => CliContext) {
  const guardrails = program.command('guardrails').description('harm severity and engagement health of outputs (tier 1 verdicts, reports); the guardrails update in force');
  guardrails
    .command('revert <useCase>')
    .description("undo the guardrails update the meta loop put in force: the gateway applies policies.guardrails again (within one registry poll) and the monitor the config's settings; recorded as the next guardrails version")
    .requiredOption('--reason <text>', 'why (kept in the decision row and the audit log)')
    .action(async (useCase: string, opts: { reason: string }) => {
      const c = ctx();
      try {
        const r = await revertGuardrails({ prisma: await c.prisma(), temporal: () => c.temporal(), policyConfig: c.config().policies.guardrails }, { useCaseId: useCase, actor: cliActor(), reason: opts.reason });
        c.print(r, () => `guardrails of ${useCase}: v${r.revertedVersion} reverted (now v${r.version}: policies.guardrails of the config; decision ${r.decisionId}); monitor ${r.monitor}`);
      } catch (err) {
        if (err instanceof NoGuardrailsOverrideError) throw new CliError(err.message);
        throw err;
      }
    });
  guardrails
    .command('check')
    .description('one verdict per line of {"id", "text", "use_case"?} (JSONL), as {"id", harm, fiction_dark, engagement, explanations}')
    .requiredOption('--file <path>', 'JSONL input; - reads stdin')
    .option('--use-case <id>', 'use case for lines without use_case')
    .action(async (opts: { file: string; useCase?: string }) => {
      const c = ctx();
      const lines = parseCheckInput(await readInput(opts.file), opts.file === '-' ? 'stdin' : opts.file);
      // The policy's category severities apply when a config is at hand; without one, the defaults.
      let severities: Partial<Record<HarmCategory, Severity>> | undefined;
      if (fs.existsSync(c.configPath)) severities = c.config().policies.guardrails.severities as Partial<Record<HarmCategory, Severity>>;
      const out: string[] = [];
      for (const line of lines) out.push(JSON.stringify({ id: line.id, ...classifyOutput(line.text, { useCase: line.use_case ?? opts.useCase, severities }) }));
      process.stdout.write(out.length ? `${out.join('\n')}\n` : '');
    });
  guardrails
    .command('report <useCase>')
    .description('violations by severity and category, rates per window, engagement health, interventions')
    .option('--since <hours>', 'hours back', '24')
    .option('--window <minutes>', 'window length', '60')
    .action(async (useCaseId: string, opts: { since: string; window: string }) => {
      const c = ctx();
      const hours = Number(opts.since);
      const windowMinutes = Number(opts.window);
      if (!(hours > 0)) throw new CliError(`--since: "${opts.since}" must be a positive number of hours`, 2);
      if (!Number.isInteger(windowMinutes) || windowMinutes < 1) throw new CliError(`--window: "${opts.window}" must be a whole number of minutes ≥ 1`, 2);
      const prisma = await c.prisma();
      if (!(await prisma.useCase.findUnique({ where: { id: useCaseId } }))) throw new CliError(`use case "${useCaseId}" not found`, 1);
      const report = await guardrailsReport(prisma, { useCaseId }, { since: new Date(Date.now() - hours * 3600_000), windowMinutes });
      c.print(report, () => {
        const e = report.engagementHealth;
        return [
          `guardrails of ${useCaseId}, ${report.from} … ${report.to}: ${report.requests} call(s), ${report.violations.total} violation(s)`,
          `by severity: ${Object.entries(report.violations.bySeverity).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
          `by category: ${Object.entries(report.violations.byCategory).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
          `interventions on outputs: ${Object.entries(report.violations.byIntervention).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
          '',
          table([['WINDOW (UTC)', 'CALLS', 'BLOCKED', 'CRITICAL', 'CRITICAL RATE', 'VIOLATION RATE', 'UNHEALTHY ENGAGEMENT'], ...report.windows.map((w) => [w.start.slice(0, 16), w.requests, w.blocked, w.critical, pct(w.criticalRate), pct(w.violationRate), pct(w.unhealthyEngagementRate)])]),
          '',
          `engagement health: ${e.players} player(s), ${e.sessions} session(s); session minutes p50 ${e.sessionMinutes.p50 ?? '-'} / p90 ${e.sessionMinutes.p90 ?? '-'}; sessions per player-day p50 ${e.sessionsPerPlayerDay.p50 ?? '-'}; late-night share ${pct(e.lateNightShare)}; unhealthy outputs ${pct(e.unhealthyOutputShare)}; players at risk ${e.playersAtRisk}`,
          report.interventions.length ? table([['AT', 'DECISION', 'STATUS', 'REASON'], ...report.interventions.map((i) => [i.at.slice(0, 19), i.type, i.status, i.reason])]) : 'decisions: none',
        ].join('\n');
      });
    });
}
