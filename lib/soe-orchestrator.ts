/** The `SoeOrchestrator` construct ships in `@soe/cdk` (packages/cdk/src/soe-orchestrator.ts, its props in soe-orchestrator-props.ts). */
export { bedrockModelArns, SoeOrchestrator, type SoeOrchestratorProps } from '@soe/cdk';
