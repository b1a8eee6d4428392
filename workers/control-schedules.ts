import type { Client } from '@temporalio/client';
import type { PrismaClient } from '@prisma/client';
import type { MmsConfig } from '../src/config/schema';
import { guardrailsUpdatesInForce } from '../src/meta/guardrails';
import type { EnsureResult } from '../src/temporal/schedules';
import { ensureEmbeddingsCacheSchedule } from './embeddings-schedule';
import { ensureGuardrailsMonitors } from './guardrails-monitors';
import { ensureLogSchedules } from './log-schedules';
import { ensureMetaSchedule } from './meta-schedule';
import { ensurePaidScanSchedule } from './paid-schedules';

export type ControlScheduleResult = { scheduleId: string; result: EnsureResult | 'disabled' };

/**
 * Every schedule the control worker owns, in the order they are ensured: the one list `mms dev` and
 * `workers/control-main` both go through (`ensureControlPlane`), so a schedule added here reaches
 * both entry points and neither can forget one. A new schedule is one more entry here.
 */
export const CONTROL_SCHEDULES: ReadonlyArray<(client: Client, config: MmsConfig) => Promise<ControlScheduleResult | ControlScheduleResult[]>> = [
  ensureLogSchedules, // partition maintenance, log roll-ups
  ensurePaidScanSchedule, // paid-catalog scan (deleted when disabled)
  ensureMetaSchedule, // the meta-optimisation sweep
  ensureEmbeddingsCacheSchedule, // embeddings-cache pruning
];

/**
 * The cluster-wide singletons of the control plane, made to match mms.config.yaml (idempotent):
 * every schedule of CONTROL_SCHEDULES, then one guardrails monitor per use case with the guardrails
 * updates the meta loop put in force.
 */
export async function ensureControlPlane(client: Client, config: MmsConfig, prisma: PrismaClient) {
  const schedules: ControlScheduleResult[] = [];
  for (const ensure of CONTROL_SCHEDULES) schedules.push(...[await ensure(client, config)].flat());
  const monitors = await ensureGuardrailsMonitors(client, config, await guardrailsUpdatesInForce(prisma));
  return { schedules, monitors };
}
