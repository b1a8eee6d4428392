import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import Fastify from 'fastify';
import { adminKeyVerifier, modelManagementApi } from '../../api/model-management';
import { createApiKey } from '../../src/auth/api-keys';
import { getServingAllocation, stableModelId } from '../../src/registry/allocations';
import { captureSnapshot } from '../../src/registry/snapshots';
import { LATENCY_BUCKETS_MS } from '../../src/logs/rollups';
import { registerMetaCommands } from '../../cli/commands/meta';
import { registerGuardrailsCommands } from '../../cli/commands/guardrails';
import { ensureMetaSchedule } from '../../workers/meta-schedule';
import { ensureGuardrailsMonitors } from '../../workers/guardrails-monitors';
import { guardrailsUpdatesInForce } from '../../src/meta/guardrails';
import { guardrailsMonitorStatusQuery, guardrailsMonitorWorkflowId } from '../../workflows/guardrails-monitor-messages';
import { META_SCHEDULE_ID, type MetaSweepResult } from '../../workflows/meta-optimization-messages';
import { paidSwitchWorkflowId, type PaidSwitchResult } from '../../workflows/paid-switch-messages';
import { sweepRunHistories } from '../../clients/meta';
import { parseConfig } from '../../src/config/load';
import { createEvaluationDeps } from '../../src/evaluation';
import { startFakeProvider, type FakeProvider } from '../../testkit/fake-providers';
import { createTestDatabase, embeddingsUrl, startControlWorker, temporalAddress, temporalClient, uniqueTaskQueue, type TestDatabase } from '../support/stack';
import { addModel, loggedLegendPrompts, seedUseCases, testConfig } from '../support/fixtures';
import { runMms } from '../support/cli';
import { chatBody, setAllocation, startTestGateway } from '../fixtures/gateway-harness';
import { healthy, startLogTraffic, testPolicy, waitFor } from '../support/rollout';

/**
 * The meta loop end to end on the real Temporal server and PostgreSQL, every sweep started through
 * its schedule (`mms schedule trigger`), never by starting the workflow: overlapping triggers start
 * one sweep; a dry run records and acts on nothing; a use case whose error rate breaches its SLO is
 * rolled back (undo) by a rollback child; a use case with a rollout running is left alone; every
 * decision is in `mms decisions` (and REST) with its reasons; the sweep continues as new between pages;
 * a paid use case whose discovery is due gets a `paidSwitch` started, which finds the better candidate
 * on the fake providers (the real wire formats and model lists), rolls it out, and the next sweep
 * records its outcome naming the candidate.
 */
const suffix = crypto.randomBytes(3).toString('hex');
const BAD = `meta_bad_${suffix}`;
const OK = `meta_ok_${suffix}`;
const BUSY = `meta_busy_${suffix}`;
const PAID = `meta_paid_${suffix}`;

let db: TestDatabase;
let client: Client;
let worker: Awaited<ReturnType<typeof startControlWorker>> | undefined;
let configFile: string;
let previousId: string;
let currentId: string;
const taskQueue = uniqueTaskQueue('meta');

const config = (dryRun: boolean, meta: Record<string, unknown> = {}) =>
  testConfig({
    useCaseIds: [BAD, OK, BUSY],
    extra: {
      temporal: { controlTaskQueue: taskQueue },
      policies: {
        meta: {
          dryRun,
          minRequests: 20,
          slos: { errorRate: 0.1 },
          rules: [{ name: 'error_rate_slo', metric: 'errorRate', compare: 'slo', action: 'rollback' }],
          // No candidate is due: this file is about health.
          paidDiscoveryEveryHours: 0,
          retrainEveryDays: 0,
          scheduleIntervalMinutes: 1440,
          // One use case per batch, two batches per page, a new run after every page: 3 use cases take 2 runs.
          batchSize: 1,
          parallelBatches: 2,
          batchesPerRun: 1,
          ...meta,
        },
      },
    },
  });

/** A minute of roll-ups of a use case's stable model: `calls` calls, `errors` of them failed, all under 250 ms. */
async function rollup(useCaseId: string, modelId: string, calls: number, errors: number) {
  const minute = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000);
  const latencyBuckets = LATENCY_BUCKETS_MS.map(() => 0).concat(0);
  latencyBuckets[2] = calls;
  await db.prisma.modelCallRollup.create({
    data: { minute, useCase: useCaseId, modelId, role: 'stable', calls, errors, latencyBuckets, latencySumMs: calls * 200, tokensIn: BigInt(calls * 10), tokensOut: BigInt(calls * 20), costUsd: 0, violations: 0, blocked: 0, feedbackCount: 0, feedbackScoreSum: 0 },
  });
}

const stableOf = async (useCaseId: string) => stableModelId((await getServingAllocation(db.prisma, useCaseId))!.entries)!;
const mms = (...args: string[]) => runMms([registerMetaCommands], configFile, ...args);
const schedule = () => client.schedule.getHandle(META_SCHEDULE_ID);
const sweepsSoFar = async () => (await schedule().describe()).info.recentActions.map((a) => a.action.workflow.workflowId);

/** Triggers through the CLI and returns the id of the sweep the schedule started. */
async function triggerSweep(): Promise<string> {
  const before = new Set(await sweepsSoFar());
  const run = await mms('schedule', 'trigger');
  expect(run).toMatchObject({ code: 0 });
  return waitFor('the sweep the trigger started', async () => (await sweepsSoFar()).find((id) => !before.has(id)), 30_000);
}

beforeAll(async () => {
  db = await createTestDatabase();
  client = await temporalClient();
  await seedUseCases(db.prisma, config(true));
  // BAD: the initial model served (a stable snapshot), then a rollout promoted another: undo goes back.
  previousId = await stableOf(BAD);
  await captureSnapshot(db.prisma, { useCaseId: BAD, reason: 'initial model at rest' });
  currentId = await addModel(db.prisma, BAD, 'qwen-2.5-7b-meta', 'current');
  await setAllocation(db.prisma, [{ modelId: currentId, weight: 10_000, role: 'stable' }], BAD);
  await db.prisma.modelDeployment.create({ data: { modelId: currentId, previousModelId: previousId, useCaseId: BAD, deploymentType: 'canary', status: 'completed', trafficPercentage: 100, completionTime: new Date() } });
  await captureSnapshot(db.prisma, { useCaseId: BAD, reason: 'promoted' });
  await rollup(BAD, currentId, 100, 40); // 40% errors > 10% SLO
  await rollup(OK, await stableOf(OK), 100, 1);
  // BUSY breaches too, but a rollout owns it.
  await rollup(BUSY, await stableOf(BUSY), 100, 50);
  await db.prisma.modelDeployment.create({ data: { modelId: await stableOf(BUSY), useCaseId: BUSY, deploymentType: 'canary', status: 'in_progress', trafficPercentage: 25, workflowId: `rollout:${BUSY}` } });

  configFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mms-meta-')), 'mms.config.yaml');
  fs.writeFileSync(configFile, ['providers: { local: { kind: openai_compatible, baseUrl: "http://127.0.0.1:9/v1" } }', `useCases: [ { id: ${OK}, kind: self_hosted, temperature: 0.7, maxTokens: 256, systemPromptTemplate: "x", initialModel: { provider: local, model: llama-3.1-8b-instruct } } ]`].join('\n'));
  process.env.DATABASE_URL = db.url;
  process.env.TEMPORAL_ADDRESS = temporalAddress();
  // This file owns the cluster's meta schedule; start from none, whatever ran on this server before.
  await schedule().delete().catch(() => undefined);
});

afterAll(async () => {
  await fake?.close();
  await schedule()
    .delete()
    .catch(() => undefined);
  await worker?.stop();
  await client?.connection.close();
  await db?.drop();
  delete process.env.DATABASE_URL;
  delete process.env.TEMPORAL_ADDRESS;
});

const metaDecisions = (useCaseId: string) => db.prisma.optimizationDecision.findMany({ where: { useCaseId, details: { path: ['source'], equals: 'meta' } }, orderBy: { createdAt: 'asc' } });

test('the schedule follows the config idempotently; overlapping triggers start one sweep; a dry run records every decision and acts on nothing', async () => {
  expect(await ensureMetaSchedule(client, config(true))).toEqual({ scheduleId: META_SCHEDULE_ID, result: 'created' });
  expect(await ensureMetaSchedule(client, config(true))).toEqual({ scheduleId: META_SCHEDULE_ID, result: 'unchanged' });
  // Paused, so no period falls inside the test; a trigger still starts a sweep, and pause survives an update.
  expect(await mms('schedule', 'pause', '--note', 'jest')).toMatchObject({ code: 0 });

  // No worker polls yet: the first sweep stays running, so the second trigger overlaps it.
  const first = await triggerSweep();
  expect(await mms('schedule', 'trigger')).toMatchObject({ code: 0 });
  await waitFor('the second trigger to be skipped', async () => (await schedule().describe()).info.numActionsSkippedOverlap >= 1);
  const described = await schedule().describe();
  expect(described.info.runningActions.map((a) => a.workflow.workflowId)).toEqual([first]);
  expect(described.state.paused).toBe(true);
  const dry = await mms('schedule', 'trigger', '--dry-run');
  expect(dry.code).toBe(1);
  expect(dry.stderr).toContain(`a sweep is running (${first}): no second sweep is started`);

  worker = await startControlWorker({ prisma: db.prisma, taskQueue });
  const result: MetaSweepResult = await client.workflow.getHandle(first).result();
  expect(result).toMatchObject({ dryRun: true, runs: 2, totals: { useCases: 3, batches: 3, actionsStarted: 0, leftAlone: 1 } });
  // Continue-as-new at this scale: a page of two batches per run, every run's history small.
  const runs = await sweepRunHistories(client, first);
  expect(runs).toHaveLength(2);
  for (const r of runs) expect(r.events).toBeLessThan(200);
  expect(result.totals.decisions).toMatchObject({ rollback: 1 });
  expect(await sweepsSoFar()).toEqual([first]);

  expect(await stableOf(BAD)).toBe(currentId);
  await expect(client.workflow.getHandle(`rollback:${BAD}`).describe()).rejects.toThrow(/not found/i);
  const [proposed] = await metaDecisions(BAD);
  expect(proposed).toMatchObject({ decisionType: 'rollback', status: 'proposed', currentModelId: currentId, workflowId: first });
  expect(proposed!.details).toMatchObject({ source: 'meta', rule: 'error_rate_slo', dryRun: true, numbers: { metric: 'errorRate', value: 0.4, slo: 0.1, calls: 100 } });
  expect(proposed!.reason).toMatch(/^errorRate 40\.00% > SLO 10\.00% over 100 calls .*; roll qwen-2\.5-7b-meta back \(undo\)$/);
});

test('an SLO breach is rolled back by the schedule’s sweep; a use case with a rollout running is left alone; every decision in mms decisions', async () => {
  expect(await ensureMetaSchedule(client, config(false))).toEqual({ scheduleId: META_SCHEDULE_ID, result: 'updated' });
  expect((await schedule().describe()).state.paused).toBe(true);
  const sweep = await triggerSweep();
  const result: MetaSweepResult = await client.workflow.getHandle(sweep).result();
  expect(result).toMatchObject({ dryRun: false, runs: 2, totals: { useCases: 3, actionsStarted: 1, leftAlone: 1, actionsFailed: 0 } });
  expect(result.actions).toEqual([expect.objectContaining({ useCaseId: BAD, action: 'rollback', status: 'executed', workflowId: `rollback:${BAD}` })]);

  expect(await stableOf(BAD)).toBe(previousId);
  const rollback = (await metaDecisions(BAD)).find((d) => d.workflowId === sweep)!;
  expect(rollback).toMatchObject({ decisionType: 'rollback', status: 'executed', currentModelId: currentId });
  expect(rollback.details).toMatchObject({ dryRun: false, actionWorkflowId: `rollback:${BAD}`, outcome: { rollback: { restoredModelId: previousId } } });
  const deployment = await db.prisma.modelDeployment.findFirstOrThrow({ where: { useCaseId: BAD, deploymentType: 'rollback' } });
  expect(deployment.rollbackReason).toContain('meta: errorRate 40.00% > SLO 10.00%');

  const busy = (await metaDecisions(BUSY)).filter((d) => d.workflowId === sweep);
  expect(busy).toEqual([expect.objectContaining({ decisionType: 'none', status: 'executed' })]);
  expect(busy[0]!.reason).toBe(`left alone: canary rollout:${BUSY} at 25% owns the allocation since ${busy[0]!.details && (busy[0]!.details as { numbers: { running: { since: string } } }).numbers.running.since}`);
  expect((await metaDecisions(OK)).filter((d) => d.workflowId === sweep)).toEqual([expect.objectContaining({ decisionType: 'none', details: expect.objectContaining({ rule: 'healthy' }) })]);

  const listed = await mms('decisions', '--use-case', BAD);
  expect(listed.code).toBe(0);
  expect(listed.stdout).toContain('error_rate_slo');
  expect(listed.stdout).toContain(`rollback:${BAD}`);
  expect(listed.stdout).toMatch(/executed +rollback:\S+ +errorRate 40\.00% > SLO 10\.00%/);
  const json = (await mms('--json', 'decisions', '--since', '1h')).json() as Array<{ useCaseId: string; action: string; dryRun: boolean }>;
  expect(json.filter((d) => d.useCaseId === BAD).map((d) => [d.action, d.dryRun])).toEqual([
    ['rollback', false],
    ['rollback', true],
  ]);

  // REST: the same decisions, filtered; bad input names the field.
  const app = Fastify();
  await app.register(modelManagementApi({ prisma: db.prisma, temporal: client, config: config(false), verifyApiKey: adminKeyVerifier(db.prisma) }));
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const key = (await createApiKey(db.prisma, { name: 'meta-desk', scopes: ['admin'] })).key;
    const get = async (query: string) => {
      const res = await fetch(`${baseUrl}/api/v1/model-management/decisions${query}`, { headers: { authorization: `Bearer ${key}` } });
      return { status: res.status, json: (await res.json()) as Record<string, any> };
    };
    const rest = await get(`?use_case=${BAD}&actions_only=true`);
    expect(rest.status).toBe(200);
    expect(rest.json.decisions.map((d: { action: string; dry_run: boolean; status: string }) => [d.action, d.dry_run, d.status])).toEqual([
      ['rollback', false, 'executed'],
      ['rollback', true, 'proposed'],
    ]);
    expect(rest.json.decisions[0]).toMatchObject({ source: 'meta', rule: 'error_rate_slo', workflow_id: sweep, action_workflow_id: `rollback:${BAD}`, numbers: { value: 0.4, slo: 0.1 } });
    expect((await get(`?use_case=${BAD}&since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).json.decisions).toEqual([]);
    expect(await get('?limit=0')).toEqual({ status: 400, json: { error: expect.objectContaining({ field: 'limit', message: expect.stringContaining('must be >= 1') }) } });
    expect((await get('?since=yesterday')).json.error).toMatchObject({ field: 'since' });
  } finally {
    await app.close();
  }

  const status = await mms('status', '--use-case', BUSY);
  expect(status.stdout).toMatch(new RegExp(`${BUSY} +self_hosted +\\S+ 100% +rollout:${BUSY}`));
  expect(status.stdout).toContain('BREACH errorRate');
});

/** The fake bills output tokens as words: pad every answer to exactly the call's max tokens. */
const words = (text: string) => (text.trim() ? text.trim().split(/\s+/).length : 0);
const padTo = (content: string, body: Record<string, unknown>) => content + ' .'.repeat(Math.max(0, Number(body.max_completion_tokens ?? body.max_tokens ?? 0) - words(content)));
/** A judge that prefers the answers of gpt-4.1-nano (a tie otherwise). */
function preferNano(text: string, body: Record<string, unknown>): string {
  const [, a = '', b = ''] = /ANSWER A\n([\s\S]*)\n\nANSWER B\n([\s\S]*)$/.exec(text) ?? [];
  const nano = (x: string) => x.includes('gpt-4.1-nano');
  return padTo(JSON.stringify({ winner: nano(a) === nano(b) ? 'tie' : nano(a) ? 'A' : 'B', reason: 'nano tells it better' }), body);
}
let fake: FakeProvider | undefined;

test('a paid use case whose discovery is due gets a paid switch started by the schedule’s sweep; it finds the better candidate and the next sweep records it', async () => {
  // The paid providers as fake servers speaking the real wire formats (the real model lists).
  fake = await startFakeProvider({ record: false, latencyMs: 5 });
  for (const model of ['gpt-4o-mini', 'gpt-4.1-nano']) fake.forModel(model, { respond: (last, body) => padTo(`reply from ${model}: ${last}`, body), latencyMs: 5 });
  fake.forModel('judge-model', { respond: preferNano });
  process.env.META_TEST_OPENAI_KEY = 'sk-test-meta';
  const paidConfig = parseConfig({
    temporal: { controlTaskQueue: taskQueue },
    providers: {
      openai: { kind: 'openai', baseUrl: fake.baseUrls.openai, apiKeyEnv: 'META_TEST_OPENAI_KEY', prices: { 'gpt-4o-mini': { inputPerMTok: 0, outputPerMTok: 2 }, 'gpt-4.1-nano': { inputPerMTok: 0, outputPerMTok: 1 } } },
      openrouter: { kind: 'openrouter', baseUrl: fake.baseUrls.openrouter },
      judge: { kind: 'openai_compatible', baseUrl: fake.baseUrls.openai_compatible, prices: { 'judge-model': { inputPerMTok: 0, outputPerMTok: 0.1 } } },
    },
    useCases: [{ id: PAID, kind: 'paid', temperature: 0.7, maxTokens: 20, systemPromptTemplate: 'You are the narrator of the saga.', initialModel: { provider: 'openai', model: 'gpt-4o-mini' } }],
    paidModels: { scan: { enabled: false }, filters: { [PAID]: { allowedProviders: ['openai'], exclude: ['^(?!openai/gpt-4\\.1-nano$)'] } }, ranking: { topK: 1, probePrompts: 4, spendingCapUsd: 1 }, switchMargin: 0.05 },
    policies: {
      rollout: { ...testPolicy({ steps: [50, 100] }), strategy: 'shadow_then_canary' },
      // latencyToleranceMs 1000: no model here is slow, and a loaded machine has stretched a 20 ms model's p95 to 443 ms
      testing: { judge: { provider: 'judge', model: 'judge-model' }, concurrency: 4, requestsPerSecond: 500, calibrationPrompts: 2, latencyToleranceMs: 1000 },
    },
  });
  await seedUseCases(db.prisma, paidConfig);
  // Created two days ago and never discovered: discovery every 24 h is due.
  await db.prisma.useCase.update({ where: { id: PAID }, data: { createdAt: new Date(Date.now() - 2 * 86_400_000) } });
  const currentId = await stableOf(PAID);
  // The game's logged prompts: the probes of the ranking, and its token mix.
  const logs = loggedLegendPrompts(PAID, currentId, ['dragon', 'river', 'crown', 'wolf']);
  await db.prisma.modelHistoricalLog.createMany({ data: logs });

  // A worker with the paid providers (a paid switch needs them) replaces the one without.
  await worker?.stop();
  worker = await startControlWorker({ prisma: db.prisma, taskQueue, config: paidConfig, evaluation: createEvaluationDeps(paidConfig, { embeddingsUrl: embeddingsUrl() }) });
  expect((await ensureMetaSchedule(client, config(false, { paidDiscoveryEveryHours: 24 }))).result).toBe('updated');

  const traffic = startLogTraffic(db.prisma, { useCaseId: PAID, perSecond: 60, behaviour: () => healthy });
  let switched: PaidSwitchResult;
  let sweep: string;
  try {
    sweep = await triggerSweep();
    const result: MetaSweepResult = await client.workflow.getHandle(sweep).result();
    expect(result.actions).toEqual([expect.objectContaining({ useCaseId: PAID, action: 'paid_switch', status: 'started', workflowId: paidSwitchWorkflowId(PAID) })]);
    const started = (await metaDecisions(PAID)).find((d) => d.workflowId === sweep)!;
    expect(started).toMatchObject({ decisionType: 'deploy_model', status: 'executing', currentModelId: currentId });
    expect(started.details).toMatchObject({ rule: 'paid_discovery_due', dryRun: false, actionWorkflowId: paidSwitchWorkflowId(PAID) });
    expect(started.reason).toMatch(/^paid discovery due: last never \(use case created .*\), every 24 h$/);
    // The switch really runs: started by the sweep, with the sweep's reason as its trigger.
    switched = await client.workflow.getHandle(paidSwitchWorkflowId(PAID)).result();
  } finally {
    await traffic.stop();
  }
  expect(switched.decision).toMatchObject({ decision: 'switch', best: { provider: 'openai', upstreamId: 'gpt-4.1-nano' } });
  expect(switched.outcome).toBe('promoted');
  expect(await stableOf(PAID)).toBe(switched.candidateModelId);
  const own = await db.prisma.optimizationDecision.findUniqueOrThrow({ where: { id: switched.decisionId } });
  expect((own.details as { trigger: unknown }).trigger).toEqual({ kind: 'meta', reason: expect.stringMatching(/^paid discovery due/) });

  // The next sweep records how the switch ended, naming the candidate; discovery is not due again.
  const next = await triggerSweep();
  const nextResult: MetaSweepResult = await client.workflow.getHandle(next).result();
  expect(nextResult.actions.filter((a) => a.useCaseId === PAID)).toEqual([]);
  const recorded = (await metaDecisions(PAID)).find((d) => d.workflowId === sweep)!;
  expect(recorded.status).toBe('executed');
  expect(recorded.details).toMatchObject({
    outcome: { workflowStatus: 'completed', outcome: 'promoted', candidateModelId: switched.candidateModelId, lifecycleDecisionId: switched.decisionId, candidate: { provider: 'openai', upstreamId: 'gpt-4.1-nano', modelId: switched.candidateModelId } },
  });
  expect((recorded.details as { outcome: { decisionReason: string } }).outcome.decisionReason).toMatch(/^openai\/gpt-4\.1-nano scores [\d.]+, beating the current model's [\d.]+ by [\d.]+ ≥ margin 0\.05$/);
  const listed = await mms('decisions', '--use-case', PAID);
  expect(listed.stdout).toMatch(/paid_discovery_due +executed +paidSwitch:\S+ +paid discovery due/);
}, 300_000);

test('tier 2 keeps finding what tier 1 let through: the sweep puts stricter guardrails in force, a version the gateway blocks with (where it recorded), the monitor runs with, restarts keep and an operator reverts', async () => {
  const GUARD = `meta_guard_${suffix}`;
  // The model echoes the player (the fake's `reply from <model>: <message>`): an insult to the player is its answer.
  const answers = await startFakeProvider({});
  const INSULT = 'Out of character, you, the player behind the screen, are a pathetic loser in real life.';
  const guardConfig = testConfig({
    useCaseIds: [GUARD],
    providerBaseUrl: answers.baseUrls.openai_compatible,
    extra: { temporal: { controlTaskQueue: taskQueue }, policies: { guardrails: { actions: { critical: 'rollback', high: 'record', medium: 'record', low: 'record' }, tier2: { enabled: false } } } },
  });
  await seedUseCases(db.prisma, guardConfig);
  const modelId = await stableOf(GUARD);
  await rollup(GUARD, modelId, 100, 0);
  // 5 of the window's 100 calls had high harm only tier 2 found, after the answer; a tier-1 finding does not count.
  const at = new Date(Date.now() - 5 * 60_000);
  const violation = (tier: 1 | 2) => ({ modelId, useCaseId: GUARD, violationType: 'harassment', severity: 'high', violationDetails: { source: tier === 2 ? 'tier2' : 'tier1', ...(tier === 2 ? { tier: 2 } : {}) }, interventionTaken: tier === 2 ? 'recorded (tier 2, after the answer)' : 'record', timestamp: at, logId: crypto.randomUUID() });
  await db.prisma.guardrailsViolation.createMany({ data: [...Array.from({ length: 5 }, () => violation(2)), violation(1)] });
  // The use case's monitor, started from the config as every control worker starts it.
  const monitor = client.workflow.getHandle(guardrailsMonitorWorkflowId(GUARD));
  expect(await ensureGuardrailsMonitors(client, guardConfig)).toEqual([expect.objectContaining({ useCaseId: GUARD, result: 'running' })]);
  // The control worker reads the same policies.guardrails as the gateway (one mms.config.yaml in production).
  await worker?.stop();
  worker = await startControlWorker({ prisma: db.prisma, taskQueue, config: guardConfig });
  // A gateway of this use case, tier 1 on its outputs: high harm is recorded and the answer returned (actions.high: record).
  let gw = await startTestGateway(db.prisma, guardConfig);
  const insult = async () => {
    const res = await gw.call(chatBody(INSULT, { model: GUARD }));
    expect(res.status).toBe(200);
    return (res.body as { choices: Array<{ finish_reason: string; message: { content: string } }> }).choices[0]!;
  };
  try {
    expect(await insult()).toMatchObject({ finish_reason: 'stop', message: { content: expect.stringContaining(INSULT) } });
    const rule = { name: 'tier2_catches_up', metric: 'tier2MissRate', compare: 'slo', action: 'update_guardrails', guardrails: { windowSeconds: 60, minHigh: 1, high: 'block' } };
    expect((await ensureMetaSchedule(client, config(false, { slos: { errorRate: 0.1, tier2MissRate: 0.01 }, rules: [rule] }))).result).toBe('updated');
    const sweep = await triggerSweep();
    const result: MetaSweepResult = await client.workflow.getHandle(sweep).result();
    expect(result.actions.filter((a) => a.useCaseId === GUARD)).toEqual([expect.objectContaining({ action: 'update_guardrails', status: 'executed', workflowId: guardrailsMonitorWorkflowId(GUARD), note: 'guardrails v1' })]);
    const row = (await metaDecisions(GUARD)).find((d) => d.workflowId === sweep)!;
    expect(row).toMatchObject({ decisionType: 'update_guardrails', status: 'executed', currentModelId: modelId });
    expect(row.reason).toMatch(/^tier2MissRate 5\.00% > SLO 1\.00% over 100 calls .*; guardrails: windowSeconds 60, minHigh 1, high block$/);
    expect(row.details).toMatchObject({
      rule: 'tier2_catches_up',
      guardrails: { windowSeconds: 60, minHigh: 1, high: 'block' },
      numbers: { metric: 'tier2MissRate', value: 0.05, slo: 0.01, calls: 100 },
      outcome: {
        guardrails: {
          version: 1,
          before: { windowSeconds: 300, minHigh: 3, high: 'record' },
          after: { windowSeconds: 60, minHigh: 1, high: 'block' },
          gateway: { before: { actions: { high: 'record' }, severities: {} }, after: { actions: { high: 'block' }, severities: {} } },
        },
      },
    });
    // The gateway applies it at its next registry poll, with no restart: the same output is now blocked.
    await waitFor('the gateway to load guardrails v1', () => gw.gateway.cache.route(GUARD)?.guardrails?.version === 1);
    expect(await insult()).toMatchObject({ finish_reason: 'content_filter', message: { content: '' } });
    await waitFor('the blocked call in guardrails_violations', async () =>
      (await db.prisma.guardrailsViolation.count({ where: { useCaseId: GUARD, violationType: 'harassment', interventionTaken: { startsWith: 'block' } } })) > 0 ? true : undefined,
    );
    // A gateway started afresh (a restart, another replica) blocks from its first call.
    await gw.close();
    gw = await startTestGateway(db.prisma, guardConfig);
    expect(gw.gateway.cache.route(GUARD)?.guardrails).toMatchObject({ version: 1, rule: 'tier2_catches_up', decisionId: row.id, actions: { high: 'block' } });
    expect(await insult()).toMatchObject({ finish_reason: 'content_filter' });
    const status = await runMms([registerMetaCommands], configFile, 'status', '--use-case', GUARD);
    expect(status.stdout).toMatch(/GUARDRAILS/);
    expect(status.stdout).toMatch(/ v1 high:block /);
    // REST: the policy the gateway applies, with the update in force.
    const app = Fastify();
    await app.register(modelManagementApi({ prisma: db.prisma, temporal: client, config: guardConfig, verifyApiKey: adminKeyVerifier(db.prisma) }));
    const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const key = (await createApiKey(db.prisma, { name: 'guardrails-desk', scopes: ['admin'] })).key;
      const res = await fetch(`${baseUrl}/api/v1/model-management/use-cases/${GUARD}/guardrails`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ use_case: GUARD, in_force: { version: 1, rule: 'tier2_catches_up', actions: { high: 'block' } }, actions: { critical: 'rollback', high: 'block', medium: 'record', low: 'record' } });
    } finally {
      await app.close();
    }
    expect(await db.prisma.auditEvent.count({ where: { action: 'meta.update_guardrails', target: GUARD } })).toBeGreaterThanOrEqual(2);
    // The monitor runs with the new settings…
    const settingsNow = async () => (await monitor.query(guardrailsMonitorStatusQuery)).settings;
    await waitFor('the monitor to take the new settings', async () => ((await settingsNow()).policy.windowSeconds === 60 ? true : undefined));
    expect(await settingsNow()).toMatchObject({ policy: { windowSeconds: 60, minHigh: 1, highRate: 0.05 }, actions: { critical: 'rollback', high: 'block' } });
    // …a control worker's start keeps them (the version in force over the config's settings)…
    const inForce = await guardrailsUpdatesInForce(db.prisma); // every use case, as a worker start reads it
    expect((await guardrailsUpdatesInForce(db.prisma, [GUARD])).get(GUARD)).toEqual(inForce.get(GUARD));
    expect(inForce.get(GUARD)).toMatchObject({ rule: 'tier2_catches_up', version: 1, decisionId: row.id });
    await ensureGuardrailsMonitors(client, guardConfig, inForce);
    expect((await settingsNow()).policy).toMatchObject({ windowSeconds: 60, minHigh: 1 });
    // …and the next sweep, the breach still there, does not decide it again.
    const next = await triggerSweep();
    await client.workflow.getHandle(next).result();
    expect((await metaDecisions(GUARD)).filter((d) => d.workflowId === next)).toEqual([expect.objectContaining({ decisionType: 'none' })]);

    // An operator reverts it: recorded as v2, the gateway records (and returns) the output again, the monitor has the config's settings.
    const reverted = await runMms([registerGuardrailsCommands], configFile, 'guardrails', 'revert', GUARD, '--reason', 'too strict for this story');
    expect(reverted).toMatchObject({ code: 0 });
    expect(reverted.stdout).toMatch(/^guardrails of meta_guard_\w+: v1 reverted \(now v2: policies\.guardrails of the config; decision [0-9a-f-]{36}\); monitor reconfigured$/m);
    await waitFor('the gateway to drop guardrails v1', () => gw.gateway.cache.route(GUARD) !== undefined && gw.gateway.cache.route(GUARD)!.guardrails === undefined);
    expect(await insult()).toMatchObject({ finish_reason: 'stop', message: { content: expect.stringContaining(INSULT) } });
    expect(await guardrailsUpdatesInForce(db.prisma, [GUARD])).toEqual(new Map());
    await waitFor('the monitor to take the config settings back', async () => ((await settingsNow()).policy.windowSeconds === 300 ? true : undefined));
    const revertRow = (await db.prisma.optimizationDecision.findMany({ where: { useCaseId: GUARD, decisionType: 'update_guardrails' }, orderBy: { createdAt: 'desc' }, take: 1 }))[0]!;
    expect(revertRow).toMatchObject({ status: 'executed', reason: expect.stringMatching(/^guardrails v1 \(tier2_catches_up\) reverted by cli:\S+: too strict for this story$/) });
    expect(revertRow.details).toMatchObject({ source: 'operator', revert: true, revertedVersion: 1, outcome: { guardrails: { version: 2 } } });
    expect((await runMms([registerGuardrailsCommands], configFile, 'guardrails', 'revert', GUARD, '--reason', 'again')).stderr).toMatch(/no guardrails update is in force for "meta_guard_\w+"/);
  } finally {
    await monitor.terminate('test over').catch(() => undefined);
    await gw.close();
    await answers.close();
  }
}, 240_000);
