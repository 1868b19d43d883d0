/**
 * Composition: the engine with the default built-in tools, its in-process caller, and backends. The
 * engine itself (engine.ts) knows no built-ins; everything that puts the parts together is here.
 */
import { createLocalBackends } from './backends/file.js';
import { createInMemoryBackends } from './backends/memory.js';
import { createBuiltinTools } from './builtins/index.js';
import { createEngine, drainBroadcast, type NodeOptions, type Nodes } from './engine.js';
import type { Backends, BroadcastSignalsCaller, ToolEntry } from './types.js';

/** The built-in tools every engine made here gets (the `soe_*` tools). */
export function defaultBuiltins(): Record<string, ToolEntry> {
  return createBuiltinTools();
}

/**
 * Creates the node executors and an in-process broadcast caller over the given backends.
 * @example
 * const { nodes, broadcastSignalsCaller } = createAllNodes(backends, { callLlm, toolsRegistry });
 */
export function createAllNodes(
  backends: Backends,
  opts: NodeOptions = {},
): { nodes: Nodes; broadcastSignalsCaller: BroadcastSignalsCaller } {
  const { nodes, broadcastSignalsCaller } = createEngine(backends, { ...opts, builtinTools: defaultBuiltins() });
  return { nodes, broadcastSignalsCaller };
}

/**
 * Sends signals to an execution and runs everything they trigger, in process, with the nodes from
 * {@link createAllNodes}. Resolves when the cascade is done.
 */
export async function broadcastSignals(executionId: string, signals: string[], nodes: Nodes, backends: Backends): Promise<void> {
  const engine = nodes.engine;
  if (!engine) throw new TypeError('broadcastSignals: nodes must come from createAllNodes()');
  if (engine.backends !== backends) {
    // Different backends than the nodes were made with: run on those, with the same tools and model.
    const other = createEngine(backends, engine.options);
    return drainBroadcast(other.engine, executionId, signals);
  }
  return drainBroadcast(engine, executionId, signals);
}

/** Options of {@link setupOrchestration}. */
export interface SetupOptions extends NodeOptions {
  /** Keep state as JSON files under this directory instead of in memory. */
  storageDir?: string;
}

/**
 * Backends plus an in-process broadcast caller in one call: the quickest way to run workflows.
 * @example
 * const { backends, broadcastSignalsCaller } = setupOrchestration({ callLlm, toolsRegistry });
 * await orchestrate({ config, initialWorkflowName: 'main', initialSignals: ['START'], backends, broadcastSignalsCaller });
 */
export function setupOrchestration(opts: SetupOptions = {}): { backends: Backends; broadcastSignalsCaller: BroadcastSignalsCaller } {
  const backends = opts.storageDir ? createLocalBackends(opts.storageDir) : createInMemoryBackends();
  const { broadcastSignalsCaller } = createAllNodes(backends, {
    callLlm: opts.callLlm,
    toolsRegistry: opts.toolsRegistry,
    capture: opts.capture,
  });
  return { backends, broadcastSignalsCaller };
}
