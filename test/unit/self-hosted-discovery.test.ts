import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { benchmarksFromModelIndex, discoverHuggingFace, discoverOllama, estimateVramGb, licenseFromText, rankCandidates } from '../../src/discovery/self-hosted';
import { startFakeHub, type FakeHub } from '../../testkit/fake-huggingface';

const weights = { benchmarkScores: 0.3, resourceEfficiency: 0.2, modelSize: 0.1, communityHealth: 0.15, recentUpdates: 0.15, licenseCompatibility: 0.1 };
const now = new Date('2026-11-30T00:00:00Z');
const safetensorsOf = (total: number, dtype = 'BF16') => ({ parameters: { [dtype]: total }, total });

describe('self-hosted discovery on a fake Hugging Face Hub', () => {
  let hub: FakeHub;
  beforeAll(async () => {
    hub = await startFakeHub();
    const modelIndex = [{ name: 'm', results: [{ task: { type: 'text-generation' }, dataset: { name: 'MMLU', type: 'cais/mmlu' }, metrics: [{ type: 'acc', value: 68.4 }] }, { dataset: { name: 'HellaSwag' }, metrics: [{ type: 'acc_norm', value: 0.82 }] }] }];
    hub.addRepo({ id: 'meta-llama/Llama-3.1-8B-Instruct', sha: '1'.repeat(40), files: [], pipelineTag: 'text-generation', license: 'llama3.1', gated: 'manual', downloads: 5_000_000, likes: 4000, trendingScore: 80, lastModified: '2026-09-01T00:00:00.000Z', modelIndex, safetensors: safetensorsOf(8_030_261_248) });
    hub.addRepo({ id: 'Qwen/Qwen2.5-1.5B-Instruct', sha: '2'.repeat(40), files: [], pipelineTag: 'text-generation', license: 'apache-2.0', downloads: 900_000, likes: 500, trendingScore: 20, lastModified: '2026-10-01T00:00:00.000Z', safetensors: safetensorsOf(1_543_714_304) });
    hub.addRepo({ id: 'big/Huge-405B', sha: '3'.repeat(40), files: [], pipelineTag: 'text-generation', license: 'llama3.1', downloads: 10_000, likes: 900, trendingScore: 5, lastModified: '2026-06-01T00:00:00.000Z', safetensors: safetensorsOf(405_000_000_000) });
    hub.addRepo({ id: 'odd/Closed-7B', sha: '4'.repeat(40), files: [], pipelineTag: 'text-generation', license: 'other', downloads: 100, likes: 3, lastModified: '2025-01-01T00:00:00.000Z', safetensors: safetensorsOf(7_000_000_000) });
    hub.addRepo({ id: 'old/pickles-1B', sha: '5'.repeat(40), files: [], pipelineTag: 'text-generation', license: 'mit', downloads: 100, likes: 3, lastModified: '2024-01-01T00:00:00.000Z', safetensors: null });
  });
  afterAll(() => hub.close());

  it('lists text-generation models with license, gating, parameters, community and recency through @huggingface/hub', async () => {
    const firstThree = await discoverHuggingFace({ hubUrl: hub.url, limit: 3 });
    expect(firstThree).toHaveLength(3);
    // Pages of 2: the rest comes through the Link rel="next" pagination; the fixture's spaCy models are not text-generation.
    hub.faults.pageSize = 2;
    const all = await discoverHuggingFace({ hubUrl: hub.url, limit: 100 });
    expect(all).toHaveLength(5);
    const llama = all.find((c) => c.externalId === 'meta-llama/Llama-3.1-8B-Instruct')!;
    expect(llama).toMatchObject({ source: 'huggingface', parameters: 8_030_261_248, dtype: 'BF16', license: 'llama3.1', gated: true, downloads: 5_000_000, likes: 4000, trendingScore: 80, hasSafetensors: true });
    expect(llama.lastModified?.toISOString()).toBe('2026-09-01T00:00:00.000Z');
    expect(llama.benchmarks).toEqual({ MMLU: 0.684, HellaSwag: 0.82 });
    expect(all.find((c) => c.externalId === 'old/pickles-1B')!.hasSafetensors).toBe(false);
    const listCall = hub.requests.find((r) => r.startsWith('GET /api/models?'))!;
    expect(listCall).toContain('pipeline_tag=text-generation');
    expect(listCall).toContain('expand=safetensors');
    expect(hub.requests.some((r) => r.includes('cursor=4'))).toBe(true);
    delete hub.faults.pageSize;
  });

  it('ranks with the self-hosted weights: VRAM fit, size, community, recency, license allow-list', async () => {
    const all = await discoverHuggingFace({ hubUrl: hub.url, limit: 100 });
    const ranked = rankCandidates(all, { weights, gpuMemoryGb: 24, licenseAllowList: ['apache-2.0', 'mit', 'llama3.1'], now });
    expect(ranked.filter((r) => r.eligible).map((r) => r.externalId)).toEqual(['meta-llama/Llama-3.1-8B-Instruct', 'Qwen/Qwen2.5-1.5B-Instruct']);
    const huge = ranked.find((r) => r.externalId === 'big/Huge-405B')!;
    expect(huge.reasons[0]).toMatch(/needs ~\d+\.\d GB of VRAM, the GPU has 24 GB/);
    expect(ranked.find((r) => r.externalId === 'odd/Closed-7B')!.reasons).toContain('license "other" is not in selfHosted.licenseAllowList');
    expect(ranked.find((r) => r.externalId === 'old/pickles-1B')!.reasons).toContain('no safetensors weights (pickled weights are never downloaded)');
    // The 8B model's card has benchmarks; the 1.5B has none and scores a neutral 0.5 there.
    expect(ranked[0]!.breakdown.benchmarkScores).toBeCloseTo((0.684 + 0.82) / 2, 5);
    expect(ranked[1]!.breakdown.benchmarkScores).toBe(0.5);
    expect(ranked[0]!.score).toBeGreaterThan(ranked[1]!.score);
    // On an 8 GB GPU the 8B model (~18 GB in BF16) no longer fits and the 1.5B one leads.
    const small = rankCandidates(all, { weights, gpuMemoryGb: 8, licenseAllowList: ['apache-2.0', 'mit', 'llama3.1'], now });
    expect(small.filter((r) => r.eligible).map((r) => r.externalId)).toEqual(['Qwen/Qwen2.5-1.5B-Instruct']);
  });

  it('estimates VRAM from parameters and dtype or quantisation', () => {
    expect(estimateVramGb(8e9, 'BF16')).toBeCloseTo((8e9 * 2 * 1.2) / 1024 ** 3, 6);
    expect(estimateVramGb(8e9, 'Q4_K_M')).toBeCloseTo((8e9 * 0.5625 * 1.2) / 1024 ** 3, 6);
    expect(estimateVramGb(null, 'BF16')).toBeNull();
    expect(benchmarksFromModelIndex(null)).toEqual({});
  });
});

describe('self-hosted discovery on an Ollama node', () => {
  it('lists installed models (cloud stubs left out) and configured pullable ones', async () => {
    const tags = fs.readFileSync(path.resolve(__dirname, '../fixtures/real-api/ollama-tags.json'));
    const server = http.createServer((req, res) => {
      if (req.url === '/api/tags') return res.writeHead(200, { 'content-type': 'application/json' }).end(tags);
      if (req.url === '/api/show') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ license: 'Apache License\nVersion 2.0, January 2004' }));
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const found = await discoverOllama({ host, pullable: ['llama3.1:8b'] });
      const installed = found.filter((c) => c.installed);
      const parsed = JSON.parse(tags.toString()) as { models: Array<{ name: string; remote_host?: string }> };
      expect(installed.map((c) => c.externalId)).toEqual(parsed.models.filter((m) => !m.remote_host).map((m) => m.name));
      expect(installed.every((c) => c.license === 'apache-2.0')).toBe(true);
      const pullable = found.find((c) => !c.installed)!;
      expect(pullable).toMatchObject({ externalId: 'llama3.1:8b', parameters: 8e9, installed: false });
    } finally {
      server.close();
    }
  });

  it('maps license texts to ids', () => {
    expect(licenseFromText('LLAMA 3.1 COMMUNITY LICENSE AGREEMENT')).toBe('llama3.1');
    expect(licenseFromText('MIT License\nCopyright')).toBe('mit');
    expect(licenseFromText('Gemma Terms of Use')).toBe('gemma');
    expect(licenseFromText('some custom text')).toBeNull();
  });
});

