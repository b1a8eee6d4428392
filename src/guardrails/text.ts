const NON_ASCII = /[\u0080-\uffff]/;
/** What `\s+` → ' ' changes in ASCII text: a whitespace character other than a space, or two in a row. */
const ASCII_WHITESPACE_TO_FOLD = /[\t\n\v\f\r]| {2}/;

/**
 * Text normalisation shared by tier 1 and the labelled-set tools: NFKC, lower case, Latin diacritics
 * stripped (so `tötе`, `suicídate` and `criança` match plain-ASCII patterns), typographic quotes and
 * apostrophes folded, whitespace collapsed. Japanese is left intact (dakuten recomposed by NFC).
 */
export function normalize(text: string): string {
  // Plain ASCII (most answers): NFKD/NFC, the diacritics and the typographic folds are no-ops, so only
  // lower case, the backtick and whitespace runs remain — the same result at a fifth of the cost.
  if (!NON_ASCII.test(text)) {
    let s = text.toLowerCase();
    if (s.includes('`')) s = s.replace(/`/g, "'");
    return ASCII_WHITESPACE_TO_FOLD.test(s) ? s.replace(/\s+/g, ' ') : s;
  }
  return normalizeFully(text);
}

/** `normalize` without its ASCII fast path: every step, whatever the text. */
export function normalizeFully(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .normalize('NFC')
    .toLowerCase()
    .replace(/ß/g, 'ss')
    .replace(/[\u2018\u2019\u201b\u2032`´]/g, "'")
    .replace(/[\u201c\u201d\u201e\u201f\u00ab\u00bb\u300c\u300d\u300e\u300f]/g, '"')
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .replace(/\s+/g, ' ');
}

/** Spans of quoted speech ("…", «…», 「…」 after normalisation all become "…"). */
export function quotedSpans(normalized: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  let open = -1;
  for (let i = 0; i < normalized.length; i++) {
    if (normalized.charCodeAt(i) !== 34) continue;
    if (open < 0) open = i;
    else {
      spans.push([open, i]);
      open = -1;
    }
  }
  return spans;
}

/** The span (of `quotedSpans`) that holds `index`, if any. */
export function spanAt(spans: Array<[number, number]>, index: number): [number, number] | undefined {
  return spans.find(([a, b]) => index > a && index < b);
}

/** A short excerpt of the original match for explanations. */
export function evidence(text: string, index: number, length: number): string {
  const s = text.slice(index, index + Math.min(length, 80));
  return s.length < length ? `${s}…` : s;
}

/** A sentence's length in Latin-letter terms: a kana or kanji says about as much as three letters. */
const weight = (s: string) => s.length + 2 * (s.match(/[\u3040-\u9fff]/gu)?.length ?? 0);

/** Sentence ends: . ! ? … (and runs of them) followed by a space or a closing quote, Japanese 。！？, line breaks. */
const SENTENCE_END = /(?<=[.!?…]["')\]»」』]?)\s+(?=\S)|(?<=[。！？])\s*(?=\S)|\s*\n+\s*/u;

/**
 * The sentences of an output, for tier 2's sentence-level features: one harmful sentence buried in a
 * paragraph of story dilutes the embedding of the whole, so each sentence is judged too. Fragments of
 * fewer than `minChars` characters are joined to the one before ("Yes." says nothing alone).
 */
export function sentences(text: string, minChars = 12): string[] {
  const parts = text.split(SENTENCE_END).map((s) => s.trim()).filter(Boolean);
  const out: string[] = [];
  for (const p of parts) {
    if (out.length && (weight(p) < minChars || weight(out[out.length - 1]!) < minChars)) out[out.length - 1] += ` ${p}`;
    else out.push(p);
  }
  return out;
}
