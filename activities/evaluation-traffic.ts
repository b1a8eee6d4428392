/**
 * Evaluation traffic for idle canaries: replays recent prompts of the use case (the historical-log
 * prompt pool) through the gateway during a monitoring window, so the window reaches its minimum
 * sample size without waiting for players. Calls go through the real gateway, so they are routed,
 * guarded and logged exactly like player calls. Sticky keys are chosen so that calls alternate
 * between the candidate and stable (the same prompts on both sides of the comparison); in a shadow
 * stage every call goes to stable and the gateway mirrors its share to the shadow.
 */

import { setTimeout as delay } from 'node:timers/promises';
import type { PrismaClient } from '@prisma/client';
import { EVALUATION_KEYS_PER_MODEL, stickyKeysFor } from '../src/routing/buckets';
import { allocationEntriesSchema } from '../src/registry/allocations';
import { safeErrorMessage } from '../src/logging/redact';

export interface EvaluationTrafficInput {
  useCaseId: string;
  candidateModelId: string;
  stableModelId: string;
  gatewayUrl: string;
  apiKey?: string;
  requestsPerSecond: number;
  durationMs: number;
  promptPoolSize: number;
}

export interface EvaluationTrafficDeps {
  http: (url: string, init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<{ status: number; text(): Promise<string> }>;
  /** Records progress (an EvaluationTrafficProgress) where a retried attempt finds it. */
  heartbeat: (details: EvaluationTrafficProgress) => void;
  cancelled: AbortSignal;
  /** A retry: the last progress an earlier attempt recorded, and when the first attempt was scheduled. */
  retry?: { progress: unknown; firstScheduledAt: number };
}

/**
 * The heartbeat of evaluation traffic: where a retried attempt resumes, so it never re-sends a call an
 * earlier attempt sent (a paid provider would bill the prompt twice).
 */
export interface EvaluationTrafficProgress {
  /** When the first attempt started (ms since epoch): every attempt keeps its schedule and its end. */
  startedAt: number;
  /** The prompt pool as of this instant (ISO), so a retry replays the same prompts in the same order. */
  poolAsOf: string;
  /** The next call; every call before it was sent. */
  next: number;
  report: EvaluationTrafficReport;
}

function parseProgress(value: unknown): EvaluationTrafficProgress | undefined {
  const p = value as Partial<EvaluationTrafficProgress> | undefined;
  const ok = p && Number.isFinite(p.startedAt) && Number.isInteger(p.next) && typeof p.poolAsOf === 'string' && !Number.isNaN(Date.parse(p.poolAsOf)) && p.report && Number.isInteger(p.report.sent);
  return ok ? (p as EvaluationTrafficProgress) : undefined;
}

export interface EvaluationTrafficReport {
  sent: number;
  ok: number;
  failed: number;
  toCandidate: number;
  toStable: number;
  promptPool: number;
  lastError?: string;
}

export interface PooledPrompt {
  prompt: string;
  /** The conversation before the prompt and the caller's metadata (template variables), as logged. */
  history: Array<{ role: string; content: string }>;
  metadata?: Record<string, unknown>;
}

/**
 * Prompts players sent in the 7 days up to `asOf` that stable answered, newest first, each with the
 * context it was sent in (earlier turns, template metadata): the pool evaluation calls replay. The same
 * `asOf` gives the same pool in the same order (what a retried attempt resumes on).
 */
export async function promptPool(prisma: PrismaClient, useCaseId: string, size: number, asOf: Date = new Date()): Promise<PooledPrompt[]> {
  const rows = await prisma.$queryRaw<Array<{ prompt: string; context: unknown }>>`
    select prompt, context from (
      select distinct on (prompt) prompt, context, timestamp
        from model_historical_logs
       where use_case = ${useCaseId} and status = 'ok' and coalesce(role, 'stable') = 'stable'
         and length(prompt) > 0 and timestamp > ${asOf}::timestamptz - interval '7 days' and timestamp <= ${asOf}::timestamptz
       order by prompt, timestamp desc) latest
    order by timestamp desc, prompt
    limit ${size}`;
  return rows.map((r) => {
    const context = (r.context ?? {}) as { history?: unknown; metadata?: unknown };
    const history = Array.isArray(context.history)
      ? (context.history as Array<{ role?: unknown; content?: unknown }>).filter((m) => typeof m.role === 'string' && typeof m.content === 'string').map((m) => ({ role: m.role as string, content: m.content as string }))
      : [];
    const metadata = context.metadata && typeof context.metadata === 'object' ? (context.metadata as Record<string, unknown>) : undefined;
    return { prompt: r.prompt, history, ...(metadata ? { metadata } : {}) };
  });
}

export async function driveEvaluationTraffic(prisma: PrismaClient, input: EvaluationTrafficInput, deps: EvaluationTrafficDeps): Promise<EvaluationTrafficReport> {
  const resumed = deps.retry ? parseProgress(deps.retry.progress) : undefined;
  const report: EvaluationTrafficReport = resumed ? { ...resumed.report } : { sent: 0, ok: 0, failed: 0, toCandidate: 0, toStable: 0, promptPool: 0 };
  // A retry keeps the first attempt's schedule (call i is due at started + i·interval, never earlier).
  // Without its progress (it died before recording any) it starts from when the first attempt was scheduled.
  const started = resumed?.startedAt ?? deps.retry?.firstScheduledAt ?? Date.now();
  const poolAsOf = resumed?.poolAsOf ?? new Date(started).toISOString();
  const prompts = await promptPool(prisma, input.useCaseId, input.promptPoolSize, new Date(poolAsOf));
  report.promptPool = prompts.length;
  if (prompts.length === 0) {
    report.lastError = `no prompts of "${input.useCaseId}" in the historical logs to replay`;
    return report;
  }
  const allocation = await prisma.trafficAllocation.findFirst({ where: { useCaseId: input.useCaseId }, orderBy: { version: 'desc' } });
  if (!allocation) throw new Error(`use case "${input.useCaseId}" has no traffic allocation`);
  const entries = allocationEntriesSchema.parse(allocation.entries);
  const candidateKeys = stickyKeysFor(input.useCaseId, entries, input.candidateModelId, EVALUATION_KEYS_PER_MODEL);
  const stableKeys = stickyKeysFor(input.useCaseId, entries, input.stableModelId, EVALUATION_KEYS_PER_MODEL);
  const targets = [candidateKeys, stableKeys].filter((k) => k.length > 0);
  if (targets.length === 0) throw new Error(`allocation v${allocation.version} of "${input.useCaseId}" serves neither the candidate nor stable`);

  const url = new URL('/v1/chat/completions', input.gatewayUrl).toString();
  const intervalMs = 1000 / input.requestsPerSecond;
  const inFlight = new Set<Promise<void>>();
  const maxInFlight = Math.max(1, Math.min(32, Math.ceil(input.requestsPerSecond)));
  // Resume after every call an earlier attempt sent: the recorded `next`, or later. A call is sent no
  // earlier than it is due, and every call of an earlier attempt was sent before this one started, so
  // every call already due now is one that was sent or whose time passed while no attempt ran (the
  // recorded progress may lag behind the last calls: heartbeats are throttled).
  const first = deps.retry ? Math.max(resumed?.next ?? 0, Math.ceil((Date.now() - started) / intervalMs)) : 0;
  for (let i = first; ; i++) {
    const wait = started + i * intervalMs - Date.now();
    if (wait > 0) await delay(wait, undefined, { signal: deps.cancelled }).catch(() => undefined);
    if (deps.cancelled.aborted || Date.now() - started >= input.durationMs) break;
    const keys = targets[i % targets.length]!;
    const toCandidate = keys === candidateKeys;
    const pooled = prompts[i % prompts.length]!;
    report.sent++;
    if (toCandidate) report.toCandidate++;
    else report.toStable++;
    // recorded before the call goes out: a retry never sends call i again
    deps.heartbeat({ startedAt: started, poolAsOf, next: i + 1, report: { ...report } });
    const call = (async () => {
      try {
        const res = await deps.http(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-mms-sticky-key': keys[Math.floor(i / targets.length) % keys.length]!,
            ...(input.apiKey ? { authorization: `Bearer ${input.apiKey}` } : {}),
          },
          body: JSON.stringify({
            model: input.useCaseId,
            messages: [...pooled.history, { role: 'user', content: pooled.prompt }],
            ...(pooled.metadata ? { metadata: pooled.metadata } : {}),
          }),
          signal: AbortSignal.any([deps.cancelled, AbortSignal.timeout(30_000)]),
        });
        const text = await res.text().catch(() => '');
        if (res.status >= 200 && res.status < 300) report.ok++;
        else {
          report.failed++;
          report.lastError = `gateway answered ${res.status}: ${text.slice(0, 300)}`;
        }
      } catch (err) {
        if (deps.cancelled.aborted) return;
        report.failed++;
        report.lastError = safeErrorMessage(err);
      }
    })();
    inFlight.add(call);
    void call.finally(() => inFlight.delete(call));
    if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
  }
  await Promise.allSettled([...inFlight]);
  return report;
}
