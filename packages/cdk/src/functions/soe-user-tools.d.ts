/**
 * The user's module, bundled into the functions under this name by an esbuild alias
 * (`alias: { 'soe-user-tools': '<path to the user module>' }`; see README.md here). Without one,
 * the bundler points the alias at `default-user-tools.ts`.
 */
declare module 'soe-user-tools' {
  import type { CallLlm, ToolsRegistry } from '@soe/core';
  /** The tools tool nodes and agents may call. */
  export const toolsRegistry: ToolsRegistry | undefined;
  /** The model llm and agent nodes call (OpenAI-compatible HTTP, Bedrock, a scripted model…). */
  export const callLlm: CallLlm | undefined;
  /** Deployed workflow files by name (YAML text or parsed), started with `{ workflowName }`. */
  export const workflows: Record<string, string | object> | undefined;
}
