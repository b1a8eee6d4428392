import { createApiKey } from '../../src/auth/api-keys';
import { getServingAllocation } from '../../src/registry/allocations';
import { gatewayReplicaProbe } from '../../src/registry/serving-probes';
import { syncUseCases } from '../../src/registry/use-cases';
import { createTestDatabase, type TestDatabase } from '../support/stack';
import { addModel } from '../support/fixtures';
import { startFakeProvider, type FakeProvider } from '../../testkit/fake-providers';
import { USE_CASE, chatBody, gatewayTestConfig, setAllocation, startTestGateway, waitFor, type TestGateway } from '../fixtures/gateway-harness';

let db: TestDatabase;
let fake: FakeProvider;
let gw: TestGateway;
let stableId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeProvider();
  const config = gatewayTestConfig(fake);
  await syncUseCases(db.prisma, config);
  stableId = (await getServingAllocation(db.prisma, USE_CASE))!.entries[0]!.modelId;
  // As a gateway process runs: logs and the registry poll on the log thread.
  gw = await startTestGateway(db.prisma, config, { databaseUrl: db.url });
});
afterAll(async () => {
  await gw.close();
  await fake.close();
  await db.drop();
});
beforeEach(() => fake.reset());

const rowsFor = (requestId: string) => db.prisma.modelHistoricalLog.findMany({ where: { requestId } });

test('a non-streaming call is routed, answered in the OpenAI format with the use case policy applied, and logged once', async () => {
  const res = await gw.call(chatBody('Where is the blacksmith?', { temperature: 1.9, stop: ['\nPlayer:'], user: 'player-42' }));
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({
    object: 'chat.completion',
    model: 'llama-3.1-8b-instruct',
    choices: [{ index: 0, message: { role: 'assistant', content: 'reply from llama-3.1-8b-instruct: Where is the blacksmith?' }, finish_reason: 'stop' }],
  });
  const requestId = res.headers['x-request-id'] as string;
  expect(res.body.id).toBe(requestId);
  expect(res.headers['x-mms-role']).toBe('stable');
  expect(res.headers['x-mms-allocation-version']).toBe('1');
  // temperature is pinned by the policy: the caller's 1.9 is not used, and the caller is told so.
  expect(res.headers['x-mms-pinned-params']).toBe('temperature');

  expect(fake.requests).toHaveLength(1);
  const sent = fake.requests[0]!.body;
  expect(sent).toMatchObject({ model: 'llama-3.1-8b-instruct', temperature: 0.7, max_tokens: 256, top_p: 0.9, stop: ['\nPlayer:'] });
  expect(sent.messages).toEqual([
    { role: 'system', content: 'You are Bob, a character in the game.' },
    { role: 'user', content: 'Where is the blacksmith?' },
  ]);

  await gw.gateway.logWriter.flush();
  const rows = await rowsFor(requestId);
  expect(rows).toHaveLength(1);
  const row = rows[0]!;
  expect(row).toMatchObject({
    id: requestId,
    useCase: USE_CASE,
    modelId: stableId,
    role: 'stable',
    allocationVersion: 1,
    status: 'ok',
    errorClass: null,
    prompt: 'Where is the blacksmith?',
    generatedOutput: 'reply from llama-3.1-8b-instruct: Where is the blacksmith?',
    guardrailVerdict: 'pass',
    tokensIn: res.body.usage.prompt_tokens,
    tokensOut: res.body.usage.completion_tokens,
  });
  expect(row.latencyMs).toBeGreaterThan(0);
  expect(row.ttftMs).toBeNull();
  // The sticky key is stored hashed, never as is.
  expect(row.stickyKeyHash).toMatch(/^[0-9a-f]{64}$/);
  expect(JSON.stringify(row)).not.toContain('player-42');
  // cost = tokens × the config's price table (USD per million tokens)
  const expectedCost = (res.body.usage.prompt_tokens * 0.1 + res.body.usage.completion_tokens * 0.2) / 1e6;
  expect(Number(row.costUsd)).toBeCloseTo(expectedCost, 10);
  expect(row.context).toMatchObject({ system: 'You are Bob, a character in the game.', params: { temperature: 0.7, maxTokens: 256, topP: 0.9 }, pinned: ['temperature'], metadata: { npc_name: 'Bob' } });
});

test('characters PostgreSQL refuses (NUL) are stripped from the log, not a reason to lose the row', async () => {
  const nul = String.fromCharCode(0);
  const res = await gw.call(chatBody(`bad${nul}byte and a literal \\u0000`, { metadata: { npc_name: `B${nul}ob` } }));
  expect(res.status).toBe(200);
  await gw.gateway.logWriter.flush();
  const row = (await rowsFor(res.body.id))[0]!;
  expect(row.prompt).toBe('badbyte and a literal \\u0000');
  expect((row.context as { metadata: { npc_name: string } }).metadata.npc_name).toBe('Bob');
});

test('keys: missing, unknown, wrong scope and wrong use case are refused before any provider call; /v1/models lists the allowed use cases', async () => {
  expect((await gw.call(chatBody(), { key: null })).status).toBe(401);
  const unknown = await gw.call(chatBody(), { key: `mms_${'x'.repeat(43)}` });
  expect(unknown.status).toBe(401);
  expect(unknown.body.error.type).toBe('authentication_error');
  const admin = await createApiKey(db.prisma, { name: 'admin only', scopes: ['admin'] });
  expect((await gw.call(chatBody(), { key: admin.key })).status).toBe(403);
  const other = await createApiKey(db.prisma, { name: 'other use case', scopes: ['gateway'], useCases: ['faction_decision'] });
  const refused = await gw.call(chatBody(), { key: other.key });
  expect(refused.status).toBe(403);
  expect(refused.body.error.message).toContain('npc_dialogue');
  expect(fake.counts.chat).toBe(0);

  const models = await gw.call(undefined, { path: '/v1/models' });
  expect(models.status).toBe(200);
  expect(models.body).toEqual({ object: 'list', data: [{ id: USE_CASE, object: 'model', created: 0, owned_by: 'mms' }] });
  const none = await gw.call(undefined, { path: '/v1/models', key: other.key });
  expect(none.body.data).toEqual([]);

  // A revoked key stops working within one registry poll.
  await db.prisma.apiKey.update({ where: { id: other.id }, data: { revokedAt: new Date() } });
  await waitFor('revocation to reach the gateway', async () => (await gw.call(undefined, { path: '/v1/models', key: other.key })).status === 401, 2000);
});

test('bad input is refused with an OpenAI-style error naming the field, and changes nothing', async () => {
  const before = await db.prisma.modelHistoricalLog.count();
  const cases: Array<[unknown, number, string]> = [
    [{ ...chatBody(), messages: [] }, 400, 'messages'],
    [{ ...chatBody(), messages: [{ role: 'wizard', content: 'hi' }] }, 400, 'messages[0].role'],
    [{ ...chatBody(), messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://x' } }] }] }, 400, 'messages[0].content[0].type'],
    [{ ...chatBody(), temperature: 3 }, 400, 'temperature'],
    [{ ...chatBody(), max_tokens: 0 }, 400, 'max_tokens'],
    [{ ...chatBody(), n: 2 }, 400, 'n'],
    [{ ...chatBody(), tools: [] }, 400, 'tools'],
    [{ ...chatBody(), metadata: {} }, 400, 'metadata.npc_name'],
    [{ ...chatBody(), model: 'nonexistent_use_case' }, 404, 'model'],
    [{ messages: [{ role: 'user', content: 'x' }] }, 400, 'model'],
  ];
  for (const [body, status, field] of cases) {
    const res = await gw.call(body);
    expect({ field, status: res.status }).toEqual({ field, status });
    expect(res.body.error.message).toContain(field);
    expect(res.body.error.param).toBe(field);
  }
  const notJson = await gw.call('{"model": ');
  expect(notJson.status).toBe(400);
  expect(notJson.body.error.message).toBe('the request body is not valid JSON');
  expect(fake.counts.chat).toBe(0);
  await gw.gateway.logWriter.flush();
  expect(await db.prisma.modelHistoricalLog.count()).toBe(before);
});

test('GET /v1/allocations/:useCase answers what the rollback probe expects on the internal listener; unknown use cases are 404', async () => {
  const probe = gatewayReplicaProbe(gw.internalUrl);
  const served = await probe.servedAllocation(USE_CASE);
  const registry = await getServingAllocation(db.prisma, USE_CASE);
  expect(served).toEqual({ version: registry!.version, entries: registry!.entries });
  expect(await probe.servedAllocation('no_such_use_case')).toBeUndefined();
});

test('feedback attaches a score and a corrected output to the logged call; unknown ids are 404', async () => {
  const res = await gw.call(chatBody('Tell me a joke'));
  const requestId = res.body.id as string;
  // Sent at once: the row may still be in the gateway's buffer.
  const fb = await gw.call({ request_id: requestId, score: 0.25, feedback: 'too long', corrected_output: 'A short joke.' }, { path: '/v1/feedback' });
  expect(fb.status).toBe(200);
  expect(fb.body).toEqual({ request_id: requestId, status: 'recorded' });
  const row = (await rowsFor(requestId))[0]!;
  expect(row.feedbackScore).toBe(0.25);
  expect(row.correctedOutput).toBe('A short joke.');
  expect(row.userFeedback).toMatchObject({ score: 0.25, feedback: 'too long' });
  expect(row.feedbackAt).toBeInstanceOf(Date);

  const missing = await gw.call({ request_id: 'not-a-logged-call', score: 1 }, { path: '/v1/feedback' });
  expect(missing.status).toBe(404);
  expect(missing.body.error.param).toBe('request_id');
  const bad = await gw.call({ request_id: requestId, score: 7 }, { path: '/v1/feedback' });
  expect(bad.status).toBe(400);
  expect(bad.body.error.message).toContain('score');
  const empty = await gw.call({ request_id: requestId }, { path: '/v1/feedback' });
  expect(empty.status).toBe(400);
  expect((await rowsFor(requestId))[0]!.feedbackScore).toBe(0.25);
});

test('the weighted split is within ±1.5 points over 10,000 requests, 100% sticky per key, and a new allocation is served within 1 s', async () => {
  const canaryId = await addModel(db.prisma, USE_CASE, 'qwen-2.5-7b-npc', 'testing');
  const v = await setAllocation(db.prisma, [
    { modelId: stableId, weight: 7000, role: 'stable' },
    { modelId: canaryId, weight: 3000, role: 'canary' },
  ]);
  await waitFor('the new allocation', async () => (await gw.call(undefined, { path: `/v1/allocations/${USE_CASE}`, internal: true })).body.version === v.version, 2000);

  const N = 10_000;
  const firstModel = new Map<string, string>();
  let canary = 0;
  const send = async (i: number) => {
    const res = await gw.call(chatBody('hi'), { headers: { 'x-mms-sticky-key': `player-${i}` } });
    expect(res.status).toBe(200);
    expect(res.headers['x-mms-allocation-version']).toBe(String(v.version));
    return res.headers['x-mms-model'] as string;
  };
  for (let start = 0; start < N; start += 200) {
    const models = await Promise.all(Array.from({ length: 200 }, (_, j) => send(start + j)));
    models.forEach((m, j) => {
      firstModel.set(`player-${start + j}`, m);
      if (m === 'qwen-2.5-7b-npc') canary++;
    });
  }
  const share = canary / N;
  expect(Math.abs(share - 0.3)).toBeLessThanOrEqual(0.015);

  // Sticky: every key asked again (in another order) lands on the same model.
  const again = [...firstModel.keys()].reverse().slice(0, 3000);
  for (let start = 0; start < again.length; start += 200) {
    const batch = again.slice(start, start + 200);
    const models = await Promise.all(batch.map((k) => gw.call(chatBody('again'), { headers: { 'x-mms-sticky-key': k } }).then((r) => r.headers['x-mms-model'] as string)));
    models.forEach((m, j) => expect(m).toBe(firstModel.get(batch[j]!)));
  }

  // Growing the canary keeps every player who was on it there (the bucket of a key does not move).
  const grown = await setAllocation(db.prisma, [
    { modelId: stableId, weight: 5000, role: 'stable' },
    { modelId: canaryId, weight: 5000, role: 'canary' },
  ]);
  await waitFor('the grown allocation', async () => (await gw.call(undefined, { path: `/v1/allocations/${USE_CASE}`, internal: true })).body.version === grown.version, 2000);
  const onCanary = [...firstModel.entries()].filter(([, m]) => m === 'qwen-2.5-7b-npc').slice(0, 500).map(([k]) => k);
  const after = await Promise.all(onCanary.map((k) => gw.call(chatBody('grown'), { headers: { 'x-mms-sticky-key': k } }).then((r) => r.headers['x-mms-model'])));
  expect(after.every((m) => m === 'qwen-2.5-7b-npc')).toBe(true);

  // A new allocation takes effect within 1 s: all traffic to the canary, measured from the commit.
  const committedAt = Date.now();
  await setAllocation(db.prisma, [{ modelId: canaryId, weight: 10_000, role: 'stable' }]);
  const servedAt = await waitFor(
    'the gateway to route by the new allocation',
    async () => {
      const res = await gw.call(chatBody('switch'), { headers: { 'x-mms-sticky-key': 'player-1' } });
      return res.headers['x-mms-model'] === 'qwen-2.5-7b-npc' && res.headers['x-mms-role'] === 'stable' ? Date.now() : undefined;
    },
    5000,
    10,
  );
  expect(servedAt - committedAt).toBeLessThan(1000);

  // Every one of those calls was logged exactly once.
  await gw.gateway.logWriter.flush();
  const rows = await db.prisma.modelHistoricalLog.count({ where: { prompt: { in: ['hi', 'again'] } } });
  expect(rows).toBe(N + again.length);
}, 180_000);

test('if the log thread dies, calls are still logged (in-process) and allocation changes still arrive', async () => {
  const { ThreadedLogWriter } = await import('../../gateway/log-thread');
  const writer = gw.gateway.logWriter;
  expect(writer).toBeInstanceOf(ThreadedLogWriter);
  await (writer as InstanceType<typeof ThreadedLogWriter>).killThreadForDrill();
  const res = await gw.call(chatBody('after the crash'));
  expect(res.status).toBe(200);
  await gw.gateway.logWriter.flush();
  expect(await rowsFor(res.body.id)).toHaveLength(1);
  const current = (await getServingAllocation(db.prisma, USE_CASE))!;
  const next = await setAllocation(db.prisma, current.entries);
  const t0 = Date.now();
  await waitFor('the allocation after the crash', async () => (await gw.call(undefined, { path: `/v1/allocations/${USE_CASE}`, internal: true })).body.version === next.version, 3000, 10);
  expect(Date.now() - t0).toBeLessThan(1000);
});
