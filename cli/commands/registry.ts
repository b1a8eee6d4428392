import type { Command } from 'commander';
import { CliError, table, type CliContext } from '../context';
import { getServingAllocation, type AllocationEntry } from '../../src/registry/allocations';
import { listHistory } from '../../src/registry/history';
import { syncUseCases } from '../../src/registry/use-cases';

/** Commands over the registry's use cases and history (models: ./models.ts). */
export function registerRegistryCommands(program: Command, ctx: () => CliContext) {
  const usecase = program.command('usecase').description('use cases and their serving allocation');
  usecase
    .command('list')
    .description('every use case with the model it serves')
    .action(async () => {
      const c = ctx();
      const prisma = await c.prisma();
      const rows = await prisma.useCase.findMany({ orderBy: { id: 'asc' } });
      const out: Array<{ id: string; kind: string; temperature: number; maxTokens: number; allocationVersion: number | null; allocation: AllocationEntry[] }> = [];
      for (const row of rows) {
        const allocation = await getServingAllocation(prisma, row.id);
        out.push({ id: row.id, kind: row.kind, temperature: row.temperature, maxTokens: row.maxTokens, allocationVersion: allocation?.version ?? null, allocation: allocation?.entries ?? [] });
      }
      c.print(out, () =>
        table([
          ['USE CASE', 'KIND', 'TEMP', 'MAX TOKENS', 'ALLOCATION'],
          ...out.map((u) => [u.id, u.kind, u.temperature, u.maxTokens, u.allocationVersion ? `v${u.allocationVersion} ${u.allocation.map((e) => `${e.role}:${e.modelId.slice(0, 8)}@${e.weight / 100}%`).join(' ')}` : 'none']),
        ]),
      );
    });
  usecase
    .command('sync')
    .description('bring the registry in line with the use cases of the config (idempotent; the gateway, every worker and `mms dev` also do it at start)')
    .action(async () => {
      const c = ctx();
      const synced = await syncUseCases(await c.prisma(), c.config());
      c.print(synced, () => `use cases synced from ${c.configPath}: ${synced.map((s) => `${s.useCaseId} ${s.action}`).join(', ')}`);
    });
  usecase
    .command('show <useCase>')
    .description('config, serving allocation and models of one use case')
    .action(async (id: string) => {
      const c = ctx();
      const prisma = await c.prisma();
      const row = await prisma.useCase.findUnique({ where: { id } });
      if (!row) throw new CliError(`use case "${id}" is not in the registry`);
      const allocation = await getServingAllocation(prisma, id);
      const models = await prisma.model.findMany({ where: { useCase: id }, orderBy: { createdAt: 'asc' } });
      const names = new Map(models.map((m) => [m.id, `${m.modelName}@${m.version}`]));
      const data = { useCase: row, allocation, models };
      c.print(data, () =>
        [
          `${row.id} (${row.kind})${row.description ? ` — ${row.description}` : ''}`,
          `  temperature ${row.temperature}, max tokens ${row.maxTokens}, sampling ${JSON.stringify(row.samplingParams)}`,
          `  system prompt: ${row.systemPromptTemplate}`,
          `allocation v${allocation?.version ?? '-'}${allocation ? ` (${allocation.reason})` : ''}`,
          ...(allocation?.entries ?? []).map((e) => `  ${e.role.padEnd(6)} ${(e.weight / 100).toFixed(2).padStart(6)}%  ${names.get(e.modelId) ?? e.modelId}  ${e.modelId}`),
          'models',
          table([['ID', 'NAME', 'VERSION', 'STATUS', 'PROVIDER'], ...models.map((m) => [m.id, m.modelName, m.version, m.status, m.provider])])
            .split('\n')
            .map((l) => `  ${l}`)
            .join('\n'),
        ].join('\n'),
      );
    });

  program
    .command('history <useCase>')
    .option('--limit <n>', 'how many events', '50')
    .description('deployments, rollbacks, snapshots and interventions (guardrails decisions) of a use case, newest first')
    .action(async (useCase: string, opts: { limit: string }) => {
      const c = ctx();
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new CliError('--limit must be a whole number from 1 to 10000', 2);
      const prisma = await c.prisma();
      if (!(await prisma.useCase.findUnique({ where: { id: useCase } }))) throw new CliError(`use case "${useCase}" is not in the registry`);
      const events = await listHistory(prisma, useCase, limit);
      c.print(events, () => table([['WHEN', 'EVENT', 'STATUS', 'MODEL', 'DETAIL'], ...events.map((e) => [e.at, e.kind, e.status, e.modelId, e.detail])]));
    });
}
