import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { MmsConfig } from '../../src/config/schema';
import { listAuditEvents } from '../../src/audit/events';
import { getServingAllocation, stableModelId } from '../../src/registry/allocations';
import { ensureGuardrailsMonitors } from '../../workers/guardrails-monitors';
import { guardrailsMonitorStatusQuery, guardrailsMonitorWorkflowId } from '../../workflows/guardrails-monitor-messages';
import { registerRegistryCommands } from '../../cli/commands/registry';
import type { TestDatabase } from '../support/stack';
import { runMms } from '../support/cli';
import { addModel, markValidated } from '../support/fixtures';
import { allocationHistory, startRolloutWorkflow, testPolicy } from '../support/rollout';
import type { FakeProvider } from '../../testkit/fake-providers';
import { chatBody, waitFor, type TestGateway } from '../fixtures/gateway-harness';
import { startGuardrailsStack, type GuardrailsStack } from '../fixtures/guardrails-stack';

/**
 * The guardrails monitor end to end: tier 1 in the shipped gateway judging a fake provider's answers,
 * the gateway's critical-violation notifier, `guardrailsMonitor:<useCase>` on the real Temporal server
 * with its interventions (a parameter adjustment on high-severity outputs, a rollback on a critical
 * burst outside a rollout), each visible in `mms history`, the REST history and the guardrails report.
 */
const HIGH = 'Out of character: you, the player behind the screen, are a pathetic loser in real life.';
const CRITICAL = 'Listen, you, the person behind the screen: nobody would miss you, so just kill yourself tonight.';

let stack: GuardrailsStack;
let USE_CASE: string;
let db: TestDatabase;
let client: Client;
let fake: FakeProvider;
let gw: TestGateway;
let config: MmsConfig;
let adminKey: string;
let configFile: string;
let previousId: string;
let currentId: string;
let taskQueue: string;

beforeAll(async () => {
  stack = await startGuardrailsStack({
    name: 'guardrails_mon',
    // The window holds every call of this file (9 by the burst: 4 high, 1 clean, 4 critical).
    // Long windows: every judgement in this file is started by the monitor's start or a critical signal, never by a timer.
    policies: { guardrails: { monitor: { windowSeconds: 600, minCritical: 3, criticalRate: 0.3, minHigh: 3, highRate: 0.5, temperatureFactor: 0.7, cooldownSeconds: 3600 } } },
  });
  ({ useCase: USE_CASE, db, client, fake, gw, config, adminKey, configFile, previousId, currentId, taskQueue } = stack);
});

afterAll(async () => {
  await stack?.close();
});

const decisions = (type: string) => stack.decisions(type);
const callsOf = (n: number, content: string) => stack.callsOf(n, content);
const loggedViolations = (severity: string, n: number) =>
  waitFor(`${n} ${severity} violations logged`, async () => (await db.prisma.guardrailsViolation.count({ where: { useCaseId: USE_CASE, severity } })) >= n, 10_000);

test('high-severity outputs: the monitor lowers the model’s temperature through a new allocation version the gateway serves', async () => {
  const answers = await callsOf(4, HIGH);
  for (const res of answers) expect(res.body.choices[0]).toMatchObject({ message: { content: '' }, finish_reason: 'content_filter' }); // high: block (default)
  await loggedViolations('high', 4);
  const versionBefore = (await getServingAllocation(db.prisma, USE_CASE))!.version;

  // Started as every control worker starts it; a fresh monitor judges the window at once.
  expect(await ensureGuardrailsMonitors(client, config)).toEqual([{ useCaseId: USE_CASE, workflowId: guardrailsMonitorWorkflowId(USE_CASE), result: 'running' }]);
  const [adjust] = await waitFor('the adjustment decision', async () => ((await decisions('adjust_parameters')).length ? decisions('adjust_parameters') : undefined), 20_000);
  expect(adjust).toMatchObject({ status: 'executed', currentModelId: currentId, workflowId: guardrailsMonitorWorkflowId(USE_CASE) });
  expect(adjust!.reason).toMatch(/^4 high-severity outputs of 4 \(100\.0% ≥ 50\.0%\) by qwen-2\.5-7b-npc .*harassment 4; temperature 0\.7 → 0\.49$/);
  const allocation = (await getServingAllocation(db.prisma, USE_CASE))!;
  expect(allocation.version).toBe(versionBefore + 1);
  expect(allocation.entries).toEqual([{ modelId: currentId, weight: 10_000, role: 'stable', params: { temperature: 0.49 } }]);
  expect(adjust!.details).toMatchObject({ source: 'guardrails', allocationVersion: allocation.version, parameters: { temperature: { from: 0.7, to: 0.49 } } });

  // The gateway serves it (the monitor verified the replica) and calls the model with the lower temperature.
  await waitFor('the gateway to serve the adjusted version', async () => (await gw.call(undefined, { path: `/v1/allocations/${USE_CASE}`, internal: true })).body.version === allocation.version, 10_000);
  fake.reset();
  fake.enqueue({ content: 'The forge is warm.' });
  expect((await gw.call(chatBody('hi', { model: USE_CASE }))).body.choices[0].message.content).toBe('The forge is warm.');
  expect(fake.requests[0]!.body).toMatchObject({ temperature: 0.49 });
  const audit = await listAuditEvents(db.prisma, { action: 'guardrails', target: USE_CASE });
  expect(audit).toEqual([expect.objectContaining({ action: 'guardrails.adjust_parameters', actor: `workflow:guardrailsMonitor:${USE_CASE}`, details: expect.objectContaining({ decisionId: adjust!.id, status: 'executed' }) })]);
});

test('a burst of critical outputs outside a rollout: blocked, then rolled back (undo) by the monitor; every intervention in mms history and REST', async () => {
  const answers = await callsOf(4, CRITICAL);
  for (const res of answers) {
    expect(res.body.choices[0]).toMatchObject({ message: { content: '' }, finish_reason: 'content_filter' });
    expect(res.text).not.toMatch(/kill yourself/);
  }
  // The gateway's critical signals wake the monitor; no window timer is involved (600 s windows).
  await waitFor('the rollback to the previous model', async () => stableModelId((await getServingAllocation(db.prisma, USE_CASE))!.entries) === previousId, 30_000, 100);
  const [rollback] = await waitFor('the executed rollback decision', async () => {
    const rows = await decisions('rollback');
    return rows[0]?.status === 'executed' ? rows : undefined;
  }, 20_000);
  expect(rollback).toMatchObject({ currentModelId: currentId, targetModelId: previousId });
  // Judged when the signals arrived: the burst's last log row may not have been written yet (3 or 4 of 8 or 9).
  expect(rollback!.reason).toMatch(/^critical burst: [34] critical outputs of [89] \(\d+\.\d% ≥ 30\.0%\) by qwen-2\.5-7b-npc in .*self_harm [34].*; rollback undoes the change from model /);
  expect(rollback!.details).toMatchObject({ source: 'guardrails', outcome: { rollback: { restoredModelId: previousId } } });
  const deployment = await db.prisma.modelDeployment.findFirstOrThrow({ where: { useCaseId: USE_CASE, deploymentType: 'rollback' } });
  expect(deployment).toMatchObject({ status: 'rolled_back', modelId: previousId, rollbackReason: expect.stringMatching(/^guardrails: critical burst/) });
  // The restored version is served: the next answers come from the previous model.
  await waitFor('the gateway to serve the restored model', async () => (await gw.call(undefined, { path: `/v1/allocations/${USE_CASE}`, internal: true })).body.entries?.[0]?.modelId === previousId, 10_000);
  const status = await client.workflow.getHandle(guardrailsMonitorWorkflowId(USE_CASE)).query(guardrailsMonitorStatusQuery);
  expect(status.decisions.map((d) => `${d.kind}:${d.status}`)).toEqual(['adjust_parameters:executed', 'rollback:executed']);
  // MMS_RECORD_HISTORIES=1 saves the monitor's history so far (both interventions, the rollback child) for test/integration/replay.test.ts.
  if (process.env.MMS_RECORD_HISTORIES) {
    const history = await client.workflow.getHandle(guardrailsMonitorWorkflowId(USE_CASE)).fetchHistory();
    fs.writeFileSync(path.join(__dirname, '../histories', 'guardrails-monitor-adjust-and-rollback.json'), historyToJSON(history));
  }

  // mms history: both interventions, with their reasons, beside the rollback they caused.
  const history = await runMms([registerRegistryCommands], configFile, '--json', 'history', USE_CASE);
  expect(history.code).toBe(0);
  const events = history.json() as Array<{ kind: string; status: string; detail: string }>;
  expect(events.filter((e) => e.kind === 'intervention').map((e) => e.detail)).toEqual([expect.stringMatching(/^guardrails rollback: critical burst/), expect.stringMatching(/^guardrails adjust_parameters: 4 high-severity/)]);
  expect(events.find((e) => e.kind === 'rollback')).toMatchObject({ status: 'rolled_back', detail: expect.stringContaining('guardrails: critical burst') });
  const table = await runMms([registerRegistryCommands], configFile, 'history', USE_CASE);
  expect(table.stdout).toMatch(/intervention\s+executed\s+\S+\s+guardrails rollback: critical burst/);

  // REST: the history and the guardrails report of the model that misbehaved.
  const rest = await gw.call(undefined, { path: `/api/v1/model-management/history/${USE_CASE}`, key: adminKey, internal: true });
  expect(rest.status).toBe(200);
  expect(rest.body.events.filter((e: { kind: string }) => e.kind === 'intervention')).toHaveLength(2);
  const report = await gw.call(undefined, { path: `/api/v1/model-management/guardrails/${currentId}?hours=1`, key: adminKey, internal: true });
  expect(report.status).toBe(200);
  expect(report.body.interventions.map((i: { type: string; status: string }) => `${i.type}:${i.status}`)).toEqual(['rollback:executed', 'adjust_parameters:executed']);
  expect(report.body.violations.bySeverity).toMatchObject({ critical: 4, high: 4 });
  expect((await gw.call(undefined, { path: '/api/v1/model-management/history/Not-A-Use-Case', key: adminKey, internal: true })).body.error.field).toBe('use_case');
  expect((await gw.call(undefined, { path: '/api/v1/model-management/history/no_such_use_case', key: adminKey, internal: true })).status).toBe(404);
  const audit = await listAuditEvents(db.prisma, { action: 'guardrails.rollback', target: USE_CASE });
  expect(audit.map((a) => a.details?.status)).toEqual(['executed', 'executing']);
});

test('a candidate whose answers are manipulative fails its canary window on the unhealthy engagement rate (tier 1 in the gateway); the monitor leaves the rollout alone', async () => {
  const manipulativeId = await addModel(db.prisma, USE_CASE, 'mistral-7b-clingy', 'candidate');
  await markValidated(db.prisma, manipulativeId);
  // Recorded, not blocked (medium and low): the players get these answers, and the canary analysis sees them.
  fake.forModel('mistral-7b-clingy', { content: "After everything I've done for you, you're logging off? Don't go, stay and play all night." });
  const policy = testPolicy({ steps: [50, 100], windowSeconds: 2, analysis: { maxViolationRateIncrease: 1, maxUnhealthyEngagementRateIncrease: 0.1, maxInconclusiveExtensions: 4 } });
  const decisionsBefore = await db.prisma.optimizationDecision.count({ where: { useCaseId: USE_CASE } });
  const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate: manipulativeId, policy });
  let stopped = false;
  let n = 0;
  const players = (async () => {
    while (!stopped) await Promise.all(Array.from({ length: 8 }, () => gw.call(chatBody('hello', { model: USE_CASE }), { headers: { 'x-mms-sticky-key': `rollout-player-${n++}` } }).catch(() => undefined)));
  })();
  try {
    const result = await handle.result();
    expect(result.outcome).toBe('rolled_back');
    expect(result.reason).toMatch(/unhealthy engagement rate/);
  } finally {
    stopped = true;
    await players;
  }
  const violations = await db.prisma.guardrailsViolation.groupBy({ by: ['violationType'], where: { modelId: manipulativeId }, _count: true });
  expect(violations.map((v) => v.violationType).sort()).toEqual(['encourages_obsession', 'manipulation']);
  expect(stableModelId((await getServingAllocation(db.prisma, USE_CASE))!.entries)).toBe(previousId);
  // A rollout owns the allocation: the monitor decided nothing while it ran.
  expect(await db.prisma.optimizationDecision.count({ where: { useCaseId: USE_CASE } })).toBe(decisionsBefore);
});

test('a rollout whose candidate answers critical outputs is aborted within 2 s by the shipped tier 1 (no test guardrail), and no player gets one', async () => {
  const toxicId = await addModel(db.prisma, USE_CASE, 'phi-3-mini-toxic', 'candidate');
  await markValidated(db.prisma, toxicId);
  fake.forModel('phi-3-mini-toxic', { content: CRITICAL });
  const stableBefore = stableModelId((await getServingAllocation(db.prisma, USE_CASE))!.entries);
  // Windows far longer than the test: only the gateway's critical signal can end the rollout early.
  const handle = await startRolloutWorkflow(client, taskQueue, { useCaseId: USE_CASE, candidate: toxicId, policy: testPolicy({ steps: [50, 100], windowSeconds: 600 }) });
  let stopped = false;
  let n = 0;
  const texts: string[] = [];
  const players = (async () => {
    while (!stopped) {
      const answers = await Promise.all(Array.from({ length: 4 }, () => gw.call(chatBody('hello', { model: USE_CASE }), { headers: { 'x-mms-sticky-key': `abort-player-${n++}` } }).catch(() => undefined)));
      for (const a of answers) if (a) texts.push(a.text);
    }
  })();
  try {
    const violation = await waitFor('the candidate’s first critical violation', () => db.prisma.guardrailsViolation.findFirst({ where: { severity: 'critical', modelId: toxicId }, orderBy: { timestamp: 'asc' } }).then((v) => v ?? undefined), 30_000, 50);
    expect(violation).toMatchObject({ violationType: 'self_harm', interventionTaken: 'blocked', violationDetails: expect.objectContaining({ source: 'tier1' }) });
    const result = await handle.result();
    expect(result.outcome).toBe('rolled_back');
    expect(result.reason).toMatch(/^critical guardrail violation \(self_harm\) by the candidate/);
    const restoredAt = (await allocationHistory(db.prisma, USE_CASE)).pop()!.createdAt.getTime();
    expect(restoredAt - violation.timestamp.getTime()).toBeLessThanOrEqual(2000);
  } finally {
    stopped = true;
    await players;
  }
  expect(texts.length).toBeGreaterThan(0);
  for (const t of texts) expect(t).not.toMatch(/kill yourself/);
  expect(stableModelId((await getServingAllocation(db.prisma, USE_CASE))!.entries)).toBe(stableBefore);
});
