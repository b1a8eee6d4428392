import type { ChatMessage, ChatParams } from '../providers/types';
import type { ModelParams } from './models';

/**
 * The validation smoke check's data and rules (`validate:<modelId>`), shared by its activities, its
 * workflow messages and the clients: what is sent, what came back, and when a model passes.
 */

/** One prompt sent and what came back. */
export interface ValidationCall {
  prompt: string;
  /** The answer, cut to 2,000 characters. */
  answer?: string;
  latencyMs: number;
  /** Error class (upstream_not_found, timeout, …) and message, when the call failed. */
  error?: { class: string; message: string };
}

export interface ValidationPlan {
  evaluationId: string;
  modelName: string;
  useCaseId: string;
  provider: string;
  upstreamModel: string;
  /** Where the prompts came from: the use case's logged player prompts, its configured regression prompts, or the built-in one. */
  source: 'logged' | 'regression' | 'builtin';
  prompts: Array<{ prompt: string; history: Array<{ role: string; content: string }>; metadata?: Record<string, unknown> }>;
  maxFailures: number;
  timeoutSeconds: number;
  /**
   * The model in service to compare with after the smoke check (`policies.validation.compareWithCurrent`
   * on, and another model serves the use case); null when there is none or the policy is off.
   */
  compareWith?: string | null;
}

/** The candidate against the model in service (the evaluate workflow run as validation's child). */
export interface ValidationComparison {
  currentModelId: string;
  workflowId: string;
  evaluationId?: string;
  meetsThreshold: boolean;
  /** `criterion: detail` of each failing criterion; or why the evaluation could not run. */
  failing: string[];
  similarity?: number | null;
}

export interface ValidationResult {
  modelId: string;
  modelName: string;
  useCaseId: string;
  evaluationId: string;
  passed: boolean;
  /** The model's status afterwards: candidate, failed (or unchanged when it already serves). */
  status: string;
  reason: string;
  source: ValidationPlan['source'];
  prompts: number;
  failures: number;
  latencyP50Ms: number | null;
  latencyMaxMs: number | null;
  comparison?: ValidationComparison;
}

/** The pass/fail rule of a validation, pure so the activity and tests agree. */
export function judgeValidation(
  calls: ValidationCall[],
  maxFailures: number,
): { passed: boolean; failures: number; reason: string; latencyP50Ms: number | null; latencyMaxMs: number | null } {
  const failed = calls.filter((c) => c.error || !c.answer?.trim());
  const latencies = calls.filter((c) => !c.error).map((c) => c.latencyMs).sort((a, b) => a - b);
  const latencyP50Ms = latencies.length ? Math.round(latencies[Math.floor((latencies.length - 1) / 2)]!) : null;
  const latencyMaxMs = latencies.length ? Math.round(latencies[latencies.length - 1]!) : null;
  if (calls.length === 0) return { passed: false, failures: 0, reason: 'no prompt could be sent', latencyP50Ms, latencyMaxMs };
  const answered = `${calls.length - failed.length}/${calls.length} prompts answered`;
  if (failed.length > maxFailures) {
    const first = failed[0]!;
    const why = first.error ? `${first.error.class}: ${first.error.message}` : 'empty answer';
    return { passed: false, failures: failed.length, reason: `${answered} (${failed.length} failed, ${maxFailures} allowed); first failure: ${why}`, latencyP50Ms, latencyMaxMs };
  }
  return { passed: true, failures: failed.length, reason: `${answered}${latencyP50Ms !== null ? `, p50 ${latencyP50Ms} ms` : ''}`, latencyP50Ms, latencyMaxMs };
}

/** The smoke check's verdict with the comparison against the model in service, when one ran: both must pass. */
export function judgeValidationWithComparison(
  calls: ValidationCall[],
  maxFailures: number,
  comparison: ValidationComparison | undefined,
): ReturnType<typeof judgeValidation> {
  const smoke = judgeValidation(calls, maxFailures);
  if (!smoke.passed || !comparison) return smoke;
  if (comparison.meetsThreshold) return { ...smoke, reason: `${smoke.reason}; as good as the model in service (${comparison.currentModelId})${comparison.similarity != null ? `, calibrated similarity ${comparison.similarity.toFixed(3)}` : ''}` };
  return { ...smoke, passed: false, reason: `${smoke.reason}; not as good as the model in service (${comparison.currentModelId}): ${comparison.failing.join('; ')}` };
}

/**
 * The call the gateway would make for a prompt of this use case: the use case's system prompt (its
 * `{{variables}}` filled from the prompt's metadata), temperature, max tokens and sampling, then the
 * model's own params, then the conversation. A variable without a value is an error naming it.
 */
export function validationCallParams(
  useCase: { temperature: number; maxTokens: number; systemPromptTemplate: string; samplingParams: unknown },
  model: { upstreamModel: string; params: ModelParams },
  prompt: ValidationPlan['prompts'][number],
): ChatParams {
  const metadata = prompt.metadata ?? {};
  const system = useCase.systemPromptTemplate.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_.-]*)\s*\}\}/g, (_, name: string) => {
    const value = metadata[name];
    if (value === undefined) throw new Error(`metadata.${name}: required by the use case's system prompt template; give the regression prompt a metadata.${name}`);
    return String(value);
  });
  const sampling = (useCase.samplingParams ?? {}) as Record<string, unknown>;
  const pick = <K extends keyof ChatParams>(key: K, ok: (v: unknown) => boolean) => (ok(sampling[key]) ? { [key]: sampling[key] as ChatParams[K] } : {});
  const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  const history = prompt.history.filter((m): m is ChatMessage => m.role === 'user' || m.role === 'assistant');
  return {
    model: model.upstreamModel,
    messages: [{ role: 'system', content: system }, ...history, { role: 'user', content: prompt.prompt }],
    temperature: useCase.temperature,
    maxTokens: useCase.maxTokens,
    ...pick('topP', isNumber),
    ...pick('topK', isNumber),
    ...pick('seed', isNumber),
    ...pick('frequencyPenalty', isNumber),
    ...pick('presencePenalty', isNumber),
    ...pick('stop', Array.isArray),
    ...model.params,
  };
}
