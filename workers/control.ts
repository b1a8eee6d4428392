import { ApplicationFailure } from '@temporalio/common';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { Tracing } from '../src/telemetry/tracing';
import type { PrismaClient } from '@prisma/client';
import { createLogActivities } from '../activities/logs';
import { createRegistryActivities } from '../activities/registry';
import { createEvaluationActivities } from '../activities/evaluation';
import { createRolloutActivities } from '../activities/rollout';
import { createValidationActivities, type ValidationActivities } from '../activities/validation';
import type { MmsConfig } from '../src/config/schema';
import type { EvaluationDeps } from '../src/evaluation';
import { createTrainingJobActivities } from '../activities/training-jobs';
import { createPipelineActivities } from '../activities/pipeline';
import { createGuardrailsActivities } from '../activities/guardrails';
import type { Tier2Judge } from '../src/guardrails/tier2-window';
import { createMetaActivities } from '../activities/meta';
import * as workflows from '../workflows';
import { configureMonitorSignal, guardrailsMonitorStatusQuery, guardrailsMonitorWorkflowId } from '../workflows/guardrails-monitor-messages';
import { createPaidCatalogActivities } from '../activities/paid-catalog';
import { createPaidSwitchActivities } from '../activities/paid-switch';
import { databaseProbe, gatewayReplicaProbe } from '../src/registry/serving-probes';

export interface ControlWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  prisma: PrismaClient;
  /** Gateway replicas whose served allocation rollbacks verify (besides the registry itself). */
  gatewayReplicaUrls?: string[];
  /** A prebuilt bundle (tests share one); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  maxCachedWorkflows?: number;
  /** Providers and policies for the validation activities (model validation needs the provider keys of this worker's environment). */
  config?: MmsConfig;
  /** Providers, embeddings and the guardrail classifier for evaluations (createEvaluationDeps); without them evaluations fail at once with the reason. */
  evaluation?: Omit<EvaluationDeps, 'prisma'>;
  /** Tier 2 of the guardrails for the monitors' windows (createTier2Judge), or why there is none. */
  guardrailsTier2?: Tier2Judge | { unavailable: string };
  /**
   * The process's tracing, started by its entry point (`startTracingFromEnv`; off when OTEL_* is unset):
   * workflow and activity spans join the trace of whoever started or signalled. The plugin adds its
   * workflow interceptors at bundling, so a prebuilt bundle runs untraced.
   */
  tracing?: Tracing;
  /** The pipeline input of a self-hosted use case, for the retrains the meta loop decides (clients/meta's pipelineInputFor). */
  pipelineInput?: (useCaseId: string, requestedBy: string) => unknown;
}

/** Without a config this worker cannot call providers: validations fail at once with the reason. */
function validationWithoutConfig(): ValidationActivities {
  const refuse = async (): Promise<never> => {
    throw ApplicationFailure.nonRetryable('this control worker was started without mms.config.yaml, so it cannot call providers to validate a model', 'NoConfig');
  };
  return { prepareValidation: refuse, runValidationPrompts: refuse, recordValidation: refuse };
}

/** The worker of the control task queue: every workflow and the control-plane activities. */
export async function createControlWorker(deps: ControlWorkerDeps): Promise<Worker> {
  const tracing = deps.workflowBundle ? undefined : deps.tracing;
  const servingProbes = [databaseProbe(deps.prisma), ...(deps.gatewayReplicaUrls ?? []).map((url) => gatewayReplicaProbe(url))];
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    ...(deps.workflowBundle ? { workflowBundle: deps.workflowBundle } : { workflowsPath: require.resolve('../workflows') }),
    activities: {
      ...createRegistryActivities({ prisma: deps.prisma, servingProbes }),
      ...createRolloutActivities({ prisma: deps.prisma, gatewayBaseUrl: deps.gatewayReplicaUrls?.[0] }),
      ...createLogActivities({ prisma: deps.prisma }),
      ...createEvaluationActivities({ prisma: deps.prisma, evaluation: deps.evaluation }),
      ...(deps.config ? createValidationActivities({ prisma: deps.prisma, config: deps.config }) : validationWithoutConfig()),
      ...createTrainingJobActivities({ prisma: deps.prisma }),
      ...createPipelineActivities({ prisma: deps.prisma }),
      ...createGuardrailsActivities({ prisma: deps.prisma, tier2: deps.guardrailsTier2 }),
      ...createMetaActivities({
        prisma: deps.prisma,
        registeredWorkflowTypes: Object.keys(workflows),
        pipelineInput: deps.pipelineInput,
        // The paid switch's activities need the config's providers: without them its child would wait forever.
        unavailable: deps.config ? {} : { paid_switch: 'this control worker was started without mms.config.yaml, so it cannot run a paid switch' },
        guardrailsMonitor: { workflowId: guardrailsMonitorWorkflowId, statusQuery: guardrailsMonitorStatusQuery, configureSignal: configureMonitorSignal },
        guardrailsPolicy: deps.config?.policies.guardrails,
      }),
      // The paid providers' keys are read from this worker's environment, like the validation's.
      ...(deps.config ? createPaidCatalogActivities({ prisma: deps.prisma, config: deps.config, env: process.env }) : {}),
      ...(deps.config ? createPaidSwitchActivities({ prisma: deps.prisma, config: deps.config }) : {}),
    },
    ...(deps.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: deps.maxCachedWorkflows } : {}),
    ...(tracing ? { plugins: [new OpenTelemetryPlugin({ resource: tracing.resource, spanProcessor: tracing.spanProcessor })] } : {}),
  });
}
