/**
 * The tools of this project: tool nodes (and agents) call them by name. `soe run --tools src/tools.ts`
 * loads this file as it is; the CDK app bundles it into the Lambda functions (toolsEntry).
 */
import type { ToolsRegistry } from '@soe/core';

export const toolsRegistry: ToolsRegistry = {
  /** One argument object: the node's rendered `parameters`. */
  greeting_for: ({ name }: { name?: string }) => (name ? `Hello, ${name}` : 'Hello'),
};
