import type { Command } from 'commander';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { RolloutPolicy } from '../../src/config/schema';
import { webUiLink } from '../../src/temporal/connection';
import { findModel, validationProblem } from '../../src/registry/models';
import { NoRolloutError, RolloutAlreadyRunningError, RolloutRequestError, describeStage, readRollout, rolloutHandle, startRollout, type RolloutReading } from '../../clients/rollout';
import {
  PolicyOverrideError,
  RolloutControlError,
  abortRollout,
  pauseRollout,
  policyWithOverrides as withOverrides,
  promoteRollout,
  requestedBy,
  resumeRollout,
  type PolicyOverrides,
} from '../../clients/rollout-control';
import {
  ALL_AT_ONCE_WARNING,
  rolloutStrategies,
  terminalPhases,
  windowSecondsLeft,
  type RolloutStatus,
} from '../../workflows/rollout-messages';
import { CliError, table, type CliContext } from '../context';

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${(x * 100).toFixed(1)}%`);
const ms = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${Math.round(x)}ms`);

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The human view of a rollout: one header, the stages with the weight path, every verdict with its numbers. */
export function renderRolloutStatus(status: RolloutStatus, now: number): string {
  const left = windowSecondsLeft(status, now);
  const lines = [
    `${status.workflowId}  ${status.strategy}  candidate ${status.candidateModelId ?? '?'}  stable ${status.stableModelId ?? '?'}`,
    `phase ${status.paused ? `paused (${status.pauseReason})` : status.phase} · ${describeStage(status)} · candidate serves ${status.weightPercent}%` +
      (status.shadowPercent ? ` · shadow mirrors ${status.shadowPercent}%` : '') +
      (left !== undefined ? ` · window ${formatDuration(left)} left of ${formatDuration(status.window!.seconds)}${status.window!.extension ? ` (extension ${status.window!.extension})` : ''}` : ''),
    `stages ${status.stages.map((s, i) => (i === status.stageIndex && !terminalPhases.includes(status.phase) ? `[${s.label}]` : s.label)).join(' → ')}`,
  ];
  if (status.deploymentId) lines.push(`deployment ${status.deploymentId} · snapshot ${status.snapshotId ?? '-'}`);
  if (status.outcome) lines.push(`outcome ${status.outcome}: ${status.reason ?? ''}`);
  if (status.evaluationTraffic) {
    const e = status.evaluationTraffic;
    lines.push(`evaluation traffic: ${e.sent} sent (${e.toCandidate} candidate, ${e.toStable} stable), ${e.failed} failed${e.lastError ? ` — ${e.lastError}` : ''}`);
  }
  if (status.verdicts.length) {
    lines.push(
      table([
        ['STAGE', 'WIN', 'VERDICT', 'CANARY n/err/p95', 'STABLE n/err/p95', 'REASON'],
        ...status.verdicts.map((v) => [
          v.label,
          v.window,
          v.verdict,
          `${v.canary.requests}/${pct(v.canary.errorRate)}/${ms(v.canary.latencyP95Ms)}`,
          `${v.baseline.requests}/${pct(v.baseline.errorRate)}/${ms(v.baseline.latencyP95Ms)}${v.baselineSource === 'before_stage' ? '*' : ''}`,
          v.reason,
        ]),
      ]),
    );
    if (status.verdicts.some((v) => v.baselineSource === 'before_stage')) lines.push('* stable served no one in that window: its traffic before the stage is the baseline');
  } else lines.push('no window analysed yet');
  return lines.join('\n');
}

function renderReading(reading: RolloutReading, now: number): string {
  if (reading.status) return renderRolloutStatus(reading.status, now);
  return `${reading.workflowId}  ${reading.execution.toLowerCase()}${reading.state ? ` (${reading.state})` : ''}\n${reading.summary ?? ''}\n(no worker answered the status query: start one with \`mms dev\`)`;
}

function parseNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`${flag} must be a positive number of seconds, got "${value}"`, 2);
  return n;
}

/** The configured policy with the command's overrides, validated like the config file. */
export function policyWithOverrides(base: RolloutPolicy, opts: { steps?: string; window?: string; shadowWindow?: string }): RolloutPolicy {
  const overrides: PolicyOverrides = {};
  if (opts.steps !== undefined) {
    const steps = opts.steps.split(',').map((s) => s.trim());
    if (steps.some((s) => !/^\d+$/.test(s))) throw new CliError(`--steps must be comma-separated whole percentages like 10,25,50,100, got "${opts.steps}"`, 2);
    overrides.steps = steps.map(Number);
  }
  overrides.windowSeconds = parseNumber('--window', opts.window);
  overrides.shadowWindowSeconds = parseNumber('--shadow-window', opts.shadowWindow);
  try {
    return withOverrides(base, overrides);
  } catch (err) {
    if (err instanceof PolicyOverrideError) throw new CliError(err.spelled({ steps: '--steps', windowSeconds: '--window', shadowWindowSeconds: '--shadow-window' }), 2);
    throw err;
  }
}

const failureReason = (err: unknown) => (err instanceof WorkflowFailedError ? (err.cause?.message ?? err.message) : (err as Error).message);

async function handleOf(c: CliContext, useCase: string): Promise<WorkflowHandle> {
  try {
    return await rolloutHandle(await c.temporal(), useCase);
  } catch (err) {
    if (err instanceof NoRolloutError) throw new CliError(err.message);
    throw err;
  }
}

async function control<T>(useCase: string, verb: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof RolloutControlError) throw new CliError(`cannot ${verb} the rollout of "${useCase}": ${err.message}`);
    throw err;
  }
}

/** Follows a rollout until it ends, redrawing on a terminal or printing each change otherwise. */
async function follow(c: CliContext, useCase: string, handle: WorkflowHandle, intervalMs: number): Promise<RolloutStatus | undefined> {
  const client = await c.temporal();
  const tty = Boolean(process.stdout.isTTY) && !c.json;
  let last = '';
  for (;;) {
    // Each poll waits for the worker's answer (readRollout): a loaded worker slows the poll, it is not abandoned.
    const reading = await readRollout(client, handle).catch(() => undefined);
    if (reading) {
      const key = JSON.stringify(reading.status ? { ...reading.status, updatedAt: undefined } : reading);
      const changed = key !== last;
      last = key;
      if (c.json) {
        if (changed) process.stdout.write(`${JSON.stringify(reading.status ?? reading)}\n`);
      } else if (tty) {
        process.stdout.write(`\x1b[2J\x1b[H${renderReading(reading, Date.now())}\n\n(watching ${handle.workflowId}; Ctrl-C stops watching, not the rollout)\n`);
      } else if (changed) {
        process.stdout.write(`${renderReading(reading, Date.now())}\n\n`);
      }
      const ended = reading.status ? terminalPhases.includes(reading.status.phase) : reading.execution !== 'RUNNING';
      if (ended) return reading.status;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function endOf(useCase: string, status: RolloutStatus | undefined) {
  if (status?.outcome === 'rolled_back') throw new CliError(`rollout of "${useCase}" rolled back: ${status.reason}`);
  if (status?.outcome === 'failed') throw new CliError(`rollout of "${useCase}" failed: ${status.reason}`);
}

interface StartOptions {
  strategy?: string;
  force?: boolean;
  steps?: string;
  window?: string;
  shadowWindow?: string;
  current?: string;
  wait?: boolean;
}

/** `mms rollout start`: refuses an unvalidated candidate (unless --force), starts the workflow, audits it, and with --wait follows it to its end. */
async function startCommand(c: CliContext, useCase: string, candidate: string, opts: StartOptions): Promise<void> {
  const config = c.config();
  const policy = policyWithOverrides(config.policies.rollout, opts);
  const strategy = opts.strategy ?? policy.strategy;
  if (strategy === 'all_at_once' && opts.force) process.stderr.write(`${ALL_AT_ONCE_WARNING}\n`);
  // Players are moved only to a model that answered its validation prompts: validation comes first in a deployment.
  const prisma = await c.prisma();
  const model = await findModel(prisma, candidate, useCase);
  const problem = model && !opts.force ? await validationProblem(prisma, model) : undefined;
  if (problem) throw new CliError(`refusing to roll out: ${problem} (--force)`);
  const client = await c.temporal();
  let started;
  try {
    started = await startRollout(
      client,
      config,
      { useCaseId: useCase, candidate, strategy, force: opts.force, policy, requestedBy: requestedBy.cli(), expectedStableModelId: opts.current },
      model ? `${model.modelName}@${model.version}` : candidate,
    );
  } catch (err) {
    if (err instanceof RolloutRequestError) throw new CliError(`--strategy: ${err.message}`, 2);
    if (err instanceof RolloutAlreadyRunningError) throw new CliError(err.message);
    throw err;
  }
  await c.audit('rollout.start', useCase, { candidate, strategy, force: Boolean(opts.force), deploymentId: started.deploymentId, workflowId: started.workflowId });
  const link = webUiLink(config, started.workflowId, started.runId);
  if (!opts.wait) {
    c.print({ workflowId: started.workflowId, runId: started.runId, deploymentId: started.deploymentId, webUi: link }, () => `rollout started: ${started.workflowId} (deployment ${started.deploymentId})\n${link}`);
    return;
  }
  c.progress(`rollout started: ${started.workflowId} (deployment ${started.deploymentId})\n${link}`);
  const status = await follow(c, useCase, started.handle, 500);
  if (!status) {
    const failure = await started.handle.result().then(
      () => undefined,
      (err: unknown) => failureReason(err),
    );
    if (failure) throw new CliError(`rollout of "${useCase}" failed: ${failure}`);
  }
  endOf(useCase, status);
}

/**
 * `mms rollout start|status|watch|pause|resume|abort|promote`: progressive delivery of a candidate
 * model from the terminal. Reads take --json; every failure is one line and a non-zero exit.
 */
export function registerRolloutCommands(program: Command, ctx: () => CliContext) {
  const rollout = program.command('rollout').description('progressive delivery of a candidate model: canary, blue-green or shadow, watched and rolled back automatically');

  rollout
    .command('start <useCase> <candidate>')
    .description('start rollout:<useCase> of a candidate (model id or registry name)')
    .option('--strategy <strategy>', `${rolloutStrategies.join(' | ')} (default: policies.rollout.strategy)`)
    .option('--force', 'allow all_at_once (every player switched in one step), or a candidate that has not passed validation')
    .option('--steps <list>', 'traffic steps in percent, e.g. 10,25,50,100 (default: policies.rollout.steps)')
    .option('--window <seconds>', 'monitoring window of each step (default: policies.rollout.windowSeconds)')
    .option('--shadow-window <seconds>', 'shadow window (default: policies.rollout.shadowWindowSeconds)')
    .option('--current <modelId>', 'refuse unless this model is the stable one')
    .option('--wait', 'follow the rollout until it ends; exit 1 if it is rolled back')
    .action((useCase: string, candidate: string, opts: StartOptions) => startCommand(ctx(), useCase, candidate, opts));

  rollout
    .command('status <useCase>')
    .description('stage, weight, time left in the window and every verdict with its numbers')
    .action(async (useCase: string) => {
      const c = ctx();
      const handle = await handleOf(c, useCase);
      const reading = await readRollout(await c.temporal(), handle);
      c.print(reading.status ? { ...reading.status, windowSecondsLeft: windowSecondsLeft(reading.status, Date.now()) ?? null } : reading, () => renderReading(reading, Date.now()));
    });

  rollout
    .command('watch <useCase>')
    .description('live view of the rollout until it ends (exit 1 if it is rolled back); --json prints one line per change')
    .option('--interval <ms>', 'refresh interval', '500')
    .action(async (useCase: string, opts: { interval: string }) => {
      const c = ctx();
      const interval = Number(opts.interval);
      if (!Number.isInteger(interval) || interval < 50) throw new CliError('--interval must be a whole number of milliseconds ≥ 50', 2);
      const handle = await handleOf(c, useCase);
      endOf(useCase, await follow(c, useCase, handle, interval));
    });

  rollout
    .command('pause <useCase>')
    .description('hold the rollout at its stage (weights unchanged, window clock stopped)')
    .option('--reason <text>', 'shown in status and sent to the webhook')
    .action(async (useCase: string, opts: { reason?: string }) => {
      const c = ctx();
      const handle = await handleOf(c, useCase);
      const status = await control(useCase, 'pause', () => pauseRollout(handle, { reason: opts.reason, by: requestedBy.cli() }));
      await c.audit('rollout.pause', useCase, { reason: opts.reason ?? null, workflowId: status.workflowId });
      c.print(status, () => `paused ${status.workflowId} at ${describeStage(status)}`);
    });

  rollout
    .command('resume <useCase>')
    .description('carry on from where the rollout was paused')
    .action(async (useCase: string) => {
      const c = ctx();
      const handle = await handleOf(c, useCase);
      const status = await control(useCase, 'resume', () => resumeRollout(handle, { by: requestedBy.cli() }));
      await c.audit('rollout.resume', useCase, { workflowId: status.workflowId });
      c.print(status, () => `resumed ${status.workflowId} at ${describeStage(status)}`);
    });

  rollout
    .command('abort <useCase>')
    .description('roll back to the snapshot the rollout started from; returns once stable serves 100%')
    .requiredOption('--reason <text>', 'recorded on the deployment row')
    .action(async (useCase: string, opts: { reason: string }) => {
      const c = ctx();
      const handle = await handleOf(c, useCase);
      const status = await control(useCase, 'abort', () => abortRollout(handle, { reason: opts.reason, by: requestedBy.cli() }));
      await c.audit('rollout.abort', useCase, { reason: opts.reason, workflowId: status.workflowId });
      c.print(status, () => `aborted ${status.workflowId}: ${status.phase} (${status.reason})`);
    });

  rollout
    .command('promote <useCase>')
    .description('skip every remaining stage and make the candidate stable (like argo rollouts promote --full)')
    .option('--step', 'only end the current stage’s window and move to the next stage')
    .action(async (useCase: string, opts: { step?: boolean }) => {
      const c = ctx();
      const handle = await handleOf(c, useCase);
      const status = await control(useCase, 'promote', () => promoteRollout(handle, { full: !opts.step, by: requestedBy.cli() }));
      await c.audit('rollout.promote', useCase, { full: !opts.step, workflowId: status.workflowId });
      c.print(status, () => (opts.step ? `moved ${status.workflowId} on: ${describeStage(status)}` : `promoted ${status.workflowId}: ${status.phase}`));
    });
}
