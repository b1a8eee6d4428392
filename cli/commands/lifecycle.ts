import crypto from 'node:crypto';
import type { Command } from 'commander';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError } from '@temporalio/client';
import { rollbackWorkflow, snapshotWorkflow } from '../../workflows';
import { rollbackStatusQuery, rollbackWorkflowId, type RollbackInput, type RollbackStatus } from '../../workflows/rollback-messages';
import { snapshotWorkflowId } from '../../workflows/snapshot-messages';
import { requestedBy, rolloutRunning } from '../../clients/rollout-control';
import { webUiLink } from '../../src/temporal/connection';
import { NotFoundError } from '../../src/registry/allocations';
import { resolveUndoTarget } from '../../src/registry/snapshots';
import { CliError, type CliContext } from '../context';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const failureReason = (err: unknown) => (err instanceof WorkflowFailedError ? (err.cause?.message ?? err.message) : (err as Error).message);

/** `name@version` of a model, for messages. */
async function modelLabel(ctx: CliContext, id: string): Promise<string> {
  const row = await (await ctx.prisma()).model.findUnique({ where: { id }, select: { modelName: true, version: true } });
  return row ? `${row.modelName}@${row.version}` : id;
}

async function ensureUseCase(ctx: CliContext, useCase: string) {
  const prisma = await ctx.prisma();
  if (!(await prisma.useCase.findUnique({ where: { id: useCase } }))) throw new CliError(`use case "${useCase}" is not in the registry`);
}

/** Snapshot and rollback: lifecycles run as Temporal workflows, watched in the Web UI. */
/**
 * Prints each new phase of a rollback until it ends. One status query at a time, each awaited to its
 * answer, and none left behind when the rollback ends: a query abandoned by its caller (an interval
 * firing regardless, or the process exiting with one in flight) is answered by the worker to nobody,
 * and Temporal's core logs that as a warning in the worker's terminal.
 */
async function followRollback(c: CliContext, handle: { query: (q: typeof rollbackStatusQuery) => Promise<RollbackStatus> }, finished: Promise<unknown>): Promise<void> {
  let ended = false;
  const end = finished.then(
    () => void (ended = true),
    () => void (ended = true),
  );
  let last = '';
  while (!ended) {
    const status = await handle.query(rollbackStatusQuery).catch(() => undefined);
    const line = status ? `  ${status.phase}${status.snapshotId ? ` snapshot=${status.snapshotId}` : ''}${status.allocationVersion ? ` allocation=v${status.allocationVersion}` : ''}` : '';
    if (line && line !== last) c.progress((last = line));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([end, new Promise((resolve) => (timer = setTimeout(resolve, 300)))]);
    clearTimeout(timer);
  }
}

export function registerLifecycleCommands(program: Command, ctx: () => CliContext) {
  const snapshot = program.command('snapshot').description('snapshots of a use case for rollback');
  snapshot
    .command('create <useCase>')
    .option('--name <name>', 'a label for the snapshot')
    .option('--reason <text>', 'why it was taken', 'manual snapshot')
    .description('capture config, allocation, metrics and artefact reference')
    .action(async (useCase: string, opts: { name?: string; reason: string }) => {
      const c = ctx();
      await ensureUseCase(c, useCase);
      const client = await c.temporal();
      const workflowId = snapshotWorkflowId(useCase, crypto.randomUUID());
      try {
        const result = await client.workflow.execute(snapshotWorkflow, {
          taskQueue: c.config().temporal.controlTaskQueue,
          workflowId,
          args: [{ useCaseId: useCase, name: opts.name, reason: opts.reason }],
          workflowExecutionTimeout: '5 minutes',
          staticSummary: `snapshot of ${useCase}: ${opts.reason}`,
        });
        await c.audit('snapshot.create', useCase, { snapshotId: result.snapshotId, name: opts.name ?? null, reason: opts.reason });
        c.print({ ...result, workflowId }, () => `snapshot ${result.snapshotId} of ${useCase} (allocation v${result.allocationVersion}, ${result.isStable ? 'stable' : 'in-flight'})`);
      } catch (err) {
        throw new CliError(`snapshot failed: ${failureReason(err)}`);
      }
    });

  program
    .command('rollback <useCase>')
    .option('--snapshot <id>', 'restore this snapshot')
    .option('--to-model <id>', 'restore the latest snapshot of this model')
    .option('--reason <text>', 'recorded on the deployment row', 'manual rollback')
    .option('--no-wait', 'print the workflow id and return at once')
    .description('undo the last change of the serving model (default), or restore a snapshot; then verify the data plane serves it')
    .action(async (useCase: string, opts: { snapshot?: string; toModel?: string; reason: string; wait: boolean }) => {
      const c = ctx();
      if (opts.snapshot && opts.toModel) throw new CliError('--snapshot and --to-model exclude each other', 2);
      if (opts.snapshot && !uuid.test(opts.snapshot)) throw new CliError(`--snapshot "${opts.snapshot}" is not a snapshot id (UUID)`, 2);
      if (opts.toModel && !uuid.test(opts.toModel)) throw new CliError(`--to-model "${opts.toModel}" is not a model id (UUID)`, 2);
      await ensureUseCase(c, useCase);
      const prisma = await c.prisma();
      const target: RollbackInput['target'] = opts.snapshot ? { snapshotId: opts.snapshot } : opts.toModel ? { modelId: opts.toModel } : { undo: true };
      let summary = opts.snapshot ? `rollback of ${useCase} to snapshot ${opts.snapshot}` : `rollback of ${useCase} to the latest snapshot of model ${opts.toModel}`;
      if ('undo' in target) {
        // Say where undo goes before doing it: the model that served before the last change.
        let undo;
        try {
          undo = await resolveUndoTarget(prisma, useCase);
        } catch (err) {
          if (err instanceof NotFoundError) throw new CliError(err.message);
          throw err;
        }
        const [from, to] = await Promise.all([modelLabel(c, undo.fromModelId), modelLabel(c, undo.toModelId)]);
        summary = undo.fromModelId === undo.toModelId ? `undo on ${useCase}: ${to} alone again (${undo.explanation})` : `undo on ${useCase}: back to ${to} from ${from}`;
        c.progress(`${summary} — restoring snapshot ${undo.snapshot.snapshotId} (${undo.snapshot.createdAt})`);
      }
      const client = await c.temporal();
      if (await rolloutRunning(client, useCase)) {
        throw new CliError(`a rollout of "${useCase}" is running: \`mms rollout abort ${useCase} --reason …\` restores the state it started from`);
      }
      const workflowId = rollbackWorkflowId(useCase);
      let handle;
      try {
        handle = await client.workflow.start(rollbackWorkflow, {
          taskQueue: c.config().temporal.controlTaskQueue,
          workflowId,
          args: [{ useCaseId: useCase, target, reason: opts.reason, requestedBy: requestedBy.cli() }],
          staticSummary: summary,
          staticDetails: `reason: ${opts.reason} (requested by ${requestedBy.cli()})`,
        });
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) {
          throw new CliError(`a rollback of "${useCase}" is already running (workflow ${workflowId}); watch it at ${webUiLink(c.config(), workflowId)}`);
        }
        throw err;
      }
      await c.audit('rollback', useCase, { target, reason: opts.reason, workflowId, runId: handle.firstExecutionRunId });
      const link = webUiLink(c.config(), workflowId, handle.firstExecutionRunId);
      if (!opts.wait) {
        c.print({ workflowId, runId: handle.firstExecutionRunId, webUi: link }, () => `rollback started: ${workflowId}\n${link}`);
        return;
      }
      c.progress(`rollback started: ${workflowId}\n${link}`);
      const finished = handle.result();
      const progress = followRollback(c, handle, finished);
      try {
        const result = await finished;
        const restored = result.restoredModelId ? await modelLabel(c, result.restoredModelId) : 'no stable model';
        c.print({ ...result, workflowId, webUi: link }, () => `rolled back ${useCase} to ${restored} (snapshot ${result.snapshotId}): allocation v${result.allocationVersion}, verified by ${result.verifiedBy.join(', ')}`);
      } catch (err) {
        throw new CliError(`rollback of "${useCase}" failed: ${failureReason(err)}`);
      } finally {
        await progress;
      }
    });
}
