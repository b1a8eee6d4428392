import { Client, Connection } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { NativeConnection } from '@temporalio/worker';
import { activeTracing } from '../telemetry/tracing';
import type { MmsConfig } from '../config/schema';

/** TEMPORAL_ADDRESS wins over the file; the file over the dev default. */
export function temporalAddress(config?: MmsConfig): string {
  return process.env.TEMPORAL_ADDRESS ?? config?.temporal.address ?? '127.0.0.1:7233';
}

export function temporalNamespace(config?: MmsConfig): string {
  return process.env.TEMPORAL_NAMESPACE ?? config?.temporal.namespace ?? 'default';
}

/** Temporal Cloud and secured clusters: API key from the variable the config names, TLS with it. */
function auth(config?: MmsConfig): { apiKey?: string; tls?: boolean } {
  const envName = config?.temporal.apiKeyEnv;
  const apiKey = envName ? process.env[envName] : undefined;
  return apiKey ? { apiKey, tls: true } : {};
}

export async function connectClient(config?: MmsConfig): Promise<Client> {
  const connection = await Connection.connect({ address: temporalAddress(config), ...auth(config), connectTimeout: 5000 });
  // With tracing on, starts, signals and updates carry the caller's trace context to the workflow.
  const interceptors = activeTracing() ? { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } : undefined;
  return new Client({ connection, namespace: temporalNamespace(config), ...(interceptors ? { interceptors } : {}) });
}

export function connectWorkerConnection(config?: MmsConfig): Promise<NativeConnection> {
  return NativeConnection.connect({ address: temporalAddress(config), ...auth(config) });
}

export const webUiLink = (config: MmsConfig | undefined, workflowId: string, runId?: string) => {
  const base = (process.env.TEMPORAL_UI_URL ?? config?.temporal.uiUrl ?? 'http://127.0.0.1:8233').replace(/\/$/, '');
  const ns = encodeURIComponent(temporalNamespace(config));
  return `${base}/namespaces/${ns}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}` : ''}/history`;
};
