export {
  API_KEY_PREFIX,
  ALL_USE_CASES,
  ApiKeyError,
  apiKeyScopes,
  ApiKeyNotFoundError,
  authorize,
  checkNotExpired,
  createApiKey,
  findKeyRecord,
  recordsOfRow,
  rotateApiKey,
  updateApiKey,
  generateApiKey,
  hashApiKey,
  keyAllowsUseCase,
  listApiKeys,
  presentedKey,
  revokeApiKey,
  verifyApiKey,
  type ApiKeyRecord,
  type ApiKeyListing,
  type ApiKeyScope,
  type ApiKeySettings,
  type CreatedApiKey,
} from './api-keys';
export * from './limits';
export { KeyLimiter, LimitExceededError, type CounterStore, type LimitName, type LimitedKey, type LimiterOptions } from './limiter';
export { postgresCounterStore } from './counter-store';
