import { ApplicationFailure, executeChild, proxyActivities, setHandler } from '@temporalio/workflow';
import type { PipelineActivities } from '../activities/pipeline';
import { downloadModelWorkflow } from './download-model';
import { downloadModelWorkflowId } from './download-model-messages';
import { copyWorkflow, failureMessage } from './pipeline-copy';
import { baseNameOf, copyNameOf, copyWorkflowId, pipelineStatusQuery, type PipelineInput, type PipelineResult, type PipelineStatus } from './pipeline-messages';

export { copyWorkflow };

// Discovery calls the Hub and the Ollama node: a few retries, then the pipeline fails with the reason.
const discovery = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

/**
 * `pipeline:<useCase>`: discover and rank self-hosted models, download the best eligible one pinned
 * to its commit (a child, shared by every copy of that base), then one child per use-case copy.
 */
export async function pipelineWorkflow(input: PipelineInput): Promise<PipelineResult> {
  const status: PipelineStatus = { useCaseId: input.useCaseId, phase: 'discovering', candidates: [], copyWorkflowIds: [] };
  setHandler(pipelineStatusQuery, () => status);
  try {
    let chosen = input.baseRepo;
    const ranked = await discovery.discoverSelfHosted({ ...input.settings.discovery, useCaseId: input.useCaseId });
    status.candidates = ranked.slice(0, 10).map(({ source, externalId, score, eligible, reasons, rank, parameters, license }) => ({ source, externalId, score, eligible, reasons, rank, parameters, license }));
    if (!chosen) {
      // Training needs the weights: only Hub repositories with safetensors can be the base.
      const top = ranked.find((c) => c.eligible && c.source === 'huggingface');
      if (!top) throw ApplicationFailure.nonRetryable(`no eligible self-hosted model for "${input.useCaseId}" (${ranked.length} discovered; ${ranked.slice(0, 3).map((c) => `${c.externalId}: ${c.reasons.join('; ')}`).join(' | ') || 'none'})`, 'NoCandidate');
      chosen = { repo: top.externalId, revision: 'main' };
    }
    status.chosen = chosen;
    status.phase = 'downloading';
    status.downloadWorkflowId = downloadModelWorkflowId(chosen.repo, chosen.revision);
    const download = await executeChild(downloadModelWorkflow, {
      workflowId: status.downloadWorkflowId,
      args: [{ gpuTaskQueue: input.gpuTaskQueue, download: { endpoint: input.settings.hub.endpoint, repo: chosen.repo, revision: chosen.revision, modelsDir: `${input.settings.modelsDir}/downloads`, ...(input.settings.hub.tokenEnv ? { tokenEnv: input.settings.hub.tokenEnv } : {}) } }],
    });
    status.download = { sha: download.sha, path: download.path, bytes: download.bytes, seconds: download.seconds };
    status.phase = 'copying';
    const parameters = ranked.find((c) => c.externalId === chosen.repo)?.parameters ?? null;
    const baseName = baseNameOf(chosen.repo);
    const copyName = copyNameOf(baseName, input.useCaseId);
    const copyId = copyWorkflowId(input.useCaseId, copyName);
    status.copyWorkflowIds.push(copyId);
    const copy = await executeChild(copyWorkflow, {
      workflowId: copyId,
      args: [{ useCaseId: input.useCaseId, copyName, gpuTaskQueue: input.gpuTaskQueue, settings: input.settings, base: { name: baseName, repo: chosen.repo, sha: download.sha, path: download.path, parameters }, requestedBy: input.requestedBy }],
    });
    status.phase = 'completed';
    return { useCaseId: input.useCaseId, base: { repo: chosen.repo, sha: download.sha, path: download.path }, copies: [copy] };
  } catch (err) {
    status.phase = 'failed';
    status.error = failureMessage(err);
    throw err;
  }
}
