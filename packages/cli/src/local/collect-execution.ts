/** Gathers an execution and its children (contexts and events) for the report of a run. */
import type { Backends, StoredContext, TelemetryEvent } from '@soe/core';

/** A telemetry event with the execution it belongs to (children's events sit beside their parent's). */
export type TaggedEvent = TelemetryEvent & { execution_id: string };

/** An execution as the CLI reports it: its context, its children's, and every event of the tree. */
export interface CollectedExecution {
  executionId: string;
  context: StoredContext;
  /** The execution and its descendants, parents first. */
  executions: Array<{ executionId: string; context: StoredContext }>;
  /** Every event of the tree, oldest first (ties keep parents first). */
  events: TaggedEvent[];
}

/** Children an execution started, from its `child_started` events. */
export function childrenOf(events: readonly TelemetryEvent[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    if (e.event_type === 'child_started' && Array.isArray(e.children)) for (const c of e.children) if (typeof c === 'string') out.push(c);
  }
  return out;
}

/** Reads an execution, its descendants (found through `child_started` events) and all their events. */
export async function collectExecution(backends: Backends, executionId: string): Promise<CollectedExecution> {
  const executions: CollectedExecution['executions'] = [];
  const tagged: Array<{ event: TaggedEvent; order: number }> = [];
  const visited = new Set<string>();
  const queue = [executionId];
  while (queue.length) {
    const id = queue.shift()!;
    if (visited.has(id)) continue;
    visited.add(id);
    const [context, events] = await Promise.all([
      backends.context.getContext(id),
      backends.telemetry?.getEvents ? backends.telemetry.getEvents(id) : Promise.resolve([] as TelemetryEvent[]),
    ]);
    executions.push({ executionId: id, context });
    for (const event of events) tagged.push({ event: { ...event, execution_id: id }, order: tagged.length });
    queue.push(...childrenOf(events));
  }
  tagged.sort((a, b) => Date.parse(a.event.timestamp) - Date.parse(b.event.timestamp) || a.order - b.order);
  return { executionId, context: executions[0]?.context ?? {}, executions, events: tagged.map((t) => t.event) };
}

/** Totals over an execution tree, from each execution's `__operational__`. */
export interface RunTotals {
  nodes: number;
  signals: number;
  llmCalls: number;
  toolCalls: number;
  errors: number;
  executions: number;
}

/** Sums the operational counters of an execution and its descendants. */
export function totalsOf(collected: CollectedExecution): RunTotals {
  const t: RunTotals = { nodes: 0, signals: 0, llmCalls: 0, toolCalls: 0, errors: 0, executions: collected.executions.length };
  for (const { context } of collected.executions) {
    const op = context.__operational__;
    if (!op) continue;
    t.nodes += Object.values(op.nodes ?? {}).reduce((a, b) => a + (typeof b === 'number' ? b : 0), 0);
    t.signals += Array.isArray(op.signals) ? op.signals.length : 0;
    t.llmCalls += op.llm_calls ?? 0;
    t.toolCalls += op.tool_calls ?? 0;
    t.errors += op.errors ?? 0;
  }
  return t;
}
