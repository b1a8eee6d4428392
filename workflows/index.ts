// Every workflow the workers register. Deterministic code only: see eslint.config.mjs.
export { rollbackWorkflow } from './rollback';
export { rolloutWorkflow } from './rollout';
export { snapshotWorkflow } from './snapshot';
export { partitionMaintenanceWorkflow, logRollupsWorkflow } from './log-maintenance';
export { validateModelWorkflow } from './validate';
export { evaluateWorkflow } from './evaluate';
export { embeddingsCacheMaintenanceWorkflow } from './evaluate-cache';
export { fineTuneWorkflow } from './fine-tune';
export { downloadModelWorkflow } from './download-model';
export { pipelineWorkflow, copyWorkflow } from './pipeline';
export { guardrailsMonitorWorkflow } from './guardrails-monitor';
export { paidSwitchWorkflow, paidCatalogScanWorkflow } from './paid-switch';
export { metaOptimizationWorkflow, metaSweepBatchWorkflow } from './meta-optimization';
