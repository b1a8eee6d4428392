import type { Prisma, PrismaClient } from '@prisma/client';
import { parseConfig } from '../../src/config/load';
import type { MmsConfig } from '../../src/config/schema';
import { syncUseCases } from '../../src/registry/use-cases';

/**
 * Logged calls of a use case's model, one a minute back from now, 30 tokens in and 20 out: the prompts
 * a paid ranking probes with (`<prefix>tell me the legend of the <thing>`) and its token mix.
 */
export function loggedLegendPrompts(useCase: string, modelId: string, things: string[], prefix = ''): Prisma.ModelHistoricalLogCreateManyInput[] {
  return things.map((thing, i) => ({
    useCase,
    modelId,
    prompt: `${prefix}tell me the legend of the ${thing}`,
    context: { system: 'You are the narrator of the saga.', history: [], metadata: {} },
    generatedOutput: 'Once upon a time.',
    status: 'ok',
    role: 'stable',
    guardrailVerdict: 'pass',
    tokensIn: 30,
    tokensOut: 20,
    timestamp: new Date(Date.now() - (i + 1) * 60_000),
    requestId: `${useCase}-log-${i}`,
  }));
}

/** A valid configuration with the given use cases served by one OpenAI-compatible provider. */
export function testConfig(overrides: { useCaseIds?: string[]; providerBaseUrl?: string; extra?: Record<string, unknown> } = {}): MmsConfig {
  const ids = overrides.useCaseIds ?? ['npc_dialogue'];
  return parseConfig({
    providers: { local: { kind: 'openai_compatible', baseUrl: overrides.providerBaseUrl ?? 'http://127.0.0.1:9/v1' } },
    useCases: ids.map((id) => ({
      id,
      kind: 'self_hosted',
      temperature: 0.7,
      maxTokens: 256,
      systemPromptTemplate: `You are ${id}.`,
      sampling: { topP: 0.9 },
      initialModel: { provider: 'local', model: 'llama-3.1-8b-instruct' },
    })),
    ...overrides.extra,
  });
}

export async function seedUseCases(prisma: PrismaClient, config: MmsConfig = testConfig()) {
  await syncUseCases(prisma, config);
  return config;
}

/** Registers another model for a use case (a candidate) and returns its id. */
export async function addModel(prisma: PrismaClient, useCaseId: string, name: string, status = 'candidate'): Promise<string> {
  const row = await prisma.model.create({
    data: { modelName: name, version: '1', useCase: useCaseId, modelType: 'self_hosted', provider: 'local', upstreamModel: name, modelPath: `local:${name}`, status },
  });
  return row.id;
}

/**
 * Records a passed validation of a model, as `validate:<modelId>` would: for tests that roll out a
 * candidate through the CLI or the REST API without exercising validation itself.
 */
export async function markValidated(prisma: PrismaClient, modelId: string): Promise<void> {
  const model = await prisma.model.findUniqueOrThrow({ where: { id: modelId } });
  await prisma.evaluation.create({
    data: { useCaseId: model.useCase, candidateModelId: modelId, kind: 'validation', status: 'passed', meetsThreshold: true, completedAt: new Date(), results: { reason: 'marked validated by the test' } },
  });
}
