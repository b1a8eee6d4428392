import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { runPrisma } from '../../src/db/migrations';
import { projectRoot } from '../../src/paths';
import { databaseServerUrl, databaseUrl } from '../support/stack';

// The partitioning migration on a database that already holds logs: Prisma applies the migrations
// before it, rows are written over several days, then Prisma applies the rest. No row may be lost.
const MIGRATION = '20261130054408_partition_historical_logs';
const migrationsDir = path.join(projectRoot, 'prisma', 'migrations');
let workDir: string;
let name: string;
let client: Client;

/** A Prisma config whose migrations folder holds only the migrations before MIGRATION. */
function configBefore(): string {
  workDir = fs.mkdtempSync(path.join(projectRoot, '.mms', 'migration-test-'));
  const dir = path.join(workDir, 'migrations');
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(migrationsDir, 'migration_lock.toml'), path.join(dir, 'migration_lock.toml'));
  const before = fs.readdirSync(migrationsDir).filter((d) => /^\d{14}_/.test(d) && d < MIGRATION).sort();
  for (const d of before) fs.cpSync(path.join(migrationsDir, d), path.join(dir, d), { recursive: true });
  const file = path.join(workDir, 'prisma.config.ts');
  fs.writeFileSync(
    file,
    `import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';
export default defineConfig({
  schema: ${JSON.stringify(path.join(dir, before[before.length - 1]!, 'schema.prisma'))},
  migrations: { path: ${JSON.stringify(dir)} },
  engine: 'js',
  experimental: { adapter: true },
  adapter: async () => new PrismaPg({ connectionString: process.env.DATABASE_URL ?? '', idleTimeoutMillis: 200 }),
});
`,
  );
  return file;
}

beforeAll(async () => {
  name = `mms_migration_${crypto.randomBytes(5).toString('hex')}`;
  const admin = new Client({ connectionString: databaseServerUrl() });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  client = new Client({ connectionString: databaseUrl(name) });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  const admin = new Client({ connectionString: databaseServerUrl() });
  await admin.connect();
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

const count = async (sql: string) => Number((await client.query<{ n: string }>(sql)).rows[0]!.n);

test('partitioning keeps every existing log and violation row, in a partition of its day', async () => {
  await runPrisma(['migrate', 'deploy', '--config', configBefore()], databaseUrl(name));
  expect(await count(`select count(*) as n from pg_partitioned_table where partrelid = 'model_historical_logs'::regclass`)).toBe(0);

  const model = (await client.query<{ model_id: string }>(
    `insert into models (model_name, model_type, use_case, version, status) values ('m', 'self_hosted', 'npc_dialogue', '1', 'current') returning model_id`,
  )).rows[0]!.model_id;
  // 5,000 rows over the last 40 days (and one a year ahead), every tenth with a violation.
  await client.query(
    `insert into model_historical_logs (model_id, use_case, prompt, generated_output, "timestamp", request_id, role, status, sticky_key_hash, feedback_score)
     select $1::uuid, 'npc_dialogue', 'prompt ' || g, 'output ' || g, now() - (g % 40) * interval '1 day' - (g % 24) * interval '1 hour',
            'req-' || g, 'stable', 'ok', md5(g::text), case when g % 7 = 0 then 0.5 end
       from generate_series(1, 5000) g`,
    [model],
  );
  await client.query(`insert into model_historical_logs (prompt, generated_output, "timestamp", request_id) values ('late', 'x', now() + interval '365 days', 'req-future')`);
  await client.query(
    `insert into guardrails_violations (model_id, log_id, use_case_id, violation_type, severity, "timestamp")
     select model_id, log_id, use_case, 'hate', 'low', "timestamp" from model_historical_logs where request_id ~ '0$'`,
  );
  const sums = `select count(*) as n, sum(hashtext(log_id::text || prompt || coalesce(feedback_score::text, ''))) as h from model_historical_logs`;
  const before = (await client.query(sums)).rows[0] as { n: string; h: string };
  const violationsBefore = await count('select count(*) as n from guardrails_violations');
  expect(Number(before.n)).toBe(5001);
  expect(violationsBefore).toBe(500);

  await runPrisma(['migrate', 'deploy'], databaseUrl(name));

  expect(await count(`select count(*) as n from pg_partitioned_table where partrelid in ('model_historical_logs'::regclass, 'guardrails_violations'::regclass)`)).toBe(2);
  expect((await client.query(sums)).rows[0]).toEqual(before);
  expect(await count('select count(*) as n from guardrails_violations')).toBe(violationsBefore);
  // Each of the 40 days has its partition; the row a year ahead got one too; DEFAULT is empty.
  expect(await count(`select count(distinct tableoid) as n from model_historical_logs where "timestamp" < now() + interval '1 hour'`)).toBeGreaterThanOrEqual(40);
  expect(await count('select count(*) as n from model_historical_logs_default')).toBe(0);
  expect(await count(`select count(*) as n from model_historical_logs where tableoid::regclass::text = 'model_historical_logs_p' || to_char((now() + interval '365 days') at time zone 'UTC', 'YYYYMMDD')`)).toBe(1);
  // Keys, unique request ids per time and the foreign key to models still hold.
  await expect(client.query(`insert into model_historical_logs (log_id, prompt, generated_output, "timestamp") select log_id, 'dup', 'dup', "timestamp" from model_historical_logs limit 1`)).rejects.toThrow(/duplicate key/);
  await expect(client.query(`insert into model_historical_logs (model_id, prompt, generated_output) values (gen_random_uuid(), 'p', 'o')`)).rejects.toThrow(/foreign key/);
  expect(await count(`select count(*) as n from pg_tables where tablename like '%_unpartitioned'`)).toBe(0);
});
