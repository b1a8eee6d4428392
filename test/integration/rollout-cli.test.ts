/**
 * `mms rollout …` in-process, exactly as cli/main.ts runs a command (one-line errors, exit codes),
 * against a real Temporal server, PostgreSQL and control worker.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { registerRolloutCommands, renderRolloutStatus } from '../../cli/commands/rollout';
import { registerGatewayCommands } from '../../cli/commands/gateway';
import { runMms } from '../support/cli';
import { getServingAllocation } from '../../src/registry/allocations';
import { rolloutWorkflowId, type RolloutStatus } from '../../workflows/rollout-messages';
import { createTestDatabase, startControlWorker, temporalAddress, temporalClient, uniqueTaskQueue, type TestDatabase } from '../support/stack';
import { addModel, markValidated, seedUseCases, testConfig } from '../support/fixtures';
import { healthy, startLogTraffic, waitFor } from '../support/rollout';

const USE_CASE = 'rollout_cli';
let db: TestDatabase;
let client: Client;
let taskQueue: string;
let worker: Awaited<ReturnType<typeof startControlWorker>>;
let configFile: string;
let candidateId: string;
let traffic: ReturnType<typeof startLogTraffic> | undefined;

beforeAll(async () => {
  client = await temporalClient();
});
afterAll(async () => {
  await client.connection.close();
});
beforeEach(async () => {
  db = await createTestDatabase();
  await seedUseCases(db.prisma, testConfig({ useCaseIds: [USE_CASE] }));
  candidateId = await addModel(db.prisma, USE_CASE, 'qwen-2.5-7b-rollout-cli');
  await markValidated(db.prisma, candidateId);
  taskQueue = uniqueTaskQueue('rollout-cli');
  worker = await startControlWorker({ prisma: db.prisma, taskQueue });
  configFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mms-rollout-cli-')), 'mms.config.yaml');
  fs.writeFileSync(
    configFile,
    [
      `temporal: { controlTaskQueue: ${taskQueue} }`,
      'providers: { local: { kind: openai_compatible, baseUrl: "http://127.0.0.1:9/v1" } }',
      `useCases: [ { id: ${USE_CASE}, kind: self_hosted, temperature: 0.7, maxTokens: 256, systemPromptTemplate: "x", initialModel: { provider: local, model: llama-3.1-8b-instruct } } ]`,
      'policies: { rollout: { steps: [20, 50, 100], windowSeconds: 1.5, stableHoldbackPercent: 0, analysis: { minSamples: 20, maxInconclusiveExtensions: 2, graceSeconds: 0.3, maxErrorRateIncrease: 0.1, maxFirstAttemptFailureRateIncrease: 0.1, maxViolationRateIncrease: 0.1, maxUnhealthyEngagementRateIncrease: 0.1, maxLatencySlowerProbability: 0.8, maxLatencyP95IncreasePercent: 100, maxLatencyP99IncreasePercent: 200, maxCostIncreasePercent: 100 } } }',
    ].join('\n'),
  );
  process.env.DATABASE_URL = db.url;
  process.env.TEMPORAL_ADDRESS = temporalAddress();
});
afterEach(async () => {
  await traffic?.stop();
  traffic = undefined;
  await client.workflow
    .getHandle(rolloutWorkflowId(USE_CASE))
    .terminate('test cleanup')
    .catch(() => undefined);
  await worker.stop();
  await db.drop();
  delete process.env.DATABASE_URL;
  delete process.env.TEMPORAL_ADDRESS;
});

/** `mms -c <config> <args>` in-process, with the rollout commands and `mms audit`. */
const mms = (...args: string[]) => runMms([registerRolloutCommands, registerGatewayCommands], configFile, ...args);

test('start --wait follows a healthy rollout to promotion; status shows every verdict', async () => {
  traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 250, behaviour: () => healthy });
  const run = await mms('rollout', 'start', USE_CASE, 'qwen-2.5-7b-rollout-cli', '--wait');
  expect(run.stderr).toContain(`rollout started: rollout:${USE_CASE}`);
  expect(run.code).toBe(0);
  expect(run.stdout).toContain('outcome promoted: all stages passed');

  const status = await mms('--json', 'rollout', 'status', USE_CASE);
  expect(status.code).toBe(0);
  const body = status.json() as RolloutStatus;
  expect(body).toMatchObject({ phase: 'completed', candidateModelId: candidateId, weightPercent: 100 });
  expect(body.verdicts.filter((v) => v.verdict === 'pass').map((v) => v.label)).toEqual(['20%', '50%', '100%']);
  const human = await mms('rollout', 'status', USE_CASE);
  expect(human.stdout).toMatch(/STAGE\s+WIN\s+VERDICT\s+CANARY n\/err\/p95\s+STABLE n\/err\/p95\s+REASON/);
  expect(human.stdout).toContain('stages 20% → 50% → 100%');
  expect((await getServingAllocation(db.prisma, USE_CASE))!.entries).toEqual([{ modelId: candidateId, weight: 10000, role: 'stable' }]);
});

test('bad flags and an unknown strategy are one-line errors with exit code 2, and start nothing', async () => {
  const unknown = await mms('rollout', 'start', USE_CASE, candidateId, '--strategy', 'yolo');
  expect(unknown).toMatchObject({ code: 2, stdout: '' });
  expect(unknown.stderr).toBe('mms: --strategy: unknown rollout strategy "yolo": use one of canary, blue_green, shadow_then_canary (or all_at_once with force)\n');
  const steps = await mms('rollout', 'start', USE_CASE, candidateId, '--steps', '50,20');
  expect(steps.stderr).toBe('mms: --steps[1]: must be greater than the step before it (50)\n');
  expect((await mms('rollout', 'start', USE_CASE, candidateId, '--window', '-3')).stderr).toBe('mms: --window must be a positive number of seconds, got "-3"\n');
  expect((await mms('rollout', 'status', 'no_such_use_case')).stderr).toBe('mms: no rollout of "no_such_use_case" has run (workflow rollout:no_such_use_case not found)\n');
  expect((await mms('rollout', 'abort', USE_CASE)).code).toBe(2); // --reason is required
  expect(await db.prisma.modelDeployment.count()).toBe(0);
  expect(await db.prisma.trafficAllocation.count({ where: { useCaseId: USE_CASE } })).toBe(1);
});

test('pause, resume, promote --step and abort drive a running rollout; watch ends with the outcome', async () => {
  traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 100, behaviour: () => healthy });
  const start = await mms('--json', 'rollout', 'start', USE_CASE, candidateId, '--window', '60');
  expect(start.code).toBe(0);
  expect(start.json()).toMatchObject({ workflowId: `rollout:${USE_CASE}`, deploymentId: expect.any(String) });
  const again = await mms('rollout', 'start', USE_CASE, candidateId);
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(new RegExp(`^mms: a rollout of "${USE_CASE}" is already running \\(workflow rollout:${USE_CASE}, candidate ${candidateId}, .*\\n$`));

  await waitFor('a window of stage 1', async () => (await mms('--json', 'rollout', 'status', USE_CASE)).json().window?.endsAt, 10_000, 100);
  expect((await mms('rollout', 'pause', USE_CASE, '--reason', 'checking')).stdout).toBe(`paused rollout:${USE_CASE} at stage 1/3 at 20%\n`);
  expect((await mms('rollout', 'pause', USE_CASE)).stderr).toBe(`mms: cannot pause the rollout of "${USE_CASE}": the rollout is already paused (checking)\n`);
  expect((await mms('rollout', 'status', USE_CASE)).stdout).toContain('phase paused (checking)');
  expect((await mms('rollout', 'resume', USE_CASE)).code).toBe(0);
  const step = await mms('rollout', 'promote', USE_CASE, '--step');
  expect(step.code).toBe(0);
  const abort = await mms('--json', 'rollout', 'abort', USE_CASE, '--reason', 'wrong voice');
  expect(abort.json()).toMatchObject({ phase: 'rolled_back', reason: expect.stringMatching(/^aborted by cli:.*: wrong voice$/) });
  const watch = await mms('rollout', 'watch', USE_CASE);
  expect(watch.code).toBe(1);
  expect(watch.stderr).toMatch(/^mms: rollout of "rollout_cli" rolled back: aborted by cli:.*: wrong voice\n$/);
  expect(watch.stdout).toContain('outcome rolled_back');
  // Every admin action of this test is in the audit, with who did it (refused commands are not actions).
  const audit = await mms('--json', 'audit', '--target', USE_CASE);
  const actions = (audit.json() as Array<{ action: string; actor: string; keyId: string | null }>).reverse();
  expect(actions.map((e) => e.action)).toEqual(['rollout.start', 'rollout.pause', 'rollout.resume', 'rollout.promote', 'rollout.abort']);
  expect(actions.every((e) => e.actor.startsWith('cli:') && e.keyId === null)).toBe(true);
});

test('watch --json streams one status line per change until promotion; all_at_once needs --force and warns', async () => {
  traffic = startLogTraffic(db.prisma, { useCaseId: USE_CASE, perSecond: 250, behaviour: () => healthy });
  const unforced = await mms('rollout', 'start', USE_CASE, candidateId, '--strategy', 'all_at_once');
  expect(unforced.code).toBe(2);
  // stable history for the post-switch baseline (what 1.6 s of this traffic logs)
  await waitFor('400 logged calls of stable', async () => (await db.prisma.modelHistoricalLog.count({ where: { useCase: USE_CASE } })) >= 400);
  const forced = await mms('rollout', 'start', USE_CASE, candidateId, '--strategy', 'all_at_once', '--force');
  expect(forced.code).toBe(0);
  expect(forced.stderr).toContain('WARNING: all_at_once moves 100% of traffic to the candidate in one step');
  const watch = await mms('--json', 'rollout', 'watch', USE_CASE, '--interval', '100');
  expect(watch.code).toBe(0);
  const lines = watch.stdout.trim().split('\n').map((l) => JSON.parse(l) as RolloutStatus);
  expect(lines.length).toBeGreaterThan(1);
  expect(lines[lines.length - 1]).toMatchObject({ phase: 'completed', outcome: 'promoted', weightPercent: 100 });
});

test('the human view renders weights, time left, extensions and each verdict', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const status: RolloutStatus = {
    workflowId: 'rollout:npc_dialogue',
    useCaseId: 'npc_dialogue',
    strategy: 'canary',
    candidateModelId: 'cand',
    stableModelId: 'stab',
    deploymentId: 'dep',
    snapshotId: 'snap',
    phase: 'canary',
    stages: [
      { index: 0, kind: 'traffic', percent: 10, windowSeconds: 300, label: '10%' },
      { index: 1, kind: 'traffic', percent: 100, windowSeconds: 300, label: '100%' },
    ],
    stageIndex: 0,
    weightPercent: 10,
    shadowPercent: 0,
    window: { stage: 0, startedAt: '2026-01-01T00:00:00Z', endsAt: '2026-01-01T00:03:15Z', seconds: 300, extension: 1 },
    paused: false,
    verdicts: [
      {
        stage: 0,
        label: '10%',
        window: 0,
        since: 'a',
        until: 'b',
        verdict: 'inconclusive',
        reason: 'canary has 12 requests and stable 400 in the window; at least 50 each are needed',
        baselineSource: 'same_window',
        canary: { requests: 12, players: 12, errorRate: 0, firstAttemptFailureRate: 0, attemptsPerCall: 1, latencyP50Ms: 300, latencyP95Ms: 410.4, latencyP99Ms: 418, violationRate: 0, criticalViolations: 0, feedbackScore: null, feedbackCount: 0, costPerRequestUsd: null },
        baseline: { requests: 400, players: 400, errorRate: 0.0125, firstAttemptFailureRate: 0.0125, attemptsPerCall: 1, latencyP50Ms: 290, latencyP95Ms: 400, latencyP99Ms: 450, violationRate: 0, criticalViolations: 0, feedbackScore: null, feedbackCount: 0, costPerRequestUsd: null },
        checks: [],
      },
    ],
    candidate: 'cand',
    startedAt: 'x',
    updatedAt: 'y',
  };
  const text = renderRolloutStatus(status, now);
  expect(text).toContain('phase canary · stage 1/2 at 10% · candidate serves 10% · window 3m15s left of 5m00s (extension 1)');
  expect(text).toContain('stages [10%] → 100%');
  expect(text).toMatch(/10%\s+0\s+inconclusive\s+12\/0\.0%\/410ms\s+400\/1\.3%\/400ms\s+canary has 12 requests/);
});
