/**
 * Cancel and checked signals for the in-process and file runtimes. A cancel is kept in the context
 * (`__operational__.cancelled`), so every process that opens the same file runtime sees it; the
 * engine stops a broadcast of a cancelled execution before its next node (see `processBroadcast`).
 */
import { loadExecution, readContext } from './engine.js';
import { checkSignalsListened, endedExecutionError } from './signal-checks.js';
import type { Backends, StoredContext } from './types.js';

/** True once the execution was cancelled. */
export function isCancelled(context: StoredContext | undefined): boolean {
  return Boolean(context?.__operational__?.cancelled);
}

/**
 * Refuses signals from outside that the execution cannot take: it is unknown or cancelled, or no
 * node of its current workflow listens to one of them (the error names those that are listened to,
 * with a did-you-mean). Changes nothing.
 */
export async function checkExternalSignals(backends: Backends, executionId: string, signals: readonly string[]): Promise<void> {
  const { context, workflowName, workflow } = await loadExecution(backends, executionId);
  if (isCancelled(context)) throw endedExecutionError(executionId, 'CANCELLED');
  checkSignalsListened(executionId, workflowName, workflow, signals);
}

/**
 * Cancels an execution: nothing more runs in it (nor, for a main execution, in its children, when
 * the backend can list contexts) and signals are refused. Resolves to the number of executions
 * cancelled now (0 when they were already).
 */
export async function cancelExecution(backends: Backends, executionId: string): Promise<number> {
  const { context } = await loadExecution(backends, executionId);
  const ids = [executionId];
  if (context.__operational__?.main_execution_id === executionId && backends.context.listContexts) {
    for (const id of await backends.context.listContexts()) {
      if (id === executionId) continue;
      const other = await readContext(backends, id);
      if (other?.__operational__?.main_execution_id === executionId) ids.push(id);
    }
  }
  let cancelled = 0;
  for (const id of ids) {
    if (isCancelled(await readContext(backends, id))) continue;
    await backends.context.updateContext(id, { counters: { cancelled: 1 } });
    cancelled++;
  }
  return cancelled;
}
