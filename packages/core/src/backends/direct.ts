/**
 * Synchronous access to the built-in record-store backends (in memory, on files) for the in-process
 * drain. Their methods are async only to fit the backend interfaces; a promise and an await per read
 * and write cost more than the reads themselves, about a fifth of a node run.
 */
import type {
  Backends,
  ContextInit,
  ContextSchema,
  ContextSchemaBackend,
  ContextUpdate,
  StoredContext,
  WorkflowsRegistry,
} from '../types.js';
import { InMemoryContextBackend, InMemoryContextSchemaBackend, InMemoryWorkflowBackend } from './memory.js';

/** Reads and writes of an execution's state, without promises. */
export interface DirectStore {
  /** The stored context (read-only), or undefined. */
  read(executionId: string): StoredContext | undefined;
  registry(executionId: string): WorkflowsRegistry | null;
  workflowName(executionId: string): string | null;
  /** Applies an update as `updateContext` does (`stored`: the context just read, if the caller has it). */
  update(executionId: string, update: ContextUpdate, stored?: StoredContext): void;
  /** `addTreeNodeRuns` without a promise. */
  treeRuns(mainExecutionId: string, n: number): number;
  /**
   * Stores a new execution as `saveWorkflowsRegistry`, `saveCurrentWorkflowName` and `createContext`
   * do, in that order. Absent when one of those is overridden: children are then created by the
   * ordinary calls.
   */
  create?(executionId: string, registry: WorkflowsRegistry, workflowName: string, init: ContextInit): void;
}

const C = InMemoryContextBackend.prototype;
const W = InMemoryWorkflowBackend.prototype;
const S = InMemoryContextSchemaBackend.prototype;

/** Direct access to the built-in backends: methods on a prototype, no closure per drain. */
class BuiltinStore implements DirectStore {
  constructor(
    protected readonly context: InMemoryContextBackend,
    protected readonly workflow: InMemoryWorkflowBackend,
  ) {}
  read(executionId: string): StoredContext | undefined {
    return this.context.readNow(executionId);
  }
  registry(executionId: string): WorkflowsRegistry | null {
    return this.workflow.registryNow(executionId);
  }
  workflowName(executionId: string): string | null {
    return this.workflow.currentNow(executionId);
  }
  update(executionId: string, update: ContextUpdate, stored?: StoredContext): void {
    this.context.updateNow(executionId, update, stored);
  }
  treeRuns(mainExecutionId: string, n: number): number {
    return this.context.treeRunsNow(mainExecutionId, n);
  }
}

/** A {@link BuiltinStore} whose backends also create executions with their own methods. */
class CreatingBuiltinStore extends BuiltinStore {
  create(executionId: string, registry: WorkflowsRegistry, workflowName: string, init: ContextInit): void {
    this.workflow.saveRegistryNow(executionId, registry);
    this.workflow.saveCurrentNow(executionId, workflowName);
    this.context.createNow(executionId, init);
  }
}

/**
 * Direct access when the backends are the built-in classes with their own methods. A subclass that
 * overrides one of them, a wrapper or a patched instance gets undefined: the engine then makes the
 * ordinary calls, so whatever the override does still happens. Creating executions directly needs
 * the creating methods unchanged too.
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
  const creates =
    context.createContext === C.createContext &&
    context.createNow === C.createNow &&
    workflow.saveWorkflowsRegistry === W.saveWorkflowsRegistry &&
    workflow.saveRegistryNow === W.saveRegistryNow &&
    workflow.saveCurrentWorkflowName === W.saveCurrentWorkflowName &&
    workflow.saveCurrentNow === W.saveCurrentNow;
  return creates ? new CreatingBuiltinStore(context, workflow) : new BuiltinStore(context, workflow);
}

/**
 * An execution's context schema read without a promise or a copy (read-only: the built-in backends
 * replace a schema rather than change it), when `backend` is the built-in class with its own reads;
 * else `NOT_DIRECT`, and the caller makes the ordinary call.
 */
export function schemaNow(backend: ContextSchemaBackend, executionId: string): ContextSchema | null | typeof NOT_DIRECT {
  if (
    !(backend instanceof InMemoryContextSchemaBackend) ||
    backend.getContextSchema !== S.getContextSchema ||
    backend.schemaNow !== S.schemaNow
  )
    return NOT_DIRECT;
  return backend.schemaNow(executionId);
}

/** What a direct read answers when the backend has no direct form. */
export const NOT_DIRECT: unique symbol = Symbol('no direct read');
