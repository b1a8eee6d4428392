import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { stringify } from 'yaml';
import type { Client } from '@temporalio/client';
import type { Prisma } from '@prisma/client';
import { adminKeyVerifier, modelManagementApi } from '../../api/model-management';
import { registerPaidSwitchCommands } from '../../cli/commands/paid-switch';
import { registerPipelineCommands } from '../../cli/commands/pipeline';
import { createApiKey } from '../../src/auth/api-keys';
import { parseConfig } from '../../src/config/load';
import type { MmsConfig } from '../../src/config/schema';
import { createEvaluationDeps } from '../../src/evaluation';
import { getServingAllocation, stableModelId } from '../../src/registry/allocations';
import { ensurePaidScanSchedule } from '../../workers/paid-schedules';
import { paidCatalogScanWorkflow, paidSwitchWorkflow } from '../../workflows/paid-switch';
import { PAID_CATALOG_SCAN_SCHEDULE_ID, paidSwitchWorkflowId, type PaidSwitchInput, type PaidSwitchResult, type RankingRow } from '../../workflows/paid-switch-messages';
import { startFakeProvider, type FakeProvider } from '../../testkit/fake-providers';
import { runMms } from '../support/cli';
import { loggedLegendPrompts, seedUseCases } from '../support/fixtures';
import { allocationHistory, candidateWeights, healthy, startLogTraffic, testPolicy } from '../support/rollout';
import { createTestDatabase, embeddingsUrl, startControlWorker, temporalAddress, temporalClient, uniqueTaskQueue, type TestDatabase } from '../support/stack';

/**
 * The paid switch end to end on the real stack (Temporal, PostgreSQL, the local embeddings server),
 * with the four paid providers as fake servers serving the real model lists: a better candidate is
 * ranked first on the use case's logged prompts, validated, shadowed, rolled out and promoted; one
 * that fails in shadow is not; a dry run changes no allocation; the spending cap holds (counted at
 * the fake server); a model near its shutdown date is switched by the scan schedule's workflow.
 *
 * Every endpoint's price is set so that a call's worst case (max output tokens at the output price;
 * input is free) is what the fake bills — it answers with exactly max_tokens words — so "a cap of N
 * answers" is exact: use-case answers (20 tokens at $2/Mtok) and judge answers (400 tokens at $0.1/Mtok)
 * both cost $0.00004; a call with the calibration's two samples (n: 2) costs and reserves two.
 */
const CALL_USD = 0.00004;
const KEYS = { PAID_TEST_OPENAI_KEY: 'sk-test-openai', PAID_TEST_ANTHROPIC_KEY: 'sk-ant-test', PAID_TEST_GOOGLE_KEY: 'g-test' };
const only = (id: string) => ({ allowedProviders: ['openai'], exclude: [`^(?!${id.replace(/\./g, '\\.')}$)`] });
const USE_CASES = {
  better: { current: 'gpt-4o-mini', filters: only('openai/gpt-4.1-nano') },
  shadowFail: { current: 'gpt-4o-mini', filters: only('openai/gpt-4.1-nano') },
  dry: { current: 'gpt-4o-mini', filters: only('openai/gpt-4.1-nano') },
  cap: { current: 'gpt-4o-mini', filters: only('openai/gpt-4.1-mini') },
  shutdown: { current: 'gpt-4o', filters: only('openai/gpt-4.1-nano') },
} as const;
const ucId = (k: keyof typeof USE_CASES) => `saga_${k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;

let fake: FakeProvider;
let db: TestDatabase;
let client: Client;
let config: MmsConfig;
let taskQueue: string;
let configFile: string;
let worker: Awaited<ReturnType<typeof startControlWorker>>;

const words = (text: string) => (text.trim() ? text.trim().split(/\s+/).length : 0);
/** The fake bills output tokens as words: pad every answer to exactly the call's max tokens. */
const padTo = (content: string, body: Record<string, unknown>) => {
  const max = Number(body.max_completion_tokens ?? body.max_tokens ?? 0);
  return content + ' .'.repeat(Math.max(0, max - words(content)));
};

/** Prefers the answer of gpt-4.1-nano; a tie otherwise. */
function judge(text: string, body: Record<string, unknown>): string {
  const [, a = '', b = ''] = /ANSWER A\n([\s\S]*)\n\nANSWER B\n([\s\S]*)$/.exec(text) ?? [];
  const nano = (s: string) => s.includes('gpt-4.1-nano');
  const winner = nano(a) === nano(b) ? 'tie' : nano(a) ? 'A' : 'B';
  return padTo(JSON.stringify({ winner, reason: 'nano tells it better' }), body);
}

beforeAll(async () => {
  Object.assign(process.env, KEYS);
  fake = await startFakeProvider({ record: true, latencyMs: 20 });
  const userJudge = (last: string, body: Record<string, unknown>) => judge(last, body);
  for (const model of ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-nano', 'gpt-4.1-mini']) fake.forModel(model, { respond: (last, body) => padTo(`reply from ${model}: ${last}`, body), latencyMs: 20 });
  fake.forModel('judge-model', { respond: userJudge });
  const policy = testPolicy({ steps: [50, 100] });
  taskQueue = uniqueTaskQueue('paid-switch');
  const raw = {
    temporal: { controlTaskQueue: taskQueue },
    providers: {
      openai: {
        kind: 'openai',
        baseUrl: fake.baseUrls.openai,
        apiKeyEnv: 'PAID_TEST_OPENAI_KEY',
        prices: Object.fromEntries(['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-mini'].map((m) => [m, { inputPerMTok: 0, outputPerMTok: 2 }]).concat([['gpt-4.1-nano', { inputPerMTok: 0, outputPerMTok: 1 }]])),
      },
      anthropic: { kind: 'anthropic', baseUrl: fake.baseUrls.anthropic, apiKeyEnv: 'PAID_TEST_ANTHROPIC_KEY' },
      gemini: { kind: 'google', baseUrl: fake.baseUrls.google, apiKeyEnv: 'PAID_TEST_GOOGLE_KEY' },
      openrouter: { kind: 'openrouter', baseUrl: fake.baseUrls.openrouter },
      judge: { kind: 'openai_compatible', baseUrl: fake.baseUrls.openai_compatible, prices: { 'judge-model': { inputPerMTok: 0, outputPerMTok: 0.1 } } },
    },
    useCases: Object.entries(USE_CASES).map(([k, u]) => ({
      id: ucId(k as keyof typeof USE_CASES),
      kind: 'paid',
      temperature: 0.7,
      maxTokens: 20,
      systemPromptTemplate: 'You are the narrator of the saga.',
      initialModel: { provider: 'openai', model: u.current },
    })),
    paidModels: {
      scan: { enabled: false },
      filters: Object.fromEntries(Object.entries(USE_CASES).map(([k, u]) => [ucId(k as keyof typeof USE_CASES), u.filters])),
      ranking: { topK: 2, probePrompts: 6, spendingCapUsd: 1 },
      switchMargin: 0.05,
      shutdownNoticeDays: 30,
    },
    policies: {
      rollout: { ...policy, strategy: 'shadow_then_canary' },
      // latencyToleranceMs 1000: no model here is slow, and a loaded machine has stretched a 20 ms model's p95 to 443 ms
      testing: { judge: { provider: 'judge', model: 'judge-model' }, concurrency: 4, requestsPerSecond: 500, calibrationPrompts: 3, latencyToleranceMs: 1000 },
    },
  };
  config = parseConfig(raw);
  // the same file for the CLI
  configFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mms-paid-switch-')), 'mms.config.yaml');
  fs.writeFileSync(configFile, stringify(raw));
  db = await createTestDatabase();
  client = await temporalClient();
  await seedUseCases(db.prisma, config);
  // The game's logs: a few distinct prompts per use case, with token counts (the token mix).
  const rows: Prisma.ModelHistoricalLogCreateManyInput[] = [];
  for (const k of Object.keys(USE_CASES)) {
    const useCase = ucId(k as keyof typeof USE_CASES);
    const current = await db.prisma.model.findFirstOrThrow({ where: { useCase, status: 'current' } });
    rows.push(...loggedLegendPrompts(useCase, current.id, ['dragon', 'river', 'crown', 'wolf', 'tower', 'storm'], `${useCase}: `));
  }
  await db.prisma.modelHistoricalLog.createMany({ data: rows });
  worker = await startControlWorker({ prisma: db.prisma, taskQueue, config, evaluation: createEvaluationDeps(config, { embeddingsUrl: embeddingsUrl() }) });
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
  await fake?.close();
  await db?.drop();
});

function runSwitch(useCaseId: string, extra: Partial<PaidSwitchInput> = {}): Promise<PaidSwitchResult> {
  return client.workflow.execute(paidSwitchWorkflow, { taskQueue, workflowId: paidSwitchWorkflowId(useCaseId), args: [{ useCaseId, requestedBy: 'jest', ...extra }] });
}

const modelOf = async (id: string) => db.prisma.model.findUniqueOrThrow({ where: { id } });
const row = (table: RankingRow[], upstreamId: string) => table.find((r) => r.upstreamId === upstreamId && r.provider === 'openai');

test('a better, cheaper candidate is ranked on the logged prompts, validated, shadowed, rolled out and promoted', async () => {
  const useCaseId = ucId('better');
  const currentId = stableModelId((await getServingAllocation(db.prisma, useCaseId))!.entries)!;
  const traffic = startLogTraffic(db.prisma, { useCaseId, perSecond: 60, behaviour: () => healthy });
  let result: PaidSwitchResult;
  try {
    result = await runSwitch(useCaseId);
  } finally {
    await traffic.stop();
  }
  expect(result.outcome).toBe('promoted');
  const decision = result.decision;
  expect(decision.decision).toBe('switch');
  const nano = row(decision.table, 'gpt-4.1-nano')!;
  const current = decision.table.find((r) => r.isCurrent)!;
  expect(nano).toMatchObject({ rank: 1, eligible: true, probe: 'evaluated' });
  expect(current.modelId).toBe(currentId);
  // every part has its value, weight and source; cost = price × the logged token mix
  for (const part of Object.values(nano.parts!)) expect(part).toEqual({ value: expect.any(Number), weight: expect.any(Number), source: expect.any(String) });
  expect(nano.parts!.quality.value).toBe(1);
  expect(nano.parts!.quality.source).toMatch(/judge judge\/judge-model preferred it in 100\.0% of pairs/);
  expect(nano.parts!.costEfficiency).toMatchObject({ value: 1 });
  expect(nano.parts!.costEfficiency.source).toContain('config:providers.openai.prices');
  expect(nano.parts!.costEfficiency.source).toContain('20 out: mean of 6 logged calls');
  expect(current.parts!.costEfficiency.value).toBe(0.5);
  expect(nano.score!).toBeGreaterThanOrEqual(current.score! + 0.05);
  // the stored decision has every model of the catalog in its table, with why it is out
  const full = ((await db.prisma.optimizationDecision.findUniqueOrThrow({ where: { id: result.decisionId } })).details as unknown as { table: RankingRow[] }).table;
  expect(row(full, 'gpt-4.1-mini')!.excluded).toEqual([expect.stringMatching(/^excluded by/)]);
  expect(full.some((r) => r.provider === 'anthropic' && r.excluded.includes('provider anthropic is not in allowedProviders'))).toBe(true);

  // validated (a validation evaluation passed), shadowed (a shadow-only allocation), then canary steps, promoted
  const candidateId = result.candidateModelId!;
  const validation = await db.prisma.evaluation.findFirstOrThrow({ where: { candidateModelId: candidateId, kind: 'validation' } });
  expect(validation.status).toBe('passed');
  const history = await allocationHistory(db.prisma, useCaseId);
  const shadowIndex = history.findIndex((h) => h.entries.some((e) => e.modelId === candidateId && e.role === 'shadow'));
  expect(shadowIndex).toBeGreaterThan(0);
  expect(candidateWeights(history.slice(0, shadowIndex + 1), candidateId).every((w) => w === 0)).toBe(true);
  expect(candidateWeights(history, candidateId)).toContain(5000);
  expect(stableModelId(history.at(-1)!.entries as Parameters<typeof stableModelId>[0])).toBe(candidateId);
  expect((await modelOf(candidateId)).status).toBe('current');
  const stored = await db.prisma.optimizationDecision.findUniqueOrThrow({ where: { id: result.decisionId } });
  expect(stored).toMatchObject({ decisionType: 'deploy_model', status: 'executed', targetModelId: candidateId, currentModelId: currentId });
  expect((stored.details as { outcome: string }).outcome).toBe('promoted');
  // discovered_candidates holds the ranking with its breakdown
  const discovered = await db.prisma.discoveredCandidate.findFirstOrThrow({ where: { useCaseId, externalId: 'openai/gpt-4.1-nano' } });
  expect(discovered.rank).toBe(1);
  expect(discovered.scoreBreakdown).toMatchObject({ quality: { value: 1 } });
}, 240_000);

test('a candidate that fails in its shadow window is not promoted', async () => {
  const useCaseId = ucId('shadowFail');
  const currentId = stableModelId((await getServingAllocation(db.prisma, useCaseId))!.entries)!;
  // the nano's calls fail in production traffic (its probes were fine)
  const traffic = startLogTraffic(db.prisma, {
    useCaseId,
    perSecond: 60,
    behaviour: (modelId) => (modelId === currentId ? healthy : { ...healthy, errorRate: 0.5 }),
  });
  let result: PaidSwitchResult;
  try {
    result = await runSwitch(useCaseId);
  } finally {
    await traffic.stop();
  }
  expect(result.decision.decision).toBe('switch');
  expect(result.outcome).toBe('rolled_back');
  const history = await allocationHistory(db.prisma, useCaseId);
  // it never served a player: shadow only, then stable again
  expect(candidateWeights(history, result.candidateModelId!).every((w) => w === 0)).toBe(true);
  expect(history.some((h) => h.entries.some((e) => e.modelId === result.candidateModelId && e.role === 'shadow'))).toBe(true);
  expect(stableModelId(history.at(-1)!.entries as Parameters<typeof stableModelId>[0])).toBe(currentId);
  expect((await modelOf(currentId)).status).toBe('current');
  const stored = await db.prisma.optimizationDecision.findUniqueOrThrow({ where: { id: result.decisionId } });
  expect(stored.status).toBe('failed');
  expect((stored.details as { outcome: string }).outcome).toBe('rolled_back');
}, 240_000);

test('a dry run (mms discover --use-case) records the decision and its ranking table and changes no allocation; GET /discover serves it', async () => {
  const useCaseId = ucId('dry');
  const before = await allocationHistory(db.prisma, useCaseId);
  Object.assign(process.env, { DATABASE_URL: db.url, TEMPORAL_ADDRESS: temporalAddress() });
  let cli;
  try {
    cli = await runMms([registerPipelineCommands, registerPaidSwitchCommands], configFile, '--json', 'discover', '--use-case', useCaseId);
    expect(cli.code).toBe(0);
    const human = await runMms([registerPipelineCommands, registerPaidSwitchCommands], configFile, 'discover', '--use-case', useCaseId);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^RANK +PROVIDER +MODEL +SCORE +PERF +COST +LATENCY +QUALITY +\$\/REQUEST +PRICE SOURCE +SHUTDOWN +NOTE/);
    expect(human.stdout).toMatch(/\n1 +openai +gpt-4\.1-nano +[01]\.\d{3} +1\.000 +1\.000 +\d\.\d{3} +1\.000 +\$0\.0000200 +config:providers\.openai\.prices +- +evaluated/);
    expect(human.stdout).toMatch(/decision: switch \(dry run\): openai\/gpt-4\.1-nano scores/);
    const bad = await runMms([registerPipelineCommands, registerPaidSwitchCommands], configFile, 'switch', 'no_such_use_case', '--dry-run');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('use_case: "no_such_use_case" is not a use case of the config');
  } finally {
    delete process.env.DATABASE_URL;
    delete process.env.TEMPORAL_ADDRESS;
  }
  const result = cli.json() as PaidSwitchResult['decision'] & { decisionId: string };
  expect(result.decision).toBe('switch'); // it would switch…
  expect(await allocationHistory(db.prisma, useCaseId)).toEqual(before); // …and changed nothing
  expect(await db.prisma.evaluation.count({ where: { useCaseId, kind: 'validation' } })).toBe(0);
  const stored = await db.prisma.optimizationDecision.findFirstOrThrow({ where: { useCaseId }, orderBy: { createdAt: 'desc' } });
  expect(stored).toMatchObject({ decisionType: 'deploy_model', status: 'proposed' });
  expect(stored.reason).toMatch(/^dry run: /);
  const details = stored.details as unknown as { dryRun: boolean; table: RankingRow[]; spending: { calls: number; capUsd: number } };
  expect(details.dryRun).toBe(true);
  expect(details.table.length).toBeGreaterThan(400); // every catalog entry, with why it is out or where it ranks
  expect(details.spending.calls).toBe(0); // the second run found every answer cached
  expect(result.spending!.calls).toBeGreaterThan(0);

  const app = Fastify();
  await app.register(modelManagementApi({ prisma: db.prisma, temporal: client, config, verifyApiKey: adminKeyVerifier(db.prisma) }));
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  const key = (await createApiKey(db.prisma, { name: 'paid-desk', scopes: ['admin'] })).key;
  const get = async (query: string, bearer = key) => {
    const res = await fetch(`${baseUrl}/api/v1/model-management/discover${query}`, { headers: { authorization: `Bearer ${bearer}` } });
    return { status: res.status, json: (await res.json()) as Record<string, any> };
  };
  try {
    const ok = await get(`?use_case=${useCaseId}`);
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ use_case: useCaseId, decision_id: stored.id, dry_run: true, decision: 'switch', best: { upstreamId: 'gpt-4.1-nano' } });
    expect(ok.json.candidates.find((r: RankingRow) => r.upstreamId === 'gpt-4.1-nano' && r.provider === 'openai').parts.quality.source).toMatch(/judge/);
    expect((await get('')).json.error).toMatchObject({ field: 'use_case' });
    expect((await get('?use_case=Saga')).status).toBe(400);
    expect((await get('?use_case=saga_unknown')).status).toBe(404);
    expect((await get(`?use_case=${ucId('cap')}`)).json.error.code).toBe('not_ranked');
    expect((await get(`?use_case=${useCaseId}`, 'mms_wrong')).status).toBe(401);
  } finally {
    await app.close();
  }
}, 240_000);

test('the spending cap of N answers is never exceeded, counted at the fake server', async () => {
  const useCaseId = ucId('cap');
  const N = 7;
  const before = { calls: fake.counts.chat, answers: fake.counts.choices };
  const result = await runSwitch(useCaseId, { dryRun: true, spendingCapUsd: (N + 0.5) * CALL_USD });
  const made = fake.counts.chat - before.calls;
  const answers = fake.counts.choices - before.answers;
  // a two-choice call reserves two answers' worth: refused at N - 1 answers spent or reserved, it can leave the cap one short
  expect(answers).toBeGreaterThanOrEqual(N - 1);
  expect(answers).toBeLessThanOrEqual(N);
  const spending = result.decision.spending!;
  expect(spending.calls).toBe(made);
  expect(spending.capUsd).toBeCloseTo((N + 0.5) * CALL_USD, 12);
  expect(spending.spentUsd).toBeLessThanOrEqual(spending.capUsd);
  expect(spending.spentUsd).toBeCloseTo(answers * CALL_USD, 10);
  expect(spending.refused).toBeGreaterThan(0);
  // the capped candidate is reported incomplete and is not switched to
  const mini = row(result.decision.table, 'gpt-4.1-mini')!;
  expect(mini.eligible).toBe(false);
  expect(mini.notes.join(' ')).toMatch(/spending cap/);
  expect(result.decision.decision).toBe('keep');

  // a second ranking with room to spend re-asks only what the cap refused (the answers bought stay cached)
  const refusedBefore = fake.counts.chat;
  const again = await runSwitch(useCaseId, { dryRun: true });
  const second = fake.counts.chat - refusedBefore;
  expect(second).toBe(again.decision.spending!.calls);
  expect(second).toBeGreaterThan(0);
  expect(row(again.decision.table, 'gpt-4.1-mini')).toMatchObject({ eligible: true, notes: [] });
}, 240_000);

test('a current model near its shutdown date makes the scan start a switch, with the date as the reason', async () => {
  const useCaseId = ucId('shutdown');
  const shutdownAt = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
  fake.editModelList('openrouter-models.json', (body) => ({
    ...body,
    data: (body.data as Array<Record<string, unknown>>).map((m) => (m.id === 'openai/gpt-4o' ? { ...m, expiration_date: shutdownAt } : m)),
  }));
  const traffic = startLogTraffic(db.prisma, { useCaseId, perSecond: 60, behaviour: () => healthy });
  try {
    const scan = await client.workflow.execute(paidCatalogScanWorkflow, { taskQueue, workflowId: `paid-scan-${useCaseId}`, args: [{ requestedBy: 'jest' }] });
    expect(scan.shutdownSwitches).toEqual([{ useCaseId, model: 'openai/gpt-4o', shutdownAt: `${shutdownAt}T00:00:00.000Z`, workflowId: paidSwitchWorkflowId(useCaseId) }]);
    const result = (await client.workflow.getHandle(paidSwitchWorkflowId(useCaseId)).result()) as PaidSwitchResult;
    expect(result.decision.decision).toBe('switch');
    expect(result.decision.shutdown).toMatchObject({ at: `${shutdownAt}T00:00:00.000Z`, source: 'openrouter:openai/gpt-4o' });
    expect(result.decision.reason).toContain(`shuts down on ${shutdownAt}`);
    expect(result.outcome).toBe('promoted');
    const stored = await db.prisma.optimizationDecision.findUniqueOrThrow({ where: { id: result.decisionId } });
    expect((stored.details as { trigger: { kind: string; reason: string } }).trigger).toEqual({ kind: 'shutdown', reason: `openai/gpt-4o shuts down on ${shutdownAt}` });
  } finally {
    await traffic.stop();
    fake.editModelList('openrouter-models.json', undefined);
  }
}, 240_000);

test('the scan schedule is created once, left alone when unchanged, updated with the config, deleted when disabled', async () => {
  const withScan = (scan: Record<string, unknown>) => ({ ...config, paidModels: { ...config.paidModels, scan: { ...config.paidModels.scan, ...scan } } });
  try {
    expect(await ensurePaidScanSchedule(client, withScan({ enabled: true }))).toEqual({ scheduleId: PAID_CATALOG_SCAN_SCHEDULE_ID, result: 'created' });
    expect((await ensurePaidScanSchedule(client, withScan({ enabled: true }))).result).toBe('unchanged');
    expect((await ensurePaidScanSchedule(client, withScan({ enabled: true, intervalMinutes: 60 }))).result).toBe('updated');
    const described = await client.schedule.getHandle(PAID_CATALOG_SCAN_SCHEDULE_ID).describe();
    expect(described.spec.intervals?.[0]?.every).toBe(3_600_000);
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'paidCatalogScanWorkflow', taskQueue });
  } finally {
    expect((await ensurePaidScanSchedule(client, withScan({ enabled: false }))).result).toBe('disabled');
  }
  await expect(client.schedule.getHandle(PAID_CATALOG_SCAN_SCHEDULE_ID).describe()).rejects.toThrow();
  // disabled with no schedule to delete (mms dev on a config without paid providers): nothing to do
  expect((await ensurePaidScanSchedule(client, withScan({ enabled: false }))).result).toBe('disabled');
});
