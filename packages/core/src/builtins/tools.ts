/**
 * Built-ins over the tools registry: soe_get_available_tools and soe_call_tool.
 *
 * soe_call_tool is a whitelist, not an escape hatch: it calls only tools the user registered, checks
 * the arguments against the tool's JSON Schema, honours its retry budget, and never calls a built-in
 * (a model that could reach soe_call_tool → soe_call_tool → … would have no bound, and built-ins
 * change state that tool nodes and agents listing them are meant to control).
 */
import { isRetryable, ToolParameterError } from '../errors.js';
import { callToolWithRetries, checkToolArguments, errorMessage } from '../nodes/tool.js';
import type { ResolvedTool, ToolContext } from '../nodes/types.js';
import { BUILTIN_TOOL_NAMES, isBuiltinToolName } from './names.js';
import { type BuiltinSpec, fail, isObj, nameList, requireName } from './shared.js';

/** Resolves a registry entry; a malformed entry resolves to its error instead of throwing. */
function tryResolve(ctx: ToolContext, name: string): ResolvedTool | Error | undefined {
  try {
    return ctx.services.resolveTool(name);
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e));
  }
}

/** Names of the user's tools (a user tool registered under a built-in's name is the user's). */
function userToolNames(ctx: ToolContext): string[] {
  return ctx.services.toolNames().filter((name) => {
    if (!isBuiltinToolName(name)) return true;
    const t = tryResolve(ctx, name);
    return t instanceof Error || (t !== undefined && !t.builtin);
  });
}

const getAvailableTools: BuiltinSpec = {
  description:
    'Lists the tools a workflow can use: builtin_tools (the soe_* tools) and user_tools (the registered ones, which soe_call_tool can call). ' +
    "With include_details, also each tool's description and parameters schema.",
  parameters: {
    type: 'object',
    properties: { include_details: { type: 'boolean', description: 'Also return descriptions and parameter schemas.' } },
  },
  run(args, ctx) {
    const user = userToolNames(ctx);
    const shadowed = new Set(user);
    const builtin = BUILTIN_TOOL_NAMES.filter((n) => !shadowed.has(n));
    const out: Record<string, unknown> = { builtin_tools: builtin, user_tools: user };
    if (args.include_details === true) {
      out.tools = [...builtin, ...user].map((name) => {
        const t = tryResolve(ctx, name);
        if (!t || t instanceof Error) return { name, builtin: false, error: t ? t.message : 'not registered' };
        return { name, builtin: t.builtin, description: t.description ?? '', parameters: t.parameters ?? { type: 'object' } };
      });
    }
    return out;
  },
};

/** The argument object for the called tool: an object, JSON text of one, or nothing (no arguments). */
function callArguments(raw: unknown, tool: ResolvedTool): unknown {
  let args = raw;
  if (args === undefined || args === null || (typeof args === 'string' && args.trim() === '')) return tool.processAccumulated ? [] : {};
  if (typeof args === 'string') {
    try {
      args = JSON.parse(args);
    } catch (e) {
      fail(`'arguments' is not valid JSON: ${errorMessage(e)}`);
    }
  }
  if (isObj(args) || (tool.processAccumulated && Array.isArray(args))) return structuredClone(args);
  return fail(
    `'arguments' must be a JSON object of the tool's parameters${tool.processAccumulated ? ' (or a list, for a tool that takes a history)' : ''}`,
  );
}

const callTool: BuiltinSpec = {
  description:
    "Calls a registered user tool by name. arguments is a JSON object (or JSON text of one) checked against the tool's parameters " +
    'schema. Returns {success: true, result}, or {success: false, error} when the call fails. A tool that is not found (or not ' +
    'callable, or a built-in) is refused.',
  parameters: {
    type: 'object',
    properties: {
      tool_name: { type: 'string', description: 'The registered tool to call.' },
      arguments: { type: ['string', 'object', 'array', 'null'], description: "The tool's arguments: a JSON object, or JSON text of one." },
    },
    required: ['tool_name'],
  },
  async run(args, ctx) {
    const name = requireName(args, 'tool_name');
    const tool = tryResolve(ctx, name);
    // Finding the tool is the built-in's own job: not found and not callable are refusals (the node fails).
    if (tool instanceof Error)
      fail(tool.message.includes('not callable') ? tool.message : `tool '${name}' has an unusable registry entry: ${tool.message}`);
    if (!tool) fail(`tool '${name}' not found in the tools registry (registered tools: ${nameList(userToolNames(ctx))})`);
    if (tool.builtin)
      fail(
        `'${name}' is a built-in tool; soe_call_tool only calls registered user tools (use a tool node, or list it in an agent's tools)`,
      );
    const toolArgs = callArguments(args.arguments, tool);
    // The call itself answers {success: false, error} when it fails, as upstream's soe_call_tool does.
    try {
      checkToolArguments(tool, toolArgs);
    } catch (e) {
      if (e instanceof ToolParameterError) return { success: false, tool_name: name, error: e.message };
      throw e;
    }
    let attempts = 0;
    const started = Date.now();
    try {
      const result = await callToolWithRetries(tool, toolArgs, {
        attempted: (attempt, error, value) => {
          attempts++;
          void ctx.services.telemetry(ctx.executionId, 'tool_call', {
            node_name: ctx.nodeName,
            tool_name: name,
            attempt,
            ok: error === undefined,
            via: 'soe_call_tool',
            duration_ms: Date.now() - started,
            ...(error !== undefined ? { error: errorMessage(error) } : {}),
            arguments: toolArgs,
            ...(error === undefined ? { result: value === undefined ? null : value } : {}),
          });
        },
      });
      return { success: true, tool_name: name, result: result === undefined ? null : result };
    } catch (e) {
      // A throttled or timed-out call should be retried by the runtime, not reported to the model.
      if (ctx.services.propagateTransient && isRetryable(e)) throw e;
      return { success: false, tool_name: name, error: `tool '${name}' failed: ${errorMessage(e)}` };
    } finally {
      if (attempts) ctx.update({ counters: { tool_calls: attempts } });
    }
  },
};

/** The tools-registry built-ins by name. */
export const toolBuiltins: Record<string, BuiltinSpec> = {
  soe_get_available_tools: getAvailableTools,
  soe_call_tool: callTool,
};
