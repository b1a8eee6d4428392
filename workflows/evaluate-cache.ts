import { proxyActivities } from '@temporalio/workflow';
import type { EvaluationActivities } from '../activities/evaluation';
import type { EmbeddingsCacheMaintenanceInput, EmbeddingsCachePruneReport } from './evaluate-cache-messages';

// A few chunked DELETEs: short; a failed run is retried a little, and the next scheduled run covers it anyway.
const maintenance = proxyActivities<EvaluationActivities>({
  startToCloseTimeout: '15 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 3 },
});

/** Prunes the embeddings cache (evaluations' and guardrails tier 2's vectors) per embeddings.cache. */
export async function embeddingsCacheMaintenanceWorkflow(input: EmbeddingsCacheMaintenanceInput): Promise<EmbeddingsCachePruneReport> {
  return maintenance.pruneEmbeddingsCache(input);
}
