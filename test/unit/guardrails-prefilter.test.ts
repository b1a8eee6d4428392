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

  it('skips a lexicon only when it cannot match: every lexicon on every train output and on word pieces', () => {
    const lexicons = [...new Set([...HARM_RULES.map((r) => r.pattern), L.DARK_FICTION, ...ENGAGEMENT_RULES.map((r) => r.pattern), ...HARM_RULES.flatMap((r) => (r.near ?? []).map((n) => n.pattern))])];
    const prefilter = new LexiconPrefilter(lexicons);
    const texts = loadLabelledSet('train').map((o) => normalize(o.text));
    // Cut words at the start (a match inside a word is no word start) and Japanese without its neighbours.
    const pieces = texts.flatMap((t) => [t.slice(3), t.slice(t.length >> 1)]);
    let skipped = 0;
    for (const text of [...texts, ...pieces]) {
      const candidates = prefilter.candidates(text);
      for (const lexicon of lexicons) {
        lexicon.lastIndex = 0;
        const matches = lexicon.test(text);
        lexicon.lastIndex = 0;
        if (!prefilter.mayMatch(candidates, lexicon)) {
          skipped++;
          expect({ lexicon: lexicon.source.slice(0, 60), text, matches }).toEqual({ lexicon: lexicon.source.slice(0, 60), text, matches: false });
        }
      }
    }
    // It does skip: most lexicons on most outputs.
    expect(skipped).toBeGreaterThan(0.7 * lexicons.length * (texts.length + pieces.length));
  });
});
