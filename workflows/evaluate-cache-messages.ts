/** Messages of the embeddings-cache maintenance (pure: safe inside the workflow sandbox). */
import type { EmbeddingsCachePruneReport, EmbeddingsCacheRetention } from '../src/embeddings/cache';

export type { EmbeddingsCachePruneReport, EmbeddingsCacheRetention };

export const EMBEDDINGS_CACHE_SCHEDULE_ID = 'embeddingsCacheMaintenance';

export interface EmbeddingsCacheMaintenanceInput {
  retention: EmbeddingsCacheRetention;
}
