import { KeyLimiter, LimitExceededError, type CounterRef, type CounterStore } from '../../src/auth/limiter';
import { budgetWindow, minuteWindow, parseDuration, parseUseCaseValues, type KeyLimits } from '../../src/auth/limits';

/**
 * The lease protocol against an in-memory counter with the same semantics as the PostgreSQL
 * statements (grant at most what is left below the limit; settle adds used and moves reserved), with
 * random latency, so replicas interleave as they do over a network. The PostgreSQL store itself is
 * exercised by test/integration/gateway-keys.test.ts.
 */
function memoryStore(latency: () => number = () => 0) {
  const rows = new Map<string, { reserved: number; used: number }>();
  const id = (r: CounterRef) => `${r.keyId}|${r.counter}|${r.windowStart.getTime()}`;
  const wait = () => new Promise((r) => setTimeout(r, latency()));
  const store: CounterStore = {
    async lease(ref, want, limit) {
      await wait();
      const row = rows.get(id(ref)) ?? { reserved: 0, used: 0 };
      const granted = Math.min(want, Math.max(limit - row.reserved, 0));
      row.reserved += granted;
      rows.set(id(ref), row);
      return { granted, ...row };
    },
    async settle(changes) {
      await wait();
      // As PostgreSQL's upsert: one statement may not touch a row twice.
      const ids = changes.map(id);
      if (new Set(ids).size !== ids.length) throw new Error('ON CONFLICT DO UPDATE command cannot affect row a second time');
      return changes.map((c) => {
        const row = rows.get(id(c)) ?? { reserved: 0, used: 0 };
        row.reserved += c.reservedDelta;
        row.used += c.usedDelta;
        rows.set(id(c), row);
        return { keyId: c.keyId, counter: c.counter, windowStart: c.windowStart, ...row };
      });
    },
    async touch() {},
  };
  return { store, rows };
}

const key = (limits: Partial<KeyLimits>) => ({ id: 'k1', keyPrefix: 'mms_test1234', limits: { useCases: {}, ...limits } });
const T0 = Date.UTC(2026, 10, 30, 12, 0, 5);

test('N replicas together never admit more than the limit, and admit all of it', async () => {
  const { store, rows } = memoryStore(() => Math.random() * 3);
  const now = () => T0;
  const replicas = Array.from({ length: 4 }, () => new KeyLimiter({ store, now, settleMs: 5, sliceFraction: 0.05 }));
  replicas.forEach((r) => r.start());
  const k = key({ rpm: 200 });
  let admitted = 0;
  let refused = 0;
  await Promise.all(
    Array.from({ length: 300 }, async (_, i) => {
      await new Promise((r) => setTimeout(r, Math.random() * 50));
      let verdict = replicas[i % 4]!.admitChat(k, 'npc_dialogue');
      if (verdict instanceof Promise) verdict = await verdict;
      if (verdict) refused++;
      else admitted++;
    }),
  );
  await Promise.all(replicas.map((r) => r.stop()));
  expect(admitted).toBe(200);
  expect(refused).toBe(100);
  expect([...rows.values()]).toEqual([{ reserved: 200, used: 200 }]);
});

test('the common call is synchronous: a lease covers many calls', () => {
  const { store } = memoryStore();
  const limiter = new KeyLimiter({ store, now: () => T0 });
  const k = key({ rpm: 100_000 });
  // The first call waits for a lease; later calls are answered from memory.
  expect(limiter.admitChat(k, 'npc_dialogue')).toBeInstanceOf(Promise);
  return (limiter.admitChat(k, 'npc_dialogue') as Promise<unknown>).then(() => {
    let sync = 0;
    for (let i = 0; i < 1000; i++) if (limiter.admitChat(k, 'npc_dialogue') === undefined) sync++;
    expect(sync).toBe(1000);
    expect(limiter.stats.leases).toBeLessThan(5);
  });
});

test('tokens and spend are charged after the call; the refusal names the limit and when it resets', async () => {
  const { store } = memoryStore();
  let now = T0;
  const limiter = new KeyLimiter({ store, now: () => now });
  const k = key({ tpm: 1000, budgetUsd: 0.01, budgetPeriod: 'weekly' });
  expect(await limiter.admitChat(k, 'npc_dialogue')).toBeUndefined();
  limiter.charge(k, 'npc_dialogue', 1200, 0.001);
  const refused = await limiter.admitChat(k, 'npc_dialogue');
  expect(refused).toBeInstanceOf(LimitExceededError);
  expect(refused).toMatchObject({ limit: 'tpm', code: 'tpm_limit_exceeded', type: 'rate_limit_error', retryAfterSeconds: 55 });
  now += 60_000;
  expect(await limiter.admitChat(k, 'npc_dialogue')).toBeUndefined();
  limiter.charge(k, 'npc_dialogue', 10, 0.02);
  now += 60_000;
  const broke = await limiter.admitChat(k, 'npc_dialogue');
  expect(broke).toMatchObject({ limit: 'budget', code: 'budget_exceeded', type: 'insufficient_quota' });
  // Monday 2026-12-07 00:00 UTC is the next ISO week.
  expect(broke!.message).toContain('resets at 2026-12-07T00:00:00.000Z');
  now = Date.UTC(2026, 11, 7, 0, 0, 1);
  expect(await limiter.admitChat(k, 'npc_dialogue')).toBeUndefined();
});

test('an unreachable database: the replica enforces the limit on its own and charges it later', async () => {
  const mem = memoryStore();
  let down = true;
  const store: CounterStore = {
    lease: (...a) => (down ? Promise.reject(new Error('connection refused')) : mem.store.lease(...a)),
    settle: (...a) => (down ? Promise.reject(new Error('connection refused')) : mem.store.settle(...a)),
    touch: async () => undefined,
  };
  const limiter = new KeyLimiter({ store, now: () => T0 });
  const k = key({ rpm: 3 });
  const verdicts = [];
  for (let i = 0; i < 4; i++) verdicts.push(await limiter.admitChat(k, 'npc_dialogue'));
  expect(verdicts.map((v) => (v ? v.limit : 'ok'))).toEqual(['ok', 'ok', 'ok', 'rpm']);
  down = false;
  await limiter.settle();
  expect([...mem.rows.values()]).toEqual([{ reserved: 3, used: 3 }]);
  expect(limiter.stats.storeErrors).toBeGreaterThan(0);
});

test('a burst on an empty lease sends one request to the counter, not one per caller, and reserves one slice', async () => {
  const { store, rows } = memoryStore(() => 5);
  const limiter = new KeyLimiter({ store, now: () => T0, sliceFraction: 0.05 });
  const k = key({ rpm: 100_000, tpm: 1_000_000, budgetUsd: 1000, budgetPeriod: 'monthly' });
  const verdicts = await Promise.all(
    Array.from({ length: 200 }, async () => {
      const verdict = await limiter.admitChat(k, 'npc_dialogue');
      if (!verdict) limiter.charge(k, 'npc_dialogue', 40, 0.00001);
      return verdict?.limit ?? 'ok';
    }),
  );
  expect(verdicts.filter((v) => v !== 'ok')).toEqual([]);
  // One lease request per counter (rpm, tpm, spend); 200 would each have reserved a slice, which is
  // the whole limit 20 times over.
  expect(limiter.stats.leases).toBe(3);
  expect([...rows].map(([id, row]) => `${id.split('|')[1]} reserved ${row.reserved}`).sort()).toEqual(['rpm reserved 5000', 'spend reserved 50000000000', 'tpm reserved 50000']);
});

test('a call that read the clock before the minute turned neither reopens that minute nor makes a settle touch a counter twice', async () => {
  const mem = memoryStore();
  // Leases are held until released, so a call can be caught across the turn of the minute.
  let holding = true;
  const held: Array<() => void> = [];
  const store: CounterStore = {
    ...mem.store,
    lease: async (...a) => {
      if (holding) await new Promise<void>((r) => held.push(r));
      return mem.store.lease(...a);
    },
  };
  const minute = Date.UTC(2026, 10, 30, 12, 0, 0);
  let now = minute + 59_000;
  const errors: unknown[] = [];
  const limiter = new KeyLimiter({ store, now: () => now, onError: (err) => errors.push(err) });
  const k = key({ rpm: 100, useCases: { npc_dialogue: { rpm: 100 } } });
  const early = limiter.admitChat(k, 'npc_dialogue'); // read 12:00:59, waits for its leases
  now = minute + 61_000;
  const late = limiter.admitChat(k, 'npc_dialogue'); // 12:01:01: leases of the new minute
  // The late call gets its leases and goes first; then the early one resumes with its old reading.
  holding = false;
  expect(held).toHaveLength(2);
  held.pop()!();
  expect(await late).toBeUndefined();
  held.pop()!();
  expect(await early).toBeUndefined();
  await limiter.settle(true);
  expect(errors).toEqual([]);
  expect(limiter.stats.storeErrors).toBe(0);
  // Both calls count in the minute they were admitted in (12:01), on both counters; 12:00 keeps none.
  const used = [...mem.rows].map(([id, row]) => `${id.split('|').slice(1).join('@')} used ${row.used}`);
  expect(used.filter((u) => !u.endsWith(' used 0')).sort()).toEqual([`rpm:npc_dialogue@${minute + 60_000} used 2`, `rpm@${minute + 60_000} used 2`]);
});

test('windows and values people type', () => {
  expect(minuteWindow(T0)).toEqual({ start: Date.UTC(2026, 10, 30, 12, 0), end: Date.UTC(2026, 10, 30, 12, 1) });
  expect(budgetWindow('daily', T0)).toEqual({ start: Date.UTC(2026, 10, 30), end: Date.UTC(2026, 11, 1) });
  expect(budgetWindow('weekly', T0)).toEqual({ start: Date.UTC(2026, 10, 30), end: Date.UTC(2026, 11, 7) }); // a Monday
  expect(budgetWindow('monthly', Date.UTC(2026, 11, 31, 23))).toEqual({ start: Date.UTC(2026, 11, 1), end: Date.UTC(2027, 0, 1) });
  expect(parseDuration('24h', 'grace')).toBe(86_400_000);
  expect(parseDuration('90', 'grace')).toBe(90_000);
  expect(() => parseDuration('soon', '--grace')).toThrow('--grace: "soon" is not a duration');
  expect(parseUseCaseValues(['npc_dialogue=60'], '--use-case-rpm')).toEqual({ npc_dialogue: 60 });
  expect(() => parseUseCaseValues(['npc_dialogue=lots'], '--use-case-rpm')).toThrow('--use-case-rpm npc_dialogue: must be a whole number');
  expect(() => parseUseCaseValues(['Bad=1'], '--use-case-rpm')).toThrow('must be <use_case>=<number>');
});
