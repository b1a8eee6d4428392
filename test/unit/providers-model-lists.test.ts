import fs from 'node:fs';
import path from 'node:path';
import {
  parseAnthropicModelList,
  parseGeminiModelList,
  parseOllamaTags,
  parseOpenAIModelList,
  parseOpenRouterModelList,
  parseParameterSize,
  perTokenToPerMTok,
  ModelListError,
} from '../../src/providers/model-lists';

/** The parsers on real responses (test/fixtures/real-api/, provenance in SOURCES.md there). */
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/real-api', name), 'utf8'));

test('OpenAI /v1/models: 82 models, created in Unix seconds, fine-tuned ids kept as they are', () => {
  const models = parseOpenAIModelList(fixture('openai-models.json'));
  expect(models).toHaveLength(82);
  expect(models[0]).toEqual({ id: 'gpt-4o-realtime-preview-2024-12-17', createdAt: new Date(1733945430 * 1000), ownedBy: 'system', contextLength: undefined });
  const ft = models.filter((m) => m.id.startsWith('ft:'));
  expect(ft).toHaveLength(6);
  expect(ft.every((m) => m.ownedBy?.startsWith('user-'))).toBe(true);
  expect(models.some((m) => m.id.endsWith(':ckpt-step-100'))).toBe(true);
});

test('Anthropic /v1/models: display names and RFC 3339 dates; the older shape without token limits', () => {
  const parsed = parseAnthropicModelList(fixture('anthropic-models.json'));
  expect(parsed.models).toHaveLength(11);
  expect(parsed.hasMore).toBe(false);
  expect(parsed.models[0]).toEqual({ id: 'claude-opus-4-20250514', displayName: 'Claude Opus 4', createdAt: new Date('2025-05-22T00:00:00Z'), contextLength: undefined, maxOutputTokens: undefined });
  expect(parsed.lastId).toBe(parsed.models[10]!.id);
});

test('Gemini /v1beta/models: models/ prefix dropped, limits, methods, missing descriptions tolerated', () => {
  const parsed = parseGeminiModelList(fixture('gemini-models.json'));
  expect(parsed.models).toHaveLength(50);
  expect(parsed.nextPageToken).toBeUndefined();
  const flash = parsed.models.find((m) => m.id === 'gemini-2.5-flash')!;
  expect(flash).toMatchObject({ displayName: 'Gemini 2.5 Flash', contextLength: 1048576, maxOutputTokens: 65536, details: { version: '001', thinking: true } });
  expect((flash.details!.supportedGenerationMethods as string[])).toContain('generateContent');
  expect(parsed.models.filter((m) => m.description === undefined)).toHaveLength(6);
  expect(parsed.models.every((m) => !m.id.startsWith('models/'))).toBe(true);
});

test('OpenRouter /api/v1/models: prices from per-token strings to per-million numbers; routers (-1) have none', () => {
  const models = parseOpenRouterModelList(fixture('openrouter-models.json'));
  expect(models).toHaveLength(414);
  const qwen = models.find((m) => m.id === 'qwen/qwen3.8-27b')!;
  expect(qwen).toMatchObject({ inputPerMTok: 0.45, outputPerMTok: 3.2, contextLength: 262144, maxOutputTokens: 131072, details: { huggingFaceId: 'Qwen/Qwen3.8-27B' } });
  for (const id of ['openrouter/auto', 'openrouter/fusion']) {
    const router = models.find((m) => m.id === id)!;
    expect(router.inputPerMTok).toBeUndefined();
    expect(router.outputPerMTok).toBeUndefined();
  }
  // "" and null hugging_face_id both mean none.
  expect(models.filter((m) => m.details!.huggingFaceId === undefined).length).toBe(109 + 139);
  expect(models.filter((m) => m.maxOutputTokens === undefined).length).toBe(48);
  expect(perTokenToPerMTok('0.0000000208333333333333')).toBeCloseTo(0.0208333333, 9);
  expect(perTokenToPerMTok('-1')).toBeUndefined();
  expect(perTokenToPerMTok('0')).toBe(0);
});

test('Ollama /api/tags: parameter sizes in both spellings, quantisation case, cloud stubs marked remote', () => {
  const models = parseOllamaTags(fixture('ollama-tags.json'));
  expect(models).toHaveLength(8);
  const cogito = models.find((m) => m.id === 'cogito-2.1:671b-cloud')!;
  expect(cogito.details).toMatchObject({ parameters: 671e9, quantization: 'FP8_E4M3', remote: true, family: 'deepseek2' });
  expect(models.find((m) => m.id === 'deepseek-v3.2:cloud')!.details).toMatchObject({ parameters: 671e9, quantization: 'FP8' });
  const gemini = models.find((m) => m.id === 'gemini-3-pro-preview:latest')!;
  expect(gemini.details).toMatchObject({ parameters: undefined, quantization: undefined, family: undefined });
  const local = models.find((m) => m.id === 'qwen3:8b')!;
  expect(local.details).toMatchObject({ parameters: 8.2e9, quantization: 'Q4_K_M', remote: false });
  expect(models.filter((m) => m.details!.remote)).toHaveLength(7);
  expect(parseParameterSize('270M')).toBe(270e6);
  expect(parseParameterSize('')).toBeUndefined();
});

test('a body without the identifying fields is refused with an error naming the field', () => {
  expect(() => parseOpenAIModelList({ data: [{ object: 'model' }] })).toThrow(ModelListError);
  expect(() => parseOpenAIModelList({ data: [{ object: 'model' }] })).toThrow(/data\[0\]\.id/);
  expect(() => parseGeminiModelList({ models: [{ displayName: 'x' }] })).toThrow(/models\[0\]\.name/);
  expect(() => parseOpenRouterModelList({})).toThrow(/data/);
  expect(() => parseOllamaTags({ models: 'nope' })).toThrow(/models/);
  expect(() => parseAnthropicModelList({ data: [{ id: 7 }] })).toThrow(/data\[0\]\.id/);
});
