import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PrismaClient } from '@prisma/client';
import type { Client } from '@temporalio/client';
import { rolloutPolicySchema, type RolloutPolicy } from '../../src/config/schema';
import { getServingAllocation, TOTAL_BUCKETS } from '../../src/registry/allocations';
import { rolloutWorkflowId, type RolloutInput } from '../../workflows/rollout-messages';
import { rolloutWorkflow } from '../../workflows';

/** A rollout policy for tests: windows of seconds, small sample sizes; overrides merged in. */
export function testPolicy(overrides: Record<string, unknown> = {}): RolloutPolicy {
  const { analysis, ...rest } = overrides as { analysis?: Record<string, unknown> };
  return rolloutPolicySchema.parse({
    steps: [20, 50, 100],
    windowSeconds: 1.5,
    shadowWindowSeconds: 1.5,
    // 5 % of a 1.5 s window is a dozen calls, too few to judge: tests that want a holdback size it
    stableHoldbackPercent: 0,
    // Margins wide enough that a healthy candidate is shown non-inferior on the few dozen calls a
    // 1.5 s window gives it (the analysis passes only what it has shown), still far below the faults
    // the tests inject (40–50 % errors).
    analysis: {
      minSamples: 20,
      maxInconclusiveExtensions: 2,
      graceSeconds: 0.3,
      maxErrorRateIncrease: 0.1,
      maxFirstAttemptFailureRateIncrease: 0.1,
      maxViolationRateIncrease: 0.1,
      maxUnhealthyEngagementRateIncrease: 0.1,
      maxLatencyP95IncreasePercent: 100,
      maxLatencyP99IncreasePercent: 200,
      maxLatencySlowerProbability: 0.8,
      maxCostIncreasePercent: 100,
      ...analysis,
    },
    ...rest,
  });
}

export interface Behaviour {
  errorRate: number;
  latencyMs: number;
  violationRate?: number;
  costUsd?: number;
}

export const healthy: Behaviour = { errorRate: 0.01, latencyMs: 300, violationRate: 0, costUsd: 0.0005 };

/**
 * Writes historical-log rows the way the gateway does (one row per call, role and allocation version
 * of the serving allocation, a mirrored shadow row at the shadow's share), at `perSecond` calls a
 * second, so the workflow tests can run before and without the gateway. Every model behaves as
 * `behaviour(modelId)` says.
 */
export function startLogTraffic(prisma: PrismaClient, options: { useCaseId: string; perSecond: number; behaviour: (modelId: string, role: string) => Behaviour; tickMs?: number }) {
  const tickMs = options.tickMs ?? 100;
  let stopped = false;
  let written = 0;
  const row = (modelId: string, role: string, version: number, b: Behaviour, at: Date) => {
    const error = Math.random() < b.errorRate;
    const violation = !error && Math.random() < (b.violationRate ?? 0);
    return {
      id: crypto.randomUUID(),
      requestId: crypto.randomUUID(),
      modelId,
      useCase: options.useCaseId,
      role,
      allocationVersion: version,
      status: error ? 'error' : violation ? 'blocked' : 'ok',
      prompt: `prompt ${Math.floor(Math.random() * 50)}`,
      generatedOutput: error ? '' : 'answer',
      latencyMs: b.latencyMs * (0.7 + 0.6 * Math.random()),
      costUsd: b.costUsd === undefined ? null : (b.costUsd * (0.9 + 0.2 * Math.random())).toFixed(10),
      guardrailVerdict: error ? null : violation ? 'blocked' : 'pass',
      timestamp: at,
    };
  };
  const loop = (async () => {
    let carry = 0;
    let lastTick = Date.now();
    while (!stopped) {
      const started = Date.now();
      const allocation = await getServingAllocation(prisma, options.useCaseId);
      // Calls due since the last tick, by the clock: a loaded machine stretches the ticks, not the
      // rate (a falling rate would change what a window holds, e.g. stable's stragglers against it).
      const elapsedMs = Math.min(started - lastTick, 1000);
      lastTick = started;
      if (allocation) {
        carry += (options.perSecond * elapsedMs) / 1000;
        const n = Math.floor(carry);
        carry -= n;
        const served = allocation.entries.filter((e) => e.role !== 'shadow' && e.weight > 0);
        const shadows = allocation.entries.filter((e) => e.role === 'shadow');
        const rows = [];
        // Stamped when the allocation was read, as the gateway logs a call at its routing: a read that
        // began before a traffic change (stale under load) must not put its calls after the change.
        const at = new Date(started);
        for (let i = 0; i < n; i++) {
          let bucket = Math.floor(Math.random() * TOTAL_BUCKETS);
          const entry = served.find((e) => (bucket -= e.weight) < 0) ?? served[0]!;
          rows.push(row(entry.modelId, entry.role, allocation.version, options.behaviour(entry.modelId, entry.role), at));
          for (const s of shadows) {
            if (Math.random() * TOTAL_BUCKETS < s.weight) rows.push(row(s.modelId, 'shadow', allocation.version, options.behaviour(s.modelId, 'shadow'), at));
          }
        }
        if (rows.length) await prisma.modelHistoricalLog.createMany({ data: rows });
        written += rows.length;
      }
      await new Promise((r) => setTimeout(r, Math.max(0, tickMs - (Date.now() - started))));
    }
  })();
  return {
    get written() {
      return written;
    },
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

export { waitFor } from './wait-for';

/** Starts `rollout:<useCase>`; each test file uses its own use case, so files running in parallel never share a workflow id. */
export function startRolloutWorkflow(client: Client, taskQueue: string, input: Partial<RolloutInput> & Pick<RolloutInput, 'candidate' | 'useCaseId'>) {
  const full: RolloutInput = { strategy: 'canary', policy: testPolicy(), requestedBy: 'jest', ...input };
  return client.workflow.start(rolloutWorkflow, { taskQueue, workflowId: rolloutWorkflowId(full.useCaseId), args: [full] });
}

/** The allocation history of a use case: version, entries, who wrote it. */
export async function allocationHistory(prisma: PrismaClient, useCaseId: string) {
  const rows = await prisma.trafficAllocation.findMany({ where: { useCaseId }, orderBy: { version: 'asc' } });
  return rows.map((r) => ({ version: r.version, entries: r.entries as Array<{ modelId: string; weight: number; role: string }>, createdAt: r.createdAt, requestKey: r.requestKey }));
}

/** The candidate's served weight in each allocation version (shadow-only versions count 0). */
export const candidateWeights = (history: Awaited<ReturnType<typeof allocationHistory>>, candidateId: string) =>
  history.map((h) => h.entries.find((e) => e.modelId === candidateId && e.role !== 'shadow')?.weight ?? 0);

/** A webhook receiver on 127.0.0.1 that records every event it is sent. */
export async function startWebhookReceiver(options: { failFirst?: number } = {}) {
  const events: Array<{ id: string; type: string; headers: http.IncomingHttpHeaders; body: Record<string, unknown> }> = [];
  let failures = options.failFirst ?? 0;
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      if (failures > 0) {
        failures--;
        res.writeHead(503).end();
        return;
      }
      const body = JSON.parse(text) as Record<string, unknown>;
      events.push({ id: String(body.id), type: String(body.type), headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/mms`,
    /** In arrival order: deliveries run concurrently and retries come later, so this order is not the rollout's. */
    events,
    /** In the rollout's order, by the `n` of `<workflow>/<run>/event/<n>`, as the README tells receivers to order them. */
    inSequence: () => [...events].sort((a, b) => Number(a.id.split('/').pop()) - Number(b.id.split('/').pop())),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
