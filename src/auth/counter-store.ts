import type { PrismaClient } from '@prisma/client';
import type { CounterRef, CounterState, CounterStore } from './limiter';

/**
 * The limiter's shared counters in PostgreSQL (`api_key_counters`). Three statements, each one round
 * trip: lease (an upsert that grants at most what is left below the limit and returns the grant),
 * settle (one batched upsert for every counter a replica touched), touch (batched last_used_at).
 */
export function postgresCounterStore(prisma: PrismaClient): CounterStore {
  return {
    async lease(ref, want, limit) {
      // An UPDATE's SET reads the row as it was, so last_grant holds exactly what this statement granted.
      const rows = await prisma.$queryRawUnsafe<Array<{ granted: number; reserved: number; used: number }>>(
        `insert into api_key_counters as c (key_id, counter, window_start, reserved, last_grant)
         values ($1::uuid, $2, $3::timestamptz, least($4::bigint, greatest($5::bigint, 0)), least($4::bigint, greatest($5::bigint, 0)))
         on conflict (key_id, counter, window_start) do update
           set last_grant = least($4::bigint, greatest($5::bigint - c.reserved, 0)),
               reserved = c.reserved + least($4::bigint, greatest($5::bigint - c.reserved, 0)),
               updated_at = now()
         returning last_grant::float8 as granted, reserved::float8 as reserved, used::float8 as used`,
        ref.keyId,
        ref.counter,
        ref.windowStart,
        String(Math.max(0, Math.round(want))),
        String(Math.round(limit)),
      );
      const row = rows[0]!;
      return { granted: Number(row.granted), reserved: Number(row.reserved), used: Number(row.used) };
    },

    async settle(rows) {
      if (rows.length === 0) return [];
      const states = await prisma.$queryRawUnsafe<Array<{ key_id: string; counter: string; window_start: Date; reserved: number; used: number }>>(
        `insert into api_key_counters as c (key_id, counter, window_start, reserved, used)
         select * from unnest($1::uuid[], $2::varchar[], $3::timestamptz[], $4::bigint[], $5::bigint[])
         on conflict (key_id, counter, window_start) do update
           set reserved = c.reserved + excluded.reserved, used = c.used + excluded.used, updated_at = now()
         returning key_id::text, counter, window_start, reserved::float8 as reserved, used::float8 as used`,
        rows.map((r) => r.keyId),
        rows.map((r) => r.counter),
        rows.map((r) => r.windowStart),
        rows.map((r) => String(Math.round(r.reservedDelta))),
        rows.map((r) => String(Math.round(r.usedDelta))),
      );
      return states.map((s): CounterState => ({ keyId: s.key_id, counter: s.counter, windowStart: new Date(s.window_start), reserved: Number(s.reserved), used: Number(s.used) }));
    },

    async touch(rows) {
      if (rows.length === 0) return;
      // Raw SQL on purpose: updated_at (the gateways' reload fingerprint) must not move on every use.
      await prisma.$executeRawUnsafe(
        `update api_keys k set last_used_at = greatest(coalesce(k.last_used_at, t.at), t.at)
         from unnest($1::uuid[], $2::timestamptz[]) as t(id, at) where k.id = t.id`,
        rows.map((r) => r.keyId),
        rows.map((r) => r.at),
      );
    },

    async prune(before) {
      await prisma.$executeRawUnsafe(`delete from api_key_counters where counter <> 'spend' and window_start < $1::timestamptz`, before);
    },
  };
}

/** Spend of each key in its current budget period, for `mms apikey list` (settled consumption). */
export async function currentSpend(prisma: PrismaClient, refs: CounterRef[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (refs.length === 0) return out;
  const rows = await prisma.apiKeyCounter.findMany({ where: { OR: refs.map((r) => ({ keyId: r.keyId, counter: r.counter, windowStart: r.windowStart })) } });
  for (const r of rows) out.set(r.keyId, Number(r.used));
  return out;
}
