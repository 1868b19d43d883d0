import { templateVars } from '../context-view.js';
import { emissionsOf, evaluateEmissions } from './emissions.js';
import { type NodeExecutor, startOutcome } from './types.js';

/** Router: evaluates its emission conditions against the context and emits every one that holds. */
export const executeRouter: NodeExecutor = async (run) => {
  const outcome = startOutcome(run.nodeName);
  outcome.emit = evaluateEmissions(emissionsOf(run.node), templateVars(run.context, outcome.update));
  return outcome;
};
