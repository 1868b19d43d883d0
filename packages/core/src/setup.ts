import { createLocalBackends } from './backends/file.js';
import { createInMemoryBackends } from './backends/memory.js';
import { createAllNodes, type NodeOptions } from './engine.js';
import type { Backends, BroadcastSignalsCaller } from './types.js';

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
