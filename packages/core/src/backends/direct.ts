/**
 * Synchronous access to the built-in record-store backends (in memory, on files) for the in-process
 * drain. Their methods are async only to fit the backend interfaces; a promise and an await per read
 * and write cost more than the reads themselves, about a fifth of a node run.
 */
import type { Backends, ContextUpdate, StoredContext, WorkflowsRegistry } from '../types.js';
import { InMemoryContextBackend, InMemoryWorkflowBackend } from './memory.js';

/** Reads and writes of an execution's state, without promises. */
export interface DirectStore {
  /** The stored context (read-only), or undefined. */
  read(executionId: string): StoredContext | undefined;
  registry(executionId: string): WorkflowsRegistry | null;
  workflowName(executionId: string): string | null;
  /** Applies an update as `updateContext` does. */
  update(executionId: string, update: ContextUpdate): void;
  /** `addTreeNodeRuns` without a promise. */
  treeRuns(mainExecutionId: string, n: number): number;
}

const C = InMemoryContextBackend.prototype;
const W = InMemoryWorkflowBackend.prototype;

/**
 * Direct access when the backends are the built-in classes with their own methods. A subclass that
 * overrides one of them, a wrapper or a patched instance gets undefined: the engine then makes the
 * ordinary calls, so whatever the override does still happens.
 */
export function directStore(backends: Backends): DirectStore | undefined {
  const context = backends.context;
  const workflow = backends.workflow;
  if (!(context instanceof InMemoryContextBackend) || !(workflow instanceof InMemoryWorkflowBackend)) return undefined;
  if (
    context.readContext !== C.readContext ||
    context.updateContext !== C.updateContext ||
    context.readNow !== C.readNow ||
    context.updateNow !== C.updateNow ||
    context.addTreeNodeRuns !== C.addTreeNodeRuns ||
    context.treeRunsNow !== C.treeRunsNow ||
    workflow.getWorkflowsRegistry !== W.getWorkflowsRegistry ||
    workflow.getCurrentWorkflowName !== W.getCurrentWorkflowName ||
    workflow.registryNow !== W.registryNow ||
    workflow.currentNow !== W.currentNow
  )
    return undefined;
  return {
    read: (id) => context.readNow(id),
    registry: (id) => workflow.registryNow(id),
    workflowName: (id) => workflow.currentNow(id),
    update: (id, update) => context.updateNow(id, update),
    treeRuns: (main, n) => context.treeRunsNow(main, n),
  };
}
