/**
 * What the built-in tools have in common: how a refusal fails the tool (as upstream's built-ins raise),
 * how injected text (JSON or YAML) is read, and small argument checks.
 */
import { parse as parseYaml } from 'yaml';
import { markBuiltin } from '../builtin-mark.js';
import { BuiltinToolError, type ValidationIssue, WorkflowValidationError } from '../errors.js';
import type { ToolContext } from '../nodes/types.js';
import type { JSONSchema, ToolEntry } from '../types.js';

/** Stops a built-in with a refusal: the tool fails with `message` (a {@link BuiltinToolError}). */
export function fail(message: string): never {
  throw new BuiltinToolError(message);
}

/** The arguments a built-in receives: always an object (the parameters schema says so). */
export type BuiltinArgs = Record<string, unknown>;

/** How one built-in is described and run. */
export interface BuiltinSpec {
  description: string;
  /** JSON Schema of the argument object, shown to agents and checked before the call. */
  parameters: JSONSchema;
  run(args: BuiltinArgs, ctx: ToolContext): Promise<unknown> | unknown;
}

/**
 * Turns a spec into a registry entry. A refusal ({@link fail}) throws a {@link BuiltinToolError}
 * naming the tool, so the tool node fails as with any tool error; any other error (a backend that is
 * down, a throttled write) propagates as it is, so the runtime can retry it.
 */
export function builtinEntry(name: string, spec: BuiltinSpec): ToolEntry {
  const fn = async (args: unknown, ctx?: ToolContext) => {
    if (!ctx) throw new TypeError(`built-in tool '${name}' needs the engine's tool context: call it from a tool or agent node`);
    const a: BuiltinArgs = isObj(args) ? args : {};
    try {
      return await spec.run(a, ctx);
    } catch (e) {
      if (e instanceof BuiltinToolError && e.toolName === undefined) throw new BuiltinToolError(e.message, name);
      throw e;
    }
  };
  markBuiltin(fn);
  return { description: spec.description, parameters: spec.parameters, maxRetries: 0, fn };
}

export { isBuiltinFunction } from '../builtin-mark.js';

/** True for a plain mapping (not null, not a list). */
export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Engine-owned names (`__operational__`, `__parent__`, …) start with two underscores. */
export const isReserved = (name: string): boolean => name.startsWith('__');

/** A required, non-empty string argument; fails naming the parameter otherwise. */
export function requireName(args: BuiltinArgs, param: string): string {
  const v = args[param];
  if (typeof v !== 'string' || v.trim() === '') fail(`'${param}' is required: give a non-empty string`);
  return v;
}

/** An optional string argument (undefined when absent, null or empty). */
export function optionalString(args: BuiltinArgs, param: string): string | undefined {
  const v = args[param];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') fail(`'${param}' must be a string`);
  return v;
}

/**
 * Reads injected content: an object as it is, or text parsed as JSON, else as YAML. Fails naming the
 * parameter when the text is neither.
 */
export function parseStructured(value: unknown, param: string): unknown {
  if (value === undefined || value === null) fail(`'${param}' is required: give YAML or JSON text, or an object`);
  if (typeof value !== 'string') return structuredClone(value);
  const text = value.trim();
  if (text === '') fail(`'${param}' is empty: give YAML or JSON text, or an object`);
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON: YAML below (JSON is the common case for models, YAML for people).
  }
  try {
    // Aliases are capped so a small text cannot expand into a huge value.
    return parseYaml(text, { uniqueKeys: true, maxAliasCount: 100 });
  } catch (e) {
    const reason = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return fail(`'${param}' is neither valid JSON nor valid YAML: ${reason}`);
  }
}

/** One message for a list of validation issues, naming workflow, node and field like a rejected config. */
export function issuesMessage(issues: readonly ValidationIssue[]): string {
  return new WorkflowValidationError(issues).message;
}

/** Logs a registry change (an injection or a removal) for audit; telemetry never fails the tool. */
export async function logChange(ctx: ToolContext, tool: string, data: Record<string, unknown>): Promise<void> {
  await ctx.services.telemetry(ctx.executionId, 'registry_change', { tool, caller_node: ctx.nodeName, ...data });
}

/** A short list of names for messages. */
export function nameList(names: readonly string[]): string {
  if (names.length === 0) return 'none';
  const shown = names.slice(0, 20).join(', ');
  return names.length > 20 ? `${shown}, … (${names.length} in all)` : shown;
}
