import { ENGAGEMENT_RULES, HARM_RULES, normalize } from '../../src/guardrails';
import { loadLabelledSet } from '../../src/guardrails/dataset';
import * as L from '../../src/guardrails/lexicon';
import { LexiconPrefilter, lexiconPrefixes } from '../../src/guardrails/prefilter';

describe('tier 1 lexicon prefilter', () => {
  it('reads the prefixes a match must start with, at word starts for words() and anywhere for kana()', () => {
    const lexicon = L.anyOf(L.words('(?:your|ur) (?:whole )?savings', 'kids?'), L.kana('子供'));
    expect(lexiconPrefixes(lexicon)).toEqual([
      { prefixes: ['kid', 'kids'], atWordStart: true },
      { prefixes: expect.arrayContaining(['your w', 'your s', 'ur who', 'ur sav']), atWordStart: true },
      { prefixes: ['子供'], atWordStart: false },
    ]);
  });

  it('gives up on an alternative without a prefix (always scanned) and cuts a prefix at what it cannot enumerate', () => {
    expect(lexiconPrefixes(L.anyOf(L.words('\\d+ ?% off', '[a-z]+ing')))).toBeUndefined();
    expect(lexiconPrefixes(L.anyOf(L.words('ab\\s+cd')))).toEqual([{ prefixes: ['ab'], atWordStart: true }]);
    expect(lexiconPrefixes(/kill/giu)).toBeUndefined();
  });

  it('finds every match a global scan finds, and skips a lexicon only when it has none: every lexicon on every train output and on pieces of them', () => {
    const near = [...HARM_RULES, ...ENGAGEMENT_RULES].flatMap((r) => [...(r.near ?? []), ...('notNear' in r ? (r.notNear ?? []) : [])].map((n) => n.pattern));
    const lexicons = [...new Set([...HARM_RULES.map((r) => r.pattern), L.DARK_FICTION, ...ENGAGEMENT_RULES.map((r) => r.pattern), ...near])];
    const prefilter = new LexiconPrefilter(lexicons);
    const texts = loadLabelledSet('train').map((o) => normalize(o.text));
    // Pieces cut inside words (a match there starts at no word start) and Japanese without its neighbours.
    const pieces = texts.flatMap((t) => [t.slice(3), t.slice(t.length >> 1)]);
    let skipped = 0;
    const wrong: Array<{ lexicon: string; text: string; prefiltered: unknown; scanned: unknown }> = [];
    for (const text of [...texts, ...pieces]) {
      const scan = prefilter.scan(text);
      for (const lexicon of lexicons) {
        const scanned: Array<[number, number]> = [];
        lexicon.lastIndex = 0;
        for (let m = lexicon.exec(text); m; m = lexicon.exec(text)) scanned.push([m.index, m[0].length]);
        const prefiltered = prefilter.matches(scan, lexicon)!;
        if (JSON.stringify(prefiltered) !== JSON.stringify(scanned) || (!prefilter.mayMatch(scan, lexicon) && scanned.length)) wrong.push({ lexicon: lexicon.source.slice(0, 60), text, prefiltered, scanned });
        if (!prefilter.mayMatch(scan, lexicon)) skipped++;
      }
    }
    expect(wrong).toEqual([]);
    // The word-start trie of all these lexicons is past V8's 20 KB optimisation limit as one regex: it is cut into several below it.
    const wordStart = (prefilter as unknown as { atWordStart: { regexes: RegExp[] } }).atWordStart.regexes;
    expect(wordStart.length).toBeGreaterThan(1);
    for (const r of wordStart) expect(r.source.length).toBeLessThan(20 * 1024);
    // It does skip: most lexicons on most outputs.
    expect(skipped).toBeGreaterThan(0.7 * lexicons.length * (texts.length + pieces.length));
  });
});
