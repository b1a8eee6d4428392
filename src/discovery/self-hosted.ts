/**
 * Discovery and ranking of self-hosted models (the pipeline's first step): text-generation models of the Hugging Face
 * Hub (through `@huggingface/hub`) and the models of an Ollama node, ranked with the design's
 * self-hosted weights. Every criterion is a score in [0, 1] with the facts it came from, so a ranking
 * can be explained. A card without benchmark results scores a neutral 0.5 on benchmarks (unknown,
 * neither failed nor proven); any other criterion without data is left out and the weights of the
 * others are renormalised.
 */

import { listModels } from '@huggingface/hub';
import { Ollama } from 'ollama';
import { parseParameterSize } from '../providers/model-lists';

export interface SelfHostedCandidate {
  source: 'huggingface' | 'ollama';
  /** Repository id (`owner/name`) or Ollama model name (`llama3.1:8b`). */
  externalId: string;
  parameters: number | null;
  /** Storage type of the weights: BF16, F16, F32, FP8, Q8_0, Q4_K_M, … */
  dtype: string | null;
  license: string | null;
  gated: boolean;
  downloads: number | null;
  likes: number | null;
  trendingScore: number | null;
  lastModified: Date | null;
  /** Benchmark results from the model card's model-index, normalised to [0, 1]. */
  benchmarks: Record<string, number>;
  /** Ollama: already on the node (installed) or only pullable. */
  installed?: boolean;
  hasSafetensors?: boolean;
}

export interface SelfHostedWeights {
  benchmarkScores: number;
  resourceEfficiency: number;
  modelSize: number;
  communityHealth: number;
  recentUpdates: number;
  licenseCompatibility: number;
}

export interface RankingContext {
  weights: SelfHostedWeights;
  gpuMemoryGb: number;
  licenseAllowList: string[];
  now: Date;
}

export interface RankedCandidate extends SelfHostedCandidate {
  eligible: boolean;
  /** Why a candidate cannot be used (license, VRAM, no safetensors); empty when eligible. */
  reasons: string[];
  score: number;
  breakdown: Partial<Record<keyof SelfHostedWeights, number>>;
  estimatedVramGb: number | null;
}

/** Bytes per parameter of each storage type (K-quants: llama.cpp's bits per weight / 8). */
const BYTES_PER_PARAMETER: Record<string, number> = {
  F64: 8, F32: 4, BF16: 2, F16: 2, FP16: 2, FP8: 1, F8_E4M3: 1, FP8_E4M3: 1, I8: 1, INT8: 1, Q8_0: 1.0625,
  Q6_K: 0.8203, Q5_K_M: 0.6875, Q5_K_S: 0.6875, Q5_0: 0.6875, Q4_K_M: 0.5625, Q4_K_S: 0.5625, Q4_0: 0.5625, I4: 0.5, INT4: 0.5, MXFP4: 0.53,
};

/**
 * VRAM to serve the model: weights at their storage type plus 20% for KV cache, activations and the
 * runtime (the rule of thumb vLLM's and llama.cpp's memory estimators agree on for short contexts).
 */
export function estimateVramGb(parameters: number | null, dtype: string | null): number | null {
  if (!parameters) return null;
  const bytes = BYTES_PER_PARAMETER[(dtype ?? 'BF16').toUpperCase()] ?? 2;
  return (parameters * bytes * 1.2) / 1024 ** 3;
}

const clamp01 = (x: number) => Math.max(0, Math.min(1, x));

export function rankCandidates(candidates: SelfHostedCandidate[], ctx: RankingContext): RankedCandidate[] {
  const allowed = new Set(ctx.licenseAllowList.map((l) => l.toLowerCase()));
  const ranked = candidates.map((c): RankedCandidate => {
    const reasons: string[] = [];
    const breakdown: RankedCandidate['breakdown'] = {};
    const benchValues = Object.values(c.benchmarks);
    breakdown.benchmarkScores = benchValues.length ? benchValues.reduce((a, b) => a + b, 0) / benchValues.length : 0.5;

    const vram = estimateVramGb(c.parameters, c.dtype);
    if (vram !== null) {
      // Fits with room to spare = 1; exactly the GPU's memory = 0.5; does not fit = 0 (and ineligible).
      breakdown.resourceEfficiency = vram > ctx.gpuMemoryGb ? 0 : clamp01(1 - 0.5 * (vram / ctx.gpuMemoryGb));
      if (vram > ctx.gpuMemoryGb) reasons.push(`needs ~${vram.toFixed(1)} GB of VRAM, the GPU has ${ctx.gpuMemoryGb} GB`);
    }
    if (c.parameters) {
      // 100 M parameters = 1, 1 T = 0, log scale: download, load and step time grow with size.
      breakdown.modelSize = clamp01(1 - Math.log10(c.parameters / 1e8) / 4);
    }
    if (c.downloads !== null || c.likes !== null) {
      const downloads = clamp01(Math.log10(1 + (c.downloads ?? 0)) / 7);
      const likes = clamp01(Math.log10(1 + (c.likes ?? 0)) / 4);
      const trending = clamp01(Math.log10(1 + (c.trendingScore ?? 0)) / 2);
      breakdown.communityHealth = 0.5 * downloads + 0.35 * likes + 0.15 * trending;
    }
    if (c.lastModified) {
      const ageDays = Math.max(0, (ctx.now.getTime() - c.lastModified.getTime()) / 86_400_000);
      breakdown.recentUpdates = Math.exp(-ageDays / 365);
    }
    const license = c.license?.toLowerCase() ?? null;
    breakdown.licenseCompatibility = license && allowed.has(license) ? 1 : 0;
    if (!license) reasons.push('no license on the model card');
    else if (!allowed.has(license)) reasons.push(`license "${c.license}" is not in selfHosted.licenseAllowList`);
    if (c.source === 'huggingface' && c.hasSafetensors === false) reasons.push('no safetensors weights (pickled weights are never downloaded)');

    let weightSum = 0;
    let score = 0;
    for (const [key, value] of Object.entries(breakdown) as Array<[keyof SelfHostedWeights, number]>) {
      weightSum += ctx.weights[key];
      score += ctx.weights[key] * value;
    }
    return { ...c, eligible: reasons.length === 0, reasons, score: weightSum > 0 ? score / weightSum : 0, breakdown, estimatedVramGb: vram };
  });
  return ranked.sort((a, b) => Number(b.eligible) - Number(a.eligible) || b.score - a.score || a.externalId.localeCompare(b.externalId));
}

// ---- Hugging Face

interface ModelIndexEntry {
  results?: Array<{ dataset?: { name?: string; type?: string }; metrics?: Array<{ type?: string; name?: string; value?: unknown }> }>;
}

/** Mean of each benchmark's metrics from a card's model-index, as fractions (75.3 → 0.753). */
export function benchmarksFromModelIndex(modelIndex: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (!Array.isArray(modelIndex)) return out;
  for (const entry of modelIndex as ModelIndexEntry[]) {
    for (const result of entry.results ?? []) {
      const name = result.dataset?.name ?? result.dataset?.type;
      const values = (result.metrics ?? []).map((m) => Number(m.value)).filter((v) => Number.isFinite(v) && v >= 0);
      if (!name || !values.length) continue;
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      out[name] = clamp01(mean > 1 ? mean / 100 : mean);
    }
  }
  return out;
}

/** The dominant storage type of a safetensors block ({parameters: {BF16: n, F32: m}, total}). */
function dominantDtype(parameters: Record<string, number> | undefined): string | null {
  const entries = Object.entries(parameters ?? {});
  if (!entries.length) return null;
  return entries.sort((a, b) => b[1] - a[1])[0]![0];
}

function licenseOf(cardData: unknown, tags: string[] | undefined): string | null {
  const fromCard = (cardData as { license?: unknown } | undefined)?.license;
  if (typeof fromCard === 'string' && fromCard) return fromCard;
  const tag = tags?.find((t) => t.startsWith('license:'));
  return tag ? tag.slice('license:'.length) : null;
}

export interface HubDiscoveryOptions {
  hubUrl: string;
  accessToken?: string;
  limit: number;
  fetch?: typeof fetch;
}

export async function discoverHuggingFace(options: HubDiscoveryOptions): Promise<SelfHostedCandidate[]> {
  const out: SelfHostedCandidate[] = [];
  const models = listModels({
    hubUrl: options.hubUrl,
    ...(options.accessToken ? { accessToken: options.accessToken } : {}),
    search: { task: 'text-generation' },
    sort: 'trendingScore',
    limit: options.limit,
    // trendingScore is served by the Hub's expand parameter though the SDK's key list lacks it.
    additionalFields: ['safetensors', 'cardData', 'model-index', 'tags', 'trendingScore' as 'tags'],
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  for await (const m of models) {
    const raw = m as unknown as {
      name: string; gated: boolean | 'auto' | 'manual'; downloads?: number; likes?: number; updatedAt: Date;
      safetensors?: { parameters?: Record<string, number>; total?: number }; cardData?: unknown; tags?: string[];
      trendingScore?: number; 'model-index'?: unknown;
    };
    out.push({
      source: 'huggingface',
      externalId: raw.name,
      parameters: raw.safetensors?.total ?? null,
      dtype: dominantDtype(raw.safetensors?.parameters),
      license: licenseOf(raw.cardData, raw.tags),
      gated: raw.gated !== false && raw.gated !== undefined,
      downloads: raw.downloads ?? null,
      likes: raw.likes ?? null,
      trendingScore: raw.trendingScore ?? null,
      lastModified: Number.isNaN(raw.updatedAt.getTime()) ? null : raw.updatedAt,
      benchmarks: benchmarksFromModelIndex(raw['model-index']),
      hasSafetensors: Boolean(raw.safetensors?.total),
    });
  }
  return out;
}

// ---- Ollama

export interface OllamaDiscoveryOptions {
  host: string;
  /** Names the node may pull (Ollama has no catalogue API): ranked as not installed. */
  pullable: string[];
  fetch?: typeof fetch;
}

export async function discoverOllama(options: OllamaDiscoveryOptions): Promise<SelfHostedCandidate[]> {
  const client = new Ollama({ host: options.host, ...(options.fetch ? { fetch: options.fetch } : {}) });
  const { models } = await client.list();
  const installed = models
    .filter((m) => !(m as unknown as { remote_host?: string }).remote_host) // cloud stubs run elsewhere
    .map((m): SelfHostedCandidate => ({
      source: 'ollama',
      externalId: m.name,
      parameters: parseParameterSize(m.details?.parameter_size) ?? null,
      dtype: m.details?.quantization_level ? m.details.quantization_level.toUpperCase() : null,
      license: null,
      gated: false,
      downloads: null,
      likes: null,
      trendingScore: null,
      lastModified: m.modified_at ? new Date(m.modified_at) : null,
      benchmarks: {},
      installed: true,
    }));
  for (const model of installed) {
    // Tags carry no license; `show` has the license text of the model's Modelfile.
    const shown = await client.show({ model: model.externalId }).catch(() => undefined);
    model.license = licenseFromText(shown?.license);
  }
  const have = new Set(installed.map((m) => m.externalId));
  const pullable = options.pullable
    .filter((name) => !have.has(name))
    .map((name): SelfHostedCandidate => ({
      source: 'ollama', externalId: name, parameters: parseParameterSize(/:(\d+(?:\.\d+)?[mb])/i.exec(name)?.[1]) ?? null, dtype: 'Q4_K_M',
      license: null, gated: false, downloads: null, likes: null, trendingScore: null, lastModified: null, benchmarks: {}, installed: false,
    }));
  return [...installed, ...pullable];
}

/** SPDX-like id of a license text's first lines (the forms Ollama's library ships), or null. */
export function licenseFromText(text: string | undefined): string | null {
  if (!text) return null;
  const head = text.slice(0, 400).toLowerCase();
  if (head.includes('apache license')) return 'apache-2.0';
  if (/\bmit license\b/.test(head)) return 'mit';
  const llama = /llama (\d(?:\.\d)?) community license/.exec(head);
  if (llama) return `llama${llama[1]}`;
  if (head.includes('gemma terms of use')) return 'gemma';
  return null;
}
