import { RegExpParser, type AST } from '@eslint-community/regexpp';

/**
 * One pass over a text that tells which of tier 1's lexicons can match it, so that tier 1 runs only
 * those (most game outputs match no lexicon, and each lexicon's own scan costs about as much as this
 * pass). Sound by construction: a lexicon is skipped only when the text lacks every string that a match
 * of it must start with.
 *
 * The strings are read from each lexicon's parsed pattern: for every top-level alternative, the set of
 * its possible first `PREFIX_CHARS` characters (`(?:your|ur) (?:whole )?savings` → `your w`, `your s`,
 * `ur who`, `ur sav`), cut short where an element cannot be enumerated (`\d+`, `[a-z ]{0,20}`, `.`). An
 * alternative of `words()` starts at a word boundary, so its prefixes are searched only at word starts
 * (one regex, `\b(?=(…))`); the others (Japanese, a leading `[`) at every position, the non-ASCII ones
 * only in texts with a non-ASCII character. A lexicon with an alternative whose prefix is empty, or with
 * the `i` or `y` flag, is always run. The pass also records where each prefix starts, and a lexicon it
 * lets through is tried, sticky, only at those positions (`matches`).
 */

/**
 * Longer prefixes skip more lexicons but make the prefix regex bigger; V8 stops optimising a regex
 * past 20 KB of source, and at 8 characters the word-start regex passes that and costs ten times more
 * (session 8, the train split).
 */
const PREFIX_CHARS = 6;
/**
 * V8 compiles a regex of a longer source without its optimisations (`kRegExpTooLargeToOptimize`, 20 KB): past it,
 * the trie's regex is cut into several by first character (session 13: the word-start trie reached 20.5 KB).
 */
const REGEX_SOURCE_LIMIT = 16 * 1024;
/** A larger set of prefixes for one alternative is cut to the prefixes it had so far (still sound). */
const MAX_PREFIXES = 256;
/** A character class is enumerated up to this many characters (`[5-9]`, `[i1]`); a wider one ends the prefix. */
const MAX_CLASS = 16;
const WORD_START = /^[A-Za-z0-9_]/;
/** What a lexicon the pass rules out matches (shared: most lexicons on most texts). */
const NO_MATCHES: ReadonlyArray<readonly [number, number]> = Object.freeze([]);
const NON_ASCII = /[\u0080-\uffff]/; // without the u flag: a surrogate half counts too

/** Prefixes of one alternative; a closed prefix cannot grow (an element after it was not enumerable). */
type Prefixes = Map<string, boolean>;

function classChars(node: AST.Node): string[] | undefined {
  if (node.type === 'Character') return [String.fromCodePoint(node.value)];
  if (node.type === 'CharacterSet') return node.kind === 'digit' && !node.negate ? [...'0123456789'] : undefined;
  if (node.type !== 'CharacterClass' || node.negate || node.unicodeSets) return undefined;
  const out: string[] = [];
  for (const e of node.elements) {
    if (e.type === 'Character') out.push(String.fromCodePoint(e.value));
    else if (e.type === 'CharacterClassRange' && e.max.value - e.min.value < MAX_CLASS) for (let c = e.min.value; c <= e.max.value; c++) out.push(String.fromCodePoint(c));
    else if (e.type === 'CharacterSet' && classChars(e)) out.push(...classChars(e)!);
    else return undefined;
  }
  return out.length <= MAX_CLASS ? out : undefined;
}

const closeAll = (from: Prefixes): Prefixes => new Map([...from.keys()].map((s) => [s, true]));
const isOpen = (s: string, closed: boolean) => !closed && [...s].length < PREFIX_CHARS;

/** The prefixes after `node` has matched, given the prefixes before it. */
function extend(from: Prefixes, node: AST.Node): Prefixes {
  if (![...from].some(([s, closed]) => isOpen(s, closed))) return from;
  switch (node.type) {
    case 'Assertion':
      return from; // matches no character
    case 'Character':
    case 'CharacterClass':
    case 'CharacterSet': {
      const chars = classChars(node);
      return chars ? append(from, chars) : closeAll(from);
    }
    case 'Group':
    case 'CapturingGroup': {
      const out: Prefixes = new Map();
      for (const alternative of node.alternatives) for (const [s, closed] of sequence(from, alternative.elements)) out.set(s, (out.get(s) ?? false) || closed);
      return out.size > MAX_PREFIXES ? closeAll(from) : out;
    }
    case 'Quantifier': {
      // x? x{0,3} are enumerated; x+ x{2,} x* end the prefix after their required repetitions' first one.
      if (node.max > 3) return node.min >= 1 ? closeAll(extend(from, node.element)) : closeAll(from);
      const out: Prefixes = new Map(node.min === 0 ? from : []);
      let acc = from;
      for (let k = 1; k <= node.max; k++) {
        acc = extend(acc, node.element);
        if (k >= node.min) for (const [s, closed] of acc) out.set(s, (out.get(s) ?? false) || closed);
      }
      return out.size > MAX_PREFIXES ? closeAll(from) : out;
    }
    default:
      return closeAll(from); // back-references and the like: not enumerated
  }
}

function append(from: Prefixes, chars: string[]): Prefixes {
  const out: Prefixes = new Map();
  for (const [s, closed] of from) {
    if (!isOpen(s, closed)) out.set(s, closed);
    else for (const c of chars) out.set(s + c, false);
  }
  return out.size > MAX_PREFIXES ? closeAll(from) : out;
}

function sequence(from: Prefixes, elements: readonly AST.Element[]): Prefixes {
  let prefixes = from;
  for (const element of elements) prefixes = extend(prefixes, element);
  return prefixes;
}

interface AlternativePrefixes {
  prefixes: string[];
  /** Preceded by `\b` and starting with a word character: the match starts at a word start. */
  atWordStart: boolean;
}

/** The top-level alternatives of a lexicon, looking into `words()`'s `\b(?:…)\b` and `kana()`'s `(?:…)`. */
function alternativesOf(pattern: AST.Pattern): Array<{ elements: readonly AST.Element[]; afterWordBoundary: boolean }> {
  const out: Array<{ elements: readonly AST.Element[]; afterWordBoundary: boolean }> = [];
  const visit = (alternative: AST.Alternative, afterWordBoundary: boolean) => {
    const [first, second] = alternative.elements;
    if (alternative.elements.length === 1 && first?.type === 'Group') for (const a of first.alternatives) visit(a, afterWordBoundary);
    else if (alternative.elements.length === 3 && first?.type === 'Assertion' && first.kind === 'word' && !first.negate && second?.type === 'Group') {
      // \b(?:a|b)\b: each of a, b starts after the boundary; the trailing \b only narrows the match.
      for (const a of second.alternatives) out.push({ elements: a.elements, afterWordBoundary: true });
    } else out.push({ elements: alternative.elements, afterWordBoundary });
  };
  for (const a of pattern.alternatives) visit(a, false);
  return out;
}

/** The prefixes of every alternative of a lexicon, or undefined when some alternative has none. */
export function lexiconPrefixes(lexicon: RegExp): AlternativePrefixes[] | undefined {
  if (lexicon.ignoreCase || lexicon.sticky) return undefined;
  const pattern = new RegExpParser({ ecmaVersion: 2025 }).parsePattern(lexicon.source, 0, lexicon.source.length, { unicode: lexicon.unicode, unicodeSets: lexicon.flags.includes('v') });
  const out: AlternativePrefixes[] = [];
  for (const { elements, afterWordBoundary } of alternativesOf(pattern)) {
    const prefixes = [...sequence(new Map([['', false]]), elements).keys()];
    if (prefixes.includes('')) return undefined;
    out.push({ prefixes, atWordStart: afterWordBoundary && prefixes.every((p) => WORD_START.test(p)) });
  }
  return out;
}

interface TrieNode {
  /** Lexicons whose prefix ends here. */
  lexicons: Set<number>;
  end: boolean;
  next: Map<string, TrieNode>;
}

const newNode = (): TrieNode => ({ lexicons: new Set(), end: false, next: new Map() });
const escape = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
const escapeInClass = (c: string) => c.replace(/[\\\][^-]/g, '\\$&');

/**
 * A prefix trie as a regex that matches the longest prefix at a position: the prefixes that end on the
 * way are then those that are its own prefixes, whose lexicons `bits` gathers (a plain alternation
 * would report only one prefix per position and miss the lexicons of the others).
 */
class PrefixSearch {
  private readonly root = newNode();
  /** Every prefix → the bit mask of the lexicons of it and of its own prefixes. */
  readonly bits = new Map<string, Uint32Array>();
  /** The trie's regex, cut into several by first character when one would pass `REGEX_SOURCE_LIMIT`. */
  regexes: RegExp[] = [];
  /**
   * For a trie searched at every position (not only at word starts): the prefixes' first characters, found with one
   * character class, and only there is the trie (sticky) tried. The trie's lookahead tried at every position of a
   * 2.5 KB two-byte (Japanese) answer cost 10–20 ms once V8 had run it on short answers (session 13: 54 % of tier 1's
   * time on holdout-9's long outputs).
   */
  private firstChars?: RegExp;

  constructor(private readonly words: number) {}

  add(prefix: string, lexicon: number): void {
    let node = this.root;
    for (const c of prefix) {
      let next = node.next.get(c);
      if (!next) node.next.set(c, (next = newNode()));
      node = next;
    }
    node.end = true;
    node.lexicons.add(lexicon);
  }

  compile(atWordStart: boolean): void {
    if (!this.root.next.size) return;
    const groups: string[][] = [[]];
    let length = 0;
    for (const branch of this.branches(this.root, '', new Uint32Array(this.words))) {
      if (length + branch.length + 1 > REGEX_SOURCE_LIMIT && groups.at(-1)!.length > 0) {
        groups.push([]);
        length = 0;
      }
      groups.at(-1)!.push(branch);
      length += branch.length + 1;
    }
    this.regexes = groups.map((g) => new RegExp(`${atWordStart ? '\\b' : ''}(?=((?:${g.join('|')})))`, atWordStart ? 'g' : 'y'));
    if (!atWordStart) this.firstChars = new RegExp(`[${[...this.root.next.keys()].map(escapeInClass).join('')}]`, 'g');
  }

  private source(node: TrieNode, prefix: string, above: Uint32Array): string {
    const branches = this.branches(node, prefix, above);
    return branches.length === 1 ? branches[0]! : `(?:${branches.join('|')})`;
  }

  /** One alternative per child of `node`: the child's character and its subtree (filling `bits` on the way). */
  private branches(node: TrieNode, prefix: string, above: Uint32Array): string[] {
    const branches: string[] = [];
    for (const [c, child] of node.next) {
      const bits = above.slice();
      for (const k of child.lexicons) bits[k >> 5]! |= 1 << (k & 31);
      if (child.end) this.bits.set(prefix + c, bits);
      const rest = child.next.size ? this.source(child, prefix + c, bits) : '';
      branches.push(escape(c) + (rest && child.end ? `(?:${rest})?` : rest));
    }
    return branches;
  }

  /**
   * Every position of `text` where a prefix starts, with the lexicons of that prefix and of its own prefixes;
   * returns how many of the regexes found one (each one's positions ascend; a position has one first character,
   * so no two regexes report the same one).
   */
  search(text: string, scan: PrefilterScan): number {
    if (this.firstChars) return this.searchAtFirstChars(text, scan, this.firstChars);
    let found = 0;
    for (const regex of this.regexes) {
      const before = scan.positions.length;
      regex.lastIndex = 0;
      for (let m = regex.exec(text); m; m = regex.exec(text)) {
        this.record(scan, m.index, m[1]!);
        regex.lastIndex = m.index + 1; // the next prefix may start inside this one
      }
      if (scan.positions.length > before) found++;
    }
    return found;
  }

  /** One prefix found at `at`: its lexicons become candidates there. */
  private record(scan: PrefilterScan, at: number, prefix: string): void {
    const bits = this.bits.get(prefix)!;
    for (let w = 0; w < bits.length; w++) scan.bits[w]! |= bits[w]!;
    scan.positions.push(at);
    scan.positionBits.push(bits);
  }

  /** `search` for a trie tried anywhere: its sticky regexes at each position of a first character, in ascending order. */
  private searchAtFirstChars(text: string, scan: PrefilterScan, firstChars: RegExp): number {
    const before = scan.positions.length;
    firstChars.lastIndex = 0;
    for (let c = firstChars.exec(text); c; c = firstChars.exec(text)) {
      for (const regex of this.regexes) {
        regex.lastIndex = c.index;
        const m = regex.exec(text);
        if (!m) continue;
        this.record(scan, m.index, m[1]!);
        break; // a position has one first character, so one regex at most
      }
    }
    return scan.positions.length > before ? 1 : 0;
  }
}

/** One text's prefilter pass: the lexicons that may match it, and where their matches may start. */
export interface PrefilterScan {
  text: string;
  bits: Uint32Array;
  /** Positions where a prefix starts, ascending, and the lexicons it is a prefix of. */
  positions: number[];
  positionBits: Uint32Array[];
}

export class LexiconPrefilter {
  private readonly index = new Map<RegExp, number>();
  private readonly words: number;
  /** Lexicons that cannot be prefiltered: always candidates. */
  private readonly always: Uint32Array;
  private readonly atWordStart: PrefixSearch;
  private readonly anywhereAscii: PrefixSearch;
  private readonly anywhereNonAscii: PrefixSearch;
  /** Each lexicon with the y flag instead of g: matched at one position. */
  private readonly sticky: RegExp[] = [];

  constructor(lexicons: readonly RegExp[]) {
    this.words = Math.max(1, Math.ceil(lexicons.length / 32));
    this.always = new Uint32Array(this.words);
    this.atWordStart = new PrefixSearch(this.words);
    this.anywhereAscii = new PrefixSearch(this.words);
    this.anywhereNonAscii = new PrefixSearch(this.words);
    lexicons.forEach((lexicon, k) => {
      if (this.index.has(lexicon)) return;
      this.index.set(lexicon, k);
      this.sticky[k] = new RegExp(lexicon.source, `${lexicon.flags.replace('g', '')}y`);
      const alternatives = lexiconPrefixes(lexicon);
      if (!alternatives) {
        this.always[k >> 5]! |= 1 << (k & 31);
        return;
      }
      for (const { prefixes, atWordStart } of alternatives)
        for (const p of prefixes) (atWordStart ? this.atWordStart : NON_ASCII.test(p) ? this.anywhereNonAscii : this.anywhereAscii).add(p, k);
    });
    this.atWordStart.compile(true);
    this.anywhereAscii.compile(false);
    this.anywhereNonAscii.compile(false);
  }

  /** The prefilter pass over `text`. */
  scan(text: string): PrefilterScan {
    const scan: PrefilterScan = { text, bits: this.always.slice(), positions: [], positionBits: [] };
    let sources = this.atWordStart.search(text, scan);
    sources += this.anywhereAscii.search(text, scan);
    // A prefix with a non-ASCII character occurs only in a text that has one.
    if (NON_ASCII.test(text)) sources += this.anywhereNonAscii.search(text, scan);
    // Each regex's positions ascend; merged from several, they are sorted once.
    if (sources > 1) {
      const order = scan.positions.map((_, i) => i).sort((a, b) => scan.positions[a]! - scan.positions[b]!);
      scan.positions = order.map((i) => scan.positions[i]!);
      scan.positionBits = order.map((i) => scan.positionBits[i]!);
    }
    return scan;
  }

  has(lexicon: RegExp): boolean {
    return this.index.has(lexicon);
  }

  /** False only when `lexicon` cannot match the scanned text; true for a lexicon this prefilter does not know. */
  mayMatch(scan: PrefilterScan, lexicon: RegExp): boolean {
    const k = this.index.get(lexicon);
    return k === undefined || (scan.bits[k >> 5]! & (1 << (k & 31))) !== 0;
  }

  /**
   * Every match of `lexicon` in the scanned text as [index, length], the same as its global scan from 0
   * (undefined for a lexicon this prefilter does not know). A match starts where one of its prefixes does,
   * so the lexicon is tried, sticky, only at those positions, left to right, each after the last match's end
   * (what the global scan does, which tries every position): a 1.8 KB answer has a few dozen of them.
   */
  matches(scan: PrefilterScan, lexicon: RegExp): ReadonlyArray<readonly [number, number]> | undefined {
    const k = this.index.get(lexicon);
    if (k === undefined) return undefined;
    const word = k >> 5;
    const bit = 1 << (k & 31);
    if (!(scan.bits[word]! & bit)) return NO_MATCHES;
    const found: Array<[number, number]> = [];
    if (this.always[word]! & bit) {
      lexicon.lastIndex = 0;
      for (let m = lexicon.exec(scan.text); m; m = lexicon.exec(scan.text)) {
        found.push([m.index, m[0].length]);
        if (m[0].length === 0) lexicon.lastIndex++;
      }
      return found;
    }
    const sticky = this.sticky[k]!;
    let from = 0;
    for (let i = 0; i < scan.positions.length; i++) {
      const at = scan.positions[i]!;
      if (at < from || !(scan.positionBits[i]![word]! & bit)) continue;
      sticky.lastIndex = at;
      const m = sticky.exec(scan.text);
      if (!m) continue;
      found.push([at, m[0].length]);
      from = at + Math.max(1, m[0].length);
    }
    return found;
  }
}
