/**
 * The limits a key carries (set by `mms apikey create|update`), their windows, and the parsing of the
 * values people type. Every limit is optional; a key without any is never counted.
 *
 *   rpm / tpm                 requests and tokens (input + output) per minute, over all use cases
 *   useCases[id].rpm / .tpm   the same for one use case
 *   budgetUsd + budgetPeriod  spend in USD (the cost logged for each call) per UTC day, ISO week or month
 */

export const budgetPeriods = ['daily', 'weekly', 'monthly'] as const;
export type BudgetPeriod = (typeof budgetPeriods)[number];

export interface UseCaseLimits {
  rpm?: number;
  tpm?: number;
}

export interface KeyLimits {
  rpm?: number;
  tpm?: number;
  useCases: Record<string, UseCaseLimits>;
  budgetUsd?: number;
  budgetPeriod?: BudgetPeriod;
}

export const NO_LIMITS: KeyLimits = Object.freeze({ useCases: Object.freeze({}) }) as KeyLimits;

export const hasLimits = (l: KeyLimits) => l.rpm !== undefined || l.tpm !== undefined || l.budgetUsd !== undefined || Object.keys(l.useCases).length > 0;

/** Spend is counted in nano-USD (integers), so shared counters add exactly. */
export const NANO_USD = 1e9;

/** A fixed window [start, end) in epoch ms. */
export interface Window {
  start: number;
  end: number;
}

export function minuteWindow(now: number): Window {
  const start = Math.floor(now / 60_000) * 60_000;
  return { start, end: start + 60_000 };
}

/** The UTC calendar period containing `now`: a day, an ISO week (from Monday), or a month. */
export function budgetWindow(period: BudgetPeriod, now: number): Window {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = d.getUTCDate();
  if (period === 'daily') {
    const start = Date.UTC(y, m, day);
    return { start, end: Date.UTC(y, m, day + 1) };
  }
  if (period === 'weekly') {
    const sinceMonday = (d.getUTCDay() + 6) % 7;
    const start = Date.UTC(y, m, day - sinceMonday);
    return { start, end: Date.UTC(y, m, day - sinceMonday + 7) };
  }
  return { start: Date.UTC(y, m, 1), end: Date.UTC(y, m + 1, 1) };
}

/** `90s`, `30m`, `24h`, `7d` (or a bare number of seconds) → milliseconds. */
export function parseDuration(text: string, field: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/.exec(text.trim());
  if (!m) throw new Error(`${field}: "${text}" is not a duration (like 90s, 30m, 24h, 7d)`);
  const unit = m[2] ?? 's';
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[unit]!;
  return Math.round(Number(m[1]) * factor);
}

/** An absolute time (ISO 8601) or a duration from now (`30d`) → Date. */
export function parseExpiry(text: string, now: number, field = 'expires'): Date {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const t = Date.parse(text);
    if (Number.isNaN(t)) throw new Error(`${field}: "${text}" is not a date`);
    return new Date(t);
  }
  return new Date(now + parseDuration(text, field));
}

const positiveInt = (value: unknown, field: string): number => {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1_000_000_000) throw new Error(`${field}: must be a whole number from 1 to 1000000000, got "${String(value)}"`);
  return n;
};

const useCaseId = /^[a-z][a-z0-9_]{0,99}$/;

/**
 * `npc_dialogue=60` (one per flag occurrence) → {npc_dialogue: 60}. The CLI's --use-case-rpm and
 * --use-case-tpm take this form.
 */
export function parseUseCaseValues(items: string[], field: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) {
    const m = /^([^=]+)=(.+)$/.exec(item);
    if (!m || !useCaseId.test(m[1]!)) throw new Error(`${field}: "${item}" must be <use_case>=<number>, e.g. npc_dialogue=60`);
    out[m[1]!] = positiveInt(m[2], `${field} ${m[1]}`);
  }
  return out;
}

/** Validates a limits object from the database or an API body; names the field on error. */
export function parseKeyLimits(row: { rpmLimit?: number | null; tpmLimit?: number | null; useCaseLimits?: unknown; budgetUsd?: { toString(): string } | number | null; budgetPeriod?: string | null }): KeyLimits {
  const useCases: Record<string, UseCaseLimits> = {};
  if (row.useCaseLimits && typeof row.useCaseLimits === 'object') {
    for (const [id, v] of Object.entries(row.useCaseLimits as Record<string, unknown>)) {
      if (!v || typeof v !== 'object') continue;
      const { rpm, tpm } = v as { rpm?: unknown; tpm?: unknown };
      const entry: UseCaseLimits = {};
      if (typeof rpm === 'number') entry.rpm = rpm;
      if (typeof tpm === 'number') entry.tpm = tpm;
      if (entry.rpm !== undefined || entry.tpm !== undefined) useCases[id] = entry;
    }
  }
  const budget = row.budgetUsd === null || row.budgetUsd === undefined ? undefined : Number(row.budgetUsd.toString());
  return {
    rpm: row.rpmLimit ?? undefined,
    tpm: row.tpmLimit ?? undefined,
    useCases,
    budgetUsd: budget,
    budgetPeriod: budget !== undefined ? ((budgetPeriods as readonly string[]).includes(row.budgetPeriod ?? '') ? (row.budgetPeriod as BudgetPeriod) : 'monthly') : undefined,
  };
}

/** One line for `mms apikey list`: `60 rpm, 20000 tpm, npc_dialogue 10 rpm, $5/daily`. */
export function describeLimits(l: KeyLimits): string {
  const parts: string[] = [];
  if (l.rpm !== undefined) parts.push(`${l.rpm} rpm`);
  if (l.tpm !== undefined) parts.push(`${l.tpm} tpm`);
  for (const [id, u] of Object.entries(l.useCases)) {
    if (u.rpm !== undefined) parts.push(`${id} ${u.rpm} rpm`);
    if (u.tpm !== undefined) parts.push(`${id} ${u.tpm} tpm`);
  }
  if (l.budgetUsd !== undefined) parts.push(`$${l.budgetUsd}/${l.budgetPeriod ?? 'monthly'}`);
  return parts.length ? parts.join(', ') : 'none';
}

export { positiveInt as parseLimitValue };
