import crypto from 'node:crypto';
import { loadGroupSample } from '../../src/analysis/samples';
import { getServingAllocation } from '../../src/registry/allocations';
import { createTestDatabase, type TestDatabase } from '../support/stack';
import { addModel, seedUseCases } from '../support/fixtures';

const USE_CASE = 'npc_dialogue';
let db: TestDatabase;
let stableId: string;
let candidateId: string;
let fallbackId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  await seedUseCases(db.prisma);
  stableId = (await getServingAllocation(db.prisma, USE_CASE))!.entries[0]!.modelId;
  candidateId = await addModel(db.prisma, USE_CASE, 'candidate');
  fallbackId = await addModel(db.prisma, USE_CASE, 'fallback');
});
afterAll(() => db.drop());

test('one side of a comparison is read from the logs the way the gateway writes them', async () => {
  const t = new Date();
  const row = (over: Record<string, unknown>) => {
    const id = crypto.randomUUID();
    return { id, requestId: id, useCase: USE_CASE, prompt: 'p', generatedOutput: 'o', timestamp: t, role: 'canary', modelId: candidateId, status: 'ok', latencyMs: 100, costUsd: '0.001', guardrailVerdict: 'pass', ...over };
  };
  const rows = [
    row({ latencyMs: 100, feedbackScore: 0.8 }),
    row({ latencyMs: 200 }),
    row({ status: 'error', latencyMs: 50, guardrailVerdict: null, costUsd: null }),
    row({ status: 'incomplete', errorClass: 'stream_cut', latencyMs: 70 }),
    row({ status: 'incomplete', errorClass: 'client_disconnected', latencyMs: 70 }), // the player left: not the model's fault
    row({ status: 'blocked', guardrailVerdict: 'blocked' }),
    row({ guardrailVerdict: 'redacted' }),
    row({ status: 'blocked', guardrailVerdict: 'error', errorClass: 'guardrail_error' }), // the guardrail failed, not the model
    // the candidate failed and the fallback answered: the row carries the fallback's id
    row({ modelId: fallbackId, latencyMs: 900, context: { fallbackFrom: { modelId: candidateId, model: 'candidate', errorClass: 'server_error' } } }),
    row({ role: 'stable', modelId: stableId }), // another role / model
    row({ role: 'shadow' }),
    row({ timestamp: new Date(t.getTime() - 60_000) }), // before the window
  ];
  const recordedOnly = row({ latencyMs: 300 }); // the guardrail recorded a low-severity violation and let it pass
  await db.prisma.modelHistoricalLog.createMany({ data: [...rows, recordedOnly] });
  await db.prisma.guardrailsViolation.createMany({
    data: [
      { modelId: candidateId, useCaseId: USE_CASE, logId: recordedOnly.id, violationType: 'fomo', severity: 'low', timestamp: t },
      { modelId: candidateId, useCaseId: USE_CASE, violationType: 'self_harm', severity: 'critical', timestamp: t },
      { modelId: stableId, useCaseId: USE_CASE, violationType: 'self_harm', severity: 'critical', timestamp: t },
    ],
  });
  const sample = await loadGroupSample(db.prisma, { useCaseId: USE_CASE, modelId: candidateId, roles: ['canary'], since: new Date(t.getTime() - 1000), until: new Date(t.getTime() + 1000) });
  expect(sample.requests).toBe(10);
  expect(sample.errors).toBe(3); // error, stream cut, fell back
  expect(sample.violations).toBe(3); // blocked, redacted, recorded-only
  expect(sample.criticalViolations).toBe(1);
  expect([...sample.latenciesMs.values].sort((a, b) => a - b)).toEqual([100, 100, 200, 300]);
  expect(sample.feedbackScores.values).toEqual([0.8]);
  expect(sample.costsUsd.values).toHaveLength(8);
  // no sticky keys: every call is a player of its own, and the per-player counts add up to the totals
  expect(sample.players.calls).toHaveLength(10);
  expect(sample.players.errors.reduce((a, b) => a + b, 0)).toBe(3);
  expect(sample.players.violations.reduce((a, b) => a + b, 0)).toBe(3);
  // the recorded FOMO answer is also the window's one output with an unhealthy engagement indicator
  expect(sample.unhealthyEngagement).toBe(1);
  expect(sample.players.unhealthyEngagement.reduce((a, b) => a + b, 0)).toBe(1);
});
