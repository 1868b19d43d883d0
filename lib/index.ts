/**
 * The CDK constructs of this repository: `@soe/cdk` (packages/cdk), and the repository's own ready
 * stack, which deploys the demo by default.
 */
export * from '@soe/cdk';
export { READY_STACK_DEFAULTS, SoeStack } from './soe-stack.js';
