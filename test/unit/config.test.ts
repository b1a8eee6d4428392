import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { ConfigError, loadConfig, parseConfigText } from '../../src/config/load';

const root = path.resolve(__dirname, '../..');

/** A valid file; each case below breaks one thing in it. */
function base(): Record<string, any> {
  return {
    providers: {
      openai: { kind: 'openai', baseUrl: 'https://api.openai.com/v1', apiKeyEnv: 'OPENAI_API_KEY' },
      local_vllm: { kind: 'openai_compatible', baseUrl: 'http://127.0.0.1:8000/v1' },
    },
    useCases: [
      { id: 'story_generation', kind: 'paid', temperature: 0.9, maxTokens: 1024, systemPromptTemplate: 'Tell.', initialModel: { provider: 'openai', model: 'gpt-4o-mini' } },
      { id: 'npc_dialogue', kind: 'self_hosted', temperature: 0.8, maxTokens: 256, systemPromptTemplate: 'Talk.', initialModel: { provider: 'local_vllm', model: 'llama-3.1-8b-instruct' } },
      { id: 'faction_decision', kind: 'self_hosted', temperature: 0.3, maxTokens: 128, systemPromptTemplate: 'Decide.', initialModel: { provider: 'local_vllm', model: 'llama-3.1-8b-instruct' } },
    ],
  };
}

function problemsOf(mutate: (c: Record<string, any>) => void): string[] {
  const config = base();
  mutate(config);
  try {
    parseConfigText(stringify(config), 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('the configuration was accepted');
}

test('the committed example and the base of these cases are valid, with defaults filled in', () => {
  const example = loadConfig(path.join(root, 'mms.config.yaml'));
  expect(example.useCases.map((u) => u.id)).toContain('npc_dialogue');
  const parsed = parseConfigText(stringify(base()));
  expect(parsed.policies.rollout.steps).toEqual([10, 25, 50, 75, 100]);
  expect(parsed.policies.rollout.analysis.minSamples).toBe(50);
  expect(parsed.policies.ranking.paid).toEqual({ performanceScore: 0.3, costEfficiency: 0.2, latency: 0.2, qualityMetrics: 0.3 });
  expect(parsed.temporal.controlTaskQueue).toBe('mms-control');
});

const cases: Array<[string, (c: Record<string, any>) => void, string[]]> = [
  ['temperature above 2', (c) => (c.useCases[2].temperature = 2.5), ['useCases[2].temperature: must be <= 2']],
  ['negative max tokens', (c) => (c.useCases[0].maxTokens = -1), ['useCases[0].maxTokens: must be >= 1']],
  ['fractional max tokens', (c) => (c.useCases[0].maxTokens = 10.5), ['useCases[0].maxTokens: must be a whole number, got number 10.5']],
  ['unknown use case kind', (c) => (c.useCases[1].kind = 'free'), ['useCases[1].kind: must be one of "paid", "self_hosted"']],
  ['use case id not snake case', (c) => (c.useCases[1].id = 'NPC-Dialogue'), ['useCases[1].id: must be lower_snake_case (a-z, 0-9, _), starting with a letter']],
  ['duplicate use case id', (c) => (c.useCases[2].id = 'npc_dialogue'), ['useCases[2].id: duplicate use case id "npc_dialogue" (also useCases[1])']],
  ['unknown provider reference', (c) => (c.useCases[1].initialModel.provider = 'vllm'), ['useCases[1].initialModel.provider: unknown provider "vllm" (defined: openai, local_vllm)']],
  ['API key written in the file', (c) => (c.providers.openai.apiKey = 'sk-live-123456789'), ['providers.openai.apiKey: secrets must not be written in the config file; set apiKeyEnv to the name of the environment variable that holds it']],
  ['base URL not http', (c) => (c.providers.local_vllm.baseUrl = 'file:///etc/passwd'), ['providers.local_vllm.baseUrl: must be an http(s) URL']],
  ['apiKeyEnv not a variable name', (c) => (c.providers.openai.apiKeyEnv = 'sk-abc'), ['providers.openai.apiKeyEnv: must be an environment variable name like OPENAI_API_KEY']],
  ['unknown provider kind', (c) => (c.providers.local_vllm.kind = 'tgi'), ['providers.local_vllm.kind: must be one of "openai", "anthropic", "google", "openrouter", "openai_compatible", "ollama", "huggingface"']],
  ['steps not ascending and not ending at 100', (c) => (c.policies = { rollout: { steps: [10, 50, 25] } }), ['policies.rollout.steps[2]: must be greater than the step before it (50)', 'policies.rollout.steps[2]: the last step must be 100']],
  [
    'paid filters: a required parameter the filters do not know',
    (c) => (c.paidModels = { filters: { story: { allowedProviders: ['local_vllm'], exclude: ['('], requiredParams: ['vision'] } } }),
    [
      'paidModels.filters.story.requiredParams[0]: must be one of "tools", "response_format"',
    ],
  ],
  [
    'paid filters: unknown use case, a provider that is not paid, a bad regex',
    (c) => (c.paidModels = { filters: { story: { allowedProviders: ['local_vllm'], exclude: ['('] } } }),
    [
      'paidModels.filters.story: unknown use case "story" (use "default" or one of: story_generation, npc_dialogue, faction_decision)',
      'paidModels.filters.story.allowedProviders[0]: "local_vllm" is not a paid provider of the config (paid providers: openai)',
      'paidModels.filters.story.exclude[0]: not a valid regular expression: Invalid regular expression: /(/: Unterminated group',
    ],
  ],
  ['ranking weights not summing to 1', (c) => (c.policies = { ranking: { paid: { performanceScore: 0.5, costEfficiency: 0.2, latency: 0.2, qualityMetrics: 0.3 } } }), ['policies.ranking.paid: weights must sum to 1 (they sum to 1.2)']],
  ['window of zero seconds', (c) => (c.policies = { rollout: { windowSeconds: 0 } }), ['policies.rollout.windowSeconds: must be > 0']],
  ['similarity threshold above 1', (c) => (c.policies = { testing: { similarityThreshold: 1.5 } }), ['policies.testing.similarityThreshold: must be <= 1']],
  ['unknown key (typo)', (c) => (c.useCases[0].temprature = 0.5), ['useCases[0].temprature: unknown key']],
  ['missing required field', (c) => delete c.useCases[1].systemPromptTemplate, ['useCases[1].systemPromptTemplate: is required']],
  ['no use cases', (c) => (c.useCases = []), ['useCases: at least one use case is required']],
  ['a list where a mapping belongs', (c) => (c.providers = ['openai']), ['providers: must be a mapping, got a list']],
  ['too many stop sequences', (c) => (c.useCases[1].sampling = { stop: ['a', 'b', 'c', 'd', 'e'] }), ['useCases[1].sampling.stop: must have at most 4 items']],
  ['unknown guardrail action', (c) => (c.policies = { guardrails: { actions: { critical: 'ignore', high: 'block', medium: 'record', low: 'record' } } }), ['policies.guardrails.actions.critical: must be one of "rollback", "block"']],
  ['embeddings provider not defined', (c) => (c.embeddings = { provider: 'nomic' }), ['embeddings.provider: must be "local" or a provider id (defined: openai, local_vllm)']],
  ['embeddings from a provider without /v1/embeddings', (c) => ((c.providers.claude = { kind: 'anthropic', baseUrl: 'https://api.anthropic.com' }), (c.embeddings = { provider: 'claude' })), ['embeddings.provider: provider "claude" is anthropic, which serves no OpenAI-compatible /v1/embeddings']],
  ['local embeddings in passage mode', (c) => (c.embeddings = { model: 'e5-passage' }), ['embeddings.model: the local server reads "passage"/"doc" in a model name as passage mode; use multilingual-e5-small-q4']],
  ['a GPU-hour price without the throughput', (c) => (c.providers.local_vllm.prices = { 'my-finetune': { gpuHourUsd: 2 } }), ['providers.local_vllm.prices.my-finetune.outputTokensPerSecond: is required with a GPU-hour price']],
  ['a per-token and a GPU-hour price at once', (c) => (c.providers.local_vllm.prices = { 'my-finetune': { inputPerMTok: 0, outputPerMTok: 1, gpuHourUsd: 2, outputTokensPerSecond: 500 } }), ['providers.local_vllm.prices.my-finetune: either inputPerMTok/outputPerMTok or gpuHourUsd/outputTokensPerSecond, not both']],
  ['a pre-copy lead shorter than the maintenance period', (c) => (c.logs = { partitions: { maintenanceIntervalMinutes: 120, precopyAheadHours: 1 } }), ['logs.partitions.precopyAheadHours: precopyAheadHours must span at least one maintenanceIntervalMinutes, or no run would pre-copy a partition before its drop (0 turns pre-copying off)']],
  ['an empty price', (c) => (c.providers.local_vllm.prices = { 'my-finetune': {} }), ['providers.local_vllm.prices.my-finetune: needs inputPerMTok and outputPerMTok, or gpuHourUsd and outputTokensPerSecond (self-hosted)']],
];

test('a self-hosted model priced per GPU-hour costs its GPUs’ hour over the tokens they produce in it', () => {
  const config = base();
  config.providers.local_vllm.prices = { 'my-finetune': { gpuHourUsd: 2.5, gpus: 2, outputTokensPerSecond: 1000 }, 'llama-3.1-8b-instruct': { inputPerMTok: 0.1, outputPerMTok: 0.2 } };
  const prices = parseConfigText(stringify(config)).providers.local_vllm!.prices;
  // 2 GPUs × $2.50 an hour for 3.6 M output tokens: $1.39 per million; prompt tokens ride along
  expect(prices['my-finetune']!.inputPerMTok).toBe(0);
  expect(prices['my-finetune']!.outputPerMTok).toBeCloseTo((2 * 2.5 * 1e6) / (1000 * 3600), 10);
  expect(prices['llama-3.1-8b-instruct']).toEqual({ inputPerMTok: 0.1, outputPerMTok: 0.2 });
});

test.each(cases)('%s', (_name, mutate, expected) => {
  expect(problemsOf(mutate)).toEqual(expected);
});

test('every problem of a file is reported at once', () => {
  const problems = problemsOf((c) => {
    c.useCases[0].temperature = 9;
    c.useCases[1].maxTokens = 0;
    c.providers.openai.baseUrl = 'nope';
  });
  expect(problems).toEqual(['providers.openai.baseUrl: must be an http(s) URL', 'useCases[0].temperature: must be <= 2', 'useCases[1].maxTokens: must be >= 1']);
});

test('YAML syntax errors name the line', () => {
  expect(() => parseConfigText('providers:\n  a: [1, 2\nuseCases: []\n', 'x.yaml')).toThrow(/line \d+/);
});

test('a bad file makes `mms dev` exit with status 2, print every problem and start nothing', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mms-config-'));
  const config = base();
  config.useCases[2].temperature = 3;
  config.useCases[0].kind = 'gratis';
  fs.writeFileSync(path.join(dir, 'mms.config.yaml'), stringify(config));
  const stateDir = path.join(dir, 'state');
  const run = spawnSync(process.execPath, [path.join(root, 'bin/mms.js'), 'dev', '--config', path.join(dir, 'mms.config.yaml')], {
    env: { ...process.env, MMS_STATE_DIR: stateDir },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(run.status).toBe(2);
  expect(run.stderr).toContain('useCases[2].temperature: must be <= 2');
  expect(run.stderr).toContain('useCases[0].kind: must be one of "paid", "self_hosted"');
  expect(fs.existsSync(stateDir)).toBe(false);
});
