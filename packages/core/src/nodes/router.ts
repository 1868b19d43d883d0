/** The router node: emits the signals whose conditions hold. */
import { templateVars } from '../context-view.js';
import { emissionsOf, emitWhere, unconditionalOf } from './emissions.js';
import { type NodeExecutor, type NodeOutcome, type NodeRun, type NodeServices, startOutcome } from './types.js';

/**
 * The router's work, without a promise: it waits for nothing, so the engine calls this directly when
 * the router executor is the built-in one.
 */
export function routeNow(run: NodeRun, services: NodeServices): NodeOutcome {
  const outcome = startOutcome(run.nodeName);
  outcome.emit = unconditionalOf(run) ?? emitWhere(run, services, emissionsOf(run.node), () => templateVars(run.context, outcome.update));
  return outcome;
}

/** Router: evaluates its emission conditions against the context and emits every one that holds. */
export const executeRouter: NodeExecutor = async (run, services) => routeNow(run, services);
