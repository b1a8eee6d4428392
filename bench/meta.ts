/**
 * `npm run bench:meta [-- --use-cases 1000] [--batch-size 100] [--parallel 4] [--batches-per-run 4] [--json]`
 *
 * The meta loop at portfolio scale on a real Temporal dev server and PostgreSQL (DATABASE_URL's server,
 * else an embedded one of the bench's own; a fresh database per run, dropped at the end): `--use-cases`
 * use cases synced from a config whose providers are fake servers (testkit), each with an hour of
 * per-minute roll-ups (one in ten breaching its error-rate SLO, one in twenty with a rollout running),
 * then one sweep started through the schedule (`mms schedule trigger`'s path: trigger with overlap
 * skip) in dry run. Prints the wall time from the trigger to the sweep's result, the sweep's runs
 * (continue-as-new) with each run's history, every decision recorded, and the largest history of any
 * workflow of the sweep (targets: < 60 s, < 10,000 events). `--batches-per-run` defaults to 4, not the
 * config's 20: 1,000 use cases in batches of 100 are 10 batches, which at 20 fit one run, and the
 * bench is there to show the sweep continuing as new (3 runs: 4 + 4 + 2 batches). Not part of `npm test`; the machine may be shared, so the
 * figures say the load average they were measured under.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { parseConfig } from '../src/config/load';
import { syncUseCases } from '../src/registry/use-cases';
import { LATENCY_BUCKETS_MS } from '../src/logs/rollups';
import { createControlWorker } from '../workers/control';
import { ensureMetaSchedule } from '../workers/meta-schedule';
import { sweepRunHistories, triggerMetaSweep } from '../clients/meta';
import { META_SCHEDULE_ID, type MetaSweepResult } from '../workflows/meta-optimization-messages';
import { startFakeProvider } from '../testkit/fake-providers';
import { parseBenchArgs, type BenchFlag } from './support/args';
import { benchTeardown, startBenchDatabase, startBenchTemporal } from './support/stack';

const FLAGS = {
  json: { type: 'boolean' },
  'use-cases': { type: 'number', default: 1000, min: 1, max: 100_000, integer: true },
  'batch-size': { type: 'number', default: 100, min: 1, max: 1000, integer: true },
  parallel: { type: 'number', default: 4, min: 1, max: 50, integer: true },
  'batches-per-run': { type: 'number', default: 4, min: 1, max: 500, integer: true },
} satisfies Record<string, BenchFlag>;

const say = (line: string) => process.stderr.write(`[bench:meta] ${line}\n`);

async function main() {
  const o = parseBenchArgs('bench:meta', process.argv.slice(2), FLAGS);
  const { stops, cleanup } = benchTeardown(say);
  try {
    const prisma = await startBenchDatabase('meta', stops, say);
    const temporalAddress = await startBenchTemporal('meta', stops, say);
    say(`temporal: ${temporalAddress}`);

    // Fake providers behind every use case: the sweep calls none, but the registry is what a real one holds.
    const paid = await startFakeProvider({ record: false });
    const local = await startFakeProvider({ record: false });
    stops.push(() => paid.close());
    stops.push(() => local.close());
    const ids = Array.from({ length: o.useCases }, (_, i) => `bench_uc_${String(i).padStart(5, '0')}`);
    const taskQueue = `bench-meta-${process.pid}`;
    const config = parseConfig({
      temporal: { controlTaskQueue: taskQueue },
      providers: {
        openai: { kind: 'openai', baseUrl: paid.baseUrls.openai, apiKeyEnv: 'BENCH_OPENAI_KEY' },
        local: { kind: 'openai_compatible', baseUrl: local.baseUrls.openai_compatible },
      },
      useCases: ids.map((id, i) =>
        i % 3 === 0
          ? { id, kind: 'paid', temperature: 0.7, maxTokens: 64, systemPromptTemplate: 'You narrate.', initialModel: { provider: 'openai', model: 'gpt-4o-mini' } }
          : { id, kind: 'self_hosted', temperature: 0.7, maxTokens: 64, systemPromptTemplate: 'You are an NPC.', initialModel: { provider: 'local', model: 'llama-3.1-8b-instruct' } },
      ),
      policies: { meta: { dryRun: true, batchSize: o.batchSize, parallelBatches: o.parallel, batchesPerRun: o.batchesPerRun, retrainEveryDays: 0, paidDiscoveryEveryHours: 0 } },
    });
    say(`registry: syncing ${ids.length} use cases`);
    // In slices: one transaction of 1,000 syncs outlives its 120 s timeout on a loaded machine.
    for (let i = 0; i < config.useCases.length; i += 100) await syncUseCases(prisma, { ...config, useCases: config.useCases.slice(i, i + 100) });

    // An hour of roll-ups per use case's stable model: 1 in 10 breaches the 5% error-rate SLO; 1 in 20 has a rollout running.
    say('roll-ups: one hour of minutes per use case');
    const hist = `array[${LATENCY_BUCKETS_MS.map((_b, i) => (i === 3 ? '20' : '0')).join(',')},0]`;
    await prisma.$executeRawUnsafe(`
      insert into model_call_rollups (minute, use_case, model_id, role, calls, errors, first_attempt_failures, latency_buckets, latency_sum_ms, tokens_in, tokens_out, cost_usd, violations, blocked, feedback_count, feedback_score_sum)
      select date_trunc('minute', now()) - make_interval(mins => m), u.id, (a.entries->0->>'modelId')::uuid, 'stable', 20,
             case when right(u.id, 1) = '7' then 4 else 0 end, null, ${hist}, 20 * 300, 200, 400, 0.002, 0, 0, 2, 1.6
        from use_cases u
        join lateral (select entries from traffic_allocations t where t.use_case_id = u.id order by version desc limit 1) a on true
        cross join generate_series(1, 60) m`);
    await prisma.$executeRawUnsafe(`
      insert into model_deployments (model_id, use_case_id, deployment_type, status, traffic_percentage, workflow_id)
      select (a.entries->0->>'modelId')::uuid, u.id, 'canary', 'in_progress', 25, 'rollout:' || u.id
        from use_cases u join lateral (select entries from traffic_allocations t where t.use_case_id = u.id order by version desc limit 1) a on true
       where right(u.id, 2) in ('05', '25', '45', '65', '85')`);

    say('worker: bundling workflows');
    const connection = await NativeConnection.connect({ address: temporalAddress });
    const worker = await createControlWorker({ connection, namespace: 'default', taskQueue, prisma, config });
    const running = worker.run();
    stops.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    });
    const client = new Client({ connection: await Connection.connect({ address: temporalAddress }), namespace: 'default' });
    stops.push(() => client.connection.close());
    say(`schedule: ${(await ensureMetaSchedule(client, config)).result}; paused so only the trigger starts a sweep`);
    await client.schedule.getHandle(META_SCHEDULE_ID).pause('bench:meta');

    const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
    const t0 = performance.now();
    await triggerMetaSweep(client);
    let sweepId: string | undefined;
    while (!sweepId) {
      sweepId = (await client.schedule.getHandle(META_SCHEDULE_ID).describe()).info.recentActions[0]?.action.workflow.workflowId;
      if (!sweepId) await new Promise((r) => setTimeout(r, 50));
    }
    const result: MetaSweepResult = await client.workflow.getHandle(sweepId).result();
    const wallS = (performance.now() - t0) / 1000;

    const runHistories = await sweepRunHistories(client, sweepId);
    let largest = { workflowId: '', runId: '', events: 0 };
    let executions = 0;
    for await (const w of client.workflow.list({ query: `WorkflowId STARTS_WITH "${sweepId}"` })) {
      executions++;
      const events = w.historyLength ?? (await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory()).events?.length ?? 0;
      if (events > largest.events) largest = { workflowId: w.workflowId, runId: w.runId, events };
    }
    // The sweep's own runs from their histories (the list above may not show the latest yet).
    for (const r of runHistories) if (r.events > largest.events) largest = { workflowId: sweepId, runId: r.runId, events: r.events };
    const decisions = await prisma.optimizationDecision.groupBy({ by: ['decisionType', 'status'], _count: true, where: { workflowId: sweepId } });
    const figures = {
      useCases: o.useCases,
      batchSize: o.batchSize,
      parallelBatches: o.parallel,
      batchesPerRun: o.batchesPerRun,
      wallSeconds: Number(wallS.toFixed(2)),
      runs: result.runs,
      runHistoryEvents: runHistories.map((r) => r.events),
      workflowExecutions: executions,
      largestHistoryEvents: largest.events,
      largestHistoryWorkflow: largest.workflowId,
      totals: result.totals,
      decisionsRecorded: Object.fromEntries(decisions.map((d) => [`${d.decisionType}/${d.status}`, d._count])),
      loadAverageAtStart: load,
      loadAverageAtEnd: os.loadavg().map((x) => x.toFixed(2)).join(' '),
    };
    if (o.json) process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
    else {
      process.stdout.write(
        [
          `bench:meta — ${o.useCases} use cases, dry run, one sweep through the schedule (batch ${o.batchSize}, ${o.parallel} at once, continue-as-new every ${o.batchesPerRun} batches)`,
          `wall time (trigger → result): ${figures.wallSeconds} s   (target < 60 s)`,
          `largest history: ${largest.events} events (${largest.workflowId})   (target < 10,000)`,
          `sweep runs (continue-as-new): ${result.runs} (${runHistories.length} in the chain; histories ${figures.runHistoryEvents.join(', ')} events); workflow executions of the sweep: ${executions}`,
          `use cases swept: ${result.totals.useCases}; decisions: ${JSON.stringify(result.totals.decisions)}; left alone (rollout running): ${result.totals.leftAlone}`,
          `decisions recorded: ${JSON.stringify(figures.decisionsRecorded)}`,
          `load average (1, 5, 15 min): ${load} at the trigger, ${figures.loadAverageAtEnd} at the end`,
        ].join('\n') + '\n',
      );
    }
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  process.stderr.write(`bench:meta failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
