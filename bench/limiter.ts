/**
 * `npm run bench:limiter [-- --calls 2000000] [--json]`: what the per-key limit check costs a call, in
 * process, against the real PostgreSQL counters (src/auth/counter-store.ts; embedded unless
 * DATABASE_URL). One key carries every limit (rpm, tpm, use-case rpm and tpm, a USD budget) set far
 * above the load, so every call is admitted and charged and leases are renewed as in production.
 * Prints ns per admitted+charged call (and without limits, for the floor), how many calls needed a
 * database round trip (a lease fetched while the call waited), and the leases and settles behind them.
 */
import { performance } from 'node:perf_hooks';
import { createApiKey } from '../src/auth/api-keys';
import { postgresCounterStore } from '../src/auth/counter-store';
import { KeyLimiter } from '../src/auth/limiter';
import { NO_LIMITS } from '../src/auth/limits';
import { createPrisma } from '../src/db/prisma';
import { freshBenchDatabase } from './database';

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main() {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const callsAt = args.indexOf('--calls');
  const calls = callsAt >= 0 ? Number(args[callsAt + 1]) : 2_000_000;
  if (!Number.isInteger(calls) || calls < 1000) throw new Error(`--calls: must be a whole number >= 1000, got "${args[callsAt + 1]}"`);
  const stops: Array<() => Promise<void>> = [];
  try {
    const database = await freshBenchDatabase('mms_bench_limiter', stops, log);
    const prisma = createPrisma(database.url, { max: 4 });
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
      const cpu0 = process.cpuUsage();
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
      const cpu = process.cpuUsage(cpu0);
      // CPU time as well as wall time: on a shared machine the wall clock also counts time the
      // process waited for a core.
      return { nsPerCall: ((performance.now() - t0) * 1e6) / n, cpuNsPerCall: ((cpu.user + cpu.system) * 1000) / n, waited };
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
      cpu_ns_per_call_without_limits: Math.round(base.cpuNsPerCall),
      cpu_ns_per_call_with_5_limits: Math.round(limited.cpuNsPerCall),
      calls_that_waited_for_a_lease: limited.waited,
      leases,
      settles,
      store_errors: limiter.stats.storeErrors,
      rpm_counted_in_postgres: rpmUsed,
    };
    log(
      `limit check: ${result.ns_per_call_with_5_limits} ns per call with 5 limits (admission + charge), ${result.ns_per_call_without_limits} ns without ` +
        `(CPU time: ${result.cpu_ns_per_call_with_5_limits} and ${result.cpu_ns_per_call_without_limits} ns); ` +
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
