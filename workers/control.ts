import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { PrismaClient } from '@prisma/client';
import { createLogActivities } from '../activities/logs';
import { createRegistryActivities } from '../activities/registry';
import { createRolloutActivities } from '../activities/rollout';
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
}

/** The worker of the control task queue: every workflow and the control-plane activities. */
export async function createControlWorker(deps: ControlWorkerDeps): Promise<Worker> {
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
    },
    ...(deps.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: deps.maxCachedWorkflows } : {}),
  });
}
