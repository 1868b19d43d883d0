/**
 * Workflow registries shared by reference. A registry is stored deep-frozen, so every execution that
 * runs it and every child it spawns can hold the same object instead of a copy: a child of a config
 * with thousands of nodes costs nothing more than a child of a small one. Changes (node and workflow
 * injection) copy only what they change and share the rest (copy on write).
 */
import type { NodeConfig, Workflow, WorkflowsRegistry } from './types.js';

/** Registries (and the workflows inside them) that are frozen all the way down and safe to share. */
const shared = new WeakSet<object>();

/**
 * `value`, frozen all the way down.
 * @internal
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** True when `registry` is a shared (deep-frozen) registry. */
export function isSharedRegistry(registry: object): boolean {
  return shared.has(registry);
}

/**
 * A registry that can be stored and handed out by reference: `registry` itself when it is already
 * shared, else a deep-frozen copy (the caller's object is never frozen).
 */
export function shareRegistry(registry: WorkflowsRegistry): WorkflowsRegistry {
  if (shared.has(registry)) return registry;
  const copy = deepFreeze(structuredClone(registry));
  shared.add(copy);
  return copy;
}

/** Makes a registry nobody else holds shared, in place (a config parsed from text): frozen, not copied. */
export function adoptRegistry(registry: WorkflowsRegistry): WorkflowsRegistry {
  deepFreeze(registry);
  shared.add(registry);
  return registry;
}

function sealRegistry(registry: WorkflowsRegistry): WorkflowsRegistry {
  Object.freeze(registry);
  shared.add(registry);
  return registry;
}

/** A shared registry with one workflow added or replaced (a copy of `workflow`); the others are shared. */
export function withWorkflow(registry: WorkflowsRegistry | undefined, name: string, workflow: Workflow): WorkflowsRegistry {
  return sealRegistry({ ...(registry ?? {}), [name]: deepFreeze(structuredClone(workflow)) });
}

/** A shared registry with one node added or replaced (a copy of `node`) in one workflow. */
export function withNode(
  registry: WorkflowsRegistry | undefined,
  workflowName: string,
  nodeName: string,
  node: NodeConfig,
): WorkflowsRegistry {
  const workflow = Object.freeze({ ...(registry?.[workflowName] ?? {}), [nodeName]: deepFreeze(structuredClone(node)) });
  return sealRegistry({ ...(registry ?? {}), [workflowName]: workflow });
}

/** A shared registry without one workflow. */
export function withoutWorkflow(registry: WorkflowsRegistry, name: string): WorkflowsRegistry {
  const { [name]: _removed, ...rest } = registry;
  return sealRegistry(rest);
}

/** A shared registry without one node of one workflow. */
export function withoutNode(registry: WorkflowsRegistry, workflowName: string, nodeName: string): WorkflowsRegistry {
  const { [nodeName]: _removed, ...rest } = registry[workflowName] ?? {};
  return sealRegistry({ ...registry, [workflowName]: Object.freeze(rest) });
}
