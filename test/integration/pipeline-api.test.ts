import type { Client } from '@temporalio/client';
import { adminKeyVerifier, modelManagementApi } from '../../api/model-management';
import { createApiKey } from '../../src/auth/api-keys';
import type { MmsConfig } from '../../src/config/schema';
import { syncUseCases } from '../../src/registry/use-cases';
import { startFakeProvider, type FakeProvider } from '../../testkit/fake-providers';
import { pipelineWorkflowId, type PipelineInput } from '../../workflows/pipeline-messages';
import { gatewayTestConfig, startTestGateway, type TestGateway } from '../fixtures/gateway-harness';
import { createTestDatabase, temporalClient, uniqueTaskQueue, type TestDatabase } from '../support/stack';

/**
 * REST `POST /api/v1/model-management/fine-tune` starts `pipeline:<useCase>` with
 * the settings resolved from the config and answers with the workflow id; bad bodies change nothing
 * and name the field. No worker polls the task queue here: the test reads what was started.
 */
const SELF_HOSTED = 'pipeline_api_npc';
const PAID = 'pipeline_api_story';

describe('REST fine-tune', () => {
  let db: TestDatabase;
  let client: Client;
  let fake: FakeProvider;
  let gw: TestGateway;
  let config: MmsConfig;
  let adminKey: string;

  beforeAll(async () => {
    [db, client, fake] = await Promise.all([createTestDatabase(), temporalClient(), startFakeProvider()]);
    const base = gatewayTestConfig(fake, {
      providers: { huggingface: { kind: 'huggingface', baseUrl: 'http://127.0.0.1:9' }, llama_copies: { kind: 'openai_compatible', baseUrl: 'http://127.0.0.1:8089/v1' } },
      useCases: [
        { id: SELF_HOSTED, kind: 'self_hosted', temperature: 0.7, maxTokens: 64, systemPromptTemplate: 'You are Mara.', initialModel: { provider: 'local', model: 'llama-3.1-8b-instruct' } },
        { id: PAID, kind: 'paid', temperature: 0.7, maxTokens: 64, systemPromptTemplate: 'Tell a story.', initialModel: { provider: 'local', model: 'llama-3.1-8b-instruct' } },
      ],
    });
    config = { ...base, temporal: { ...base.temporal, controlTaskQueue: uniqueTaskQueue('pipeline-api') }, selfHosted: { ...base.selfHosted, serving: { ...base.selfHosted.serving, provider: 'llama_copies' } } };
    await syncUseCases(db.prisma, config);
    gw = await startTestGateway(db.prisma, config, { plugins: [modelManagementApi({ prisma: db.prisma, temporal: client, config, verifyApiKey: adminKeyVerifier(db.prisma) })] });
    adminKey = (await createApiKey(db.prisma, { name: 'ops', scopes: ['admin'] })).key;
  });

  afterAll(async () => {
    await client.workflow
      .getHandle(pipelineWorkflowId(SELF_HOSTED))
      .terminate('test cleanup')
      .catch(() => undefined);
    await gw?.close();
    await fake?.close();
    await db?.drop();
  });

  const fineTune = (body: unknown, key: string | null = adminKey) => gw.call(body, { path: '/api/v1/model-management/fine-tune', key, internal: true });

  it('refuses bad bodies naming the field, and starts nothing', async () => {
    expect(await fineTune({})).toMatchObject({ status: 400, body: { error: { field: 'use_cases', message: 'use_cases: is required' } } });
    expect((await fineTune({ use_cases: ['nope'] })).body.error).toMatchObject({ field: 'use_cases', message: expect.stringMatching(/^use_cases: unknown use case "nope"/) });
    // one bad use case in the list: the good one is not started either
    expect((await fineTune({ use_cases: [SELF_HOSTED, PAID] })).body.error).toMatchObject({ field: 'use_cases', message: expect.stringMatching(/only self_hosted use cases/) });
    expect((await fineTune({ use_cases: [SELF_HOSTED], base_repo: 'not a repo' })).body.error.field).toBe('base_repo');
    expect((await fineTune({ use_cases: [SELF_HOSTED], historical_logs_range: { start: '2026-11-02T00:00:00Z', end: '2026-11-01T00:00:00Z' } })).body.error.field).toBe('historical_logs_range.end');
    expect((await fineTune({ use_cases: [SELF_HOSTED] }, null)).status).toBe(401);
    await expect(client.workflow.getHandle(pipelineWorkflowId(SELF_HOSTED)).describe()).rejects.toThrow();
  });

  it('starts pipeline:<useCase> with the configured settings and the requested window, once', async () => {
    const res = await fineTune({ use_cases: [SELF_HOSTED], base_repo: 'mms-test/tiny-llama@abc123', historical_logs_range: { start: '2026-11-01T00:00:00Z' } });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ training_status: 'in_progress', workflow_ids: [pipelineWorkflowId(SELF_HOSTED)] });
    const handle = client.workflow.getHandle(pipelineWorkflowId(SELF_HOSTED));
    const description = await handle.describe();
    expect(description.taskQueue).toBe(config.temporal.controlTaskQueue);
    const history = await handle.fetchHistory();
    const input = (await client.options.loadedDataConverter.payloadConverter.fromPayload(history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!)) as PipelineInput;
    expect(input).toMatchObject({ useCaseId: SELF_HOSTED, gpuTaskQueue: config.temporal.gpuTaskQueue, baseRepo: { repo: 'mms-test/tiny-llama', revision: 'abc123' }, requestedBy: expect.stringMatching(/^api:/) });
    expect(input.settings.dataset.since).toBe('2026-11-01T00:00:00Z');
    expect(input.settings.serving).toEqual({ kind: 'llama_cpp', provider: 'llama_copies', baseUrl: 'http://127.0.0.1:8089/v1' });
    expect(input.settings.training.retrainStepsMultiplier).toBe(2);
    // one pipeline per use case at a time
    const again = await fineTune({ use_cases: [SELF_HOSTED] });
    expect(again).toMatchObject({ status: 409, body: { error: { field: 'use_cases', code: 'pipeline_running' } } });
  });
});
