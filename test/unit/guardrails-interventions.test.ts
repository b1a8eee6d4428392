import { decideInterventions, emptyMonitorState, type GuardrailsWindow, type ModelWindowStats, type MonitorPolicy } from '../../src/guardrails/interventions';

const policy: MonitorPolicy = {
  enabled: true,
  windowSeconds: 60,
  criticalRate: 0.05,
  minCritical: 3,
  highRate: 0.1,
  minHigh: 3,
  temperatureFactor: 0.5,
  minTemperature: 0.2,
  retrainAfterWindows: 2,
  cooldownSeconds: 600,
};
const actions = { critical: 'rollback', high: 'block' } as const;
const model = (over: Partial<ModelWindowStats> = {}): ModelWindowStats => ({
  modelId: 'm1',
  modelName: 'npc-model',
  role: 'stable',
  selfHosted: false,
  requests: 40,
  critical: 0,
  high: 0,
  categories: {},
  temperature: 0.8,
  ...over,
});
const window = (models: ModelWindowStats[], over: Partial<GuardrailsWindow> = {}): GuardrailsWindow => ({
  useCaseId: 'npc_dialogue',
  from: '2026-01-01T00:00:00.000Z',
  to: '2026-01-01T00:01:00.000Z',
  allocationVersion: 3,
  rolloutRunning: false,
  models,
  undo: { toModelId: 'm0', explanation: 'undoes the change from model m0 to m1' },
  ...over,
});

describe('decideInterventions', () => {
  test('a critical burst of the stable model outside a rollout rolls back (undo), with the numbers in the reason', () => {
    const { interventions, state } = decideInterventions(window([model({ critical: 4, categories: { self_harm: 4 } })]), policy, actions, emptyMonitorState(), 1000);
    expect(interventions).toEqual([
      expect.objectContaining({ kind: 'rollback', modelId: 'm1', status: 'proposed', details: expect.objectContaining({ toModelId: 'm0', critical: 4, requests: 40, criticalRate: 0.1 }) }),
    ]);
    expect(interventions[0]!.reason).toMatch(/^critical burst: 4 critical outputs of 40 \(10\.0% ≥ 5\.0%\) by npc-model .*self_harm 4; rollback undoes the change from model m0 to m1$/);
    // cooled down: the same burst in the next window decides nothing
    expect(decideInterventions(window([model({ critical: 4 })]), policy, actions, state, 2000).interventions).toEqual([]);
    // after the cooldown it may decide again
    expect(decideInterventions(window([model({ critical: 4 })]), policy, actions, state, 1000 + 600_000).interventions).toHaveLength(1);
  });

  test('no rollback below the rate or the count, inside a rollout, with critical: block, or for a canary', () => {
    const none = (w: GuardrailsWindow, a: typeof actions | { critical: 'block'; high: 'block' } = actions) => decideInterventions(w, policy, a, emptyMonitorState(), 0).interventions;
    expect(none(window([model({ critical: 2 })]))).toEqual([]); // 2 < minCritical
    expect(none(window([model({ critical: 3, requests: 100 })]))).toEqual([]); // 3% < 5%
    expect(none(window([model({ critical: 5 })], { rolloutRunning: true }))).toEqual([]); // the rollout aborts itself
    expect(none(window([model({ critical: 5 })]), { critical: 'block', high: 'block' })).toEqual([]);
    expect(none(window([model({ critical: 5, role: 'canary' })]))).toEqual([]);
  });

  test('a burst with nothing to undo is a rejected rollback decision that says why', () => {
    const { interventions } = decideInterventions(window([model({ critical: 5 })], { undo: { unavailable: 'nothing to undo for "npc_dialogue"' } }), policy, actions, emptyMonitorState(), 0);
    expect(interventions).toEqual([expect.objectContaining({ kind: 'rollback', status: 'rejected', reason: expect.stringMatching(/no rollback: nothing to undo for "npc_dialogue" \(outputs stay blocked\)$/) })]);
  });

  test('high severity lowers the temperature (× factor, floored), not with high: record, not below the floor', () => {
    const high = model({ high: 5, categories: { harassment: 5 } });
    const { interventions } = decideInterventions(window([high]), policy, actions, emptyMonitorState(), 0);
    expect(interventions).toEqual([expect.objectContaining({ kind: 'adjust_parameters', temperature: 0.4, details: expect.objectContaining({ parameters: { temperature: { from: 0.8, to: 0.4 } } }) })]);
    expect(decideInterventions(window([high]), policy, { critical: 'rollback', high: 'record' }, emptyMonitorState(), 0).interventions).toEqual([]);
    expect(decideInterventions(window([{ ...high, temperature: 0.3 }]), policy, actions, emptyMonitorState(), 0).interventions[0]).toMatchObject({ temperature: 0.2 });
    expect(decideInterventions(window([{ ...high, temperature: 0.2 }]), policy, actions, emptyMonitorState(), 0).interventions).toEqual([]); // nothing left to lower
  });

  test('a self-hosted model failing retrainAfterWindows windows in a row gets one retrain request; judgements within one window count once; a clean window resets', () => {
    const failing = model({ selfHosted: true, high: 2, critical: 1, requests: 1000 });
    const clean = model({ selfHosted: true, requests: 1000 });
    let s = decideInterventions(window([failing]), policy, actions, emptyMonitorState(), 0);
    expect(s.interventions).toEqual([]);
    expect(decideInterventions(window([clean]), policy, actions, s.state, 60_000).state.failingWindows).toEqual({});
    s = decideInterventions(window([failing]), policy, actions, s.state, 1000); // a signalled judgement in the same window
    expect(s.interventions).toEqual([]);
    expect(s.state.failingWindows).toEqual({ m1: 1 });
    s = decideInterventions(window([failing]), policy, actions, s.state, 60_000);
    expect(s.interventions).toEqual([expect.objectContaining({ kind: 'retrain', modelId: 'm1', status: 'proposed', details: expect.objectContaining({ consecutiveWindows: 2 }) })]);
    expect(s.interventions[0]!.reason).toMatch(/^repeated safety failures of self-hosted npc-model: 2 consecutive windows/);
    // a paid model never gets one
    expect(decideInterventions(window([{ ...failing, selfHosted: false }]), policy, actions, { lastDecided: {}, failingWindows: { m1: 5 } }, 0).interventions).toEqual([]);
  });
});
