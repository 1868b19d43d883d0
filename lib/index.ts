export type { ModelProvider } from './defaults.js';
export { MODEL_PROVIDERS } from './defaults.js';
export type { DeployedWorkflow } from './deployed-files.js';
export { DeploymentFileError, loadDeployedWorkflows } from './deployed-files.js';
export type { SoeOrchestratorProps } from './soe-orchestrator.js';
export { bedrockModelArns, SoeOrchestrator } from './soe-orchestrator.js';
export type { SoeStackProps } from './soe-stack.js';
export { SoeStack } from './soe-stack.js';
