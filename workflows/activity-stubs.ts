import { proxyActivities, type RetryPolicy } from '@temporalio/workflow';
import type { RegistryActivities } from '../activities/registry';
import type { RolloutActivities } from '../activities/rollout';

/**
 * The activity stubs every workflow calls, one `proxyActivities` per retry behaviour. A lifecycle
 * picks the behaviour its call needs; it never declares its own timeouts, so a snapshot taken by the
 * snapshot workflow and one taken by a rollout are retried alike.
 */

/** Backoff through a database blip: 0.5 s doubling to 10 s, 10 attempts (about a minute in all). */
export const databaseBlipRetry: RetryPolicy = { initialInterval: '500 ms', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 10 };

// Registry reads and writes (prepare, snapshot, deployment row, promotion): quick and idempotent,
// retried with backoff through a database blip; a fault no retry can mend fails fast (non-retryable).
export const registry = proxyActivities<RegistryActivities & RolloutActivities>({
  startToCloseTimeout: '60 seconds',
  retry: databaseBlipRetry,
});

// Writes that hold the use case's row lock (traffic changes, the snapshot restore) heartbeat, so a
// worker killed mid-transaction is noticed in seconds and the change retried (idempotent, never out
// of order) instead of after the 60 s start-to-close timeout.
export const lockedRegistry = proxyActivities<RegistryActivities & RolloutActivities>({
  startToCloseTimeout: '60 seconds',
  heartbeatTimeout: '5 seconds',
  retry: databaseBlipRetry,
});

// Waits for the gateway replicas to serve a new allocation (they poll within ~1 s): frequent, flat
// retries for a bounded time, then the lifecycle fails loudly instead of claiming what it never saw.
export const verification = proxyActivities<RegistryActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '250 ms', backoffCoefficient: 1.5, maximumInterval: '2 seconds', maximumAttempts: 40 },
});

// Window analysis reads the logs (read-only, recorded once per window): a few retries, then the
// rollout rolls back rather than promote on a verdict it could not compute.
export const analysis = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '15 seconds', maximumAttempts: 5 },
});

// Evaluation traffic runs for a whole window and heartbeats; it is cancelled when the window ends
// early. Best effort: a failed attempt is retried twice, then the window relies on player traffic.
export const evaluation = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '7 days',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2 seconds', maximumAttempts: 3 },
});

// Webhooks are notifications: a few retries, never blocking or failing the rollout.
export const webhooks = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
});
