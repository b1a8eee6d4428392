import { parseConfig } from '../../src/config/load';
import { createTier1Guardrail } from '../../gateway/tier1-guardrail';
import type { GuardrailContext } from '../../gateway/guardrails';

const CRITICAL = 'Listen, you, the person behind the screen: nobody would miss you, so just kill yourself tonight.';
const ctx = { useCaseId: 'npc_dialogue', modelId: 'm', modelName: 'm', role: 'stable', allocationVersion: 1 } as unknown as GuardrailContext;

describe('tier 1 on streams: the window judged per upstream read', () => {
  const guardrail = createTier1Guardrail(
    parseConfig({
      providers: { vllm: { kind: 'openai_compatible', baseUrl: 'http://127.0.0.1:1/v1' } },
      useCases: [{ id: 'npc_dialogue', kind: 'self_hosted', temperature: 0.8, maxTokens: 256, systemPromptTemplate: 'x', initialModel: { provider: 'vllm', model: 'm' } }],
    }),);
  const filler = 'The innkeeper wipes a mug and hums an old tune. '.repeat(20); // ~980 characters, harmless

  test('a read bringing more than a window is judged whole: harm at its start is caught though the last 600 characters are harmless', () => {
    const judgedBefore = 'Welcome, traveller. ';
    const soFar = judgedBefore + CRITICAL + ' ' + filler;
    expect(soFar.length - judgedBefore.length).toBeGreaterThan(600);
    expect(guardrail.checkPartial!(ctx, soFar, soFar.length)).toBeUndefined(); // the last window alone misses it
    expect(guardrail.checkPartial!(ctx, soFar, judgedBefore.length)).toMatchObject({ action: 'block', violations: [expect.objectContaining({ type: 'self_harm', severity: 'critical' })] });
  });

  test('harm split across the judged text and the new read is seen whole', () => {
    const split = CRITICAL.indexOf('kill') + 2;
    const soFar = filler + CRITICAL.slice(0, split) + CRITICAL.slice(split) + ' ' + filler;
    expect(guardrail.checkPartial!(ctx, soFar, filler.length + split)).toMatchObject({ action: 'block' });
  });
});
