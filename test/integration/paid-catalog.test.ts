import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createPaidCatalogActivities } from '../../activities/paid-catalog';
import { registerPipelineCommands } from '../../cli/commands/pipeline';
import type { ProviderConfig } from '../../src/config/schema';
import { runMms } from '../support/cli';
import { latestCatalog, openRouterIdsFor, scanPaidCatalog, storeCatalogScan, type PaidCatalogDeps } from '../../src/discovery/paid-catalog';
import { startFakeProvider, type FakeProvider } from '../../testkit/fake-providers';
import { createTestDatabase, type TestDatabase } from '../support/stack';

const KEY = 'sk-the-right-key-0123456789';

let db: TestDatabase;
let fake: FakeProvider;
const waits: number[] = [];

beforeAll(async () => {
  // Pages as the real APIs serve them, capped small so the clients walk several pages of the fixtures.
  fake = await startFakeProvider({ keys: { openai: KEY, anthropic: KEY, google: KEY }, listPageCap: { anthropic: 4, google: 20 } });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(async () => {
  db = await createTestDatabase();
  fake.reset();
  waits.length = 0;
});
afterEach(async () => {
  await db.drop();
});

const provider = (kind: ProviderConfig['kind'], baseUrl: string, apiKeyEnv?: string, prices: ProviderConfig['prices'] = {}): ProviderConfig => ({ kind, baseUrl, apiKeyEnv, timeoutSeconds: 10, prices });

function deps(env: Record<string, string | undefined> = { OPENAI_API_KEY: KEY, ANTHROPIC_API_KEY: KEY, GEMINI_API_KEY: KEY }, extra: Partial<PaidCatalogDeps> = {}): PaidCatalogDeps {
  return {
    config: {
      providers: {
        openai: provider('openai', fake.baseUrls.openai, 'OPENAI_API_KEY'),
        anthropic: provider('anthropic', fake.baseUrls.anthropic, 'ANTHROPIC_API_KEY', { 'claude-2.1': { inputPerMTok: 8, outputPerMTok: 24 } }),
        gemini: provider('google', fake.baseUrls.google, 'GEMINI_API_KEY'),
        openrouter: provider('openrouter', fake.baseUrls.openrouter, 'OPENROUTER_API_KEY'),
        // not a paid provider: never scanned
        local: provider('ollama', fake.baseUrls.ollama),
      },
    },
    env,
    sleep: async (ms) => {
      waits.push(ms);
    },
    ...extra,
  };
}

test('a scan reads every fixture record, page by page, and parses it or says why it rejects it', async () => {
  const scan = await scanPaidCatalog(deps());
  const byProvider = Object.fromEntries(scan.providers.map((p) => [p.provider, p]));
  expect(Object.keys(byProvider).sort()).toEqual(['anthropic', 'gemini', 'openai', 'openrouter']);
  // records = parsed + rejected, per provider, on the real responses
  expect([byProvider.openai!.records, byProvider.openai!.parsed, byProvider.openai!.rejected.length]).toEqual([82, 47, 35]);
  expect([byProvider.anthropic!.records, byProvider.anthropic!.parsed, byProvider.anthropic!.rejected.length]).toEqual([11, 11, 0]);
  expect([byProvider.gemini!.records, byProvider.gemini!.parsed, byProvider.gemini!.rejected.length]).toEqual([50, 34, 16]);
  expect([byProvider.openrouter!.records, byProvider.openrouter!.parsed, byProvider.openrouter!.rejected.length]).toEqual([414, 409, 5]);
  for (const p of scan.providers) {
    expect(p.status).toBe('scanned');
    for (const r of p.rejected) expect(r.reason).toMatch(/\w{4,}/);
  }
  expect(byProvider.openai!.rejected.find((r) => r.id === 'text-embedding-3-small')?.reason).toBe('an embedding model');
  expect(byProvider.openai!.rejected.find((r) => r.id === 'whisper-1')?.reason).toMatch(/audio/);
  expect(byProvider.gemini!.rejected.find((r) => r.id === 'models/gemini-embedding-001')?.reason).toBe('does not support generateContent (methods: embedContent, countTextTokens, countTokens, asyncBatchEmbedContent)');
  expect(byProvider.openrouter!.rejected.every((r) => r.reason === 'variable price: a router, not a model' && r.id!.startsWith('openrouter/'))).toBe(true);
  expect(scan.entries).toHaveLength(47 + 11 + 34 + 409);

  // pagination as the real APIs do it: Anthropic after_id/has_more (11 models, 4 a page), Google pageToken (50, 20 a page)
  const pages = (wire: string) => fake.listRequests.filter((r) => r.wire === wire);
  expect(pages('anthropic').map((r) => r.query.after_id ?? null)).toEqual([null, 'claude-3-5-sonnet-20241022', 'claude-3-opus-20240229']);
  expect(pages('google')).toHaveLength(3);
  expect(pages('google')[1]!.query.pageToken).toBeTruthy();
  expect(pages('openai')).toHaveLength(1);
  expect(pages('openrouter')).toHaveLength(1);
  expect(pages('ollama')).toHaveLength(0);

  // prices: the provider's own list (OpenRouter), else the config's table, else OpenRouter's listing of the same model
  const entry = (p: string, id: string) => scan.entries.find((e) => e.provider === p && e.upstreamId === id)!;
  expect(entry('openai', 'gpt-4o-mini')).toMatchObject({ inputPerMTok: 0.15, outputPerMTok: 0.6, priceSource: 'openrouter:openai/gpt-4o-mini', contextLength: 128000 });
  expect(entry('openai', 'gpt-4o-mini').capabilities).toMatchObject({ tools: true, jsonMode: true, vision: true, source: 'openrouter:openai/gpt-4o-mini' });
  expect(entry('anthropic', 'claude-opus-4-20250514')).toMatchObject({ inputPerMTok: 15, outputPerMTok: 75, priceSource: 'openrouter:anthropic/claude-opus-4', contextLength: 200000, displayName: 'Claude Opus 4' });
  expect(entry('anthropic', 'claude-2.1')).toMatchObject({ inputPerMTok: 8, outputPerMTok: 24, priceSource: 'config:providers.anthropic.prices' });
  expect(entry('gemini', 'gemini-2.5-flash')).toMatchObject({ inputPerMTok: 0.3, outputPerMTok: 2.5, priceSource: 'openrouter:google/gemini-2.5-flash', contextLength: 1048576 });
  expect(entry('gemini', 'gemini-2.5-flash').capabilities).toMatchObject({ reasoning: true, source: 'provider+openrouter:google/gemini-2.5-flash' });
  expect(entry('openrouter', 'qwen/qwen3.8-27b')).toMatchObject({ inputPerMTok: 0.45, outputPerMTok: 3.2, priceSource: 'provider' });
  // a fine-tune no other source prices: no price, and no invented one
  expect(entry('openai', 'ft:gpt-3.5-turbo-0125:personal:date-translator:9UhTT9J7')).toMatchObject({ inputPerMTok: null, outputPerMTok: null, priceSource: null });
  // OpenRouter's expiration dates are shutdown dates, with their source
  expect(entry('openrouter', 'z-ai/glm-4.5')).toMatchObject({ shutdownAt: new Date('2026-12-31T00:00:00Z'), shutdownSource: 'provider' });
});

test('OpenRouter ids of a provider model: exact, undated, dotted', () => {
  expect(openRouterIdsFor('anthropic', 'claude-3-5-sonnet-20241022')).toEqual(['anthropic/claude-3-5-sonnet-20241022', 'anthropic/claude-3-5-sonnet', 'anthropic/claude-3.5-sonnet']);
  expect(openRouterIdsFor('openai', 'gpt-4o-mini')).toEqual(['openai/gpt-4o-mini']);
  expect(openRouterIdsFor('google', 'gemini-1.5-flash-001')).toEqual(['google/gemini-1.5-flash-001', 'google/gemini-1.5-flash']);
});

test('a second scan with one price changed, one model removed and a retirement announced stores exactly those changes', async () => {
  const first = await storeCatalogScan(db.prisma, await scanPaidCatalog(deps()));
  expect(first.changes).toEqual([]);
  expect(first.baseline.sort()).toEqual(['anthropic', 'gemini', 'openai', 'openrouter']);

  type OpenRouterModel = { id: string; pricing: { prompt: string; completion: string }; expiration_date?: string | null };
  fake.editModelList('openrouter-models.json', (body) => {
    const data = (body.data as OpenRouterModel[]).filter((m) => m.id !== 'qwen/qwen3.8-27b');
    const mini = data.find((m) => m.id === 'openai/gpt-4o-mini')!;
    mini.pricing = { ...mini.pricing, prompt: '0.0000002' };
    return { ...body, data };
  });
  fake.editModelList('anthropic-models.json', (body) => ({ ...body, data: (body.data as Array<{ id: string }>).filter((m) => m.id !== 'claude-2.0') }));
  const second = await storeCatalogScan(db.prisma, await scanPaidCatalog(deps()));
  const summary = second.changes.map((c) => `${c.provider} ${c.upstreamId} ${c.change}`).sort();
  // gpt-4o-mini's OpenRouter price is both OpenRouter's own entry and the price OpenAI's model takes from it
  expect(summary).toEqual(['anthropic claude-2.0 gone', 'openai gpt-4o-mini price_changed', 'openrouter openai/gpt-4o-mini price_changed', 'openrouter qwen/qwen3.8-27b gone']);
  const openaiChange = second.changes.find((c) => c.provider === 'openai')!;
  expect(openaiChange.before).toEqual({ inputPerMTok: 0.15, outputPerMTok: 0.6, priceSource: 'openrouter:openai/gpt-4o-mini' });
  expect(openaiChange.after).toEqual({ inputPerMTok: 0.2, outputPerMTok: 0.6, priceSource: 'openrouter:openai/gpt-4o-mini' });

  const latest = (await latestCatalog(db.prisma, { provider: 'openai' }))!;
  expect(latest.scanId).toBe(second.scanId);
  expect(latest.entries).toHaveLength(47);
  expect(latest.changes.map((c) => c.change)).toEqual(['price_changed']);
  expect(await db.prisma.paidCatalogScan.count()).toBe(2);
  expect(await db.prisma.paidCatalogChange.count()).toBe(4);

  // a retirement announced, and a context change
  fake.editModelList('openrouter-models.json', (body) => {
    const data = body.data as Array<OpenRouterModel & { context_length: number }>;
    data.find((m) => m.id === 'openai/gpt-4o-mini')!.expiration_date = '2027-03-01';
    data.find((m) => m.id === 'anthropic/claude-opus-4')!.context_length = 400000;
    return body;
  });
  fake.editModelList('anthropic-models.json', undefined);
  const third = await storeCatalogScan(db.prisma, await scanPaidCatalog(deps()));
  expect(third.changes.map((c) => `${c.provider} ${c.upstreamId} ${c.change}`).sort()).toEqual([
    'anthropic claude-2.0 new',
    // Anthropic's list has no context window in this fixture: the catalog takes OpenRouter's
    'anthropic claude-opus-4-20250514 context_changed',
    'openai gpt-4o-mini price_changed',
    'openai gpt-4o-mini retirement_announced',
    'openrouter anthropic/claude-opus-4 context_changed',
    'openrouter openai/gpt-4o-mini price_changed',
    'openrouter openai/gpt-4o-mini retirement_announced',
    'openrouter qwen/qwen3.8-27b new',
  ]);
});

test('a missing key skips its provider with a message; a refused key fails only that provider, unretried, naming the variable and never the key', async () => {
  const wrong = 'sk-wrong-key-9876543210';
  const scan = await scanPaidCatalog(deps({ OPENAI_API_KEY: wrong, ANTHROPIC_API_KEY: undefined, GEMINI_API_KEY: wrong }));
  const byProvider = Object.fromEntries(scan.providers.map((p) => [p.provider, p]));
  expect(byProvider.anthropic).toMatchObject({ status: 'skipped', message: 'skipped: ANTHROPIC_API_KEY is not set', records: 0 });
  expect(byProvider.openai!.status).toBe('failed');
  expect(byProvider.openai!.message).toMatch(/^provider "openai" refused the API key in OPENAI_API_KEY \(HTTP 401\)/);
  expect(byProvider.gemini!.status).toBe('failed');
  expect(byProvider.gemini!.message).toMatch(/^provider "gemini" refused the API key in GEMINI_API_KEY \(HTTP 401\)/);
  expect(JSON.stringify(scan)).not.toContain(wrong);
  // one request each: a 401 is not retried
  expect(fake.listRequests.filter((r) => r.wire === 'openai')).toHaveLength(1);
  expect(fake.listRequests.filter((r) => r.wire === 'google')).toHaveLength(1);
  expect(fake.listRequests.filter((r) => r.wire === 'anthropic')).toHaveLength(0);
  // OpenRouter still scanned: its listing is public
  expect(byProvider.openrouter!.status).toBe('scanned');

  // the stored scan does not call the unread providers' models gone
  await storeCatalogScan(db.prisma, await scanPaidCatalog(deps()));
  const partial = await storeCatalogScan(db.prisma, scan);
  expect(partial.changes).toEqual([]);
  expect(JSON.stringify(await db.prisma.paidCatalogScan.findMany())).not.toContain(wrong);
});

test('a 429 is retried after its retry-after; one asking for longer than the limit fails that provider', async () => {
  fake.enqueueList({ status: 429, retryAfter: '2' }, { status: 429, retryAfter: '3' });
  const scan = await scanPaidCatalog(deps(), ['openai']);
  expect(scan.providers.find((p) => p.provider === 'openai')).toMatchObject({ status: 'scanned', parsed: 47 });
  expect(waits).toEqual([2000, 3000]);
  expect(fake.listRequests.filter((r) => r.wire === 'openai')).toHaveLength(3);
  // --provider openai: only its entries, though OpenRouter was read for prices
  expect(new Set(scan.entries.map((e) => e.provider))).toEqual(new Set(['openai']));
  expect(scan.entries.find((e) => e.upstreamId === 'gpt-4o-mini')!.priceSource).toBe('openrouter:openai/gpt-4o-mini');

  fake.reset();
  fake.enqueueList({ status: 429, retryAfter: '3600' });
  const limited = await scanPaidCatalog(deps(), ['openai']);
  expect(limited.providers.find((p) => p.provider === 'openai')).toMatchObject({ status: 'failed', message: expect.stringMatching(/rate limited and asks to wait 3600 s/) });

  await expect(scanPaidCatalog(deps(), ['nope'])).rejects.toThrow('unknown paid provider "nope" (paid providers in the config: openai, anthropic, gemini, openrouter)');
});

test('mms discover [--provider P] [--json] scans, stores and prints the catalog with price sources, shutdown dates and changes', async () => {
  const configFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mms-paid-discover-')), 'mms.config.yaml');
  fs.writeFileSync(
    configFile,
    [
      'providers:',
      `  openai: { kind: openai, baseUrl: "${fake.baseUrls.openai}", apiKeyEnv: MMS_TEST_PAID_OPENAI_KEY }`,
      `  anthropic: { kind: anthropic, baseUrl: "${fake.baseUrls.anthropic}", apiKeyEnv: MMS_TEST_PAID_ANTHROPIC_KEY }`,
      `  openrouter: { kind: openrouter, baseUrl: "${fake.baseUrls.openrouter}" }`,
      'useCases: [ { id: story, kind: paid, temperature: 0.7, maxTokens: 256, systemPromptTemplate: "x", initialModel: { provider: openai, model: gpt-4o-mini } } ]',
    ].join('\n'),
  );
  process.env.DATABASE_URL = db.url;
  process.env.MMS_TEST_PAID_OPENAI_KEY = KEY;
  delete process.env.MMS_TEST_PAID_ANTHROPIC_KEY;
  try {
    const first = await runMms([registerPipelineCommands], configFile, '--json', 'discover', '--provider', 'openai', 'anthropic');
    expect(first.code).toBe(0);
    const out = first.json();
    expect(out.providers.map((p: { provider: string; status: string }) => `${p.provider}:${p.status}`)).toEqual(['openai:scanned', 'anthropic:skipped']);
    expect(out.catalog).toHaveLength(47);
    expect(out.catalog.find((e: { upstreamId: string }) => e.upstreamId === 'gpt-4o-mini')).toMatchObject({ inputPerMTok: 0.15, outputPerMTok: 0.6, priceSource: 'openrouter:openai/gpt-4o-mini' });
    expect(out.baseline).toEqual(['openai']);

    fake.editModelList('openai-models.json', (body) => ({ ...body, data: (body.data as Array<{ id: string }>).filter((m) => m.id !== 'gpt-4') }));
    const second = await runMms([registerPipelineCommands], configFile, 'discover', '--provider', 'openai');
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('not ranked');
    expect(second.stdout).toMatch(/gpt-4o-mini +128000 +\$0\.15 +\$0\.6 +openrouter:openai\/gpt-4o-mini +tools,json,vision/);
    expect(second.stdout).toMatch(/gone +openai gpt-4 /);

    const unknown = await runMms([registerPipelineCommands], configFile, 'discover', '--provider', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown paid provider "nope"');
  } finally {
    delete process.env.DATABASE_URL;
    delete process.env.MMS_TEST_PAID_OPENAI_KEY;
  }
});

test('the scanPaidCatalog activity stores one catalog per run and returns the change counts (the changes stay in the registry)', async () => {
  const { scanPaidCatalog: activity } = createPaidCatalogActivities({ prisma: db.prisma, ...deps() });
  const env = new MockActivityEnvironment();
  const first = await env.run(activity, { providers: ['anthropic'] });
  expect(first).toMatchObject({ entries: 11, baseline: ['anthropic'], changes: {} });
  fake.editModelList('anthropic-models.json', (body) => ({ ...body, data: (body.data as Array<{ id: string }>).filter((m) => m.id !== 'claude-2.0' && m.id !== 'claude-2.1') }));
  const second = (await env.run(activity, { providers: ['anthropic'] })) as Awaited<ReturnType<typeof activity>>;
  expect(second).toMatchObject({ entries: 9, baseline: [], changes: { gone: 2 } });
  expect(await db.prisma.paidCatalogChange.count({ where: { scanId: second.scanId, change: 'gone' } })).toBe(2);
});
