import { Client as PgClient } from 'pg';
import { allocationEntriesSchema, getServingAllocation, lockUseCase, writeAllocation } from '../../src/registry/allocations';
import { captureSnapshot } from '../../src/registry/snapshots';
import { listHistory } from '../../src/registry/history';
import { syncUseCases } from '../../src/registry/use-cases';
import { createTestDatabase, type TestDatabase } from '../support/stack';
import { addModel, testConfig } from '../support/fixtures';

let db: TestDatabase;
beforeEach(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  await db.drop();
});

/** The original design's tables, column by column: the registry must hold every one of them. */
const seedColumns: Record<string, string[]> = {
  models: ['model_id', 'model_name', 'model_type', 'provider', 'use_case', 'version', 'status', 'model_path', 'configuration', 'performance_metrics', 'created_at', 'updated_at'],
  model_historical_logs: ['log_id', 'model_id', 'use_case', 'prompt', 'context', 'generated_output', 'user_feedback', 'corrected_output', 'performance_metrics', 'timestamp'],
  model_snapshots: ['snapshot_id', 'model_id', 'snapshot_name', 'model_state_path', 'configuration', 'performance_metrics', 'traffic_allocation', 'created_at'],
  guardrails_violations: ['violation_id', 'model_id', 'violation_type', 'severity', 'violation_details', 'output_sample', 'intervention_taken', 'timestamp'],
  model_deployments: ['deployment_id', 'model_id', 'deployment_type', 'status', 'traffic_percentage', 'start_time', 'completion_time', 'rollback_reason'],
};
const seedIndexes = ['idx_models_use_case_status', 'idx_models_type_status', 'idx_historical_logs_model_time', 'idx_guardrails_violations_model_time', 'idx_model_snapshots_model_time'];
const laterTables = ['use_cases', 'traffic_allocations', 'evaluations', 'training_jobs', 'discovered_candidates', 'optimization_decisions', 'api_keys'];

test('the migrations create every table, column, constraint and index of the original design', async () => {
  const pg = new PgClient({ connectionString: db.url });
  await pg.connect();
  try {
    const cols = await pg.query<{ table_name: string; column_name: string; is_nullable: string }>(
      `select table_name, column_name, is_nullable from information_schema.columns where table_schema = 'public'`,
    );
    const have = new Map<string, Map<string, string>>();
    for (const r of cols.rows) {
      if (!have.has(r.table_name)) have.set(r.table_name, new Map());
      have.get(r.table_name)!.set(r.column_name, r.is_nullable);
    }
    for (const [table, columns] of Object.entries(seedColumns)) for (const column of columns) expect(`${table}.${column}:${have.get(table)?.has(column)}`).toBe(`${table}.${column}:true`);
    for (const table of laterTables) expect(have.has(table)).toBe(true);
    // NOT NULL where the design says so
    expect(have.get('models')!.get('model_name')).toBe('NO');
    expect(have.get('model_historical_logs')!.get('prompt')).toBe('NO');
    expect(have.get('model_historical_logs')!.get('generated_output')).toBe('NO');
    expect(have.get('model_snapshots')!.get('model_state_path')).toBe('NO');
    expect(have.get('model_snapshots')!.get('configuration')).toBe('NO');
    const idx = await pg.query<{ indexname: string; indexdef: string }>(`select indexname, indexdef from pg_indexes where schemaname = 'public'`);
    const names = idx.rows.map((r) => r.indexname);
    for (const name of seedIndexes) expect(names).toContain(name);
    expect(idx.rows.find((r) => r.indexname === 'idx_historical_logs_model_time')!.indexdef).toMatch(/\(model_id, "timestamp" DESC\)/);
    const unique = idx.rows.find((r) => /UNIQUE/.test(r.indexdef) && /model_name, version, use_case/.test(r.indexdef));
    expect(unique).toBeDefined();
    const fks = await pg.query<{ table_name: string }>(
      `select tc.table_name from information_schema.table_constraints tc join information_schema.key_column_usage k using (constraint_name)
        where tc.constraint_type = 'FOREIGN KEY' and k.column_name = 'model_id'
          and not exists (select 1 from pg_class c where c.relname = tc.table_name and c.relispartition)`, // the logical tables, not each day partition
    );
    expect(new Set(fks.rows.map((r) => r.table_name))).toEqual(new Set(['model_historical_logs', 'model_snapshots', 'guardrails_violations', 'model_deployments']));
  } finally {
    await pg.end();
  }
});

test('use-case sync is idempotent, creates the initial allocation once, and never undoes a restored config', async () => {
  const config = testConfig({ useCaseIds: ['npc_dialogue', 'faction_decision'] });
  expect((await syncUseCases(db.prisma, config)).map((r) => r.action)).toEqual(['created', 'created']);
  const models = await db.prisma.model.findMany();
  expect(models.map((m) => m.modelName).sort()).toEqual(['llama-3.1-8b-instruct-faction-decision', 'llama-3.1-8b-instruct-npc-dialogue']);
  expect((await syncUseCases(db.prisma, config)).map((r) => r.action)).toEqual(['unchanged', 'unchanged']);
  expect(await db.prisma.model.count()).toBe(2);
  expect(await db.prisma.trafficAllocation.count()).toBe(2);
  const allocation = await getServingAllocation(db.prisma, 'npc_dialogue');
  expect(allocation).toMatchObject({ version: 1, entries: [{ weight: 10000, role: 'stable' }] });

  // An operator (or a rollback) changes the config in the registry; a restart with the same file keeps it.
  await db.prisma.useCase.update({ where: { id: 'npc_dialogue' }, data: { temperature: 0.1 } });
  await syncUseCases(db.prisma, config);
  expect((await db.prisma.useCase.findUniqueOrThrow({ where: { id: 'npc_dialogue' } })).temperature).toBe(0.1);

  // Editing the file is a deliberate change: it is applied, and the allocation is left alone.
  const edited = testConfig({ useCaseIds: ['npc_dialogue', 'faction_decision'] });
  edited.useCases[0]!.temperature = 1.1;
  expect((await syncUseCases(db.prisma, edited)).map((r) => r.action)).toEqual(['updated', 'unchanged']);
  expect((await db.prisma.useCase.findUniqueOrThrow({ where: { id: 'npc_dialogue' } })).temperature).toBe(1.1);
  expect(await db.prisma.trafficAllocation.count()).toBe(2);
});

test('allocations must give all traffic to stable and canary, have a stable model and name each model once', () => {
  const a = '11111111-1111-4111-8111-111111111111';
  const b = '22222222-2222-4222-8222-222222222222';
  const messages = (entries: unknown) => {
    const r = allocationEntriesSchema.safeParse(entries);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  expect(messages([{ modelId: a, weight: 10000, role: 'stable' }, { modelId: b, weight: 10000, role: 'shadow' }])).toEqual([]);
  expect(messages([{ modelId: a, weight: 9000, role: 'stable' }])).toEqual([': stable and canary weights must sum to 10000 (they sum to 9000)']);
  expect(messages([{ modelId: a, weight: 10000, role: 'canary' }])).toEqual([': an allocation needs a stable model']);
  expect(messages([{ modelId: a, weight: 5000, role: 'stable' }, { modelId: a, weight: 5000, role: 'canary' }])).toEqual([`1.modelId: model ${a} appears twice`]);
});

test('allocation versions are immutable, idempotent per request key, and serialised under concurrency', async () => {
  await syncUseCases(db.prisma, testConfig());
  const stable = (await getServingAllocation(db.prisma, 'npc_dialogue'))!.entries[0]!.modelId;
  const canary = await addModel(db.prisma, 'npc_dialogue', 'candidate-npc-dialogue');
  const write = (weight: number, requestKey?: string) =>
    db.prisma.$transaction(async (tx) => {
      await lockUseCase(tx, 'npc_dialogue');
      return writeAllocation(tx, {
        useCaseId: 'npc_dialogue',
        entries: [
          { modelId: stable, weight: 10000 - weight, role: 'stable' },
          { modelId: canary, weight, role: 'canary' },
        ],
        reason: `canary ${weight}`,
        createdBy: 'test',
        requestKey,
      });
    });
  const versions = await Promise.all([write(1000), write(2500), write(5000), write(7500)]);
  expect(versions.map((v) => v.version).sort()).toEqual([2, 3, 4, 5]);
  const again = await write(1000, 'step-1');
  const retried = await write(1000, 'step-1');
  expect(retried.version).toBe(again.version);
  expect(await db.prisma.trafficAllocation.count({ where: { useCaseId: 'npc_dialogue' } })).toBe(6);
  await expect(write(12000)).rejects.toThrow(/weight|10000/);
  await expect(lockUseCaseOutsideTx('nope')).rejects.toThrow('use case "nope" is not in the registry');
});

const lockUseCaseOutsideTx = (id: string) => db.prisma.$transaction((tx) => lockUseCase(tx, id));

test('a snapshot carries per-model metrics from the logs of the last hour, and history lists newest first', async () => {
  await syncUseCases(db.prisma, testConfig());
  const stable = (await getServingAllocation(db.prisma, 'npc_dialogue'))!.entries[0]!.modelId;
  const now = new Date();
  await db.prisma.modelHistoricalLog.createMany({
    data: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((latency, i) => ({
      modelId: stable,
      useCase: 'npc_dialogue',
      prompt: 'p',
      generatedOutput: 'o',
      role: 'stable',
      status: i === 0 ? 'error' : 'ok',
      latencyMs: latency,
      costUsd: 0.001,
      timestamp: new Date(now.getTime() - 60_000),
    })),
  });
  // an old row and a shadow row must not count
  await db.prisma.modelHistoricalLog.create({ data: { modelId: stable, useCase: 'npc_dialogue', prompt: 'p', generatedOutput: 'o', role: 'stable', status: 'error', latencyMs: 9999, timestamp: new Date(now.getTime() - 2 * 3600_000) } });
  await db.prisma.modelHistoricalLog.create({ data: { modelId: stable, useCase: 'npc_dialogue', prompt: 'p', generatedOutput: 'o', role: 'shadow', status: 'error', latencyMs: 9999, timestamp: now } });
  const snap = await captureSnapshot(db.prisma, { useCaseId: 'npc_dialogue', reason: 'metrics', now: new Date(now.getTime() + 1000) });
  const row = await db.prisma.modelSnapshot.findUniqueOrThrow({ where: { id: snap.snapshotId } });
  const metrics = (row.performanceMetrics as { models: Array<Record<string, number>> }).models[0]!;
  expect(metrics).toMatchObject({ modelId: stable, requests: 10, errorRate: 0.1, latencyP50Ms: 55, costPerRequestUsd: 0.001 });
  expect(metrics.latencyP95Ms).toBeCloseTo(95.5, 5);
  expect(row.modelStatePath).toBe('local:llama-3.1-8b-instruct');
  expect(row.configuration).toMatchObject({ temperature: 0.7, maxTokens: 256, systemPromptTemplate: 'You are npc_dialogue.' });
  const second = await captureSnapshot(db.prisma, { useCaseId: 'npc_dialogue', reason: 'later', requestKey: 'k1' });
  expect((await captureSnapshot(db.prisma, { useCaseId: 'npc_dialogue', reason: 'later', requestKey: 'k1' })).snapshotId).toBe(second.snapshotId);
  const history = await listHistory(db.prisma, 'npc_dialogue');
  expect(history.map((h) => h.id)).toEqual([second.snapshotId, snap.snapshotId]);
});
