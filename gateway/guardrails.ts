/**
 * The guardrail hook on the output path, before an answer reaches the caller. The guardrails
 * capability implements `Guardrail`; with none configured every answer passes. Each call's verdict is
 * written to its log row, every violation to guardrails_violations, and critical ones are reported
 * through `onCriticalViolation` at once (so a rollout can be aborted without waiting for its window).
 */

import type { GuardrailsOverride } from '../src/guardrails/policy';
import type { ChatMessage } from '../src/providers/types';

export type GuardrailSeverity = 'critical' | 'high' | 'medium' | 'low';

export interface GuardrailViolation {
  /** A category, e.g. self_harm, hate, manipulation (policies.guardrails.severities). */
  type: string;
  severity: GuardrailSeverity;
  score?: number;
  details?: Record<string, unknown>;
}

export interface GuardrailVerdict {
  /** pass: return as is; redact: return `redactedText`; block: return `replacement` (default empty) with finish_reason content_filter. */
  action: 'pass' | 'redact' | 'block';
  violations: GuardrailViolation[];
  redactedText?: string;
  replacement?: string;
}

export interface GuardrailContext {
  requestId: string;
  useCaseId: string;
  modelId: string;
  modelName: string;
  role: 'stable' | 'canary' | 'shadow';
  allocationVersion: number;
  /** What was sent to the model (system prompt first). */
  messages: ChatMessage[];
  /**
   * The guardrails policy an update_guardrails decision put in force for the use case (from the route
   * the call was served by), over policies.guardrails; undefined when none.
   */
  guardrails?: GuardrailsOverride;
}

export interface Guardrail {
  readonly name: string;
  /** Judges a complete answer. */
  checkOutput(context: GuardrailContext, output: string): GuardrailVerdict | Promise<GuardrailVerdict>;
  /**
   * Optional, for streams: judges the text streamed so far before the next piece is sent. Without it,
   * a stream is judged once, at its end, before the final event. `judgedUpTo`: how much of it an
   * earlier call judged (the new text starts there; one upstream read may bring more than a window).
   */
  checkPartial?(context: GuardrailContext, outputSoFar: string, judgedUpTo: number): GuardrailVerdict | undefined | Promise<GuardrailVerdict | undefined>;
  /**
   * Streams: characters held back until the text after them (or the whole answer) has been judged,
   * so a harmful phrase split across pieces is never sent. 0 (default): each piece goes out once judged.
   */
  readonly streamHoldBackChars?: number;
}

export interface CriticalViolationEvent {
  requestId: string;
  useCaseId: string;
  modelId: string;
  modelName: string;
  role: 'stable' | 'canary' | 'shadow';
  allocationVersion: number;
  violation: GuardrailViolation;
  /** What the gateway did: blocked, redacted, recorded (shadow answers are never returned). */
  intervention: string;
  at: Date;
}

export type OnCriticalViolation = (event: CriticalViolationEvent) => void | Promise<void>;

/** The verdict column of model_historical_logs. */
export type VerdictLabel = 'pass' | 'redacted' | 'blocked' | 'error';

export const PASS: GuardrailVerdict = Object.freeze({ action: 'pass', violations: [] }) as GuardrailVerdict;

export function verdictLabel(verdict: GuardrailVerdict): VerdictLabel {
  return verdict.action === 'block' ? 'blocked' : verdict.action === 'redact' ? 'redacted' : 'pass';
}

/** A guardrail that throws fails closed: the answer is blocked and the call logged with verdict "error". */
export const GUARDRAIL_ERROR_VERDICT: GuardrailVerdict = Object.freeze({
  action: 'block',
  violations: [],
  replacement: '',
}) as GuardrailVerdict;

const severities = new Set(['critical', 'high', 'medium', 'low']);
const actions = new Set(['pass', 'redact', 'block']);

/** A guardrail's answer, checked: an implementation bug must not let an answer through unjudged. */
export function checkVerdict(value: unknown, guardrail: string): GuardrailVerdict {
  const v = value as GuardrailVerdict | undefined;
  if (!v || typeof v !== 'object' || !actions.has(v.action) || !Array.isArray(v.violations)) {
    throw new Error(`guardrail "${guardrail}" returned a verdict without a valid action (pass | redact | block) and violations[]`);
  }
  v.violations.forEach((violation, i) => {
    if (!violation || typeof violation.type !== 'string' || !severities.has(violation.severity)) {
      throw new Error(`guardrail "${guardrail}" returned violations[${i}] without a type and a severity (critical | high | medium | low)`);
    }
  });
  if (v.action === 'redact' && typeof v.redactedText !== 'string') throw new Error(`guardrail "${guardrail}" redacted without redactedText`);
  return v;
}
