/** What the functions get when the deployment names no user module: no tools, no model, no workflows. */
import type { CallLlm, ToolsRegistry } from '@soe/core';

export const toolsRegistry: ToolsRegistry | undefined = undefined;
export const callLlm: CallLlm | undefined = undefined;
export const workflows: Record<string, string | object> | undefined = undefined;
