// Every workflow the workers register. Deterministic code only: see eslint.config.mjs.
export { rollbackWorkflow } from './rollback';
export { snapshotWorkflow } from './snapshot';
