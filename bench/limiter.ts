/**
 * `npm run bench:limiter [-- --calls 2000000] [--json]`: what the per-key limit check costs a call, in
 * process, against the real PostgreSQL counters (src/auth/counter-store.ts; embedded unless
 * DATABASE_URL). One key carries every limit (rpm, tpm, use-case rpm and tpm, a USD budget) set far
 * above the load, so every call is admitted and charged and leases are renewed as in production.
 * Prints ns per admitted+charged call (and without limits, for the floor), how many calls needed a
 * database round trip (a lease fetched while the call waited), and the leases and settles behind them.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client as PgClient } from 'pg';
import { createApiKey } from '../src/auth/api-keys';
import { postgresCounterStore } from '../src/auth/counter-store';
import { KeyLimiter } from '../src/auth/limiter';
import { NO_LIMITS } from '../src/auth/limits';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres';
import { applyMigrations } from '../src/db/migrations';
import { createPrisma } from '../src/db/prisma';
import { stateDir } from '../src/paths';

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main() {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const callsAt = args.indexOf('--calls');
  const calls = callsAt >= 0 ? Number(args[callsAt + 1]) : 2_000_000;
  if (!Number.isInteger(calls) || calls < 1000) throw new Error(`--calls: must be a whole number >= 1000, got "${args[callsAt + 1]}"`);
  const stops: Array<() => Promise<void>> = [];
  try {
    let serverUrl = process.env.DATABASE_URL;
    if (!serverUrl) {
      const pg = await startEmbeddedPostgres({ dataDir: path.join(stateDir, 'bench', 'postgres'), database: 'postgres', onProgress: log });
      if (pg.owned) stops.push(pg.stop);
      serverUrl = pg.url;
    }
    const dbName = `mms_bench_limiter_${Date.now()}`;
    const admin = new PgClient({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`create database ${dbName}`);
    await admin.end();
    stops.push(async () => {
      const c = new PgClient({ connectionString: serverUrl });
      await c.connect();
      await c.query(`drop database if exists ${dbName} with (force)`);
      await c.end();
    });
    const u = new URL(serverUrl);
    u.pathname = `/${dbName}`;
    await applyMigrations(u.toString());
    const prisma = createPrisma(u.toString(), { max: 4 });
    stops.push(() => prisma.$disconnect());

    const created = await createApiKey(prisma, {
      name: 'bench',
      scopes: ['gateway'],
      rpm: 1_000_000_000,
      tpm: 1_000_000_000,
      useCaseLimits: { npc_dialogue: { rpm: 1_000_000_000, tpm: 1_000_000_000 } },
      budgetUsd: 1_000_000,
    });
    const limiter = new KeyLimiter({ store: postgresCounterStore(prisma) });
    limiter.start();
    const key = { id: created.id, keyPrefix: created.keyPrefix, limits: created.limits };
    const unlimited = { ...key, limits: NO_LIMITS };

    const run = async (k: typeof key, n: number) => {
      let waited = 0;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        let verdict = limiter.admitChat(k, 'npc_dialogue');
        if (verdict instanceof Promise) {
          waited++;
          verdict = await verdict;
        }
        if (verdict) throw new Error(`refused: ${verdict.message}`);
        if (k.limits !== NO_LIMITS) limiter.charge(k, 'npc_dialogue', 60, 0.000004);
        // Yield now and then, as a server does between requests, so leases and settles run.
        if ((i & 1023) === 0) await new Promise((r) => setImmediate(r));
      }
      return { nsPerCall: ((performance.now() - t0) * 1e6) / n, waited };
    };
    await run(key, Math.min(100_000, calls)); // warm-up
    const base = await run(unlimited, calls);
    const before = { ...limiter.stats };
    const limited = await run(key, calls);
    await limiter.stop();
    const leases = limiter.stats.leases - before.leases;
    const settles = limiter.stats.settles - before.settles;
    const counters = await prisma.apiKeyCounter.findMany({ where: { keyId: created.id } });
    const rpmUsed = counters.filter((c) => c.counter === 'rpm').reduce((s, c) => s + Number(c.used), 0);
    const result = {
      calls,
      ns_per_call_without_limits: Math.round(base.nsPerCall),
      ns_per_call_with_5_limits: Math.round(limited.nsPerCall),
      calls_that_waited_for_a_lease: limited.waited,
      leases,
      settles,
      store_errors: limiter.stats.storeErrors,
      rpm_counted_in_postgres: rpmUsed,
    };
    log(
      `limit check: ${result.ns_per_call_with_5_limits} ns per call with 5 limits (admission + charge), ${result.ns_per_call_without_limits} ns without; ` +
        `${limited.waited} of ${calls} calls waited for a lease (${leases} leases, ${settles} settles); PostgreSQL counted ${rpmUsed} requests (incl. warm-up)`,
    );
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

main().catch((err) => {
  log(`bench failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
