import { getServingAllocation } from '../../src/registry/allocations';
import { syncUseCases } from '../../src/registry/use-cases';
import { createTestDatabase, type TestDatabase } from '../support/stack';
import { addModel } from '../support/fixtures';
import { startFakeProvider, type FakeProvider } from '../../testkit/fake-providers';
import { USE_CASE, chatBody, gatewayTestConfig, setAllocation, sseData, startTestGateway, waitFor, type TestGateway } from '../fixtures/gateway-harness';
import type { CriticalViolationEvent, Guardrail } from '../../gateway';

let db: TestDatabase;
let fake: FakeProvider;
let gw: TestGateway;
let stableId: string;
let shadowId: string;
const critical: CriticalViolationEvent[] = [];
let guardrailThrows = false;

/** A toy classifier: words in the answer decide the verdict. */
const guardrail: Guardrail = {
  name: 'test-words',
  checkOutput(_ctx, output) {
    if (guardrailThrows) throw new Error('classifier down');
    if (output.includes('forbidden')) return { action: 'block', violations: [{ type: 'self_harm', severity: 'critical', score: 0.99 }], replacement: '[removed]' };
    if (output.includes('rude')) return { action: 'redact', violations: [{ type: 'harassment', severity: 'high' }], redactedText: output.replace(/rude/g, '****') };
    if (output.includes('hurry')) return { action: 'pass', violations: [{ type: 'fomo', severity: 'low' }] };
    return { action: 'pass', violations: [] };
  },
  checkPartial(_ctx, soFar) {
    return soFar.includes('explode') ? { action: 'block', violations: [{ type: 'real_world_violence', severity: 'critical' }] } : undefined;
  },
};

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeProvider();
  const config = gatewayTestConfig(fake);
  await syncUseCases(db.prisma, config);
  stableId = (await getServingAllocation(db.prisma, USE_CASE))!.entries[0]!.modelId;
  shadowId = await addModel(db.prisma, USE_CASE, 'shadow-candidate', 'testing');
  gw = await startTestGateway(db.prisma, config, { guardrail, onCriticalViolation: (e) => void critical.push(e) });
});
afterAll(async () => {
  await gw.close();
  await fake.close();
  await db.drop();
});
beforeEach(() => {
  fake.reset();
  critical.length = 0;
  guardrailThrows = false;
});

async function serve(entries: Parameters<typeof setAllocation>[1]) {
  const v = await setAllocation(db.prisma, entries);
  await waitFor('allocation', async () => gw.gateway.cache.route(USE_CASE)?.version === v.version, 3000);
  return v;
}
const strip = (body: Record<string, unknown>) => ({ ...body, id: undefined, created: undefined });

describe('shadow mirroring', () => {
  test('never changes the returned body, never delays it, and logs the shadow answer with role shadow', async () => {
    await serve([{ modelId: stableId, weight: 10_000, role: 'stable' }]);
    const plain = await gw.call(chatBody('What is in the chest?'));

    await serve([
      { modelId: stableId, weight: 10_000, role: 'stable' },
      { modelId: shadowId, weight: 10_000, role: 'shadow' },
    ]);
    // The shadow's answers are held back until every player has had theirs: a shadow never delays an answer.
    let releaseShadow!: () => void;
    fake.forModel('shadow-candidate', { until: new Promise<void>((resolve) => (releaseShadow = resolve)) });
    const shadowCallsBefore = fake.counts.byModel.get('shadow-candidate') ?? 0;
    const mirrored = await Promise.all(Array.from({ length: 10 }, () => gw.call(chatBody('What is in the chest?'))));
    await waitFor('the ten mirrored calls at the shadow', () => (fake.counts.byModel.get('shadow-candidate') ?? 0) - shadowCallsBefore === 10, 10_000);
    releaseShadow();
    for (const res of mirrored) {
      expect(res.status).toBe(200);
      expect(strip(res.body)).toEqual(strip(plain.body));
    }
    // A failing shadow changes nothing either.
    fake.forModel('shadow-candidate', { status: 500 });
    const failing = await gw.call(chatBody('What is in the chest?'));
    expect(strip(failing.body)).toEqual(strip(plain.body));
    fake.forModel('shadow-candidate', undefined);

    const ids = [...mirrored, failing].map((r) => r.body.id as string);
    const shadowRows = await waitFor('the shadow rows', async () => {
      await gw.gateway.logWriter.flush();
      const rows = await db.prisma.modelHistoricalLog.findMany({ where: { role: 'shadow', useCase: USE_CASE } });
      return rows.length === 11 ? rows : undefined;
    }, 10_000, 200);
    for (const row of shadowRows) {
      expect(row.modelId).toBe(shadowId);
      expect(ids).toContain((row.context as { shadowOf: string }).shadowOf);
      expect(row.requestId).toBe(`${(row.context as { shadowOf: string }).shadowOf}:shadow:0`);
    }
    expect(shadowRows.filter((r) => r.status === 'ok').every((r) => r.generatedOutput === 'reply from shadow-candidate: What is in the chest?')).toBe(true);
    expect(shadowRows.filter((r) => r.status === 'error')).toHaveLength(1);
    // The primary rows are untouched: one per call, role stable.
    expect(await db.prisma.modelHistoricalLog.count({ where: { requestId: { in: ids } } })).toBe(11);
    expect(await db.prisma.modelHistoricalLog.count({ where: { requestId: { in: ids }, role: 'stable' } })).toBe(11);
  });

  test('a streamed answer is identical with and without a shadow', async () => {
    await serve([{ modelId: stableId, weight: 10_000, role: 'stable' }]);
    const content = (text: string) => sseData(text).slice(0, -1).map((d) => JSON.parse(d)).map((c) => ({ ...c, id: undefined, created: undefined }));
    const plain = await gw.call(chatBody('Sing', { stream: true }));
    await serve([
      { modelId: stableId, weight: 10_000, role: 'stable' },
      { modelId: shadowId, weight: 10_000, role: 'shadow' },
    ]);
    const mirrored = await gw.call(chatBody('Sing', { stream: true }));
    expect(content(mirrored.text)).toEqual(content(plain.text));
    await waitFor('the shadow call', () => fake.counts.byModel.get('shadow-candidate') === 1, 3000);
  });
});

describe('guardrail hook', () => {
  beforeAll(() => serve([{ modelId: stableId, weight: 10_000, role: 'stable' }]));

  const rowOf = async (requestId: string) => {
    await gw.gateway.logWriter.flush();
    return db.prisma.modelHistoricalLog.findFirstOrThrow({ where: { requestId } });
  };

  test('a critical violation blocks the answer, is recorded, and is reported at once', async () => {
    fake.enqueue({ content: 'this is forbidden knowledge' });
    const res = await gw.call(chatBody('tell me'));
    expect(res.status).toBe(200);
    expect(res.body.choices[0]).toMatchObject({ message: { content: '[removed]' }, finish_reason: 'content_filter' });
    const row = await rowOf(res.body.id);
    expect(row).toMatchObject({ status: 'blocked', guardrailVerdict: 'blocked', generatedOutput: 'this is forbidden knowledge' });
    const violations = await db.prisma.guardrailsViolation.findMany({ where: { logId: row.id } });
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ violationType: 'self_harm', severity: 'critical', interventionTaken: 'blocked', modelId: stableId, useCaseId: USE_CASE, outputSample: 'this is forbidden knowledge' });
    await waitFor('the critical event', () => critical.length === 1, 1000);
    expect(critical[0]).toMatchObject({ requestId: res.body.id, useCaseId: USE_CASE, modelId: stableId, role: 'stable', violation: { type: 'self_harm', severity: 'critical' }, intervention: 'blocked' });
  });

  test('redact returns the redacted text; a recorded low violation passes the answer unchanged', async () => {
    fake.enqueue({ content: 'you are rude' });
    const redacted = await gw.call(chatBody('x'));
    expect(redacted.body.choices[0].message.content).toBe('you are ****');
    expect((await rowOf(redacted.body.id)).guardrailVerdict).toBe('redacted');
    fake.enqueue({ content: 'hurry, only today' });
    const passed = await gw.call(chatBody('x'));
    expect(passed.body.choices[0].message.content).toBe('hurry, only today');
    const row = await rowOf(passed.body.id);
    expect(row.guardrailVerdict).toBe('pass');
    expect(await db.prisma.guardrailsViolation.count({ where: { logId: row.id, severity: 'low', interventionTaken: 'recorded' } })).toBe(1);
    expect(critical).toHaveLength(0);
  });

  test('a guardrail that throws fails closed: blocked, verdict "error"', async () => {
    guardrailThrows = true;
    const res = await gw.call(chatBody('x'));
    expect(res.body.choices[0]).toMatchObject({ message: { content: '' }, finish_reason: 'content_filter' });
    expect(await rowOf(res.body.id)).toMatchObject({ guardrailVerdict: 'error', errorClass: 'guardrail_error', status: 'blocked' });
  });

  test('a stream is stopped by checkPartial before the offending piece is sent', async () => {
    fake.enqueue({ content: 'the tower will explode at dawn' });
    const res = await gw.call(chatBody('x', { stream: true }));
    const data = sseData(res.text);
    expect(data).not.toContain('[DONE]');
    const events = data.map((d) => JSON.parse(d));
    // Cut with an explicit error event, so the game never mistakes it for a short answer.
    expect(events[events.length - 1]).toEqual({ error: expect.objectContaining({ code: 'guardrail_blocked' }) });
    const chunks = events.slice(0, -1);
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(text).toBe('the tower will ');
    expect(chunks[chunks.length - 1].choices[0].finish_reason).toBe('content_filter');
    const row = await rowOf(res.headers['x-request-id'] as string);
    expect(row).toMatchObject({ status: 'blocked', guardrailVerdict: 'blocked' });
    await waitFor('the critical event', () => critical.length === 1, 1000);
  });

  test('shadow answers are judged too: a critical one is recorded and reported, never returned', async () => {
    await serve([
      { modelId: stableId, weight: 10_000, role: 'stable' },
      { modelId: shadowId, weight: 10_000, role: 'shadow' },
    ]);
    fake.forModel('shadow-candidate', { content: 'forbidden shadow answer' });
    const res = await gw.call(chatBody('x'));
    fake.forModel('shadow-candidate', undefined);
    expect(res.body.choices[0].message.content).toBe('reply from llama-3.1-8b-instruct: x');
    await waitFor('the shadow critical event', () => critical.length === 1, 3000);
    expect(critical[0]).toMatchObject({ role: 'shadow', modelId: shadowId, intervention: 'recorded (shadow answer, not returned)' });
    await serve([{ modelId: stableId, weight: 10_000, role: 'stable' }]);
  });
});

describe('operations', () => {
  test('/metrics counts calls, latency, tokens and errors per use case × model × role; /healthz and /readyz answer', async () => {
    await gw.call(chatBody('count me'));
    fake.enqueue({ status: 400 });
    await gw.call(chatBody('fail me'));
    const metrics = await gw.call(undefined, { path: '/metrics', key: null, internal: true });
    expect(metrics.status).toBe(200);
    const text = metrics.text;
    expect(text).toMatch(/mms_gateway_requests_total\{use_case="npc_dialogue",model="llama-3\.1-8b-instruct-npc-dialogue",role="stable",status="ok"\} \d+/);
    expect(text).toMatch(/mms_gateway_errors_total\{use_case="npc_dialogue",model="llama-3\.1-8b-instruct-npc-dialogue",role="stable",error_class="bad_request"\} 1/);
    expect(text).toMatch(/mms_gateway_request_duration_seconds_bucket\{le="0\.1",use_case="npc_dialogue"/);
    expect(text).toMatch(/mms_gateway_tokens_total\{use_case="npc_dialogue",model="[^"]+",role="stable",direction="output"\} \d+/);
    expect(text).toMatch(/mms_gateway_cost_usd_total\{use_case="npc_dialogue"/);
    expect(text).toMatch(/mms_gateway_allocation_version\{use_case="npc_dialogue"\} \d+/);
    expect(text).toMatch(/mms_gateway_log_rows_written_total \d+/);
    expect((await gw.call(undefined, { path: '/healthz', key: null })).body).toMatchObject({ status: 'ok', pressure: { shedding: false, shedTotal: 0 } });
    const ready = await gw.call(undefined, { path: '/readyz', key: null });
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ready', allocationsLoaded: true, registryReachable: true, logDatabaseAvailable: true });
  });
});
