import crypto from 'node:crypto';

/** JSON with object keys sorted, so equal values always hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

export const sha256 = (text: string) => crypto.createHash('sha256').update(text).digest('hex');

export const hashOf = (value: unknown) => sha256(canonicalJson(value));

type WellFormable = string & { isWellFormed(): boolean; toWellFormed(): string };

/**
 * A value as the text of a jsonb query parameter. JSON.stringify escapes a lone surrogate (text cut
 * mid-pair by a model or a max_tokens limit) as \udXXX, which jsonb refuses: such strings become
 * well-formed (U+FFFD) instead, as a text column's UTF-8 encoding would make them.
 */
export function jsonbParam(value: unknown): string {
  const text = JSON.stringify(value);
  // only lone surrogates are escaped this way (pairs stay raw), so this finds them (and, harmlessly, text spelling out "\\ud")
  if (!text.includes('\\ud')) return text;
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' && !(v as WellFormable).isWellFormed() ? (v as WellFormable).toWellFormed() : v));
}
