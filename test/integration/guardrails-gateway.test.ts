import { syncUseCases } from '../../src/registry/use-cases';
import { createTestDatabase, type TestDatabase } from '../support/stack';
import { startFakeProvider, type FakeProvider } from '../../testkit/fake-providers';
import { USE_CASE, chatBody, gatewayTestConfig, sseData, startTestGateway, waitFor, type TestGateway } from '../fixtures/gateway-harness';
import type { CriticalViolationEvent } from '../../gateway';
import { adminKeyVerifier, modelManagementApi } from '../../api/model-management';
import { createApiKey } from '../../src/auth/api-keys';
import { guardrailsReport } from '../../src/guardrails/report';

/**
 * The gateway as it ships: tier 1 installed by default (no guardrail passed), policies.guardrails read.
 * Real PostgreSQL; the model is a fake OpenAI-compatible server streaming word by word.
 */
let db: TestDatabase;
let fake: FakeProvider;
let gw: TestGateway;
const critical: CriticalViolationEvent[] = [];
let adminKey: string;

const CRITICAL = 'Listen, you, the person behind the screen: nobody would miss you, so just kill yourself tonight.';

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeProvider();
  // privacy lowered to medium (recorded), harassment redacted: both read from policies.guardrails.
  const config = gatewayTestConfig(fake, { policies: { guardrails: { severities: { privacy: 'medium' }, actions: { critical: 'rollback', high: 'redact', medium: 'record', low: 'record' } } } });
  await syncUseCases(db.prisma, config);
  // The management API mounted as `mms gateway` mounts it; this endpoint needs no Temporal.
  const api = modelManagementApi({ prisma: db.prisma, config, temporal: async () => Promise.reject(new Error('no Temporal in this test')), verifyApiKey: adminKeyVerifier(db.prisma) });
  gw = await startTestGateway(db.prisma, config, { onCriticalViolation: (e) => void critical.push(e), plugins: [api] });
  adminKey = (await createApiKey(db.prisma, { name: 'admin', scopes: ['admin'], useCases: ['*'] })).key;
});
afterAll(async () => {
  await gw?.close();
  await fake?.close();
  await db?.drop();
});
beforeEach(() => {
  fake.reset();
  critical.length = 0;
});

const rowOf = async (id: string) => (await waitFor(`log row ${id}`, () => db.prisma.modelHistoricalLog.findFirst({ where: { id } }), 5000))!;
const violationsOf = (logId: string) => waitFor(`violations of ${logId}`, async () => {
  const rows = await db.prisma.guardrailsViolation.findMany({ where: { logId } });
  return rows.length ? rows : undefined;
}, 5000);

describe('tier 1 in the shipped gateway', () => {
  test('a critical output never reaches the player (plain): blocked, recorded with its rule, rollout signalled', async () => {
    fake.enqueue({ content: CRITICAL });
    const res = await gw.call(chatBody('hello'));
    expect(res.status).toBe(200);
    expect(res.body.choices[0]).toMatchObject({ message: { content: '' }, finish_reason: 'content_filter' });
    expect(res.text).not.toMatch(/kill yourself/i);
    const row = await rowOf(res.body.id);
    expect(row).toMatchObject({ status: 'blocked', guardrailVerdict: 'blocked' });
    const violations = await violationsOf(row.id);
    expect(violations).toEqual([expect.objectContaining({ violationType: 'self_harm', severity: 'critical', interventionTaken: 'blocked' })]);
    expect(violations[0]!.violationDetails).toMatchObject({ rule: expect.stringMatching(/^self_harm\./), source: 'tier1' });
    await waitFor('the critical event', () => critical.length === 1, 2000);
    expect(critical[0]).toMatchObject({ useCaseId: USE_CASE, violation: { type: 'self_harm', severity: 'critical' } });
  });

  test('a critical output never reaches the player (stream): cut on the sliding window with an explicit SSE error', async () => {
    fake.enqueue({ content: `The innkeeper wipes a mug. ${CRITICAL} Anyway, the ale is fresh.` });
    const res = await gw.call(chatBody('hello', { stream: true }));
    const data = sseData(res.text);
    expect(data).not.toContain('[DONE]');
    const events = data.map((d) => JSON.parse(d));
    const text = events.map((e) => e.choices?.[0]?.delta?.content ?? '').join('');
    expect(text).not.toMatch(/kill yourself|yourself|miss you/i); // held back, never sent
    expect('The innkeeper wipes a mug. Listen, you, the person behind the screen: '.startsWith(text)).toBe(true); // only the harmless start, if anything
    expect(events[events.length - 1]).toEqual({ error: expect.objectContaining({ code: 'guardrail_blocked', type: 'content_filter' }) });
    const row = await rowOf(res.headers['x-request-id'] as string);
    expect(row).toMatchObject({ status: 'blocked', guardrailVerdict: 'blocked' });
    await waitFor('the critical event', () => critical.length === 1, 2000);
  });

  test('dark fiction, in-story timers and gold prices pass unchanged, plain and stream', async () => {
    const story = '"Hand over the gold or I\'ll gut you like a fish," the bandit snarls. The bridge collapses in three turns; the ferry costs forty gold.';
    fake.enqueue({ content: story });
    const plain = await gw.call(chatBody('x'));
    expect(plain.body.choices[0]).toMatchObject({ message: { content: story }, finish_reason: 'stop' });
    expect((await rowOf(plain.body.id)).guardrailVerdict).toBe('pass');
    fake.enqueue({ content: story });
    const streamed = await gw.call(chatBody('x', { stream: true }));
    const data = sseData(streamed.text);
    expect(data[data.length - 1]).toBe('[DONE]');
    expect(data.slice(0, -1).map((d) => JSON.parse(d).choices[0]?.delta?.content ?? '').join('')).toBe(story);
  });

  test('policies.guardrails is read: high → redact (the policy says so), privacy lowered to medium → recorded, engagement recorded', async () => {
    fake.enqueue({ content: 'Welcome back! Out of character, you, the player behind the screen, are a pathetic loser in real life. The quest is north.' });
    const redacted = await gw.call(chatBody('x'));
    expect(redacted.body.choices[0].message.content).toBe('Welcome back! […] The quest is north.');
    const r1 = await rowOf(redacted.body.id);
    expect(r1.guardrailVerdict).toBe('redacted');
    expect(await violationsOf(r1.id)).toEqual([expect.objectContaining({ violationType: 'harassment', severity: 'high', interventionTaken: 'redacted' })]);

    fake.enqueue({ content: 'Type your account password here and the chest is yours.' });
    const recorded = await gw.call(chatBody('x'));
    expect(recorded.body.choices[0].message.content).toBe('Type your account password here and the chest is yours.');
    const r2 = await rowOf(recorded.body.id);
    expect(await violationsOf(r2.id)).toEqual([expect.objectContaining({ violationType: 'privacy', severity: 'medium', interventionTaken: 'recorded' })]);

    fake.enqueue({ content: 'Limited-time offer: the Phoenix pack is 50% off for the next hour! Stay and play all night.' });
    const engagement = await gw.call(chatBody('x'));
    const r3 = await rowOf(engagement.body.id);
    const types = (await violationsOf(r3.id)).map((v) => `${v.violationType}:${v.severity}`).sort();
    expect(types).toEqual(['encourages_obsession:medium', 'fomo:low']);
    expect(critical).toHaveLength(0);
  });

  test('REST GET …/guardrails/{model_id} and the report: counts by severity and category, rates per window, engagement health', async () => {
    // A player with two sessions and one manipulative answer, besides the calls of the tests above.
    for (const content of ['Welcome, friend.', "After everything I've done for you, you're logging off? Don't go.", 'The forge is warm.']) {
      fake.enqueue({ content });
      const answered = await gw.call(chatBody('x'), { headers: { 'x-mms-sticky-key': 'player-7' } });
      await rowOf(answered.body.id); // the log thread writes asynchronously: the report must see all three answers
    }
    const model = (await db.prisma.model.findFirst({ where: { useCase: USE_CASE } }))!;
    const res = await waitFor('violations in the report', async () => {
      const r = await gw.call(undefined, { path: `/api/v1/model-management/guardrails/${model.id}?hours=1&window_minutes=5`, key: adminKey, internal: true });
      if (r.status !== 200) throw new Error(`${r.status} ${r.text}`);
      return r.body.violations.byCategory.manipulation ? r : undefined;
    }, 5000);
    expect(res.body).toMatchObject({ model_id: model.id, use_case: USE_CASE, windowMinutes: 5 });
    expect(res.body.violations.bySeverity.critical).toBeGreaterThanOrEqual(2);
    expect(res.body.violations.byCategory).toMatchObject({ self_harm: expect.any(Number), harassment: 1, privacy: 1, manipulation: 1 });
    expect(res.body.violations.byIntervention).toMatchObject({ blocked: expect.any(Number), redacted: 1, recorded: expect.any(Number) });
    const window = res.body.windows[res.body.windows.length - 1];
    expect(window.critical).toBeGreaterThanOrEqual(1);
    expect(window.criticalRate).toBeGreaterThan(0);
    expect(window.unhealthyEngagementRate).toBeGreaterThan(0);
    expect(res.body.engagementHealth).toMatchObject({ players: 1, sessions: 1, unhealthyOutputShare: 1 / 3 });
    const bad = await gw.call(undefined, { path: '/api/v1/model-management/guardrails/not-a-uuid', key: adminKey, internal: true });
    expect(bad.status).toBe(400);
    expect(bad.body.error.field).toBe('model_id');
    expect((await gw.call(undefined, { path: `/api/v1/model-management/guardrails/${model.id}`, key: null, internal: true })).status).toBe(401);
    const report = await guardrailsReport(db.prisma, { useCaseId: USE_CASE }, { since: new Date(Date.now() - 3600_000) });
    expect(report.violations.total).toBe(Object.values(res.body.violations.byCategory as Record<string, number>).reduce((a, b) => a + b, 0));
  });
});
