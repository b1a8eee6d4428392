import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../paths';
import { redactSecrets } from '../logging/redact';

/**
 * Migrations are Prisma's own: this module only runs the Prisma CLI with DATABASE_URL set, so the
 * same commands work from `mms`, the test harness and CI.
 */
export async function runPrisma(args: string[], databaseUrl: string): Promise<{ stdout: string; stderr: string }> {
  const bin = path.join(projectRoot, 'node_modules', 'prisma', 'build', 'index.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: projectRoot,
      env: { ...process.env, DATABASE_URL: databaseUrl, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`prisma ${args.join(' ')} failed (exit ${code}):\n${redactSecrets((stderr || stdout).trim())}`));
    });
  });
}

export const applyMigrations = (databaseUrl: string) => runPrisma(['migrate', 'deploy'], databaseUrl);

export interface MigrationStatus {
  upToDate: boolean;
  detail: string;
}

export async function migrationStatus(databaseUrl: string): Promise<MigrationStatus> {
  try {
    const { stdout } = await runPrisma(['migrate', 'status'], databaseUrl);
    return { upToDate: /up to date/i.test(stdout), detail: stdout.trim().split('\n').slice(-1)[0] ?? '' };
  } catch (err) {
    const text = (err as Error).message;
    const pending = text.match(/Following migrations? have not yet been applied:[\s\S]*?(?=\n\n|$)/);
    return { upToDate: false, detail: pending ? pending[0].replace(/\s+/g, ' ') : text.split('\n').slice(0, 3).join(' ') };
  }
}

const migrationsDir = path.join(projectRoot, 'prisma', 'migrations');

/**
 * Writes the next migration: the SQL between the schema as the committed migrations left it and
 * prisma/schema.prisma now. `migrate dev` cannot run through the driver adapter, so `migrate diff`
 * does the work; the committed schema at the last migration is kept beside it as schema.prisma.
 */
export async function writeNextMigration(name: string, databaseUrl: string): Promise<string | undefined> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`migration name "${name}" must be lower_snake_case`);
  fs.mkdirSync(migrationsDir, { recursive: true });
  const previous = fs
    .readdirSync(migrationsDir)
    .filter((d) => fs.existsSync(path.join(migrationsDir, d, 'schema.prisma')))
    .sort()
    .pop();
  const from = previous ? ['--from-schema-datamodel', path.join(migrationsDir, previous, 'schema.prisma')] : ['--from-empty'];
  const schemaFile = path.join(projectRoot, 'prisma', 'schema.prisma');
  const { stdout } = await runPrisma(['migrate', 'diff', ...from, '--to-schema-datamodel', schemaFile, '--script'], databaseUrl);
  if (/^-- This is an empty migration\.?\s*$/m.test(stdout) || stdout.trim() === '') return undefined;
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const dir = path.join(migrationsDir, `${stamp}_${name}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'migration.sql'), stdout);
  fs.copyFileSync(schemaFile, path.join(dir, 'schema.prisma'));
  if (!fs.existsSync(path.join(migrationsDir, 'migration_lock.toml'))) {
    fs.writeFileSync(path.join(migrationsDir, 'migration_lock.toml'), 'provider = "postgresql"\n');
  }
  return dir;
}
