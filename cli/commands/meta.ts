import type { Command } from 'commander';
import { parseDuration, parseExpiry } from '../../src/auth/limits';
import { listDecisions, type DecisionRow } from '../../src/meta/decisions';
import { readUseCaseStatuses, type UseCaseStatus } from '../../src/meta/status';
import { describeMetaSchedule, MetaScheduleError, pauseMetaSchedule, resumeMetaSchedule, rolloutPhases, triggerMetaSweep } from '../../clients/meta';
import { ensureMetaSchedule } from '../../workers/meta-schedule';
import { CliError, table, type CliContext } from '../context';

/** `mms schedule …`, `mms decisions`, `mms status`: the meta loop from the command line. */

async function cliErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof MetaScheduleError) throw new CliError(err.message, 1);
    throw err;
  }
}

function parseSince(text: string): Date {
  try {
    return /^\d{4}-\d{2}-\d{2}/.test(text) ? parseExpiry(text, 0, '--since') : new Date(Date.now() - parseDuration(text, '--since'));
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
}

const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
const short = (text: string, n: number) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

export function renderDecisions(rows: DecisionRow[]): string {
  if (rows.length === 0) return 'no decisions';
  return table([
    ['AT', 'USE CASE', 'SOURCE', 'ACTION', 'RULE', 'STATUS', 'WORKFLOW', 'REASON'],
    ...rows.map((r) => [r.at.toISOString().slice(0, 19), r.useCaseId, r.source, r.action, r.rule ?? '-', `${r.status}${r.dryRun ? ' (dry run)' : ''}`, r.actionWorkflowId ?? '-', r.reason]),
  ]);
}

/** `config`, or the update in force: its version and what it changed (`v2 high:block manipulation=high`). */
function guardrailsColumn(g: UseCaseStatus['guardrails']): string {
  if (!g) return 'config';
  const changed = [...Object.entries(g.actions).map(([severity, action]) => `${severity}:${action}`), ...Object.entries(g.severities).map(([label, severity]) => `${label}=${severity}`)];
  return `v${g.version}${changed.length ? ` ${changed.join(' ')}` : ''}`;
}

export function renderStatus(rows: UseCaseStatus[], phases: Map<string, string>): string {
  if (rows.length === 0) return 'no use cases';
  return table([
    ['USE CASE', 'KIND', 'MODELS (WEIGHT)', 'RUNNING', 'CALLS', 'ERRORS', 'P95', 'FEEDBACK', 'COST/REQ', 'SLO', 'GUARDRAILS', 'LAST DECISION'],
    ...rows.map((s) => {
      const h = s.health;
      const running = s.running ? `${s.running.workflowId ?? s.running.kind}${phases.get(s.useCaseId) ? ` ${phases.get(s.useCaseId)}` : ''}` : '-';
      const slo = h.calls === 0 ? 'no calls' : s.breaches.length ? `BREACH ${s.breaches.join(',')}` : 'ok';
      const last = s.lastDecision ? short(`${s.lastDecision.at.slice(5, 16)} ${s.lastDecision.source}:${s.lastDecision.action} ${s.lastDecision.status}: ${s.lastDecision.reason}`, 70) : '-';
      return [
        s.useCaseId,
        s.kind,
        s.models.map((m) => `${m.name} ${m.role === 'stable' ? '' : `${m.role} `}${m.weightPercent}%`).join(', ') || '-',
        running,
        h.calls,
        pct(h.errorRate),
        h.p95Ms === null ? '-' : `${Math.round(h.p95Ms)}ms`,
        h.feedbackScore === null ? '-' : h.feedbackScore.toFixed(2),
        h.costPerRequestUsd === null ? '-' : `$${h.costPerRequestUsd.toFixed(4)}`,
        slo,
        guardrailsColumn(s.guardrails),
        last,
      ];
    }),
  ]);
}

export function registerMetaCommands(program: Command, ctx: () => CliContext) {
  const schedule = program.command('schedule').description('the hourly meta-optimisation schedule (metaOptimization): apply, pause, resume, trigger, show');
  schedule
    .command('apply')
    .description('create or update the schedule from mms.config.yaml (policies.meta); idempotent')
    .action(async () => {
      const c = ctx();
      const result = await ensureMetaSchedule(await c.temporal(), c.config());
      await c.audit('schedule.apply', result.scheduleId, { result: result.result });
      c.print(result, () => `schedule ${result.scheduleId}: ${result.result}`);
    });
  schedule
    .command('show')
    .description('state, period, running and recent sweeps, next runs')
    .action(async () => {
      const c = ctx();
      const info = await cliErrors(async () => describeMetaSchedule(await c.temporal()));
      c.print(info, () =>
        [
          `schedule ${info.scheduleId}: ${info.paused ? `paused${info.note ? ` (${info.note})` : ''}` : 'active'}, every ${info.everyMinutes ?? '?'} min${info.dryRun ? ', dry run' : ''}; ${info.skippedOverlap} trigger(s) skipped while a sweep ran`,
          `running: ${info.running.join(', ') || 'none'}`,
          `recent: ${info.recent.map((r) => r.workflowId).join(', ') || 'none'}`,
          `next: ${info.nextRuns.join(', ') || '-'}`,
        ].join('\n'),
      );
    });
  schedule
    .command('pause')
    .description('stop starting sweeps (a running one finishes)')
    .option('--note <text>', 'why', 'paused with mms schedule pause')
    .action(async (opts: { note: string }) => {
      const c = ctx();
      await cliErrors(async () => pauseMetaSchedule(await c.temporal(), opts.note));
      await c.audit('schedule.pause', 'metaOptimization', { note: opts.note });
      c.print({ paused: true }, () => 'schedule metaOptimization paused');
    });
  schedule
    .command('resume')
    .description('start sweeps again on the period')
    .option('--note <text>', 'why', 'resumed with mms schedule resume')
    .action(async (opts: { note: string }) => {
      const c = ctx();
      await cliErrors(async () => resumeMetaSchedule(await c.temporal(), opts.note));
      await c.audit('schedule.resume', 'metaOptimization', { note: opts.note });
      c.print({ paused: false }, () => 'schedule metaOptimization resumed');
    });
  schedule
    .command('trigger')
    .description('a sweep now, through the schedule (skipped while a sweep runs)')
    .option('--dry-run', 'record the decisions, act on none')
    .action(async (opts: { dryRun?: boolean }) => {
      const c = ctx();
      const started = await cliErrors(async () => triggerMetaSweep(await c.temporal(), { dryRun: opts.dryRun }));
      await c.audit('schedule.trigger', 'metaOptimization', { dryRun: Boolean(opts.dryRun), ...started });
      c.print(started, () => (started.via === 'schedule' ? 'sweep triggered through schedule metaOptimization (skipped if one is running): `mms schedule show`, `mms decisions`' : `dry-run sweep started: ${started.workflowId}`));
    });

  program
    .command('decisions')
    .description('decisions of the meta loop and the guardrails monitor, with their reasons and outcomes; newest first')
    .option('--use-case <id>', 'only this use case')
    .option('--since <when>', 'a duration back from now (24h, 7d) or a date (2026-11-30)', '24h')
    .option('--source <source>', 'meta or guardrails')
    .option('--actions-only', 'leave out `none` decisions (nothing to do, left alone)')
    .option('--limit <n>', 'at most this many', '100')
    .action(async (opts: { useCase?: string; since: string; source?: string; actionsOnly?: boolean; limit: string }) => {
      const c = ctx();
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new CliError(`--limit: "${opts.limit}" must be a whole number from 1 to 10000`, 2);
      if (opts.source !== undefined && !['meta', 'guardrails'].includes(opts.source)) throw new CliError(`--source: "${opts.source}" must be meta or guardrails`, 2);
      const rows = await listDecisions(await c.prisma(), { useCaseId: opts.useCase, since: parseSince(opts.since), source: opts.source, includeNone: !opts.actionsOnly, limit });
      c.print(rows, () => renderDecisions(rows));
    });

  program
    .command('status')
    .description('one screen: per use case the serving models and weights, the running lifecycle and its phase, health vs SLOs, the last decision')
    .option('--use-case <id>', 'only this use case')
    .option('--watch [seconds]', 'refresh every N seconds (default 5) until Ctrl-C')
    .action(async (opts: { useCase?: string; watch?: string | boolean }) => {
      const c = ctx();
      const every = opts.watch === undefined || opts.watch === false ? 0 : opts.watch === true ? 5 : Number(opts.watch);
      if (!(every >= 0) || (opts.watch !== undefined && every <= 0)) throw new CliError(`--watch: "${String(opts.watch)}" must be a positive number of seconds`, 2);
      const prisma = await c.prisma();
      const policy = c.config().policies.meta;
      const once = async () => {
        const rows = await readUseCaseStatuses(prisma, policy, opts.useCase ? { useCaseIds: [opts.useCase] } : {});
        if (opts.useCase && rows.length === 0) throw new CliError(`use case "${opts.useCase}" not found`, 1);
        const running = rows.filter((r) => r.running).map((r) => r.useCaseId);
        const phases = running.length ? await rolloutPhases(await c.temporal(), running) : new Map<string, string>();
        return { rows, phases };
      };
      if (!every) {
        const { rows, phases } = await once();
        c.print(rows, () => renderStatus(rows, phases));
        return;
      }
      let stop = false;
      process.once('SIGINT', () => void (stop = true));
      while (!stop) {
        const { rows, phases } = await once();
        process.stdout.write(`\x1b[2J\x1b[H${new Date().toISOString()}  (every ${every} s; Ctrl-C stops)\n${renderStatus(rows, phases)}\n`);
        await new Promise((resolve) => setTimeout(resolve, every * 1000));
      }
    });
}
