import type { Command } from 'commander';
import { CliError, table, type CliContext } from '../context';
import { cliActor } from '../../src/audit/events';
import { forgetPlayer, type PlayerRef } from '../../src/logs/forget';
import { maintainPartitions, partitionSettings } from '../../src/logs/partitions';
import { retentionPlan } from '../../src/logs/plan';
import { retentionPolicy } from '../../src/logs/retention';
import { rollUpRecent } from '../../src/logs/rollups';
import { readRollups } from '../../src/registry/rollups';

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const when = (iso: string, now: string) => (iso <= now ? 'next maintenance run' : iso.replace('T', ' ').replace(/:\d\d\.\d+Z$/, ' UTC'));

/** "24h", "30d", "90m" → milliseconds. */
function duration(text: string, flag: string): number {
  const m = /^(\d+)\s*(m|h|d)$/.exec(text.trim());
  if (!m) throw new CliError(`${flag}: "${text}" is not a duration such as 90m, 24h or 30d`, 2);
  return Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
}

/** `mms logs …`: retention, maintenance, roll-ups and forgetting a player, over the historical logs. */
export function registerLogsCommands(program: Command, ctx: () => CliContext) {
  const logs = program.command('logs').description('historical logs: retention, partitions, roll-ups, forgetting a player');
  logs
    .command('retention')
    .description('what retention drops, and when: the policy per use case, then every partition with its drop time')
    .action(async () => {
      const c = ctx();
      const config = c.config();
      const plan = await retentionPlan(await c.prisma(), retentionPolicy(config.logs, config.useCases.map((u) => u.id)));
      c.print(plan, () =>
        [
          'retention (days): the longest class a row belongs to wins',
          table([['USE CASE', 'PLAIN', 'FEEDBACK', 'VIOLATION'], ...plan.policy.map((p) => [p.useCase, p.plain, p.feedback, p.violation])]),
          '',
          table([
            ['TABLE', 'PARTITION', 'RANGE (UTC)', 'SIZE', '~ROWS', 'DROPPED AT', 'THEN'],
            ...plan.partitions.map((p) => [p.table, p.partition, `${p.from.slice(0, 16)} … ${p.to.slice(0, 16)}`, mb(p.bytes), p.estimatedRows, when(p.dropAt, plan.now), p.then]),
          ]),
          ...plan.defaults.filter((d) => d.estimatedRows > 0).map((d) => `${d.table}: ~${d.estimatedRows} late row(s) in DEFAULT, given a partition at the next maintenance run`),
        ].join('\n'),
      );
    });
  logs
    .command('maintain')
    .description('run partition maintenance now (what the partitionMaintenance schedule does every period)')
    .action(async () => {
      const c = ctx();
      const config = c.config();
      const p = config.logs.partitions;
      const report = await maintainPartitions(await c.prisma(), retentionPolicy(config.logs, config.useCases.map((u) => u.id)), partitionSettings(p));
      c.print(report, () =>
        [
          ...report.created.filter((r) => r.created.length || r.failed.length).map((r) => `${r.table}: created ${r.created.join(', ') || 'none'}${r.movedFromDefault ? ` (${r.movedFromDefault} row(s) moved out of DEFAULT)` : ''}`),
          ...report.expired.flatMap((e) => [
            ...e.dropped.map((d) => `${e.table}: dropped ${d.name} (${mb(d.bytes)}, ${d.movedToLongTerm} row(s) ${d.precopied ? 'changed since its pre-copy ' : ''}kept in the long-term table, in ${d.ms.copy + d.ms.detachDrop} ms)`),
            ...e.droppedLongTerm.map((d) => `${e.table}: dropped long-term ${d.name} (${mb(d.bytes)})`),
          ]),
          ...report.precopied.flatMap((r) => r.precopied.map((d) => `${r.table}: pre-copied ${d.rows} long-lived row(s) of ${d.name} ahead of its drop (${d.ms} ms)`)),
          ...[...report.created, ...report.precopied, ...report.expired].flatMap((r) => r.failed.map((f) => `FAILED ${f.name}: ${f.error} (retried next run)`)),
        ].join('\n') || 'nothing to do: partitions exist ahead and nothing has expired',
      );
      if ([...report.created, ...report.precopied, ...report.expired].some((r) => r.failed.length > 0)) process.exitCode = 1;
    });
  logs
    .command('forget')
    .description("a player's right to be forgotten: delete their rows in every partition, the long-term table and derived rows (audited)")
    .option('--player <id>', 'the player id the game sends as sticky key (x-mms-sticky-key or user)')
    .option('--sticky-key-hash <sha256>', 'the SHA-256 the logs store, when only that is known')
    .option('--reason <text>', 'recorded in the audit (e.g. the ticket of the request)')
    .action(async (opts: { player?: string; stickyKeyHash?: string; reason?: string }) => {
      const c = ctx();
      if (Boolean(opts.player) === Boolean(opts.stickyKeyHash)) throw new CliError('give exactly one of --player <id> or --sticky-key-hash <sha256>', 2);
      const ref: PlayerRef = opts.player ? { player: opts.player } : { stickyKeyHash: opts.stickyKeyHash!.toLowerCase() };
      let report;
      try {
        report = await forgetPlayer(await c.prisma(), ref, { actor: cliActor(), reason: opts.reason });
      } catch (err) {
        if (/sticky_key_hash:|player:/.test((err as Error).message)) throw new CliError(`--${(err as Error).message.replace('sticky_key_hash', 'sticky-key-hash')}`, 2);
        throw err;
      }
      c.print(report, () =>
        `forgot ${report.stickyKeyHash.slice(0, 12)}…: ${report.logs} log row(s), ${report.longTermLogs} long-term row(s), ${report.violations} violation(s), ` +
        `${report.evaluationReplays} evaluation replay(s) in ${Math.round(report.durationMs)} ms (audit event ${report.auditEventId})`,
      );
    });
  logs
    .command('stats [useCase]')
    .description('calls, errors, latency, tokens, cost and violations from the per-minute roll-ups')
    .option('--since <duration>', 'how far back (90m, 24h, 30d)', '24h')
    .option('--bucket <minutes>', 'bucket width in minutes (0: one bucket for the whole range)', '60')
    .option('--refresh', 'roll up the latest minutes first (what the logRollups schedule does every minute)')
    .action(async (useCase: string | undefined, opts: { since: string; bucket: string; refresh?: boolean }) => {
      const c = ctx();
      const prisma = await c.prisma();
      const bucketMinutes = Number(opts.bucket);
      if (!Number.isInteger(bucketMinutes) || bucketMinutes < 0) throw new CliError(`--bucket: "${opts.bucket}" is not a whole number of minutes`, 2);
      const to = new Date();
      const from = new Date(to.getTime() - duration(opts.since, '--since'));
      if (opts.refresh) await rollUpRecent(prisma, c.config().logs.rollups);
      const points = await readRollups(prisma, { from, to, useCaseId: useCase, bucketMinutes });
      const ms = (v: number | null) => (v === null ? '-' : v.toFixed(0));
      c.print(points, () =>
        points.length === 0
          ? `no roll-ups between ${from.toISOString()} and ${to.toISOString()}${useCase ? ` for ${useCase}` : ''}`
          : table([
              ['BUCKET', 'USE CASE', 'MODEL', 'ROLE', 'CALLS', 'ERR%', 'P50 ms', 'P95 ms', 'P99 ms', 'TOKENS IN/OUT', 'COST $', 'VIOL', 'FEEDBACK'],
              ...points.map((p) => [
                p.bucket.toISOString().slice(0, 16),
                p.useCaseId,
                p.modelId.slice(0, 8),
                p.role,
                p.calls,
                (p.errorRate * 100).toFixed(2),
                ms(p.latencyP50Ms),
                ms(p.latencyP95Ms),
                ms(p.latencyP99Ms),
                `${p.tokensIn}/${p.tokensOut}`,
                p.costUsd.toFixed(4),
                p.violations,
                p.feedbackMean === null ? '-' : `${p.feedbackMean.toFixed(2)} (${p.feedbackCount})`,
              ]),
            ]),
      );
    });
}
