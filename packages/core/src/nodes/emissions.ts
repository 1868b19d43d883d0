/** A node's emissions and their conditions. */
import { evaluateCondition, isTemplate } from '../templates/index.js';
import type { EventEmission, TemplateVars } from '../types.js';
import type { NodeRun, NodeServices } from './types.js';

/** The node's emissions (an absent or null list is empty). */
export function emissionsOf(node: { event_emissions?: EventEmission[] | null }): EventEmission[] {
  return Array.isArray(node.event_emissions) ? node.event_emissions : [];
}

/** True when any emission's condition is a Jinja template: then every condition is evaluated by the engine. */
export function hasTemplateCondition(emissions: EventEmission[]): boolean {
  return emissions.some((e) => typeof e.condition === 'string' && isTemplate(e.condition));
}

/** True when an emission has a condition to evaluate (absent, null and empty are none). */
const hasCondition = (condition: EventEmission['condition']): condition is string =>
  condition !== undefined && condition !== null && condition !== '';

/** The signals of emissions none of which has a condition (frozen), else undefined. */
export function unconditionalSignals(emissions: EventEmission[]): readonly string[] | undefined {
  if (emissions.some((e) => hasCondition(e.condition))) return undefined;
  return Object.freeze(emissions.map((e) => e.signal_name));
}

/**
 * The signals every run of this node (a router, a tool, an llm node choosing by conditions) emits,
 * from its memo: set for a frozen config none of whose emissions has a condition (one shared frozen
 * list), else undefined (evaluate them).
 */
export function unconditionalOf(run: NodeRun): string[] | undefined {
  const memo = run.memo;
  return memo?.emissions !== undefined ? (memo.unconditional as string[] | undefined) : undefined;
}

/** A condition that raised while it was evaluated. */
export interface ConditionFailure {
  signal: string;
  condition: string;
  error: unknown;
}

/**
 * Evaluates emissions programmatically: no condition emits; a condition emits when it renders truthy.
 * Plain text renders as itself, so it is truthy unless it reads as false (`false`, `0`, empty). A
 * condition that raises (`{{ 1 / 0 > 0 }}`) counts as false for its signal, as upstream does; it is
 * reported to `onError` and the other emissions are still evaluated.
 */
export function evaluateEmissions(
  emissions: EventEmission[],
  vars: TemplateVars | (() => TemplateVars),
  onError?: (f: ConditionFailure) => void,
): string[] {
  let out: string[] | undefined;
  // Made on the first condition: emissions without conditions need no view of the context.
  let resolved: TemplateVars | undefined;
  for (let i = 0; i < emissions.length; i++) {
    const e = emissions[i]!;
    const condition = e.condition;
    let fires = true;
    if (hasCondition(condition)) {
      try {
        resolved ??= typeof vars === 'function' ? vars() : vars;
        fires = evaluateCondition(condition, resolved);
      } catch (error) {
        fires = false;
        onError?.({ signal: e.signal_name, condition, error });
      }
    }
    // The first signal in a literal, which is sized to it (a first push reserves 17 slots); telemetry keeps this list.
    if (fires) out === undefined ? (out = [e.signal_name]) : out.push(e.signal_name);
  }
  if (out === undefined) return [];
  return out.length > 1 ? out.slice() : out;
}

/**
 * The signals a node emits, its conditions evaluated against `vars`; a condition that raises is
 * logged as a `condition_error` telemetry event (node, signal, error), so it is not silent.
 */
export function emitWhere(
  run: NodeRun,
  services: NodeServices,
  emissions: EventEmission[],
  vars: TemplateVars | (() => TemplateVars),
): string[] {
  return evaluateEmissions(emissions, vars, (f) => {
    void services.telemetry(run.executionId, 'condition_error', {
      workflow_name: run.workflowName,
      node_name: run.nodeName,
      signal_name: f.signal,
      condition: f.condition,
      error: f.error instanceof Error ? f.error.message : String(f.error),
    });
  });
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
