import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Prisma as PrismaTypes, PrismaClient } from '@prisma/client';
import type { MmsConfig } from '../src/config/schema';
import { safeErrorMessage } from '../src/logging/redact';
import { createProvider, ProviderError, RetryBudget, withRetries } from '../src/providers';
import { modelParamsOf, VALIDATION_KIND } from '../src/registry/models';
import { getServingAllocation, stableModelId } from '../src/registry/allocations';
import { judgeValidationWithComparison, validationCallParams, type ValidationCall, type ValidationComparison, type ValidationPlan, type ValidationResult } from '../src/registry/validation';
import { promptPool } from './evaluation-traffic';

export interface ValidationActivityDeps {
  prisma: PrismaClient;
  /** The providers (base URLs, key variables, retry budget), regression prompts and validation policy. */
  config: MmsConfig;
}

/** Used when a use case has neither logged prompts nor regression prompts: proves the model answers at all. */
export const BUILTIN_VALIDATION_PROMPT = 'Reply with one short sentence to show that you are working.';

const ANSWER_CHARS = 2000;

const notFound = (message: string) => ApplicationFailure.nonRetryable(message, 'NotFound');

type ModelRow = NonNullable<Awaited<ReturnType<PrismaClient['model']['findUnique']>>>;

/** Recent logged player prompts of the use case, else its regression prompts, else the built-in one. */
async function choosePrompts(prisma: PrismaClient, config: MmsConfig, useCaseId: string): Promise<Pick<ValidationPlan, 'source' | 'prompts'>> {
  const policy = config.policies.validation;
  const logged = await promptPool(prisma, useCaseId, policy.prompts);
  const configured = config.useCases.find((u) => u.id === useCaseId)?.regressionPrompts ?? [];
  const source: ValidationPlan['source'] = logged.length > 0 ? 'logged' : configured.length > 0 ? 'regression' : 'builtin';
  const prompts =
    source === 'logged'
      ? logged
      : source === 'regression'
        ? configured.slice(0, policy.prompts).map((p) => (typeof p === 'string' ? { prompt: p, history: [] } : { prompt: p.prompt, history: [], metadata: p.metadata }))
        : [{ prompt: BUILTIN_VALIDATION_PROMPT, history: [] }];
  return { source, prompts };
}

/** The chat provider adapter of the model, as the gateway would build it; a model of no chat provider is a non-retryable failure. */
function chatProviderOf(config: MmsConfig, model: ModelRow) {
  const providerConfig = model.provider ? config.providers[model.provider] : undefined;
  if (!providerConfig || providerConfig.kind === 'huggingface') {
    throw ApplicationFailure.nonRetryable(`provider "${model.provider}" of model ${model.modelName} is not a chat provider of this worker's config`, 'UnknownProvider');
  }
  return createProvider(model.provider!, providerConfig, { connections: 4 });
}

/** One prompt, within the retry budget; a failed call is a result (its error class and a safe message), not a throw. */
async function callValidationPrompt(call: () => Promise<{ content: string }>, prompt: string): Promise<ValidationCall> {
  const started = performance.now();
  try {
    const answer = await call();
    return { prompt, answer: answer.content.slice(0, ANSWER_CHARS), latencyMs: performance.now() - started };
  } catch (err) {
    const errorClass = err instanceof ProviderError ? err.errorClass : err instanceof Error ? err.name : 'error';
    return { prompt, latencyMs: performance.now() - started, error: { class: errorClass, message: safeErrorMessage(err) } };
  }
}

export function createValidationActivities({ prisma, config }: ValidationActivityDeps) {
  const retryPolicy = {
    maxAttempts: config.gateway.retry.maxAttempts,
    budgetMs: config.gateway.retry.budgetSeconds * 1000,
    baseDelayMs: config.gateway.retry.baseDelayMs,
    maxDelayMs: config.gateway.retry.maxDelayMs,
  };

  return {
    /**
     * Picks the prompts (recent logged player prompts of the use case, else its regression prompts,
     * else the built-in one), marks the model `testing` unless it already serves, and opens the
     * `evaluations` row. Idempotent on requestKey.
     */
    async prepareValidation(input: { modelId: string; workflowId: string; requestKey: string }): Promise<ValidationPlan> {
      const model = await prisma.model.findUnique({ where: { id: input.modelId } });
      if (!model) throw notFound(`model ${input.modelId} is not in the registry`);
      const policy = config.policies.validation;
      const { source, prompts } = await choosePrompts(prisma, config, model.useCase);
      const existing = await prisma.evaluation.findUnique({ where: { requestKey: input.requestKey } });
      const evaluation =
        existing ??
        (await prisma.evaluation.create({
          data: {
            useCaseId: model.useCase,
            candidateModelId: model.id,
            kind: VALIDATION_KIND,
            status: 'running',
            workflowId: input.workflowId,
            requestKey: input.requestKey,
            results: { source, prompts: prompts.length } as PrismaTypes.InputJsonValue,
          },
        }));
      await prisma.model.updateMany({ where: { id: model.id, status: { in: ['candidate', 'failed', 'testing'] } }, data: { status: 'testing' } });
      const serving = policy.compareWithCurrent ? stableModelId((await getServingAllocation(prisma, model.useCase))?.entries ?? []) : null;
      return {
        evaluationId: evaluation.id,
        modelName: `${model.modelName}@${model.version}`,
        useCaseId: model.useCase,
        provider: model.provider ?? '-',
        upstreamModel: model.upstreamModel ?? model.modelName,
        source,
        prompts,
        maxFailures: policy.maxFailures,
        timeoutSeconds: policy.timeoutSeconds,
        compareWith: serving && serving !== model.id ? serving : null,
      };
    },

    /**
     * Sends each prompt as the gateway would: the use case's system prompt and sampling, the model's
     * own params, the provider adapter the gateway uses (src/providers), within the gateway's retry
     * budget. A failed call is a result, not an activity failure. Heartbeats after each prompt.
     */
    async runValidationPrompts(input: { modelId: string; prompts: ValidationPlan['prompts']; timeoutSeconds: number }): Promise<ValidationCall[]> {
      const model = await prisma.model.findUnique({ where: { id: input.modelId } });
      if (!model) throw notFound(`model ${input.modelId} is not in the registry`);
      const useCase = await prisma.useCase.findUnique({ where: { id: model.useCase } });
      if (!useCase) throw notFound(`use case "${model.useCase}" is not in the registry`);
      const provider = chatProviderOf(config, model);
      const target = { upstreamModel: model.upstreamModel ?? model.modelName, params: modelParamsOf(model.configuration) };
      const context = Context.current();
      const results: ValidationCall[] = [];
      try {
        for (const p of input.prompts) {
          const call = () => withRetries(new RetryBudget(retryPolicy), (budgetMs) => provider.chat(validationCallParams(useCase, target, p), { timeoutMs: Math.min(budgetMs, input.timeoutSeconds * 1000) }));
          results.push(await callValidationPrompt(call, p.prompt));
          context.heartbeat(results.length);
        }
      } finally {
        await provider.close().catch(() => undefined);
      }
      return results;
    },

    /**
     * Writes the outcome: the `evaluations` row (every prompt with its answer, latency and error) and
     * the model's status — `candidate` or `failed`; a model that already serves keeps its status.
     */
    async recordValidation(input: { modelId: string; evaluationId: string; plan: ValidationPlan; results: ValidationCall[]; comparison?: ValidationComparison }): Promise<ValidationResult> {
      const verdict = judgeValidationWithComparison(input.results, input.plan.maxFailures, input.comparison);
      const status = await prisma.$transaction(async (tx) => {
        await tx.evaluation.update({
          where: { id: input.evaluationId },
          data: {
            status: verdict.passed ? 'passed' : 'failed',
            meetsThreshold: verdict.passed,
            completedAt: new Date(),
            results: {
              source: input.plan.source,
              reason: verdict.reason,
              failures: verdict.failures,
              maxFailures: input.plan.maxFailures,
              latencyP50Ms: verdict.latencyP50Ms,
              latencyMaxMs: verdict.latencyMaxMs,
              calls: input.results,
              ...(input.comparison ? { comparison: input.comparison } : {}),
            } as unknown as PrismaTypes.InputJsonValue,
          },
        });
        await tx.model.updateMany({ where: { id: input.modelId, status: 'testing' }, data: { status: verdict.passed ? 'candidate' : 'failed' } });
        return (await tx.model.findUniqueOrThrow({ where: { id: input.modelId }, select: { status: true } })).status;
      });
      return {
        modelId: input.modelId,
        modelName: input.plan.modelName,
        useCaseId: input.plan.useCaseId,
        evaluationId: input.evaluationId,
        passed: verdict.passed,
        status,
        reason: verdict.reason,
        source: input.plan.source,
        prompts: input.results.length,
        failures: verdict.failures,
        latencyP50Ms: verdict.latencyP50Ms,
        latencyMaxMs: verdict.latencyMaxMs,
        ...(input.comparison ? { comparison: input.comparison } : {}),
      };
    },
  };
}

export type ValidationActivities = ReturnType<typeof createValidationActivities>;
