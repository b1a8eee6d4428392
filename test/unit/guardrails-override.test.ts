import { parseConfig } from '../../src/config/load';
import { parseGuardrailsOverride, resolvePolicy } from '../../src/guardrails/policy';
import { guardrailsOverrideOf, touchedGatewayPolicy, withGuardrailsUpdate, withoutGuardrailsUpdate } from '../../src/meta/guardrails';
import type { GuardrailsUpdate } from '../../src/meta/decide';

/**
 * The guardrails update a decision puts in force, as the gateway and the monitor each read it: the
 * gateway's part (actions per severity, category severities) over policies.guardrails, the monitor's
 * part over its settings, neither leaking into the other; an operator's revert gives the config back.
 */
const registry = {
  providers: { local: { kind: 'openai_compatible', baseUrl: 'http://127.0.0.1:9/v1' } },
  useCases: [{ id: 'npc', kind: 'self_hosted', temperature: 0.7, maxTokens: 64, systemPromptTemplate: 'Hi.', initialModel: { provider: 'local', model: 'm' } }],
};
const config = parseConfig({ ...registry, policies: { guardrails: { actions: { critical: 'rollback', high: 'record', medium: 'record', low: 'record' } } } });
const policyConfig = config.policies.guardrails;
const update: GuardrailsUpdate = { windowSeconds: 60, high: 'block', medium: 'block', severities: { manipulation: 'high' } };

test('the gateway part: actions and raised severities over policies.guardrails, with before and after', () => {
  const override = guardrailsOverrideOf(update, { version: 2, decisionId: 'd', rule: 'r', at: '2026-11-30T00:00:00.000Z' });
  expect(override).toEqual({ version: 2, decisionId: 'd', rule: 'r', at: '2026-11-30T00:00:00.000Z', actions: { high: 'block', medium: 'block' }, severities: { manipulation: 'high' } });
  const policy = resolvePolicy(policyConfig, 'npc', override);
  expect(policy.actions).toEqual({ critical: 'rollback', high: 'block', medium: 'block', low: 'record' });
  expect(policy.severities).toMatchObject({ manipulation: 'high', fomo: 'low', self_harm: 'critical' });
  expect(resolvePolicy(policyConfig, 'npc').actions.high).toBe('record');
  expect(touchedGatewayPolicy(policyConfig, 'npc', undefined, update)).toEqual({ actions: { high: 'record', medium: 'record' }, severities: { manipulation: 'medium' } });
  expect(touchedGatewayPolicy(policyConfig, 'npc', override, update)).toEqual({ actions: { high: 'block', medium: 'block' }, severities: { manipulation: 'high' } });
  // What the registry cache reads back from the row; anything else is no override (the config applies).
  expect(parseGuardrailsOverride(JSON.parse(JSON.stringify(override)))).toEqual(override);
  for (const stored of [null, undefined, {}, { version: '2', decisionId: 'd' }, 'v2']) expect(parseGuardrailsOverride(stored)).toBeUndefined();
});

test('the monitor part: only monitor settings and high reach the monitor; a revert restores the config', () => {
  const settings = { policy: { ...policyConfig.monitor }, actions: { critical: 'rollback' as const, high: 'record' as const } };
  const updated = withGuardrailsUpdate(settings, update);
  expect(updated.policy).toEqual({ ...policyConfig.monitor, windowSeconds: 60 });
  expect(updated.policy).not.toHaveProperty('medium');
  expect(updated.policy).not.toHaveProperty('severities');
  expect(updated.actions).toEqual({ critical: 'rollback', high: 'block' });
  expect(withoutGuardrailsUpdate(updated, policyConfig, 'npc')).toEqual(settings);
});

test('a rule whose guardrails name an unknown category or action is refused, naming the field', () => {
  const rule = (guardrails: unknown) => ({ policies: { meta: { rules: [{ name: 'g', metric: 'tier2MissRate', action: 'update_guardrails', guardrails }] } } });
  const refused = (guardrails: unknown) => {
    try {
      parseConfig({ ...registry, ...rule(guardrails) });
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };
  expect(refused({ severities: { gossip: 'high' } })).toMatch(/policies\.meta\.rules\[0\]\.guardrails\.severities\.gossip: unknown key/);
  expect(refused({ medium: 'redact' })).toMatch(/policies\.meta\.rules\[0\]\.guardrails\.medium: /);
  expect(refused({ severities: { manipulation: 'high' }, low: 'block' })).toBe('accepted');
});
