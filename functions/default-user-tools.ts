/** What the functions import as `soe-user-tools` when a deployment names no module; ships in `@soe/cdk` (packages/cdk/src/functions/). */
export { callLlm, toolsRegistry, workflows } from '@soe/cdk/functions/default-user-tools';
