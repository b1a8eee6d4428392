import crypto from 'node:crypto';
import { getServingAllocation } from '../../src/registry/allocations';
import { applyTraffic, finalizePromotion } from '../../src/registry/rollouts';
import { createTestDatabase, type TestDatabase } from '../support/stack';
import { addModel, seedUseCases, testConfig } from '../support/fixtures';
import { setAllocation } from '../fixtures/gateway-harness';

/**
 * A guardrails parameter adjustment (a lower temperature on the stable model's allocation entry)
 * survives the next rollout: every allocation version the rollout writes keeps the stable model's
 * params, and a promotion writes the candidate with its own (none), as the model-level decision means.
 */
const USE_CASE = 'guardrails_params_rollout';
let db: TestDatabase;
let stableId: string;
let candidateId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  await seedUseCases(db.prisma, testConfig({ useCaseIds: [USE_CASE] }));
  stableId = (await getServingAllocation(db.prisma, USE_CASE))!.entries[0]!.modelId;
  candidateId = await addModel(db.prisma, USE_CASE, 'qwen-2.5-7b-npc-dialogue');
});
afterAll(async () => {
  await db?.drop();
});

test('a rollout carries the stable model’s adjusted temperature into every allocation version it writes', async () => {
  // What the guardrails monitor wrote: the stable entry with the lowered temperature.
  await setAllocation(db.prisma, [{ modelId: stableId, weight: 10_000, role: 'stable', params: { temperature: 0.49 } }], USE_CASE);
  const rolloutKey = `rollout:${USE_CASE}/${crypto.randomUUID()}`;
  const base = { useCaseId: USE_CASE, rolloutKey, stableModelId: stableId, candidateModelId: candidateId, deploymentId: crypto.randomUUID(), createdBy: 'test' };

  const shadow = await applyTraffic(db.prisma, { ...base, seq: 0, mode: 'shadow', percent: 50, label: 'shadow' });
  expect(shadow.entries).toEqual([
    { modelId: stableId, weight: 10_000, role: 'stable', params: { temperature: 0.49 } },
    { modelId: candidateId, weight: 5000, role: 'shadow' },
  ]);
  const canary = await applyTraffic(db.prisma, { ...base, seq: 1, mode: 'canary', percent: 25, label: '25%' });
  expect(canary.entries).toEqual([
    { modelId: stableId, weight: 7500, role: 'stable', params: { temperature: 0.49 } },
    { modelId: candidateId, weight: 2500, role: 'canary' },
  ]);
  const back = await applyTraffic(db.prisma, { ...base, seq: 2, mode: 'canary', percent: 0, label: 'back to stable' });
  expect(back.entries[0]).toEqual({ modelId: stableId, weight: 10_000, role: 'stable', params: { temperature: 0.49 } });

  // Promoted: the candidate serves alone with its own parameters; the stable model's adjustment left with it.
  await applyTraffic(db.prisma, { ...base, seq: 3, mode: 'canary', percent: 100, label: '100%' });
  const promoted = await finalizePromotion(db.prisma, { ...base, reason: 'healthy' });
  expect(promoted.entries).toEqual([{ modelId: candidateId, weight: 10_000, role: 'stable' }]);
});
