/**
 * The ready stack's demo tools module, bundled into the worker as `soe-user-tools`
 * (see functions/README.md). Point `-c soe:toolsEntry=path/to/your-tools.ts` at your own.
 */
import type { ToolsRegistry } from '@soe/core';

export const toolsRegistry: ToolsRegistry = {
  shout: ({ text }: { text: string }) => `${String(text).toUpperCase()}!`,
};

/** No model here: the stack's modelProvider (scripted by default) answers llm nodes. */
export const callLlm = undefined;

/** No workflows here: the stack deploys the files of workflows/. */
export const workflows = undefined;
