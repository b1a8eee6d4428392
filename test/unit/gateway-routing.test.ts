import { TOTAL_BUCKETS } from '../../src/registry/allocations';
import { buildBucketTable, hash32, stickyBucket } from '../../src/routing/buckets';
import { applyPolicy, parseChatRequest, RequestError } from '../../gateway/chat-request';
import { compileTemplate, policyOf } from '../../gateway/registry-cache';
import { answerWithId, rejectUpstreamOverrideHeaders } from '../../gateway/chat';
import { hashApiKey, generateApiKey, presentedKey, authorize, ApiKeyError } from '../../src/auth/api-keys';
import { NO_LIMITS } from '../../src/auth/limits';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const C = '00000000-0000-4000-8000-00000000000c';

describe('bucket tables', () => {
  test('each served entry owns exactly its weight in buckets', () => {
    const t = buildBucketTable([{ modelId: A, weight: 7000, role: 'stable' }, { modelId: B, weight: 2500, role: 'canary' }, { modelId: C, weight: 500, role: 'stable' }]);
    const counts = new Map<string, number>();
    for (const i of t.table) counts.set(t.served[i]!.modelId, (counts.get(t.served[i]!.modelId) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({ [A]: 7000, [B]: 2500, [C]: 500 });
    expect(t.table).toHaveLength(TOTAL_BUCKETS);
  });
  test('growing the canary keeps every bucket already on it (monotonic ramp)', () => {
    const steps = [1000, 2500, 5000, 7500, 10_000];
    let previous: Set<number> | undefined;
    for (const w of steps) {
      const entries = w === 10_000 ? [{ modelId: B, weight: w, role: 'canary' as const }] : [{ modelId: A, weight: 10_000 - w, role: 'stable' as const }, { modelId: B, weight: w, role: 'canary' as const }];
      const t = buildBucketTable(entries);
      const onCanary = new Set<number>();
      t.table.forEach((i, bucket) => t.served[i]!.modelId === B && onCanary.add(bucket));
      expect(onCanary.size).toBe(w);
      if (previous) for (const b of previous) expect(onCanary.has(b)).toBe(true);
      previous = onCanary;
    }
  });
  test('shadows do not take buckets; weights must sum to 10,000', () => {
    const t = buildBucketTable([{ modelId: A, weight: 10_000, role: 'stable' }, { modelId: B, weight: 3000, role: 'shadow' }]);
    expect(t.served.map((e) => e.modelId)).toEqual([A]);
    expect(t.shadows).toEqual([{ modelId: B, weight: 3000, role: 'shadow' }]);
    expect(() => buildBucketTable([{ modelId: A, weight: 9000, role: 'stable' }])).toThrow(/sum to 10000/);
  });
  test('sticky buckets are deterministic and spread evenly (chi-square over 100 bins)', () => {
    expect(stickyBucket('npc_dialogue', 'player-1')).toBe(stickyBucket('npc_dialogue', 'player-1'));
    const bins = new Array(100).fill(0);
    const n = 100_000;
    for (let i = 0; i < n; i++) bins[Math.floor(stickyBucket('npc_dialogue', `player-${i}`) / 100)]++;
    const expected = n / 100;
    const chi2 = bins.reduce((s, o) => s + (o - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(150); // p ≈ 0.001 at 99 degrees of freedom
    expect(hash32('a')).not.toBe(hash32('b'));
  });
});

describe('chat request and policy', () => {
  const policy = policyOf({ temperature: 0.7, maxTokens: 256, systemPromptTemplate: 'You are {{ npc_name }} of {{faction}}.', samplingParams: { topP: 0.9, stop: ['\nPlayer:'], callerMayOverride: ['stop', 'seed'] } });
  test('templates compile to parts and variables', () => {
    expect(compileTemplate('Hi {{a}} and {{ b.c }}!')).toEqual({ parts: [{ text: 'Hi ' }, { variable: 'a' }, { text: ' and ' }, { variable: 'b.c' }, { text: '!' }], variables: ['a', 'b.c'] });
  });
  test('pinned parameters keep the policy value and are reported; overridable ones take the caller value', () => {
    const req = parseChatRequest({ model: 'npc', messages: [{ role: 'developer', content: 'D' }, { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }], temperature: 2, top_p: 0.1, stop: 'END', seed: 9, metadata: { npc_name: 'Bob', faction: 'Reds' } });
    const applied = applyPolicy(policy, req);
    expect(applied.params).toEqual({ messages: [{ role: 'system', content: 'You are Bob of Reds.' }, { role: 'system', content: 'D' }, { role: 'user', content: 'ab' }], temperature: 0.7, maxTokens: 256, topP: 0.9, stop: ['END'], seed: 9 });
    expect(applied.pinned.sort()).toEqual(['temperature', 'top_p']);
  });
  test('a missing template variable names metadata.<variable>', () => {
    const req = parseChatRequest({ model: 'npc', messages: [{ role: 'user', content: 'x' }], metadata: { npc_name: 'Bob' } });
    expect(() => applyPolicy(policy, req)).toThrow(/metadata\.faction/);
  });
  test.each([
    [{ model: 'npc', messages: [{ role: 'user', content: 'x', tool_calls: [] }] }, 'messages[0].tool_calls'],
    [{ model: 'npc', messages: [{ role: 'user', content: 'x' }], stream: 'yes' }, 'stream'],
    [{ model: 'npc', messages: [{ role: 'user', content: 'x' }], stream_options: { foo: 1 } }, 'stream_options.foo'],
    [{ model: 'npc', messages: [{ role: 'user', content: 'x' }], top_p: 0 }, 'top_p'],
    [{ model: 'npc', messages: [{ role: 'user', content: 'x' }], stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    [{ model: 'npc', messages: [{ role: 'user', content: 'x' }], max_tokens: 5, max_completion_tokens: 5 }, 'max_tokens'],
    [{ model: 'npc', messages: [{ role: 'user', content: 'x' }], metadata: { a: 5 } }, 'metadata.a'],
    [{ model: 'npc', messages: [{ role: 'user', content: 'x' }], seed: 1.5 }, 'seed'],
    [{ model: 'npc', messages: [{ role: 'user', content: 'x' }], api_base: 'http://evil' }, 'api_base'],
  ])('bad input %# names %s', (body, param) => {
    try {
      parseChatRequest(body);
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(RequestError);
      expect((err as RequestError).param).toBe(param);
      expect((err as RequestError).message.startsWith(param)).toBe(true);
    }
  });
  test('upstream-override headers are refused; ordinary ones pass', () => {
    expect(() => rejectUpstreamOverrideHeaders({ 'x-portkey-custom-host': 'x' })).toThrow(/x-portkey-custom-host/);
    expect(() => rejectUpstreamOverrideHeaders({ 'x-forwarded-for': '1.2.3.4', 'x-mms-sticky-key': 'p', 'user-agent': 'game' })).not.toThrow();
  });
});

describe('API keys', () => {
  test('keys are mms_ + 43 base64url characters; the hash is sha256 hex', () => {
    const key = generateApiKey();
    expect(key).toMatch(/^mms_[A-Za-z0-9_-]{43}$/);
    expect(hashApiKey(key)).toMatch(/^[0-9a-f]{64}$/);
    expect(generateApiKey()).not.toBe(key);
  });
  test('bearer or x-api-key; scopes and use cases enforced', () => {
    expect(presentedKey({ authorization: 'Bearer abc' })).toBe('abc');
    expect(presentedKey({ authorization: 'Basic abc' })).toBeUndefined();
    expect(presentedKey({ 'x-api-key': 'k' })).toBe('k');
    const record = { id: '1', name: 'n', keyPrefix: 'mms_abcdefgh', scopes: ['gateway'], useCases: ['npc_dialogue'], limits: NO_LIMITS };
    expect(authorize(record, 'gateway', 'npc_dialogue')).toBe(record);
    expect(() => authorize(record, 'admin')).toThrow(ApiKeyError);
    expect(() => authorize(record, 'gateway', 'story_generation')).toThrow(/story_generation/);
    expect(authorize({ ...record, useCases: ['*'] }, 'gateway', 'story_generation').id).toBe('1');
  });
});

describe('answers sent as received', () => {
  test('a compact body beginning with its id gets ours in its place, the rest byte for byte', () => {
    const text = '{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Caf\\u00e9 \\"ok\\""},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2}}';
    const out = answerWithId(text, 'chatcmpl-1', 'req-9')!;
    expect(out).toBe(text.replace('"chatcmpl-1"', '"req-9"'));
    expect(JSON.parse(out)).toEqual({ ...JSON.parse(text), id: 'req-9' });
  });
  test('any other shape is left to be serialised from the parsed body', () => {
    expect(answerWithId('{\n  "id": "chatcmpl-1"\n}', 'chatcmpl-1', 'r')).toBeUndefined(); // pretty-printed (OpenAI)
    expect(answerWithId('{"object":"chat.completion","id":"chatcmpl-1"}', 'chatcmpl-1', 'r')).toBeUndefined(); // id not first
    expect(answerWithId('{"id":"chatcmpl-\\u0031"}', 'chatcmpl-1', 'r')).toBeUndefined(); // escaped otherwise than JSON.stringify would
    expect(answerWithId('{"id":7}', 7, 'r')).toBeUndefined();
    expect(answerWithId('{"id":"chatcmpl-1x"}', 'chatcmpl-1', 'r')).toBeUndefined(); // a prefix of the id is not the id
  });
});
