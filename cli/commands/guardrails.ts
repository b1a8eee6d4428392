import fs from 'node:fs';
import type { Command } from 'commander';
import { classifyOutput, type GuardrailVerdict, type HarmCategory, type Severity } from '../../src/guardrails';
import { judgeBothTiers, tier2JudgeOrReason, type OutputToJudge } from '../../src/guardrails/tier2-window';
import { configuredEmbeddingsClient } from '../../src/embeddings/client';
import { ensureLocalEmbeddings, EmbeddingsUnavailableError } from '../../src/embeddings/local-server';
import type { MmsConfig } from '../../src/config/schema';
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

/**
 * Both tiers' verdicts (`judgeBothTiers`), or undefined after a line on stderr saying why tier 2 cannot judge here
 * (no config file, tier 2 disabled, no embeddings server, no trained model): the verdicts are then tier 1's.
 * Embeddings: the configured provider; for "local", MMS_EMBEDDINGS_URL, a running `mms dev`'s server, or one started
 * for this command.
 */
async function bothTiers(config: MmsConfig | undefined, configPath: string, outputs: OutputToJudge[]): Promise<GuardrailVerdict[] | undefined> {
  const tier1Only = (why: string) => {
    process.stderr.write(`mms guardrails check: tier 2 unavailable (${why}): the verdicts are tier 1's alone (--tier1-only says so without this note)\n`);
    return undefined;
  };
  if (!config) return tier1Only(`no config file at ${configPath}`);
  if (!config.policies.guardrails.tier2.enabled) return tier1Only('policies.guardrails.tier2.enabled is false');
  let local: { url: string; stop: () => Promise<void> } | undefined;
  try {
    if (config.embeddings.provider === 'local') local = await ensureLocalEmbeddings({ threads: config.embeddings.threads, onProgress: (line) => process.stderr.write(`${line}\n`) });
    const judge = tier2JudgeOrReason(config, configuredEmbeddingsClient(config, { localUrl: local?.url }));
    if ('unavailable' in judge) return tier1Only(judge.unavailable);
    const started = Date.now();
    const verdicts = await judgeBothTiers(judge, outputs);
    process.stderr.write(`mms guardrails check: ${outputs.length} output(s) judged by tier 1 + tier 2${judge.guards.length ? ` + ${judge.guards.map((g) => g.name).join(' + ')}` : ''} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return verdicts;
  } catch (err) {
    if (err instanceof EmbeddingsUnavailableError) return tier1Only(err.message);
    throw err;
  } finally {
    await local?.stop();
  }
}

const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(2)}%`);

/** `mms guardrails check|report`. */
export function registerGuardrailsCommands(program: Command, ctx: () => CliContext) {
  const guardrails = program.command('guardrails').description('harm severity and engagement health of outputs (verdicts of both tiers, reports); the guardrails update in force');
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
    .description('one verdict per line of {"id", "text", "use_case"?} (JSONL), as {"id", harm, fiction_dark, engagement, explanations}: tier 1 and tier 2 (and the configured model guards) combined as the use case\'s policy says')
    .requiredOption('--file <path>', 'JSONL input; - reads stdin')
    .option('--use-case <id>', 'use case for lines without use_case')
    .option('--tier1-only', "tier 1 alone: the gateway's hot-path verdict (no embeddings server, no model guards)")
    .action(async (opts: { file: string; useCase?: string; tier1Only?: boolean }) => {
      const c = ctx();
      const lines = parseCheckInput(await readInput(opts.file), opts.file === '-' ? 'stdin' : opts.file);
      const config = fs.existsSync(c.configPath) ? c.config() : undefined;
      const verdicts = opts.tier1Only || lines.length === 0 ? undefined : await bothTiers(config, c.configPath, lines.map((l) => ({ text: l.text, useCaseId: l.use_case ?? opts.useCase ?? '' })));
      // Tier 1 alone: the policy's category severities apply when a config is at hand; without one, the defaults.
      const severities = config?.policies.guardrails.severities as Partial<Record<HarmCategory, Severity>> | undefined;
      const out = lines.map((line, i) => JSON.stringify({ id: line.id, ...(verdicts?.[i] ?? classifyOutput(line.text, { useCase: line.use_case ?? opts.useCase, severities })) }));
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
