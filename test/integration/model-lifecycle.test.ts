/**
 * A model's first day: registered (bad input named, duplicates refused), validated through the real
 * provider adapters against a fake OpenAI-compatible server (a typo'd upstream model fails and never
 * serves), promoted, and undone — twice, back through history — with the gateway serving each step.
 */

import type { Client } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import type { MmsConfig } from '../../src/config/schema';
import { getServingAllocation } from '../../src/registry/allocations';
import { DuplicateModelError, ModelRequestError, registerModel, validationProblem } from '../../src/registry/models';
import { syncUseCases } from '../../src/registry/use-cases';
import { rollbackWorkflow, rolloutWorkflow, validateModelWorkflow } from '../../workflows';
import { rollbackWorkflowId } from '../../workflows/rollback-messages';
import { promoteUpdate, rolloutStatusQuery, rolloutWorkflowId } from '../../workflows/rollout-messages';
import { validateWorkflowId, type ValidationResult } from '../../workflows/validate-messages';
import { createTestDatabase, startControlWorker, temporalClient, uniqueTaskQueue, type TestDatabase } from '../support/stack';
import { startFakeProvider, type FakeProvider } from '../../testkit/fake-providers';
import { chatBody, gatewayTestConfig, startTestGateway, type TestGateway } from '../fixtures/gateway-harness';
import { allocationHistory, testPolicy, waitFor } from '../support/rollout';

const USE_CASE = 'model_lifecycle';
let db: TestDatabase;
let client: Client;
let fake: FakeProvider;
let gw: TestGateway;
let config: MmsConfig;
let taskQueue: string;
let worker: Awaited<ReturnType<typeof startControlWorker>>;

beforeAll(async () => {
  client = await temporalClient();
  db = await createTestDatabase();
  fake = await startFakeProvider({ latencyMs: 2, record: true });
  taskQueue = uniqueTaskQueue('model-lifecycle');
  const base = gatewayTestConfig(fake, {
    useCases: [
      {
        id: USE_CASE,
        kind: 'self_hosted',
        temperature: 0.7,
        maxTokens: 128,
        systemPromptTemplate: 'You are {{npc_name}}, a character in the game.',
        initialModel: { provider: 'local', model: 'llama-3.1-8b-instruct' },
        regressionPrompts: [{ prompt: 'Where is the blacksmith?', metadata: { npc_name: 'Mira' } }, { prompt: 'Any work for me?', metadata: { npc_name: 'Mira' } }],
      },
    ],
  });
  config = { ...base, temporal: { ...base.temporal, controlTaskQueue: taskQueue }, policies: { ...base.policies, rollout: testPolicy({ steps: [100], windowSeconds: 600 }) } };
  await syncUseCases(db.prisma, config);
  gw = await startTestGateway(db.prisma, config);
  worker = await startControlWorker({ prisma: db.prisma, taskQueue, gatewayReplicaUrls: [gw.internalUrl], config });
});

afterAll(async () => {
  await worker?.stop();
  await gw?.close();
  await fake?.close();
  await db?.drop();
  await client?.connection.close();
});

const register = (model: string, extra: Partial<Parameters<typeof registerModel>[2]> = {}) =>
  registerModel(db.prisma, config, { useCaseId: USE_CASE, provider: 'local', upstreamModel: model, status: 'testing', registeredBy: 'jest', ...extra });

const validate = (modelId: string) =>
  client.workflow.execute(validateModelWorkflow, { taskQueue, workflowId: validateWorkflowId(modelId), args: [{ modelId, requestedBy: 'jest' }] });

async function promote(candidate: string) {
  const handle = await client.workflow.start(rolloutWorkflow, {
    taskQueue,
    workflowId: rolloutWorkflowId(USE_CASE),
    args: [{ useCaseId: USE_CASE, candidate, strategy: 'canary', policy: config.policies.rollout, requestedBy: 'jest' }],
  });
  await waitFor('the canary stage', async () => (await handle.query(rolloutStatusQuery)).phase === 'canary');
  await handle.executeUpdate(promoteUpdate, { args: [{ full: true, by: 'jest' }] });
  expect(await handle.result()).toMatchObject({ outcome: 'promoted' });
}

async function undo() {
  return client.workflow.execute(rollbackWorkflow, { taskQueue, workflowId: rollbackWorkflowId(USE_CASE), args: [{ useCaseId: USE_CASE, target: { undo: true }, reason: 'undo', requestedBy: 'jest' }] });
}

/** What the gateway serves: its allocation endpoint's stable model, and who answers a real chat call. */
async function served(): Promise<{ stable: string; answeredBy: string }> {
  const allocation = await gw.call(undefined, { method: 'GET', path: `/v1/allocations/${USE_CASE}`, internal: true });
  const chat = await gw.call(chatBody('Hello', { model: USE_CASE, metadata: { npc_name: 'Mira' } }));
  expect(chat.status).toBe(200);
  return { stable: (allocation.body.entries as Array<{ modelId: string; role: string }>).find((e) => e.role === 'stable')!.modelId, answeredBy: chat.body.choices[0].message.content.split(':')[0] };
}

test('registration refuses bad input naming the field, and duplicates with the existing id', async () => {
  await expect(register('x', { provider: 'nowhere' })).rejects.toThrow(new ModelRequestError('provider', '"nowhere" is not a provider of the config (providers: local)'));
  await expect(register('x', { useCaseId: 'no_such_case' })).rejects.toThrow(/^use_case: "no_such_case" is not in the registry/);
  await expect(register(' ')).rejects.toThrow('model: must not be empty');
  await expect(register('x', { params: { temperature: '7' } })).rejects.toThrow(/^params\.temperature: /);
  await expect(register('x', { params: { colour: 'blue' } })).rejects.toThrow(/^params\.colour: unknown parameter/);
  expect(await db.prisma.model.count({ where: { upstreamModel: 'x' } })).toBe(0);

  const first = await register('qwen-2.5-7b', { params: { temperature: '0.3', stop: '</s>' } });
  expect(first).toMatchObject({ modelName: 'qwen-2.5-7b-model-lifecycle', version: '1', status: 'testing', provider: 'local', upstreamModel: 'qwen-2.5-7b' });
  expect(first.configuration).toMatchObject({ params: { temperature: 0.3, stop: ['</s>'] } });
  const dup = await register('qwen-2.5-7b').catch((e: unknown) => e);
  expect(dup).toBeInstanceOf(DuplicateModelError);
  expect((dup as DuplicateModelError).existingId).toBe(first.id);
  expect((dup as Error).message).toContain(first.id);
  expect((await register('qwen-2.5-7b', { version: '2' })).version).toBe('2');
});

test('validation sends the regression prompts through the provider adapter and marks the model candidate; a 404 upstream fails it and it never serves', async () => {
  const good = await register('my-finetune', { params: { temperature: '0.2' } });
  expect(await validationProblem(db.prisma, good)).toMatch(/has not been validated: run `mms model validate /);
  fake.requests.length = 0;
  const result: ValidationResult = await validate(good.id);
  expect(result).toMatchObject({ passed: true, status: 'candidate', source: 'regression', prompts: 2, failures: 0 });
  expect(result.reason).toMatch(/^2\/2 prompts answered, p50 \d+ ms$/);
  const sent = fake.requests.filter((r) => r.model === 'my-finetune');
  expect(sent).toHaveLength(2);
  // as the gateway would call it: the use case's system prompt with its variable filled, the model's own params
  expect(sent[0]!.body).toMatchObject({ temperature: 0.2, max_tokens: 128, messages: [{ role: 'system', content: 'You are Mira, a character in the game.' }, { role: 'user', content: 'Where is the blacksmith?' }] });
  const evaluation = await db.prisma.evaluation.findUniqueOrThrow({ where: { id: result.evaluationId } });
  expect(evaluation).toMatchObject({ kind: 'validation', status: 'passed', meetsThreshold: true, candidateModelId: good.id });
  expect((evaluation.results as { calls: Array<{ answer: string }> }).calls.map((c) => c.answer)).toEqual(['reply from my-finetune: Where is the blacksmith?', 'reply from my-finetune: Any work for me?']);
  expect(await validationProblem(db.prisma, (await db.prisma.model.findUniqueOrThrow({ where: { id: good.id } })))).toBeUndefined();

  fake.forModel('my-finetuen', { status: 404, message: 'The model `my-finetuen` does not exist.' });
  const typo = await register('my-finetuen');
  const failure = await validate(typo.id).catch((e: unknown) => e);
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  expect((failure as WorkflowFailedError).cause?.message).toMatch(/^validation of my-finetuen-model-lifecycle@1 failed: 0\/2 prompts answered .*upstream_not_found: provider "local" answered 404: The model `my-finetuen` does not exist\./);
  const row = await db.prisma.model.findUniqueOrThrow({ where: { id: typo.id } });
  expect(row.status).toBe('failed');
  expect(await validationProblem(db.prisma, row)).toMatch(/failed validation \(0\/2 prompts answered.*\): run `mms model validate /);
  // no allocation ever named it, so no player call can reach it
  expect((await allocationHistory(db.prisma, USE_CASE)).flatMap((a) => a.entries.map((e) => e.modelId))).not.toContain(typo.id);
});

test('promote then undo serves the previous model; undo twice goes back twice, then there is nothing to undo', async () => {
  const initial = (await getServingAllocation(db.prisma, USE_CASE))!.entries[0]!.modelId;
  const b = (await register('model-b')).id;
  const c = (await register('model-c')).id;
  expect(await served()).toEqual({ stable: initial, answeredBy: 'reply from llama-3.1-8b-instruct' });

  await promote(b);
  await promote(c);
  await waitFor('the gateway to serve c', async () => (await served()).stable === c);
  expect(await served()).toEqual({ stable: c, answeredBy: 'reply from model-c' });

  const first = await undo();
  expect(first).toMatchObject({ restoredModelId: b, previousModelId: c });
  expect(await served()).toEqual({ stable: b, answeredBy: 'reply from model-b' });

  const second = await undo();
  expect(second).toMatchObject({ restoredModelId: initial, previousModelId: b });
  expect(await served()).toEqual({ stable: initial, answeredBy: 'reply from llama-3.1-8b-instruct' });

  const third = await undo().catch((e: unknown) => e);
  expect((third as WorkflowFailedError).cause?.message).toMatch(/^nothing to undo for "model_lifecycle"/);
  expect((await db.prisma.model.findUniqueOrThrow({ where: { id: initial } })).status).toBe('current');
});
