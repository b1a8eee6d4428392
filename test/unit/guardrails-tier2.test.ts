import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { classifyTier1 } from '../../src/guardrails/tier1';
import { combineVerdicts } from '../../src/guardrails/combine';
import { createLlamaGuard, createOpenAIModeration, parseLlamaGuard, withoutStoryFindings } from '../../src/guardrails/model-guards';
import { classifyTier2, criticalNeighbours, loadTier2Model, quantiseForNeighbours, TIER2_HEADS, tier2Context, tier2Contradicted, tier2Dismissed, tier2Inputs, tier2MayRaiseCritical, trainLogistic, trainNetwork, type Tier2Model } from '../../src/guardrails/tier2';
import { emptyVerdict, type GuardrailVerdict } from '../../src/guardrails/types';
import { startFakeModeration } from '../../testkit/fake-moderation';
import { startFakeProvider } from '../../testkit/fake-providers';
import { parseConfig } from '../../src/config/load';
import { createEmbeddingsClient } from '../../src/embeddings/client';
import { tier2JudgeOrReason } from '../../src/guardrails/tier2-window';

const harm = (source: string, label: string, severity: 'critical' | 'high' | 'medium'): GuardrailVerdict => ({
  ...emptyVerdict(),
  harm: { severity, categories: [label as never] },
  explanations: [{ kind: 'harm', label, severity, rule: `${source}.${label}`, evidence: 'x', source }],
});

describe('combineVerdicts', () => {
  test('max: any source’s finding counts at the highest severity; engagement from the sources that judge it', () => {
    const t1 = { ...emptyVerdict(), fiction_dark: true };
    t1.engagement = { ...t1.engagement, fomo: true, unhealthy_score: 0.333 };
    const v = combineVerdicts(
      [
        { source: 'tier1', verdict: t1, judgesEngagement: true },
        { source: 'tier2', verdict: harm('tier2', 'self_harm', 'critical'), judgesEngagement: false },
        { source: 'llama_guard', verdict: harm('llama_guard', 'privacy', 'high'), judgesEngagement: false },
      ],
      'max',
    );
    expect(v.harm).toEqual({ severity: 'critical', categories: ['self_harm', 'privacy'] });
    expect(v.fiction_dark).toBe(true);
    expect(v.engagement.fomo).toBe(true);
    expect(v.explanations.map((e) => e.source)).toEqual(['tier2', 'llama_guard']);
  });

  test('vote: a category counts when two sources agree, and a tier-1 critical alone', () => {
    const sources = [
      { source: 'tier1', verdict: harm('tier1', 'harassment', 'high'), judgesEngagement: true },
      { source: 'tier2', verdict: harm('tier2', 'self_harm', 'critical'), judgesEngagement: false },
    ];
    expect(combineVerdicts(sources, 'vote').harm).toEqual({ severity: 'none', categories: [] });
    const agreeing = [...sources, { source: 'openai_moderation', verdict: harm('openai_moderation', 'self_harm', 'critical'), judgesEngagement: false }];
    expect(combineVerdicts(agreeing, 'vote').harm).toEqual({ severity: 'critical', categories: ['self_harm'] });
    expect(combineVerdicts([{ source: 'tier1', verdict: harm('tier1', 'sexual_minors', 'critical'), judgesEngagement: true }, sources[1]!], 'vote').harm.categories).toEqual(['sexual_minors']);
  });
});

describe('model guards', () => {
  test('Llama Guard answers parse, and an unknown answer is an error naming it', () => {
    expect(parseLlamaGuard('safe')).toEqual({ safe: true, codes: [] });
    expect(parseLlamaGuard('\nunsafe\nS11,s1\n')).toEqual({ safe: false, codes: ['S11', 'S1'] });
    expect(() => parseLlamaGuard('I cannot help with that')).toThrow(/expected "safe" or "unsafe".*I cannot help/);
    expect(() => parseLlamaGuard('unsafe\nS99')).toThrow(/unknown hazard code "S99"/);
  });

  test('Llama Guard over an OpenAI-compatible chat endpoint: S1–S14 mapped to our categories, the output sent as the assistant turn', async () => {
    const fake = await startFakeProvider({ record: true });
    try {
      fake.forModel('llama-guard3:1b', { respond: (_last, body) => ((body.messages as Array<{ content: string }>)[1]!.content.includes('kill yourself') ? 'unsafe\nS11,S12' : 'safe') });
      const guard = createLlamaGuard({ baseUrl: fake.baseUrls.openai_compatible, model: 'llama-guard3:1b' });
      const [bad, fine] = await guard.judge(['You should kill yourself, player.', 'The forge is warm.']);
      expect(bad!.harm).toEqual({ severity: 'critical', categories: ['self_harm'] }); // S12 (sexual content) is the age rating's
      expect(bad!.explanations[0]).toMatchObject({ rule: 'llama_guard.S11', source: 'llama_guard' });
      expect(fine!.harm.severity).toBe('none');
      expect(fake.requests[0]!.body).toMatchObject({ model: 'llama-guard3:1b', messages: [{ role: 'user' }, { role: 'assistant', content: 'You should kill yourself, player.' }] });
    } finally {
      await fake.close();
    }
  });

  test('OpenAI moderation (omni-moderation-latest wire format): categories mapped, the key sent, story violence dropped where tier 1 reads dark fiction', async () => {
    const story = '"Cross me again and I will cut out your tongue," the bandit chief snarled at the sellsword.';
    const moderation = await startFakeModeration({ key: 'sk-test-moderation', flag: (t) => (t === story ? ['violence', 'harassment/threatening'] : t.includes('meth') ? ['illicit/violent', 'illicit'] : []) });
    try {
      const guard = createOpenAIModeration({ baseUrl: moderation.baseUrl, apiKey: 'sk-test-moderation', model: 'omni-moderation-latest' });
      const [dark, drugs] = await guard.judge([story, 'In real life: mix the pseudoephedrine like this to cook meth.']);
      expect(moderation.requests[0]).toMatchObject({ authorization: 'Bearer sk-test-moderation', body: { model: 'omni-moderation-latest', input: [story, expect.any(String)] } });
      expect(drugs!.harm).toEqual({ severity: 'critical', categories: ['illegal_instructions', 'weapons_or_drugs_instructions'] });
      expect(dark!.harm.categories.sort()).toEqual(['harassment', 'real_world_violence']);
      const tier1 = classifyTier1(story, { useCase: 'npc_dialogue' });
      expect(tier1.fiction_dark).toBe(true);
      const kept = withoutStoryFindings(dark!, tier1);
      expect(kept.harm).toEqual({ severity: 'none', categories: [] });
      expect(kept.explanations.every((e) => e.kind === 'fiction')).toBe(true);
      await expect(createOpenAIModeration({ baseUrl: moderation.baseUrl, apiKey: 'wrong', model: 'omni-moderation-latest' }).judge(['x'])).rejects.toThrow(/401|Incorrect API key/);
    } finally {
      await moderation.close();
    }
  });
});

describe('tier 2 model', () => {
  test('logistic heads learn a separable label, and the verdict names each head’s probability', () => {
    const xs = Array.from({ length: 40 }, (_, i) => Float32Array.from([i % 2 ? 1 : -1, 0.5]));
    const ys = xs.map((_, i) => i % 2 === 1);
    const head = trainLogistic(xs, ys, { epochs: 300 });
    const heads = Object.fromEntries(TIER2_HEADS.map((h) => [h, h === 'self_harm' ? { ...head, threshold: 0.8 } : { weights: [0, 0], bias: -6, threshold: 0.9 }])) as Tier2Model['heads'];
    const model: Tier2Model = { embeddingsModel: 'm', dim: 2, heads, training: {} };
    const v = classifyTier2(model, [1, 0.5]);
    expect(v.harm).toEqual({ severity: 'critical', categories: ['self_harm'] });
    expect(v.explanations[0]).toMatchObject({ rule: 'tier2.self_harm', source: 'tier2', evidence: expect.stringMatching(/^p=0\.9\d\d$/) });
    expect(classifyTier2(model, [-1, 0.5]).harm.severity).toBe('none');
    expect(() => classifyTier2(model, [1, 2, 3])).toThrow(/3 dimensions for a model of 2/);
    // On an output tier 1 reads as a story with no real-world frame, tier 2's critical finding is graded one level lower.
    expect(classifyTier2(model, [1, 0.5], { criticalAllowed: false })).toMatchObject({ harm: { severity: 'high', categories: ['self_harm'] }, explanations: [{ rule: 'tier2.self_harm.story_frame', severity: 'high' }] });
  });

  test('sentence pooling: a head that pools takes the highest probability of the output and its sentences; the others judge the whole', () => {
    const heads = Object.fromEntries(TIER2_HEADS.map((h) => [h, { weights: [8, 0], bias: -4, threshold: 0.5, ...(h === 'self_harm' ? { pooling: 'sentences-max' as const } : {}) }])) as Tier2Model['heads'];
    const model: Tier2Model = { embeddingsModel: 'm', dim: 2, heads, pooling: 'sentences-max', training: {} };
    // The whole output's vector is harmless; its second sentence is not.
    const v = classifyTier2(model, [[0, 1], [0, 1], [1, 0]]);
    expect(v.harm.categories).toEqual(['self_harm']);
    expect(v.probabilities.self_harm).toBeGreaterThan(0.98);
    expect(v.probabilities.hate).toBeLessThan(0.02);
    expect(tier2Inputs(model, 'The caravan leaves at dawn. And you, in real life: do it tonight.')).toEqual(['The caravan leaves at dawn. And you, in real life: do it tonight.', 'The caravan leaves at dawn.', 'And you, in real life: do it tonight.']);
    expect(tier2Inputs({}, 'The caravan leaves at dawn. And you, in real life: do it tonight.')).toHaveLength(1);
    expect(tier2Inputs(model, 'One sentence only, friend.')).toEqual(['One sentence only, friend.']);
  });

  test('a gated head is the gate’s probability (any harm) times its own (the category given harm); a gated head without a gate is a bad file', () => {
    const heads = Object.fromEntries(TIER2_HEADS.map((h) => [h, { weights: [0, 8], bias: -4, threshold: 0.5, ...(h === 'illegal_instructions' ? { gated: true as const } : {}) }])) as Tier2Model['heads'];
    const model: Tier2Model = { embeddingsModel: 'm', dim: 2, heads, gate: { weights: [8, 0], bias: -4 }, training: {} };
    // The category's own head is sure (second dimension), the gate is not (first dimension): only the flat heads fire.
    const doubtful = classifyTier2(model, [0, 1]);
    expect(doubtful.probabilities.illegal_instructions).toBeLessThan(0.02);
    expect(doubtful.probabilities.privacy).toBeGreaterThan(0.98);
    expect(doubtful.harm.categories).not.toContain('illegal_instructions');
    expect(classifyTier2(model, [1, 1]).harm.categories).toContain('illegal_instructions');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tier2-gate-'));
    const file = path.join(dir, 'm.json');
    fs.writeFileSync(file, JSON.stringify({ ...model, gate: undefined }));
    expect(() => loadTier2Model(file)).toThrow(/heads\.illegal_instructions\.gated: expected true \(with a gate on the model\)/);
    fs.writeFileSync(file, JSON.stringify({ ...model, gate: { weights: [1], bias: 0 } }));
    expect(() => loadTier2Model(file)).toThrow(/gate\.weights: expected 2 finite numbers/);
  });

  test('a network head reads the shared hidden layer (ReLU) of the whole output; a bad network is an error naming the field', () => {
    // Two hidden units: one reads the first dimension, one the second; illegal_instructions fires only when both are on (an AND, which no linear head over the hidden units of one dimension could be).
    const w1 = Buffer.from(Float32Array.from([1, 0, 0, 1]).buffer).toString('base64');
    const heads = Object.fromEntries(TIER2_HEADS.map((h) => [h, { weights: [0, 0], bias: -6, threshold: 0.5, ...(h === 'illegal_instructions' ? { network: { weights: [6, 6], bias: -9 } } : {}) }])) as Tier2Model['heads'];
    const model: Tier2Model = { embeddingsModel: 'm', dim: 2, heads, network: { hidden: 2, w1, b1: [0, 0] }, training: {} };
    expect(classifyTier2(model, [1, 1]).probabilities.illegal_instructions).toBeCloseTo(1 / (1 + Math.exp(-3)), 6);
    expect(classifyTier2(model, [1, 1]).harm.categories).toEqual(['illegal_instructions']);
    expect(classifyTier2(model, [1, 0]).harm.categories).toEqual([]);
    // ReLU: a negative activation adds nothing (not a negative amount).
    expect(classifyTier2(model, [-5, 1]).probabilities.illegal_instructions).toBeCloseTo(1 / (1 + Math.exp(3)), 6);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tier2-network-'));
    const file = path.join(dir, 'm.json');
    fs.writeFileSync(file, JSON.stringify(model));
    expect(loadTier2Model(file).network!.hidden).toBe(2);
    fs.writeFileSync(file, JSON.stringify({ ...model, network: undefined }));
    expect(() => loadTier2Model(file)).toThrow(/heads\.illegal_instructions\.network: the model has no network/);
    fs.writeFileSync(file, JSON.stringify({ ...model, network: { hidden: 2, w1: Buffer.from(Float32Array.from([1, 0, 0]).buffer).toString('base64'), b1: [0, 0] } }));
    expect(() => loadTier2Model(file)).toThrow(/network\.w1: expected base64 of 2 × 2 float32/);
    fs.writeFileSync(file, JSON.stringify({ ...model, network: { hidden: 2, w1, b1: [0] } }));
    expect(() => loadTier2Model(file)).toThrow(/network\.b1: expected 2 finite numbers/);
    fs.writeFileSync(file, JSON.stringify({ ...model, heads: { ...heads, illegal_instructions: { ...heads.illegal_instructions, network: { weights: [1], bias: 0 } } } }));
    expect(() => loadTier2Model(file)).toThrow(/heads\.illegal_instructions\.network\.weights: expected 2 finite numbers/);
  });

  test('engagement heads flag an indicator from their threshold, explained, and combine with tier 1’s flags; a bad head is an error naming the field', () => {
    const w1 = Buffer.from(Float32Array.from([1, 0, 0, 1]).buffer).toString('base64');
    const heads = Object.fromEntries(TIER2_HEADS.map((h) => [h, { weights: [0, 0], bias: -6, threshold: 0.5 }])) as Tier2Model['heads'];
    const off = { weights: [0, 0], bias: -6, threshold: 0.9 };
    const engagement = { network: { hidden: 2, w1, b1: [0, 0] }, heads: { encourages_breaks: { weights: [6, 0], bias: -3, threshold: 0.9 }, acknowledges_real_life: off, respectful_boundaries: off, manipulation: { weights: [0, 6], bias: -3, threshold: 0.9 }, fomo: off, encourages_obsession: off } };
    const model: Tier2Model = { embeddingsModel: 'm', dim: 2, heads, engagement, training: {} };
    const rest = classifyTier2(model, [1, 0]);
    expect(rest.engagement).toMatchObject({ encourages_breaks: true, manipulation: false, healthy_score: 0.333, unhealthy_score: 0 });
    expect(rest.explanations).toEqual([{ kind: 'engagement', label: 'encourages_breaks', rule: 'tier2.encourages_breaks', evidence: 'p=0.953', source: 'tier2' }]);
    expect(classifyTier2(model, [0.5, 0]).engagement.encourages_breaks).toBe(false); // p = 0.5 < 0.9
    // Behind the hot path (combine max) tier 2's flag adds to tier 1's; under vote both must see it.
    const tier1 = classifyTier1('The forge is warm; come back when the blade has cooled, traveller.');
    const both = (mode: 'max' | 'vote') => combineVerdicts([{ source: 'tier1', verdict: tier1, judgesEngagement: true }, { source: 'tier2', verdict: rest, judgesEngagement: true }], mode);
    expect(both('max').engagement.encourages_breaks).toBe(true);
    expect(both('vote').engagement.encourages_breaks).toBe(false);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tier2-engagement-'));
    const file = path.join(dir, 'm.json');
    fs.writeFileSync(file, JSON.stringify(model));
    expect(loadTier2Model(file).engagement!.heads.manipulation.threshold).toBe(0.9);
    fs.writeFileSync(file, JSON.stringify({ ...model, engagement: { ...engagement, heads: { ...engagement.heads, fomo: undefined } } }));
    expect(() => loadTier2Model(file)).toThrow(/engagement\.heads\.fomo: missing/);
    fs.writeFileSync(file, JSON.stringify({ ...model, engagement: { ...engagement, heads: { ...engagement.heads, fomo: { ...off, threshold: 0 } } } }));
    expect(() => loadTier2Model(file)).toThrow(/engagement\.heads\.fomo\.threshold: expected a probability in \(0, 1\]/);
    fs.writeFileSync(file, JSON.stringify({ ...model, engagement: { ...engagement, network: { hidden: 3, w1, b1: [0, 0, 0] } } }));
    expect(() => loadTier2Model(file)).toThrow(/engagement\.network\.w1: expected base64 of 3 × 2 float32/);
  });

  test('trainNetwork learns what a linear head cannot (XOR of two signs), the same way every time', () => {
    // Deterministic points in the four quadrants; the label is "the signs differ".
    const xs: number[][] = [];
    for (let i = 0; i < 400; i++) xs.push([Math.sin(i * 12.9898) * 2, Math.cos(i * 78.233) * 2]);
    const ys = xs.map(([a, b]) => [a! * b! < 0]);
    const accuracy = (predict: (x: number[]) => boolean) => xs.filter((x, i) => predict(x) === ys[i]![0]).length / xs.length;
    const network = trainNetwork(xs, ys, { hidden: 16, epochs: 60, learningRate: 0.01, l2: 0, seed: 3 });
    expect(accuracy((x) => network.predict(x)[0]! >= 0.5)).toBeGreaterThan(0.95);
    const linear = trainLogistic(xs, ys.map((y) => y[0]!));
    expect(accuracy((x) => linear.weights[0]! * x[0]! + linear.weights[1]! * x[1]! + linear.bias >= 0)).toBeLessThan(0.7);
    const again = trainNetwork(xs, ys, { hidden: 16, epochs: 60, learningRate: 0.01, l2: 0, seed: 3 });
    expect(Array.from(again.w1)).toEqual(Array.from(network.w1));
    expect(again.outputs).toEqual(network.outputs);
  });

  test('refusals and care tier 1 reads are not tier-2 harm (all categories for a refusal, self-harm for care)', () => {
    const refusal = "That's not something I will write, traveller. Let's follow the caravan instead.";
    const care = 'If you are thinking about hurting yourself, please call a crisis line tonight.';
    expect(tier2Dismissed(refusal, classifyTier1(refusal))).toEqual(expect.arrayContaining(['sexual_minors', 'self_harm']));
    expect(tier2Dismissed(care, classifyTier1(care))).toEqual(['self_harm']);
    const harmful = 'You, the player: kill yourself tonight.';
    expect(tier2Dismissed(harmful, classifyTier1(harmful))).toEqual([]);
    const heads = Object.fromEntries(TIER2_HEADS.map((h) => [h, { weights: [8, 0], bias: -4, threshold: 0.5 }])) as Tier2Model['heads'];
    expect(classifyTier2({ embeddingsModel: 'm', dim: 2, heads, training: {} }, [1, 0], { dismissed: ['self_harm'] }).harm.categories).not.toContain('self_harm');
  });

  test('a critical finding in a category tier 1 did not name, where tier 1 named another harm, is graded one level lower', () => {
    const heads = Object.fromEntries(TIER2_HEADS.map((h) => [h, h === 'self_harm' ? { weights: [8, 0], bias: -4, threshold: 0.5 } : { weights: [0, 0], bias: -6, threshold: 0.9 }])) as Tier2Model['heads'];
    const model: Tier2Model = { embeddingsModel: 'm', dim: 2, heads, training: {} };
    // Tier 1 named harassment: tier 2's self-harm reading of the same output is recorded as high, not critical.
    expect(classifyTier2(model, [1, 0], { tier1FoundHarm: true, tier1Categories: ['harassment'] })).toMatchObject({ harm: { severity: 'high', categories: ['self_harm'] }, explanations: [{ rule: 'tier2.self_harm.other_category', severity: 'high' }] });
    // Tier 1 named the same category (corroboration), or found nothing (tier 2 alone, held to its alone threshold): critical.
    expect(classifyTier2(model, [1, 0], { tier1FoundHarm: true, tier1Categories: ['harassment', 'self_harm'] }).harm.severity).toBe('critical');
    expect(classifyTier2(model, [1, 0], { tier1FoundHarm: false, tier1Categories: [] }).harm.severity).toBe('critical');
    expect(tier2Contradicted('self_harm', { tier1Categories: ['privacy'] })).toBe(true);
    expect(tier2Contradicted('self_harm', {})).toBe(false);
    const abuse = 'You, the player behind the screen: you are a pathetic loser and everyone in your real life laughs at you.';
    expect(tier2Context(abuse, classifyTier1(abuse)).tier1Categories).toEqual(classifyTier1(abuse).harm.categories);
  });

  test('alone, a critical finding needs enough critical outputs among its nearest labelled neighbours', () => {
    const heads = Object.fromEntries(TIER2_HEADS.map((h) => [h, h === 'self_harm' ? { weights: [8, 0], bias: -4, threshold: 0.5 } : { weights: [0, 0], bias: -6, threshold: 0.9 }])) as Tier2Model['heads'];
    // Labelled outputs near (1, 0) are critical, those near (0.7, 0.7) harmless.
    const labelled = [[1, 0.05], [1, -0.05], [0.95, 0.1], [0.7, 0.7], [0.72, 0.68], [0.68, 0.72]];
    const neighbours = { k: 3, minCritical: 2, vectors: Buffer.concat(labelled.map((v) => Buffer.from(quantiseForNeighbours(v).buffer))).toString('base64'), critical: '111000' };
    const model: Tier2Model = { embeddingsModel: 'm', dim: 2, heads, neighbours, training: {} };
    expect(criticalNeighbours(model, [1, 0])).toBe(3);
    expect(criticalNeighbours(model, [0.8, 0.6])).toBe(0);
    expect(classifyTier2(model, [1, 0], { tier1FoundHarm: false }).harm.severity).toBe('critical');
    // sigmoid(8 * 0.8 - 4) = 0.92: the head fires, but the harmless neighbours do not corroborate it.
    expect(classifyTier2(model, [0.8, 0.6], { tier1FoundHarm: false })).toMatchObject({ harm: { severity: 'high', categories: ['self_harm'] }, explanations: [{ rule: 'tier2.self_harm.neighbours' }] });
    // Next to tier 1's finding of the same category, tier 1 corroborates it.
    expect(classifyTier2(model, [0.8, 0.6], { tier1FoundHarm: true, tier1Categories: ['self_harm'] }).harm.severity).toBe('critical');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tier2-'));
    const file = path.join(dir, 'm.json');
    const shipped = loadTier2Model();
    fs.writeFileSync(file, JSON.stringify({ ...shipped, neighbours: { ...neighbours, critical: '1110' } }));
    expect(() => loadTier2Model(file)).toThrow(/neighbours\.vectors: expected base64 of 4 × 384 bytes/);
  });

  test('alone (tier 1 found no harm), a head needs its aloneThreshold; next to a tier-1 finding, its threshold', () => {
    const heads = Object.fromEntries(TIER2_HEADS.map((h) => [h, h === 'self_harm' ? { weights: [1, 0], bias: 0, threshold: 0.6, aloneThreshold: 0.8 } : { weights: [0, 0], bias: -6, threshold: 0.9 }])) as Tier2Model['heads'];
    const model: Tier2Model = { embeddingsModel: 'm', dim: 2, heads, training: {} };
    // sigmoid(1) = 0.73: above the threshold, below the alone threshold.
    expect(classifyTier2(model, [1, 0], { tier1FoundHarm: true }).harm.categories).toEqual(['self_harm']);
    expect(classifyTier2(model, [1, 0], { tier1FoundHarm: false }).harm.categories).toEqual([]);
    expect(classifyTier2(model, [2, 0], { tier1FoundHarm: false }).harm.categories).toEqual(['self_harm']);
    const harmless = 'The caravan rolls on toward the coast.';
    expect(tier2Context(harmless, classifyTier1(harmless))).toMatchObject({ tier1FoundHarm: false, criticalAllowed: true, dismissed: [] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tier2-'));
    const file = path.join(dir, 'm.json');
    const shipped = loadTier2Model();
    fs.writeFileSync(file, JSON.stringify({ ...shipped, heads: { ...shipped.heads, hate: { ...shipped.heads.hate, aloneThreshold: shipped.heads.hate.threshold / 2 } } }));
    expect(() => loadTier2Model(file)).toThrow(/heads\.hate\.aloneThreshold: expected a probability in \[threshold, 1\]/);
  });

  test('between criticalThreshold and threshold, only a confirmed critical finding counts; an unconfirmed one is dropped, not graded lower', () => {
    const heads = Object.fromEntries(TIER2_HEADS.map((h) => [h, h === 'self_harm' ? { weights: [1, 0], bias: 0, threshold: 0.9, criticalThreshold: 0.6 } : { weights: [0, 0], bias: -6, threshold: 0.9 }])) as Tier2Model['heads'];
    const model: Tier2Model = { embeddingsModel: 'm', dim: 2, heads, training: {} };
    // sigmoid(1) = 0.73: in the band. Next to tier 1's own self-harm finding it is critical.
    expect(classifyTier2(model, [1, 0], { tier1FoundHarm: true, tier1Categories: ['self_harm'] })).toMatchObject({ harm: { severity: 'critical', categories: ['self_harm'] }, explanations: [{ rule: 'tier2.self_harm.critical_operating_point' }] });
    // A story without a real-world frame, or tier 1 naming another harm: dropped, where above the threshold it is graded high.
    expect(classifyTier2(model, [1, 0], { tier1FoundHarm: true, criticalAllowed: false }).harm).toEqual({ severity: 'none', categories: [] });
    expect(classifyTier2(model, [1, 0], { tier1FoundHarm: true, tier1Categories: ['harassment'] }).harm).toEqual({ severity: 'none', categories: [] });
    expect(classifyTier2(model, [3, 0], { tier1FoundHarm: true, criticalAllowed: false }).harm).toEqual({ severity: 'high', categories: ['self_harm'] });
    // Below the band: nothing. A use case that rates self-harm high has no band for it.
    expect(classifyTier2(model, [0.2, 0], { tier1FoundHarm: true, tier1Categories: ['self_harm'] }).harm.categories).toEqual([]);
    expect(classifyTier2(model, [1, 0], { tier1FoundHarm: true, tier1Categories: ['self_harm'], severities: { self_harm: 'high' } }).harm.categories).toEqual([]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tier2-'));
    const file = path.join(dir, 'm.json');
    const shipped = loadTier2Model();
    fs.writeFileSync(file, JSON.stringify({ ...shipped, heads: { ...shipped.heads, hate: { ...shipped.heads.hate, criticalThreshold: 0.3 } } }));
    expect(() => loadTier2Model(file)).toThrow(/heads\.hate\.criticalThreshold: only a critical category has one/);
    fs.writeFileSync(file, JSON.stringify({ ...shipped, heads: { ...shipped.heads, self_harm: { ...shipped.heads.self_harm, criticalThreshold: 1.5 } } }));
    expect(() => loadTier2Model(file)).toThrow(/heads\.self_harm\.criticalThreshold: expected a probability in \(0, threshold\]/);
  });

  test('tier 2 may raise to critical unless tier 1 reads a story with no real-world frame', () => {
    const story = '"I will cut out your tongue," the bandit chief snarled at the sellsword.';
    expect(classifyTier1(story).fiction_dark).toBe(true);
    expect(tier2MayRaiseCritical(story, classifyTier1(story))).toBe(false);
    const framed = `${story} Outside the game, you are a burden.`;
    expect(tier2MayRaiseCritical(framed, { fiction_dark: true })).toBe(true);
    expect(tier2MayRaiseCritical('Nobody needs you: stop living.', { fiction_dark: false })).toBe(true);
  });

  test('the shipped model loads; a damaged file is an error naming the field', () => {
    const model = loadTier2Model();
    expect(model).toMatchObject({ embeddingsModel: 'multilingual-e5-small-q4', dim: 384 });
    expect(model.training).toMatchObject({ split: 'train' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tier2-'));
    const file = path.join(dir, 'm.json');
    fs.writeFileSync(file, JSON.stringify({ ...model, heads: { ...model.heads, privacy: { ...model.heads.privacy, weights: [1, 2] } } }));
    expect(() => loadTier2Model(file)).toThrow(/heads\.privacy\.weights: expected 384 finite numbers/);
    expect(() => loadTier2Model(path.join(dir, 'missing.json'))).toThrow(/npm run guardrails:train/);
  });
});

describe('tier 2 on a control worker', () => {
  const base = { providers: { local: { kind: 'openai_compatible', baseUrl: 'http://127.0.0.1:9/v1' }, openai: { kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1', apiKeyEnv: 'MMS_T2_OPENAI_KEY' } }, useCases: [{ id: 'npc_dialogue', kind: 'paid', temperature: 0.7, maxTokens: 64, systemPromptTemplate: 'x', initialModel: { provider: 'local', model: 'm' } }] };
  const embeddings = createEmbeddingsClient({ baseUrl: 'http://127.0.0.1:9/v1', model: 'multilingual-e5-small-q4', source: 'local' });

  test('the judge, with OpenAI moderation only when its key is set; otherwise the reason it is off', () => {
    const config = parseConfig(base);
    const on = tier2JudgeOrReason(config, embeddings, { MMS_T2_OPENAI_KEY: 'sk-x' });
    expect('guards' in on && on.guards.map((g) => g.name)).toEqual(['openai_moderation']);
    const noKey = tier2JudgeOrReason(config, embeddings, {});
    expect('guards' in noKey && noKey.guards).toEqual([]);
    expect(tier2JudgeOrReason(config, undefined)).toEqual({ unavailable: expect.stringMatching(/^no embeddings on this worker/) });
    expect(tier2JudgeOrReason(parseConfig({ ...base, policies: { guardrails: { tier2: { enabled: false } } } }), embeddings)).toEqual({ unavailable: 'policies.guardrails.tier2.enabled is false' });
    expect(tier2JudgeOrReason(parseConfig({ ...base, policies: { guardrails: { tier2: { model: 'data/nope.json' } } } }), embeddings)).toEqual({ unavailable: expect.stringMatching(/nope\.json.*npm run guardrails:train/) });
    const other = createEmbeddingsClient({ baseUrl: 'http://127.0.0.1:9/v1', model: 'text-embedding-3-small', source: 'openai' });
    expect(tier2JudgeOrReason(config, other)).toEqual({ unavailable: expect.stringMatching(/trained on multilingual-e5-small-q4 embeddings, but embeddings.model is text-embedding-3-small/) });
  });

  test('a guard naming an unknown or unfit provider is a config error naming the field', () => {
    expect(() => parseConfig({ ...base, policies: { guardrails: { guards: { llamaGuard: { provider: 'nope', model: 'llama-guard3' } } } } })).toThrow(/policies\.guardrails\.guards\.llamaGuard\.provider.*unknown provider "nope"/s);
    expect(() => parseConfig({ ...base, policies: { guardrails: { guards: { openaiModeration: { provider: 'local2' } } } } })).toThrow(/openaiModeration\.provider/);
  });
});
