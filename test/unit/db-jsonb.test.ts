import { jsonbText, storableText } from '../../src/db/jsonb';

const NUL = String.fromCharCode(0);
const lone = String.fromCharCode(0xd800);

describe('text PostgreSQL takes (src/db/jsonb)', () => {
  it('storableText strips NUL and makes a lone surrogate U+FFFD, leaving pairs and plain text alone', () => {
    expect(storableText(`a${NUL}b`)).toBe('ab');
    expect(storableText(`cut ${lone} here`)).toBe('cut \ufffd here');
    expect(storableText('dragon 🐉')).toBe('dragon 🐉');
  });

  it('jsonbText mends every string of a value, at any depth, and keeps text that only spells an escape out', () => {
    const value = { answer: `x${NUL}y`, nested: [[`half ${lone}`, 3, null]], note: 'literally \\u0000 and \\ud800', emoji: '🐉' };
    expect(JSON.parse(jsonbText(value))).toEqual({ answer: 'xy', nested: [['half \ufffd', 3, null]], note: 'literally \\u0000 and \\ud800', emoji: '🐉' });
    expect(jsonbText({ a: NUL, b: lone })).toBe('{"a":"","b":"\ufffd"}');
    // nothing to mend: the plain JSON text, byte for byte
    const plain = { a: 'tab\t and "quotes"', b: [1, 2] };
    expect(jsonbText(plain)).toBe(JSON.stringify(plain));
  });
});
