/** The router node: emits the signals whose conditions hold. */
import { templateVars } from '../context-view.js';
import { emissionsOf, emitWhere } from './emissions.js';
import { type NodeExecutor, startOutcome } from './types.js';

/** Router: evaluates its emission conditions against the context and emits every one that holds. */
export const executeRouter: NodeExecutor = async (run, services) => {
  const outcome = startOutcome(run.nodeName);
  outcome.emit = emitWhere(run, services, emissionsOf(run.node), () => templateVars(run.context, outcome.update));
  return outcome;
};
