import type { MmsConfig, ProviderConfig } from '../config/schema';
import { registerSecret } from '../logging/redact';
import { AnthropicProvider } from './anthropic';
import { GoogleProvider } from './google';
import { OpenAICompatibleProvider } from './openai-wire';
import { OpenAISdkProvider } from './openai-sdk';
import type { ChatProvider } from './types';

export * from './types';
export { ProviderError, type ErrorClass, parseRetryAfter } from './errors';
export { RetryBudget, withRetries, type RetryPolicy } from './retry';
export {
  parseAnthropicModelList,
  parseGeminiModelList,
  parseOllamaTags,
  parseOpenAIModelList,
  parseOpenRouterModelList,
  fetchModelList,
} from './model-lists';

/**
 * The provider client for one entry of `providers:` in mms.config.yaml. Its base URL and key come
 * from config and the environment only: nothing a caller sends can change where a call goes or which
 * credential it carries. The key is registered for redaction before any call is made.
 */
export function createProvider(
  id: string,
  config: ProviderConfig,
  options: { env?: NodeJS.ProcessEnv; connections?: number } = {},
): ChatProvider {
  const env = options.env ?? process.env;
  const apiKey = config.apiKeyEnv ? env[config.apiKeyEnv] || undefined : undefined;
  registerSecret(apiKey);
  switch (config.kind) {
    case 'openai':
    case 'openrouter':
      return new OpenAISdkProvider(id, config, { apiKey, connections: options.connections });
    case 'openai_compatible':
    case 'ollama':
      return new OpenAICompatibleProvider(id, config, { apiKey, connections: options.connections, dialect: 'compatible' });
    case 'anthropic':
      return new AnthropicProvider(id, config, { apiKey });
    case 'google':
      return new GoogleProvider(id, config, { apiKey });
    case 'huggingface':
      throw new Error(`providers.${id}: kind "huggingface" is a model hub for downloads, not a chat provider`);
  }
}

/** Every chat provider of a config, by id (hub-only providers are skipped). */
export function createProviders(config: MmsConfig, options: { env?: NodeJS.ProcessEnv; connections?: number } = {}): Map<string, ChatProvider> {
  const out = new Map<string, ChatProvider>();
  for (const [id, provider] of Object.entries(config.providers)) {
    if (provider.kind === 'huggingface') continue;
    out.set(id, createProvider(id, provider, options));
  }
  return out;
}
