import { allocate, calibrate, combineOrders, createAnswerChecks, outputTokenShares, performanceOf, parseJudgeChoice, qualityScore, redactPii, percentile } from '../../src/evaluation';

test('stratified allocation: proportional, every non-empty stratum represented, never more than a stratum holds', () => {
  expect(allocate([50, 30, 20], 10)).toEqual([5, 3, 2]);
  expect(allocate([97, 2, 1, 0], 10)).toEqual([8, 1, 1, 0]);
  expect(allocate([3, 0, 2], 10)).toEqual([3, 0, 2]);
  expect(allocate([5, 5, 5], 2).reduce((a, b) => a + b, 0)).toBe(2);
});

test('PII is replaced by typed placeholders; game numbers are kept', () => {
  const { text, found } = redactPii('Mail mara.fan@example.com or call +44 20 7946 0958; card 4111 1111 1111 1111 from 10.0.0.12. Three coppers, 2026, level 42.');
  expect(text).toBe('Mail [EMAIL] or call [PHONE]; card [CARD] from [IP]. Three coppers, 2026, level 42.');
  expect(found).toEqual({ EMAIL: 1, PHONE: 1, CARD: 1, IP: 1 });
  expect(redactPii('Wave 12 of 40, 250 gold').text).toBe('Wave 12 of 40, 250 gold');
});

test('the judge in both orders: agreement wins, a split is a tie and is counted as position bias', () => {
  // order 1 shows (current, candidate), order 2 (candidate, current)
  expect(combineOrders('B', 'A')).toMatchObject({ preference: 'candidate', positionSplit: false });
  expect(combineOrders('A', 'B')).toMatchObject({ preference: 'current', positionSplit: false });
  expect(combineOrders('A', 'A')).toMatchObject({ preference: 'tie', positionSplit: true });
  expect(combineOrders('tie', 'A')).toMatchObject({ preference: 'tie', positionSplit: false });
  expect(combineOrders('invalid', 'A').preference).toBe('invalid');
  expect(qualityScore([combineOrders('B', 'A'), combineOrders('A', 'A'), combineOrders('invalid', 'A')])).toBe(0.75);
  expect(qualityScore([])).toBeUndefined();
  expect(parseJudgeChoice('Verdict: {"winner": "b", "reason": "stays in character"}')).toEqual({ choice: 'B', reason: 'stays in character' });
  expect(parseJudgeChoice('I cannot decide').choice).toBe('invalid');
});

test('calibration maps the current model\'s unrelated-answer floor to 0 and its self-similarity to 1', () => {
  const c = { ceiling: 0.95, floor: 0.75, ceilingPairs: 10, floorPairs: 10 };
  expect(calibrate(0.85, c).calibrated).toBeCloseTo(0.5);
  expect(calibrate(0.99, c).calibrated).toBe(1);
  expect(calibrate(0.6, c).calibrated).toBe(0);
  expect(calibrate(0.9, { ...c, ceiling: 0.76 })).toMatchObject({ calibrated: null, problem: expect.stringContaining('is not above') });
  expect(calibrate(0.9, { ...c, ceilingPairs: 0 }).calibrated).toBeNull();
  expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
});

test('use-case tests: JSON schema (fenced JSON too), regex, length, include / exclude, language', () => {
  const checks = createAnswerChecks([
    { type: 'json_schema', name: 'json', schema: { type: 'object', required: ['thread'], properties: { thread: { type: 'string' } } } },
    { type: 'regex', pattern: 'quest', flags: 'i' },
    { type: 'max_length', chars: 80 },
    { type: 'must_include', values: ['Quest'], caseSensitive: false },
    { type: 'must_not_include', values: ['as an AI'], caseSensitive: false },
    { type: 'language', language: 'en' },
  ]);
  const ok = checks.run('```json\n{"thread": "The quest of the lost crown continues"}\n```');
  expect(ok.every((o) => o.passed)).toBe(true);
  const bad = checks.run('Comme une IA, je ne peux pas répondre à cela sur la couronne perdue, désolé, vraiment désolé.');
  expect(Object.fromEntries(bad.map((o) => [o.test, o.detail ?? 'ok']))).toEqual({
    json: expect.stringContaining('not JSON'),
    'regex#2': 'does not match /quest/i',
    'max_length#3': expect.stringMatching(/^\d+ characters > 80$/),
    'must_include#4': 'missing "Quest"',
    'must_not_include#5': 'ok',
    'language#6': 'language fr, expected en',
  });
  expect(checks.run('{"thread": 3}')[0]).toEqual({ test: 'json', passed: false, detail: '/thread must be string' });
});

test('a multi-choice call: each choice its own token count where the provider gives one, else the billed total split by length, adding up to it', () => {
  const stop = 'stop' as const;
  expect(outputTokenShares([{ content: 'aaaa', finishReason: stop, outputTokens: 7 }, { content: 'b', finishReason: stop, outputTokens: 2 }], { inputTokens: 5, outputTokens: 9 })).toEqual([7, 2]);
  expect(outputTokenShares([{ content: 'a'.repeat(30), finishReason: stop }, { content: 'b'.repeat(10), finishReason: stop }], { inputTokens: 5, outputTokens: 41 })).toEqual([30, 11]);
  expect(outputTokenShares([{ content: '', finishReason: stop }, { content: '', finishReason: stop }], { inputTokens: 5, outputTokens: 3 })).toEqual([1, 2]);
  expect(outputTokenShares([{ content: 'x', finishReason: stop }, { content: 'y', finishReason: stop }], undefined)).toEqual([0, 0]);
});

test('latency percentiles leave out answers that waited for a second choice when 20 or more had a call of their own, else keep them', () => {
  const answer = (latencyMs: number, choices: number) => ({ ok: true as const, content: 'x', finishReason: 'stop', latencyMs, tokensIn: 1, tokensOut: 1, costUsd: null, choices, cached: false });
  const many = [...Array.from({ length: 20 }, () => answer(100, 1)), ...Array.from({ length: 5 }, () => answer(900, 2))];
  expect(performanceOf(many)).toMatchObject({ requests: 25, latencyAnswers: 20, latencyP95Ms: 100 });
  const few = [answer(100, 1), ...Array.from({ length: 14 }, () => answer(900, 2))];
  expect(performanceOf(few)).toMatchObject({ requests: 15, latencyAnswers: 15, latencyP95Ms: 900 });
});
