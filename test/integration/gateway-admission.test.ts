import { request } from 'undici';
import { syncUseCases } from '../../src/registry/use-cases';
import { createTestDatabase, type TestDatabase } from '../support/stack';
import { startFakeProvider, type FakeProvider } from '../../testkit/fake-providers';
import { agent, chatBody, gatewayTestConfig, startTestGateway, waitFor, type TestGateway } from '../fixtures/gateway-harness';

/**
 * Admission control (issue 17) on the real stack: past maxInFlight, or with the event loop behind, a
 * chat call is shed at once with 503 + retry-after, counted on /metrics, logged as a `shed` row
 * without its body, and shown by /healthz and /readyz; the calls admitted before still complete.
 */
let db: TestDatabase;
let fake: FakeProvider;

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeProvider();
});
afterAll(async () => {
  await fake.close();
  await db.drop();
});
beforeEach(() => fake.reset());

async function shedRow(gw: TestGateway, requestId: string) {
  await gw.gateway.logWriter.flush();
  return db.prisma.modelHistoricalLog.findFirstOrThrow({ where: { requestId } });
}

async function metricValue(gw: TestGateway, line: string): Promise<number | undefined> {
  const text = (await gw.call(undefined, { path: '/metrics', internal: true, key: null })).text;
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.split(' ')[1]);
}

describe('in-flight bound', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // Only the in-flight bound: the event-loop bound is off so a loaded test machine cannot shed here.
    const config = gatewayTestConfig(fake, { gateway: { admission: { maxInFlight: 2, maxEventLoopDelayMs: 0, retryAfterSeconds: 3 } } });
    await syncUseCases(db.prisma, config);
    gw = await startTestGateway(db.prisma, config);
  });
  afterAll(() => gw.close());

  test('a call past maxInFlight is shed at once with 503 + retry-after, counted, logged without its body; admitted calls complete', async () => {
    // Two calls held by the upstream fill the bound.
    fake.enqueue({ hang: true }, { hang: true });
    const aborts = [new AbortController(), new AbortController()];
    const held = aborts.map((abort) =>
      request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.key}` }, body: JSON.stringify(chatBody('held')), dispatcher: agent, signal: abort.signal }).then(
        (res) => res.statusCode,
        () => 'aborted',
      ),
    );
    await waitFor('both held calls at the upstream', () => fake.counts.chat === 2);

    const shed = await gw.call(chatBody('one too many', { user: 'player-7' }));
    expect(shed.status).toBe(503);
    expect(shed.headers['retry-after']).toBe('3');
    expect(shed.body.error).toMatchObject({ type: 'service_unavailable', code: 'overloaded' });
    expect(shed.body.error.message).toContain('2 calls in flight');
    expect(fake.counts.chat).toBe(2); // never reached the upstream

    // Health and readiness are never shed, and show the pressure.
    const ready = await gw.call(undefined, { path: '/readyz', key: null });
    expect(ready.status).toBe(200);
    expect(ready.body.pressure).toMatchObject({ shedding: true, inFlight: 2, maxInFlight: 2, shedTotal: 1 });
    const health = await gw.call(undefined, { path: '/healthz', key: null });
    expect(health.status).toBe(200);
    expect(health.body.pressure).toMatchObject({ shedding: true, inFlight: 2 });
    expect(await metricValue(gw, 'mms_gateway_shed_requests_total{reason="in_flight"}')).toBe(1);
    expect(await metricValue(gw, 'mms_gateway_in_flight_requests')).toBe(2);

    // One row for the shed call: status shed, the reason, and nothing of its body (never read).
    const row = await shedRow(gw, shed.headers['x-request-id'] as string);
    expect(row).toMatchObject({ status: 'shed', errorClass: 'in_flight', prompt: '', generatedOutput: '', useCase: null, modelId: null, stickyKeyHash: null });
    expect(row.context).toMatchObject({ shed: 'in_flight', route: '/v1/chat/completions' });

    // The held calls end (their callers give up); the bound frees and the next call is admitted and answered.
    for (const abort of aborts) abort.abort();
    expect(await Promise.all(held)).toEqual(['aborted', 'aborted']);
    await waitFor('the in-flight count back to 0', async () => (await gw.call(undefined, { path: '/readyz', key: null })).body.pressure.inFlight === 0);
    const admitted = await gw.call(chatBody('after the spike'));
    expect(admitted.status).toBe(200);
    expect(admitted.body.choices[0].message.content).toContain('after the spike');
    expect((await gw.call(undefined, { path: '/readyz', key: null })).body.pressure).toMatchObject({ shedding: false, inFlight: 0, shedTotal: 1 });
  });

  test('a slot freed by a finished call is reused: calls under the bound all complete, none is shed', async () => {
    fake.enqueue({ hang: true });
    const abort = new AbortController();
    const heldCall = request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.key}` }, body: JSON.stringify(chatBody('held')), dispatcher: agent, signal: abort.signal }).catch(() => undefined);
    await waitFor('the held call at the upstream', () => fake.counts.chat === 1);
    // One slot left: calls sent one after another each get it and complete; none is shed.
    for (let i = 0; i < 5; i++) expect((await gw.call(chatBody(`serial ${i}`))).status).toBe(200);
    expect((await gw.call(undefined, { path: '/readyz', key: null })).body.pressure).toMatchObject({ inFlight: 1, shedTotal: 1 });
    abort.abort();
    await heldCall;
  });
});

describe('event-loop delay bound', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    const config = gatewayTestConfig(fake, { gateway: { admission: { maxInFlight: 0, maxEventLoopDelayMs: 20 } } });
    await syncUseCases(db.prisma, config);
    gw = await startTestGateway(db.prisma, config);
  });
  afterAll(() => gw.close());

  test('with the event loop idle, every call is admitted (an interval without a loop sample is not a stall)', async () => {
    // A sample interval close to under-pressure's 10 ms resolution read as an infinite delay and shed
    // an idle replica's calls (bench:gateway shed 99 % at 1,000/s with sampleIntervalMs 10). The bound
    // here is 1 s, so a loaded CI machine (which delays any loop by tens of ms) cannot shed these
    // calls, while an infinite delay still would.
    const idle = await startTestGateway(db.prisma, gatewayTestConfig(fake, { gateway: { admission: { maxInFlight: 0, maxEventLoopDelayMs: 1000, sampleIntervalMs: 50 } } }));
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) statuses.push((await idle.call(chatBody(`idle ${i}`))).status);
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
    } finally {
      await idle.close();
    }
  });

  test('one stall of the loop (a GC pause, a wait for a core) sheds nothing: the calls queued behind it are served', async () => {
    // With the delay alone over a 50 ms interval, one such stall shed the next 50 ms of calls:
    // bench:gateway lost 211 calls a round at 1,000/s on an otherwise idle gateway. This gateway samples
    // over 1 s, so the 80 ms stall is 8 % of an interval: on a starved host (CI at load 10 on 2 cores) the
    // default 250 ms interval holding the stall and the backlog it left read ≥ 90 % busy and shed 5 of
    // these 10 calls, the limit the admission module documents, not the stall this test is about.
    const stalled = await startTestGateway(db.prisma, gatewayTestConfig(fake, { gateway: { admission: { maxInFlight: 0, maxEventLoopDelayMs: 20, sampleIntervalMs: 1000 } } }));
    try {
      // First an interval in which the loop kept up (this process just started a gateway: that interval was busy).
      await waitFor('an interval in which the loop kept up', async () => {
        const { pressure } = (await stalled.call(undefined, { path: '/readyz', key: null })).body;
        return !pressure.shedding && pressure.eventLoopUtilization < 0.5 ? pressure : undefined;
      });
      const until = Date.now() + 80;
      while (Date.now() < until) {
        // busy: the loop cannot run
      }
      const statuses = await Promise.all(Array.from({ length: 10 }, (_, i) => stalled.call(chatBody(`behind the stall ${i}`)).then((r) => r.status)));
      expect(statuses.filter((s) => s !== 200)).toEqual([]);
      const after = await stalled.call(undefined, { path: '/readyz', key: null });
      expect(after.body.pressure).toMatchObject({ shedTotal: 0 });
    } finally {
      await stalled.close();
    }
  });

  test('with the event loop overloaded (behind and busy), new calls are shed with 503 and counted under event_loop_delay', async () => {
    // The gateway runs in this process: keep its loop busy in 40 ms slices (it still serves I/O between
    // them, as an overloaded gateway does) until a call is shed. One stall alone no longer sheds: the
    // loop must be behind and busy over a whole sample interval.
    let saturating = true;
    const slice = () => {
      const until = Date.now() + 40;
      while (Date.now() < until) {
        // busy: the loop cannot run
      }
      if (saturating) setImmediate(slice);
    };
    setImmediate(slice);
    const shed = await waitFor('a call shed for event-loop delay', async () => {
      const res = await gw.call(chatBody('while overloaded'));
      return res.status === 503 ? res : undefined;
    }).finally(() => {
      saturating = false;
    });
    expect((await gw.call(undefined, { path: '/readyz', key: null })).body.pressure).toMatchObject({ maxEventLoopDelayMs: 20 });
    expect(shed.headers['retry-after']).toBe('1');
    expect(shed.body.error.code).toBe('overloaded');
    expect(shed.body.error.message).toContain('event loop');
    expect(await metricValue(gw, 'mms_gateway_shed_requests_total{reason="event_loop_delay"}')).toBeGreaterThanOrEqual(1);
    expect(await shedRow(gw, shed.headers['x-request-id'] as string)).toMatchObject({ status: 'shed', errorClass: 'event_loop_delay', prompt: '' });
    // Once the loop keeps up again, calls are admitted.
    const admitted = await waitFor('a call admitted again', async () => {
      const res = await gw.call(chatBody('after the stall'));
      return res.status === 200 ? res : undefined;
    });
    expect(admitted.body.choices[0].message.content).toContain('after the stall');
  });
});
