/**
 * npm run -s guardrails:tier1-verdicts [-- --check FILE]
 *
 * Tier 1's verdicts on a fixed corpus, as one SHA-256 of the full verdict JSON per line, to prove that a
 * change of tier 1's implementation (not of its lexicons or rules) leaves every verdict as it was: write
 * the digests with the old code, then `--check` them with the new one; it exits 1 when any differs.
 *
 * The corpus: every output of data/guardrails (train, test and holdout-9: only their verdicts'
 * digests are written, never their texts), each whole and in 64-character windows every 16 characters
 * (the stream's windows, judged harm-only, and cut words at both ends), 20 consecutive outputs joined (the
 * ~1.8 KB long answers of the bench), and the texts of tier 1's unit tests (the multilingual ones and the
 * long stream filler).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { classifyTier1, type Tier1Options } from '../src/guardrails/tier1';

const root = join(__dirname, '..');
const SPLITS = ['train', 'test', 'holdout-9'];
const UNIT_TESTS = ['test/unit/guardrails-tier1.test.ts', 'test/unit/tier1-stream-window.test.ts'];

function corpus(): Array<{ text: string; options: Tier1Options }> {
  const out: Array<{ text: string; options: Tier1Options }> = [];
  for (const split of SPLITS) {
    const texts = readFileSync(join(root, 'data/guardrails', `${split}.jsonl`), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => (JSON.parse(l) as { text: string }).text);
    for (const text of texts) {
      out.push({ text, options: {} });
      for (let i = 0; i < text.length; i += 16) out.push({ text: text.slice(i, i + 64), options: { harmOnly: true } });
    }
    for (let k = 0; k + 20 <= texts.length; k += 20) out.push({ text: texts.slice(k, k + 20).join(' '), options: {} });
  }
  // String literals of the unit tests (their multilingual and long texts), read by the TypeScript parser.
  for (const file of UNIT_TESTS) {
    const visit = (node: ts.Node): void => {
      if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && node.text.length >= 12) {
        out.push({ text: node.text, options: {} }, { text: node.text.repeat(20), options: {} }, { text: node.text, options: { harmOnly: true } });
      }
      ts.forEachChild(node, visit);
    };
    visit(ts.createSourceFile(file, readFileSync(join(root, file), 'utf8'), ts.ScriptTarget.Latest));
  }
  return out;
}

const digest = (s: string) => createHash('sha256').update(s).digest('hex');
const args = process.argv.slice(2);
const lines = corpus().map(({ text, options }) => digest(JSON.stringify(classifyTier1(text, options))));
if (args[0] === '--check') {
  const expected = readFileSync(args[1]!, 'utf8').trim().split('\n');
  if (expected.length !== lines.length) throw new Error(`--check ${args[1]}: ${expected.length} digests, the corpus has ${lines.length} items`);
  const differ = lines.filter((d, i) => d !== expected[i]).length;
  console.log(`tier 1 verdicts compared: ${lines.length}; differ: ${differ}`);
  process.exit(differ ? 1 : 0);
} else if (args[0] === '--out') {
  writeFileSync(args[1]!, `${lines.join('\n')}\n`);
  console.log(`tier 1 verdicts: ${lines.length} digests written to ${args[1]}`);
} else {
  console.error('usage: guardrails-tier1-verdicts --out FILE | --check FILE');
  process.exit(2);
}
