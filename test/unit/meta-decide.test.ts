import { parseConfig } from '../../src/config/load';
import { decideUseCase, type UseCaseAssessment } from '../../src/meta/decide';
import { testConfig } from '../support/fixtures';

/** The meta loop's rules are data: each decision names its rule, says why in words and carries the numbers. */
const NOW = Date.parse('2026-11-30T12:00:00Z');
const settings = (meta: Record<string, unknown> = {}) => testConfig({ useCaseIds: ['npc'], extra: { policies: { meta } } }).policies.meta;

function assessment(over: Partial<UseCaseAssessment> = {}, window: Partial<UseCaseAssessment['window']> = {}): UseCaseAssessment {
  return {
    useCaseId: 'npc',
    kind: 'self_hosted',
    createdAt: '2026-11-29T12:00:00Z',
    allocationVersion: 3,
    stable: { modelId: 'm1', modelName: 'llama-npc', temperature: 0.8 },
    window: { from: '2026-11-30T11:00:00Z', to: '2026-11-30T12:00:00Z', calls: 200, errors: 2, errorRate: 0.01, p95Ms: 800, feedbackScore: 0.8, feedbackCount: 40, costPerRequestUsd: 0.001, ...window },
    baseline: { from: '2026-11-23T11:00:00Z', to: '2026-11-30T11:00:00Z', calls: 30_000, errors: 300, errorRate: 0.01, p95Ms: 700, feedbackScore: 0.8, feedbackCount: 5000, costPerRequestUsd: 0.001 },
    running: null,
    guardrails: {},
    guardrailsRetrainRequestedAt: null,
    lastRetrainAt: null,
    lastPaidSwitchAt: null,
    ...over,
  };
}

test('healthy: one `none` decision with the numbers', () => {
  const [d, ...rest] = decideUseCase(assessment(), settings(), NOW);
  expect(rest).toEqual([]);
  expect(d).toMatchObject({ action: 'none', rule: 'healthy', modelId: 'm1', numbers: { window: { calls: 200 } } });
  expect(d!.reason).toBe('within SLOs (errorRate, p95Ms) and baseline over 200 calls');
});

test('an error-rate SLO breach rolls back, and excludes every other action of the sweep', () => {
  const decisions = decideUseCase(assessment({ guardrailsRetrainRequestedAt: '2026-11-30T11:30:00Z' }, { errorRate: 0.12, errors: 24, feedbackScore: 0.3 }), settings(), NOW);
  expect(decisions).toEqual([expect.objectContaining({ action: 'rollback', rule: 'error_rate_slo', numbers: expect.objectContaining({ metric: 'errorRate', value: 0.12, slo: 0.05 }) })]);
  expect(decisions[0]!.reason).toMatch(/^errorRate 12\.00% > SLO 5\.00% over 200 calls .*; roll llama-npc back \(undo\)$/);
});

test('a rollout running: left alone, whatever the health', () => {
  const running = { kind: 'canary', workflowId: 'rollout:npc', trafficPercentage: 25, since: '2026-11-30T11:50:00Z' };
  expect(decideUseCase(assessment({ running }, { errorRate: 0.5 }), settings(), NOW)).toEqual([
    expect.objectContaining({ action: 'none', rule: 'rollout_running', reason: 'left alone: canary rollout:npc at 25% owns the allocation since 2026-11-30T11:50:00Z' }),
  ]);
});

test('feedback drift against the baseline retrains a self-hosted model; a guardrails request too, once', () => {
  const drift = decideUseCase(assessment({}, { feedbackScore: 0.5 }), settings(), NOW);
  expect(drift).toEqual([expect.objectContaining({ action: 'retrain', rule: 'feedback_drift', numbers: expect.objectContaining({ value: 0.5, baseline: 0.8, factor: 1.25 }) })]);
  const requested = decideUseCase(assessment({ guardrailsRetrainRequestedAt: '2026-11-30T11:30:00Z', lastRetrainAt: '2026-11-30T10:00:00Z' }), settings(), NOW);
  expect(requested).toEqual([expect.objectContaining({ action: 'retrain', rule: 'guardrails_retrain_request' })]);
  expect(decideUseCase(assessment({ guardrailsRetrainRequestedAt: '2026-11-30T09:30:00Z', lastRetrainAt: '2026-11-30T10:00:00Z' }), settings(), NOW)[0]).toMatchObject({ action: 'none' });
});

test('candidates due by time: retrain every N days (from creation when never), paid discovery every N hours', () => {
  expect(decideUseCase(assessment({ createdAt: '2026-10-01T00:00:00Z' }), settings(), NOW)[0]).toMatchObject({ action: 'retrain', rule: 'retrain_due' });
  expect(decideUseCase(assessment({ createdAt: '2026-10-01T00:00:00Z', lastRetrainAt: '2026-11-20T00:00:00Z' }), settings(), NOW)[0]).toMatchObject({ action: 'none' });
  const paid = assessment({ kind: 'paid', lastPaidSwitchAt: '2026-11-29T11:00:00Z' });
  expect(decideUseCase(paid, settings({ paidDiscoveryEveryHours: 24 }), NOW)[0]).toMatchObject({ action: 'paid_switch', rule: 'paid_discovery_due' });
  expect(decideUseCase(paid, settings({ paidDiscoveryEveryHours: 48 }), NOW)[0]).toMatchObject({ action: 'none' });
});

test('a parameter-change rule lowers the temperature; per-use-case SLOs; too few calls are not judged; disabled use cases are left alone', () => {
  const rules = [{ name: 'slow', metric: 'p95Ms', compare: 'slo', action: 'adjust_parameters', temperatureFactor: 0.5 }];
  const s = settings({ rules, slos: { p95Ms: 500 }, retrainEveryDays: 0 });
  expect(decideUseCase(assessment(), s, NOW)).toEqual([expect.objectContaining({ action: 'adjust_parameters', rule: 'slow', temperature: 0.4, reason: expect.stringMatching(/^p95Ms 800 ms > SLO 500 ms .*; temperature 0\.8 → 0\.4$/) })]);
  const relaxed = { ...s, useCases: { npc: { enabled: true, slos: { p95Ms: 1000 } } } };
  expect(decideUseCase(assessment(), relaxed, NOW)[0]).toMatchObject({ action: 'none', rule: 'healthy' });
  expect(decideUseCase(assessment({}, { calls: 10 }), s, NOW)[0]).toMatchObject({ action: 'none', rule: 'too_few_calls', reason: '10 calls in the health window (< 50): health not judged' });
  expect(decideUseCase(assessment(), { ...s, useCases: { npc: { enabled: false } } }, NOW)[0]).toMatchObject({ action: 'none', rule: 'disabled' });
});

test('config: rules are validated, and per-use-case settings name configured use cases', () => {
  const base = { providers: { local: { kind: 'openai_compatible', baseUrl: 'http://127.0.0.1:9/v1' } }, useCases: [{ id: 'npc', kind: 'self_hosted', temperature: 0.7, maxTokens: 256, systemPromptTemplate: 'x', initialModel: { provider: 'local', model: 'm' } }] };
  expect(() => parseConfig({ ...base, policies: { meta: { useCases: { nope: { enabled: false } } } } })).toThrow(/policies\.meta\.useCases\.nope: unknown use case "nope"/);
  expect(() => parseConfig({ ...base, policies: { meta: { rules: [{ name: 'x', metric: 'latency', action: 'rollback' }] } } })).toThrow(/policies\.meta\.rules\[0\]\.metric: must be one of/);
  expect(() => parseConfig({ ...base, policies: { meta: { rules: [{ name: 'x', metric: 'p95Ms', action: 'rollback' }, { name: 'x', metric: 'errorRate', action: 'rollback' }] } } })).toThrow(/policies\.meta\.rules\[1\]\.name: duplicate rule name "x"/);
});
