/**
 * `@soe/cdk`: SOE on AWS CDK — the {@link SoeOrchestrator} construct, the ready {@link SoeStack}, and
 * the facts they are built from (function entries, bundling, grants, defaults). The Lambda entry
 * points ship in this package (`@soe/cdk/functions/*`) and are bundled at synth with the user's module.
 */
export type { ContextDefaults } from './app-context.js';
export { orchestratorPropsFromContext } from './app-context.js';
export type { SoeBundling, SoeFunctionName } from './bundling.js';
export {
  DEFAULT_TOOLS_ENTRY,
  esbuildOptions,
  FUNCTION_ENTRIES,
  findLockFile,
  functionEntry,
  nodejsBundling,
  PACKAGE_ROOT,
  RUNTIME_PROVIDED,
} from './bundling.js';
export * from './defaults.js';
export type { DeployedWorkflow } from './deployed-files.js';
export { checkScriptedModelFile, DeploymentFileError, loadDeployedWorkflows } from './deployed-files.js';
export {
  CONSUME_ACTIONS,
  KEY_DECRYPT_ACTIONS,
  KEY_ENCRYPT_ACTIONS,
  SEND_ACTIONS,
  TABLE_ACTIONS,
  VISIBILITY_ACTIONS,
  WRITES_EXECUTION_ITEMS,
} from './permissions.js';
export { bedrockModelArns, SoeOrchestrator } from './soe-orchestrator.js';
export type { SoeOrchestratorProps } from './soe-orchestrator-props.js';
export type { SoeStackProps } from './soe-stack.js';
export { SoeStack } from './soe-stack.js';
