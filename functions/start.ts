/** The start Lambda entry point ships in `@soe/cdk` (packages/cdk/src/functions/start.ts); this file wires it for a NodejsFunction of your own. */
export { handler } from '@soe/cdk/functions/start';
