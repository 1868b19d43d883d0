import { evaluateCondition, isTemplate, type TemplateVars } from '../templates.js';
import type { EventEmission } from '../types.js';

/** The node's emissions (an absent or null list is empty). */
export function emissionsOf(node: { event_emissions?: EventEmission[] | null }): EventEmission[] {
  return Array.isArray(node.event_emissions) ? node.event_emissions : [];
}

/** True when any emission's condition is a Jinja template: then every condition is evaluated by the engine. */
export function hasTemplateCondition(emissions: EventEmission[]): boolean {
  return emissions.some((e) => typeof e.condition === 'string' && isTemplate(e.condition));
}

/**
 * Evaluates emissions programmatically: no condition emits; a condition emits when it renders truthy.
 * Plain text renders as itself, so it is truthy unless it reads as false (`false`, `0`, empty).
 */
export function evaluateEmissions(emissions: EventEmission[], vars: TemplateVars): string[] {
  const out: string[] = [];
  for (const e of emissions) {
    if (e.condition === undefined || e.condition === null || e.condition === '' || evaluateCondition(e.condition, vars))
      out.push(e.signal_name);
  }
  return out;
}

/**
 * How an llm or agent node chooses its signals: `engine` evaluates conditions, `all` emits the single
 * signal, `model` lets the model select among several described ones.
 */
export function selectionMode(emissions: EventEmission[]): 'engine' | 'model' | 'none' {
  if (emissions.length === 0) return 'none';
  if (hasTemplateCondition(emissions)) return 'engine';
  return emissions.length === 1 ? 'engine' : 'model';
}
