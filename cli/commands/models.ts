import type { Command } from 'commander';
import type { Model } from '@prisma/client';
import { startValidation, validationOutcome } from '../../clients/validation';
import { webUiLink } from '../../src/temporal/connection';
import {
  DuplicateModelError,
  ModelRequestError,
  deprecateModel,
  modelStatuses,
  paramPairs,
  registerModel,
  validationState,
  type ValidationState,
} from '../../src/registry/models';
import { NotFoundError } from '../../src/registry/allocations';
import type { ValidationResult } from '../../workflows/validate-messages';
import { CliError, table, type CliContext } from '../context';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const requestedBy = () => `cli:${process.env.USER ?? 'unknown'}`;
const collect = (value: string, previous: string[]) => [...previous, value];

const describeValidation = (v: ValidationState) =>
  v.state === 'never' ? 'never validated' : v.state === 'running' ? 'validation running' : `${v.state}${v.reason ? ` (${v.reason})` : ''}${v.at ? ` at ${v.at}` : ''}`;

async function modelById(c: CliContext, id: string): Promise<Model> {
  if (!uuid.test(id)) throw new CliError(`model id "${id}" is not a UUID (see \`mms model list\`)`, 2);
  const row = await (await c.prisma()).model.findUnique({ where: { id } });
  if (!row) throw new CliError(`model ${id} is not in the registry`);
  return row;
}

/** Runs validate:<modelId>, printing its progress; exits 1 when the model fails validation. */
async function runValidation(c: CliContext, model: Model, wait: boolean): Promise<ValidationResult | undefined> {
  const config = c.config();
  const started = await startValidation(await c.temporal(), config, model, requestedBy());
  const link = webUiLink(config, started.workflowId, started.runId);
  c.progress(`${started.started ? 'validating' : 'already validating'} ${model.modelName}@${model.version}: workflow ${started.workflowId}\n${link}`);
  if (!wait) return undefined;
  const result = await validationOutcome(started.handle);
  if (!result.passed) throw new CliError(`validation of ${result.modelName} failed: ${result.reason}; status ${result.status}`);
  return result;
}

const validatedLine = (r: ValidationResult) => `validated ${r.modelName}: ${r.reason} (${r.source} prompts); status ${r.status}`;

/** `mms model list|show|register|validate|deprecate`. */
export function registerModelCommands(program: Command, ctx: () => CliContext) {
  const model = program.command('model').description('models in the registry: register a candidate, validate it, retire it');

  model
    .command('list')
    .option('--use-case <id>', 'only this use case')
    .option('--status <status>', modelStatuses.join(' | '))
    .description('registered models, newest first')
    .action(async (opts: { useCase?: string; status?: string }) => {
      const c = ctx();
      if (opts.status && !(modelStatuses as readonly string[]).includes(opts.status)) throw new CliError(`--status must be one of ${modelStatuses.join(', ')}`, 2);
      const prisma = await c.prisma();
      const rows = await prisma.model.findMany({ where: { useCase: opts.useCase, status: opts.status }, orderBy: { createdAt: 'desc' } });
      c.print(rows, () => table([['ID', 'NAME', 'VERSION', 'USE CASE', 'TYPE', 'STATUS', 'PROVIDER'], ...rows.map((m) => [m.id, m.modelName, m.version, m.useCase, m.modelType, m.status, m.provider])]));
    });

  model
    .command('show <modelId>')
    .description('one model with its configuration, lineage and latest validation')
    .action(async (id: string) => {
      const c = ctx();
      const row = await modelById(c, id);
      const prisma = await c.prisma();
      const base = row.baseModelId ? await prisma.model.findUnique({ where: { id: row.baseModelId }, select: { id: true, modelName: true, version: true } }) : null;
      const validation = await validationState(prisma, id);
      c.print({ ...row, baseModel: base, validation }, () =>
        [
          ...Object.entries(row).map(([k, v]) => `${k.padEnd(20)} ${v instanceof Date ? v.toISOString() : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`),
          `${'baseModel'.padEnd(20)} ${base ? `${base.modelName}@${base.version} (${base.id})` : '-'}`,
          `${'validation'.padEnd(20)} ${describeValidation(validation)}`,
        ].join('\n'),
      );
    });

  model
    .command('register <useCase>')
    .description('add a candidate model to a use case, then validate it with a few prompts (validate:<modelId>)')
    .requiredOption('--provider <id>', 'a provider of mms.config.yaml')
    .requiredOption('--model <upstreamId>', 'the model id the provider knows (e.g. my-finetune, gpt-4o-mini)')
    .option('--name <name>', 'registry name (default: <model>-<use-case-with-dashes>)')
    .option('--version <version>', 'version', '1')
    .option('--param <name=value>', 'a sampling parameter the gateway applies to this model (temperature, max_tokens, top_p, top_k, stop, seed, …); repeatable', collect, [])
    .option('--path <path>', 'where the weights live (self-hosted)')
    .option('--no-validate', 'register only; `mms model validate <id>` later (a rollout refuses it until then)')
    .option('--no-wait', 'start the validation and return')
    .action(async (useCase: string, opts: { provider: string; model: string; name?: string; version: string; param: string[]; path?: string; validate: boolean; wait: boolean }) => {
      const c = ctx();
      const config = c.config();
      let row: Model;
      try {
        row = await registerModel(await c.prisma(), config, {
          useCaseId: useCase,
          provider: opts.provider,
          upstreamModel: opts.model,
          name: opts.name,
          version: opts.version,
          params: paramPairs(opts.param),
          path: opts.path,
          status: opts.validate ? 'testing' : 'candidate',
          registeredBy: requestedBy(),
        });
      } catch (err) {
        if (err instanceof ModelRequestError) {
          const detail = err.message.slice(err.field.length + 2);
          throw new CliError(err.field === 'use_case' ? `use case ${detail}` : `--${err.field.replace(/^params\b/, 'param')} ${detail}`, 2);
        }
        if (err instanceof DuplicateModelError) throw new CliError(err.message);
        throw err;
      }
      const registered = `registered ${row.modelName}@${row.version} on ${useCase} (${row.provider}:${row.upstreamModel}): ${row.id}`;
      if (!opts.validate) {
        c.print({ model: row, validation: null }, () => `${registered}\nnot validated: run \`mms model validate ${row.id}\` before rolling it out`);
        return;
      }
      c.progress(registered);
      const result = await runValidation(c, row, opts.wait);
      c.print({ model: { ...row, status: result?.status ?? row.status }, validation: result ?? null }, () => (result ? `${validatedLine(result)}\nroll it out: mms rollout start ${useCase} ${row.modelName} --wait` : `validation started: \`mms model show ${row.id}\` shows its outcome`));
    });

  model
    .command('validate <modelId>')
    .description('send a few prompts to the model through its provider; marks it candidate, or failed with the reason')
    .option('--no-wait', 'start the validation and return')
    .action(async (id: string, opts: { wait: boolean }) => {
      const c = ctx();
      const row = await modelById(c, id);
      const result = await runValidation(c, row, opts.wait);
      c.print(result ?? { modelId: id, started: true }, () => (result ? validatedLine(result) : 'validation started'));
    });

  model
    .command('deprecate <modelId>')
    .description('retire a model (refused while it serves traffic or is a fallback)')
    .action(async (id: string) => {
      const c = ctx();
      await modelById(c, id);
      try {
        const row = await deprecateModel(await c.prisma(), id);
        c.print(row, () => `deprecated ${row.modelName}@${row.version} (${row.id})`);
      } catch (err) {
        if (err instanceof ModelRequestError || err instanceof NotFoundError) throw new CliError(err instanceof ModelRequestError ? err.message.slice(err.field.length + 2) : err.message);
        throw err;
      }
    });
}
