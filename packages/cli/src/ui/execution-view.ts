/** Turns an execution's status, context and telemetry into what the `soe ui` pages show. */
import { type StoredContext, summarizeUsage, type TelemetryEvent } from '@soe/core';
import { analyzeGraph, externalSignals, type SignalGraph } from '../graph/analyze-graph.js';
import type { TaggedEvent } from '../local/collect-execution.js';

/** What the UI shows of an execution's status. */
export type UiStatus = 'RUNNING' | 'WAITING' | 'IDLE' | 'FAILED' | 'CANCELLED';

/** One node run: from its `node_execution` to its `node_completed`, with the calls it made. */
export interface NodeRunView {
  /** `executionId#index`, stable across polls. */
  id: string;
  executionId: string;
  node: string;
  type: string;
  /** Epoch ms. */
  start: number;
  /** Epoch ms; absent while the node runs. */
  end?: number;
  ok?: boolean;
  triggeredBy: string[];
  emitted: string[];
  /** How the emitted signals were chosen, and each emission's condition (node_completed). */
  selectedBy?: string;
  emissions?: Array<{ signal: string; condition?: string; emitted: boolean }>;
  outputs?: unknown;
  /** The `llm_call`, `tool_call` and `node_error` events of the run: prompts, answers, arguments, results, errors. */
  calls: TelemetryEvent[];
  error?: string;
  /** Child executions this run started (`child_started`). */
  children: string[];
}

/** One execution of the tree (the main one and its children). */
export interface ExecutionPart {
  executionId: string;
  parentId?: string;
  workflowName?: string;
  /** Context fields, each with its whole history (newest last); `__operational__` apart. */
  fields: Record<string, unknown[]>;
  operational?: StoredContext['__operational__'];
}

/** What `/api/executions/ID` answers. */
export interface ExecutionView {
  executionId: string;
  workflowName?: string;
  status: UiStatus;
  error?: string;
  failedNode?: string;
  /** Epoch ms of the first and last event. */
  startedAt?: number;
  lastEventAt?: number;
  durationMs?: number;
  /** The signal graph of the config (as `soe graph` builds it), when the runtime keeps the config. */
  graph?: SignalGraph;
  /** Signals the workflow waits for from outside (no node emits them), with whether each arrived. */
  awaited: Array<{ signal: string; received: boolean; nodes: string[] }>;
  /** Every signal broadcast to the main execution, in order. */
  signals: string[];
  /** Node names that ran (path taken), per execution. */
  ran: string[];
  parts: ExecutionPart[];
  runs: NodeRunView[];
  usage: { calls: number; input_tokens: number; output_tokens: number; latency_ms: number; cost?: number };
  events: TaggedEvent[];
  /** What the runtime lets a person do here. */
  actions: { signal: boolean; cancel: boolean; redrive: boolean };
}

/** Token prices in USD per million tokens (`soe ui --price-in/--price-out`). */
export interface TokenPrices {
  inputPerMillion: number;
  outputPerMillion: number;
}

/** What a source knows of an execution tree, from which {@link buildExecutionView} builds the page's data. */
export interface ExecutionFacts {
  executionId: string;
  parts: ExecutionPart[];
  events: TaggedEvent[];
  /** The config's workflows (registry), when the runtime keeps it. */
  registry?: Record<string, unknown>;
  /** Status the runtime reports (a deployed stack's status function); derived from events otherwise. */
  reported?: { status: UiStatus; error?: string; failedNode?: string };
  actions: ExecutionView['actions'];
}

const time = (e: TelemetryEvent): number => {
  const t = typeof e.timestamp === 'number' ? e.timestamp : Date.parse(String(e.timestamp));
  return Number.isFinite(t) ? t : 0;
};
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

/** Pairs node starts with their completions (per execution, oldest open run of the same node first). */
export function nodeRuns(events: readonly TaggedEvent[]): NodeRunView[] {
  const runs: NodeRunView[] = [];
  const open = new Map<string, NodeRunView[]>();
  const key = (e: TaggedEvent) => `${e.execution_id}\u0000${String(e.node_name)}`;
  for (const e of events) {
    const k = key(e);
    if (e.event_type === 'node_execution') {
      const run: NodeRunView = {
        id: `${e.execution_id}#${runs.length}`,
        executionId: e.execution_id,
        node: String(e.node_name),
        type: String(e.node_type ?? ''),
        start: time(e),
        triggeredBy: strings(e.triggered_by),
        emitted: [],
        calls: [],
        children: [],
      };
      runs.push(run);
      open.set(k, [...(open.get(k) ?? []), run]);
      continue;
    }
    const current = open.get(k)?.[0];
    if (e.event_type === 'child_started') {
      // Logged while the child node runs; the children belong to that run.
      const starter = current ?? [...runs].reverse().find((r) => r.executionId === e.execution_id && r.node === String(e.node_name));
      if (starter) starter.children.push(...strings(e.children));
      continue;
    }
    if (
      e.event_type === 'llm_call' ||
      e.event_type === 'tool_call' ||
      e.event_type === 'node_error' ||
      e.event_type === 'condition_error'
    ) {
      if (current) current.calls.push(e);
      if (current && e.event_type === 'node_error') current.error = `${e.error_type ? `${String(e.error_type)}: ` : ''}${String(e.error)}`;
    } else if (e.event_type === 'node_completed' && current) {
      current.end = time(e);
      current.ok = e.ok !== false;
      current.emitted = strings(e.emitted);
      if (typeof e.selected_by === 'string') current.selectedBy = e.selected_by;
      if (Array.isArray(e.emissions)) current.emissions = e.emissions as NodeRunView['emissions'];
      if (e.outputs !== undefined) current.outputs = e.outputs;
      open.get(k)!.shift();
    }
  }
  return runs;
}

function deriveStatus(
  facts: ExecutionFacts,
  runs: NodeRunView[],
  awaitedOpen: boolean,
): Pick<ExecutionView, 'status' | 'error' | 'failedNode'> {
  // A stack's IDLE is refined below into WAITING (for an outside signal) or IDLE.
  if (facts.reported && facts.reported.status !== 'IDLE') return facts.reported;
  if (facts.reported) return { status: awaitedOpen ? 'WAITING' : 'IDLE' };
  if (facts.parts.some((p) => p.operational?.cancelled)) return { status: 'CANCELLED' };
  // A node error nothing handled failed the execution (handled ones name the failure signal they emitted).
  const failure = [...facts.events].reverse().find((e) => e.event_type === 'node_error' && !strings(e.handled_by).length);
  if (failure) {
    return {
      status: 'FAILED',
      error: `${failure.error_type ? `${String(failure.error_type)}: ` : ''}${String(failure.error)}`,
      failedNode: String(failure.node_name),
    };
  }
  if (runs.some((r) => r.end === undefined)) return { status: 'RUNNING' };
  return { status: awaitedOpen ? 'WAITING' : 'IDLE' };
}

/** Builds everything the execution page shows from what a source read. */
export function buildExecutionView(facts: ExecutionFacts, prices?: TokenPrices): ExecutionView {
  const main = facts.parts[0];
  const mainEvents = facts.events.filter((e) => e.execution_id === facts.executionId);
  const start = mainEvents.find((e) => e.event_type === 'orchestration_start');
  const workflowName = main?.workflowName ?? (start ? String(start.workflow_name) : undefined);
  const initialSignals = start ? strings(start.initial_signals) : ['START'];
  const graph = facts.registry
    ? analyzeGraph(facts.registry, { initialWorkflow: workflowName, initialSignals: initialSignals.length ? initialSignals : ['START'] })
    : undefined;
  const signals = strings(main?.operational?.signals).length
    ? strings(main?.operational?.signals)
    : mainEvents.filter((e) => e.event_type === 'signals_broadcast').flatMap((e) => strings(e.signals));
  const seen = new Set(signals);
  const awaited: ExecutionView['awaited'] = [];
  const wf = graph?.workflows.find((w) => w.name === workflowName);
  if (wf) {
    // Signals children send up (signals_to_parent) come from inside the run, not from a person.
    const fromChildren = new Set(wf.nodes.flatMap((n) => n.child?.signalsToParent ?? []));
    for (const s of externalSignals(wf.nodes, initialSignals)) {
      if (fromChildren.has(s)) continue;
      awaited.push({ signal: s, received: seen.has(s), nodes: wf.nodes.filter((n) => n.triggers.includes(s)).map((n) => n.name) });
    }
  }
  const runs = nodeRuns(facts.events);
  // Waiting: some outside signal is awaited and none of them has arrived yet (one answer ends the wait).
  const awaitedOpen = awaited.length > 0 && !awaited.some((a) => a.received);
  const status = deriveStatus(facts, runs, awaitedOpen);
  const times = facts.events.map(time).filter((t) => t > 0);
  const usage = summarizeUsage(facts.events);
  const cost = prices ? (usage.input_tokens * prices.inputPerMillion + usage.output_tokens * prices.outputPerMillion) / 1e6 : undefined;
  const startedAt = times.length ? Math.min(...times) : undefined;
  const lastEventAt = times.length ? Math.max(...times) : undefined;
  return {
    executionId: facts.executionId,
    workflowName,
    ...status,
    startedAt,
    lastEventAt,
    durationMs: startedAt !== undefined && lastEventAt !== undefined ? lastEventAt - startedAt : undefined,
    graph,
    awaited,
    signals,
    ran: [...new Set(runs.filter((r) => r.executionId === facts.executionId).map((r) => r.node))],
    parts: facts.parts,
    runs,
    usage: {
      calls: usage.calls,
      input_tokens: usage.input_tokens,
      output_tokens: usage.output_tokens,
      latency_ms: usage.latency_ms,
      ...(cost !== undefined ? { cost } : {}),
    },
    events: facts.events,
    actions: { ...facts.actions, redrive: facts.actions.redrive && status.status === 'FAILED' },
  };
}

/** A row of the home page. */
export interface ExecutionSummary {
  executionId: string;
  workflowName?: string;
  status: UiStatus;
  startedAt?: number;
  durationMs?: number;
  nodes: number;
  tokens: number;
  children: number;
}

/** The home-page row of an execution view. */
export function summarize(view: ExecutionView): ExecutionSummary {
  return {
    executionId: view.executionId,
    workflowName: view.workflowName,
    status: view.status,
    startedAt: view.startedAt,
    durationMs: view.durationMs,
    nodes: view.runs.length,
    tokens: view.usage.input_tokens + view.usage.output_tokens,
    children: view.parts.length - 1,
  };
}

/** Splits a stored context into its fields (histories) and `__operational__`. */
export function partOf(executionId: string, context: StoredContext, workflowName?: string): ExecutionPart {
  const fields: Record<string, unknown[]> = {};
  for (const [k, v] of Object.entries(context ?? {})) if (!k.startsWith('__')) fields[k] = Array.isArray(v) ? v : [v];
  return {
    executionId,
    ...(context?.__parent__ ? { parentId: context.__parent__.parent_execution_id } : {}),
    ...(workflowName ? { workflowName } : {}),
    fields,
    operational: context?.__operational__,
  };
}
