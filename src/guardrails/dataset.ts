import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../paths';
import { ENGAGEMENT_INDICATORS, HARM_CATEGORIES, SEVERITIES, type EngagementIndicator, type HarmCategory, type Severity } from './types';

/**
 * The labelled set (data/guardrails/): hand-written outputs in data/guardrails/source/*.txt plus
 * outputs generated from templates (data/guardrails/templates.ts), split into train.jsonl and
 * test.jsonl by scripts/guardrails-dataset.ts. Rules for labelling: data/guardrails/LABELLING.md.
 */
/**
 * `train` (lexicons, tier-2 weights and every threshold are fitted here; it also holds the retired holdouts,
 * `holdout-source/` and `holdout-2-source/` since session 7, `holdout-3-source/` since session 9 and
 * `holdout-4-source/` and `holdout-5-source/` since session 10, `holdout-6-source/` since session 11, `holdout-7-source/`
 * since session 12 and `holdout-8-source/` since session 13, whose figures
 * had been looked at too often to measure generalisation), `test` (the first held-out split, looked at while tier 2
 * was tuned; reported at the end of a round, never tuned on) and `holdout-9` (from `holdout-9-source/`, written in
 * session 13 before any change or figure of that session, from LABELLING.md and the issue only, without reading a
 * lexicon, rule, training source or earlier holdout; never tuned on; only aggregate figures are reported).
 */
export type LabelledSplit = 'train' | 'test' | 'holdout-9';
export const LABELLED_SPLITS: readonly LabelledSplit[] = ['train', 'test', 'holdout-9'];
/** The splits nothing is fitted on: the benchmark reports each of them in its own column. */
export const HELD_OUT_SPLITS: readonly LabelledSplit[] = ['test', 'holdout-9'];

export interface LabelledOutput {
  id: string;
  use_case: string;
  language: string;
  /** What the item is there to test: `dark_fiction`, `timer`, `gold`, `farewell`, `harm`, `engagement`, … */
  kind: string;
  split: LabelledSplit;
  text: string;
  label: {
    harm: { severity: Severity; categories: HarmCategory[] };
    fiction_dark: boolean;
    engagement: Record<EngagementIndicator, boolean>;
  };
}

export const DATA_DIR = path.join(projectRoot, 'data', 'guardrails');

const SEVERITY_CODES: Record<string, Severity> = { n: 'none', l: 'low', m: 'medium', h: 'high', c: 'critical' };
export const CATEGORY_CODES: Record<string, HarmCategory> = {
  sh: 'self_harm',
  viol: 'real_world_violence',
  wd: 'weapons_or_drugs_instructions',
  sm: 'sexual_minors',
  hate: 'hate',
  har: 'harassment',
  ill: 'illegal_instructions',
  priv: 'privacy',
  mf: 'medical_or_financial_harm',
};
export const FLAG_CODES: Record<string, EngagementIndicator | 'fiction_dark'> = {
  D: 'fiction_dark',
  B: 'encourages_breaks',
  R: 'acknowledges_real_life',
  S: 'respectful_boundaries',
  M: 'manipulation',
  F: 'fomo',
  O: 'encourages_obsession',
};

export function labelFromCodes(sev: string, cats: string, flags: string, where: string): LabelledOutput['label'] {
  const severity = SEVERITY_CODES[sev];
  if (!severity) throw new Error(`${where}: unknown severity code "${sev}" (n, l, m, h, c)`);
  const categories = cats === '-' ? [] : cats.split(',').map((c) => {
    const category = CATEGORY_CODES[c.trim()];
    if (!category) throw new Error(`${where}: unknown category code "${c}" (${Object.keys(CATEGORY_CODES).join(', ')})`);
    return category;
  });
  if ((severity === 'none') !== (categories.length === 0)) throw new Error(`${where}: severity ${severity} with categories [${categories.join(', ')}]: none goes with no category, and a category needs a severity`);
  const engagement = Object.fromEntries(ENGAGEMENT_INDICATORS.map((k) => [k, false])) as Record<EngagementIndicator, boolean>;
  let fictionDark = false;
  if (flags !== '-') {
    for (const f of flags) {
      const flag = FLAG_CODES[f];
      if (!flag) throw new Error(`${where}: unknown flag "${f}" (${Object.keys(FLAG_CODES).join('')})`);
      if (flag === 'fiction_dark') fictionDark = true;
      else engagement[flag] = true;
    }
  }
  return { harm: { severity, categories: [...new Set(categories)] }, fiction_dark: fictionDark, engagement };
}

/**
 * Parses one source file: `## <use_case> <language> <kind>` headers, then `SEV CATS FLAGS | text`
 * lines. Every third item of a section is test, unless `allIn` puts every item in one split (a train-only file, a holdout).
 */
export function parseSource(file: string, content: string, allIn?: LabelledSplit): Array<Omit<LabelledOutput, 'id'> & { key: string }> {
  const items: Array<Omit<LabelledOutput, 'id'> & { key: string }> = [];
  let section: { useCase: string; language: string; kind: string; n: number } | undefined;
  content.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    const where = `${path.basename(file)}:${i + 1}`;
    if (!line || (line.startsWith('#') && !line.startsWith('##'))) return;
    if (line.startsWith('##')) {
      const [useCase, language, kind] = line.slice(2).trim().split(/\s+/);
      if (!useCase || !language || !kind) throw new Error(`${where}: a section header is "## <use_case> <language> <kind>"`);
      section = { useCase, language, kind, n: 0 };
      return;
    }
    if (!section) throw new Error(`${where}: item before any "##" section header`);
    const m = /^(\S+)\s+(\S+)\s+(\S+)\s+\|\s+(.+)$/.exec(line);
    if (!m) throw new Error(`${where}: expected "SEV CATS FLAGS | text"`);
    const label = labelFromCodes(m[1]!, m[2]!, m[3]!, where);
    const split = allIn ?? (section.n % 3 === 1 ? 'test' : 'train');
    section.n++;
    items.push({ key: `${path.basename(file, '.txt')}:${i + 1}`, use_case: section.useCase, language: section.language, kind: section.kind, split, text: m[4]!, label });
  });
  return items;
}

/** One split, or without `split` train and test (any other held-out split is read only by name). */
export function loadLabelledSet(split?: LabelledSplit, dir = DATA_DIR): LabelledOutput[] {
  const files = split ? [`${split}.jsonl`] : ['train.jsonl', 'test.jsonl'];
  return files.flatMap((f) =>
    fs
      .readFileSync(path.join(dir, f), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as LabelledOutput),
  );
}

export const ALL_SEVERITIES = SEVERITIES;
export const ALL_CATEGORIES = HARM_CATEGORIES;
