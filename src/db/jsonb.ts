/**
 * Text PostgreSQL takes, for every writer that builds its own SQL parameters (the gateway's log rows,
 * the evaluation's answers and per-prompt results): PostgreSQL refuses NUL in text and in jsonb, and
 * jsonb (and Prisma) refuse the `\udXXX` escape of a lone UTF-16 surrogate (text cut mid-pair by a
 * model or a max_tokens limit). Pure: no I/O.
 */

const NUL = String.fromCharCode(0);
type WellFormable = string & { isWellFormed(): boolean; toWellFormed(): string };

/** NUL removed, a lone surrogate made U+FFFD (what encoding the text to UTF-8 does). */
export function storableText(s: string): string {
  const t = s.includes(NUL) ? s.split(NUL).join('') : s;
  return (t as WellFormable).isWellFormed() ? t : (t as WellFormable).toWellFormed();
}

const storableStrings = (_key: string, v: unknown) => (typeof v === 'string' ? storableText(v) : v);

/**
 * A value as JSON text for a jsonb parameter or column, every string in it storable. JSON.stringify
 * escapes NUL as \u0000 and only lone surrogates as \udXXX (pairs stay raw), so the plain text shows
 * whether any string needs mending; a replacer makes JSON.stringify several times slower, so it runs
 * only then (text that merely spells such an escape out takes that path too, and is left as it is).
 */
export function jsonbText(value: unknown): string {
  const text = JSON.stringify(value);
  return text.includes('\\u0000') || text.includes('\\ud') ? JSON.stringify(value, storableStrings) : text;
}
