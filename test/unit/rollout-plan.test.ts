import { rolloutPolicySchema } from '../../src/config/schema';
import { planRollout } from '../../workflows/rollout-messages';

const plan = (strategy: Parameters<typeof planRollout>[0], policy: Record<string, unknown> = {}, options: Parameters<typeof planRollout>[2] = {}) =>
  planRollout(strategy, rolloutPolicySchema.parse(policy), options).map((s) => [s.label, s.percent, s.stableHoldbackPercent ?? 0]);

test('a canary keeps the default 5 % stable holdback through its last step; promotion moves the rest', () => {
  expect(plan('canary')).toEqual([
    ['10%', 10, 0],
    ['25%', 25, 0],
    ['50%', 50, 0],
    ['75%', 75, 0],
    ['95% (stable holdback 5%)', 95, 5],
  ]);
  expect(plan('shadow_then_canary', { steps: [50, 100], stableHoldbackPercent: 10, shadowMirrorPercent: 20 })).toEqual([
    ['shadow 20%', 20, 0],
    ['50%', 50, 0],
    ['90% (stable holdback 10%)', 90, 10],
  ]);
});

test('the holdback never takes back more than the step before it left, and 0 switches whole', () => {
  expect(plan('canary', { steps: [50, 98, 100] }).at(-1)).toEqual(['98% (stable holdback 2%)', 98, 2]);
  expect(plan('canary', { steps: [100] })).toEqual([['95% (stable holdback 5%)', 95, 5]]);
  expect(plan('canary', { steps: [20, 100], stableHoldbackPercent: 0 }).at(-1)).toEqual(['100%', 100, 0]);
});

test('blue-green keeps blue as a holdback through the verification window; 0, or a history from before it, switches whole', () => {
  expect(plan('blue_green')).toEqual([
    ['shadow 100%', 100, 0],
    ['95% (stable holdback 5%)', 95, 5],
  ]);
  expect(plan('blue_green', { stableHoldbackPercent: 0 })).toEqual([
    ['shadow 100%', 100, 0],
    ['100%', 100, 0],
  ]);
  expect(plan('blue_green', {}, { blueGreenHoldback: false }).at(-1)).toEqual(['100%', 100, 0]);
  // all_at_once (forced) is one whole switch by definition
  expect(plan('all_at_once')).toEqual([['100%', 100, 0]]);
});

test('a holdback outside 0–50 % is refused, naming the field', () => {
  expect(rolloutPolicySchema.safeParse({ stableHoldbackPercent: 60 }).error?.issues[0]?.path).toEqual(['stableHoldbackPercent']);
  expect(rolloutPolicySchema.safeParse({ stableHoldbackPercent: -1 }).error?.issues[0]?.path).toEqual(['stableHoldbackPercent']);
});
