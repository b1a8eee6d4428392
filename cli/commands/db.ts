import type { Command } from 'commander';
import { resolveDatabase } from '../../src/db/database';
import { applyMigrations, migrationStatus, writeNextMigration } from '../../src/db/migrations';
import { CliError, type CliContext } from '../context';

/** Migrations are Prisma's (`migrate deploy`, `migrate diff`); these commands only find the database. */
export function registerDbCommands(program: Command, ctx: () => CliContext) {
  const db = program.command('db').description('database migrations (Prisma)');
  db.command('migrate')
    .description('apply committed migrations (prisma migrate deploy)')
    .action(async () => {
      const c = ctx();
      const handle = await resolveDatabase({ onProgress: c.progress });
      try {
        const { stdout } = await applyMigrations(handle.url);
        c.print({ applied: true, output: stdout.trim() }, () => stdout.trim().split('\n').filter(Boolean).slice(-1)[0] ?? 'migrations applied');
      } finally {
        await handle.stop();
      }
    });
  db.command('status')
    .description('are all committed migrations applied?')
    .action(async () => {
      const c = ctx();
      const handle = await resolveDatabase({ onProgress: c.progress });
      try {
        const status = await migrationStatus(handle.url);
        c.print(status, () => (status.upToDate ? 'migrations: up to date' : `migrations: NOT up to date — ${status.detail}`));
        if (!status.upToDate) process.exitCode = 1;
      } finally {
        await handle.stop();
      }
    });
  db.command('migration <name>')
    .description('write the next migration from prisma/schema.prisma (prisma migrate diff)')
    .action(async (name: string) => {
      const c = ctx();
      if (!/^[a-z0-9_]+$/.test(name)) throw new CliError(`migration name "${name}" must be lower_snake_case`, 2);
      const handle = await resolveDatabase({ onProgress: c.progress });
      try {
        const dir = await writeNextMigration(name, handle.url);
        c.print({ written: dir ?? null }, () => (dir ? `wrote ${dir}/migration.sql — review it, then \`npm run db:migrate\`` : 'no schema changes: nothing written'));
      } finally {
        await handle.stop();
      }
    });
}
