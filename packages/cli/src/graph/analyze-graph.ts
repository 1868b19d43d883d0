/** The signal graph of a config: which node emits what and who listens, children, and findings (unheard signals, unreachable nodes). */
import { closestName } from './closest-name.js';
import type { Locator } from './yaml-locator.js';

/** One signal a node emits. */
export interface GraphEmission {
  signal: string;
  /** The emission's condition, if any. */
  condition?: string;
  /** Emitted only when the node fails (`llm_failure_signal`). */
  onFailure?: boolean;
}

/** A child node's link to the workflow it starts. */
export interface GraphChildLink {
  workflow: string;
  initialSignals: string[];
  signalsToParent: string[];
  fanOut?: string;
  /** The named workflow is not defined in the config. */
  missing: boolean;
}

/** A node as the graph sees it. */
export interface GraphNode {
  workflow: string;
  name: string;
  type: string;
  triggers: string[];
  emissions: GraphEmission[];
  child?: GraphChildLink;
  /** Some signal that reaches the workflow triggers it. */
  reachable: boolean;
}

/** A workflow: its nodes and the signals that can reach it. */
export interface GraphWorkflow {
  name: string;
  nodes: GraphNode[];
  /** Started by the initial signals or by a child node that can run. */
  started: boolean;
  /** Signals it starts with (the initial ones, or the child nodes' `child_initial_signals`). */
  entrySignals: string[];
  /** Every signal that can be broadcast to it. */
  reachingSignals: string[];
}

/** Something the graph shows that may be a mistake. */
export interface GraphFinding {
  severity: 'error' | 'warning';
  kind: 'missing-child-workflow' | 'unheard-signal' | 'unreachable-node' | 'unstarted-workflow' | 'unconditional-cycle';
  workflow: string;
  node?: string;
  /** The node's field at fault (`event_triggers`, `event_emissions[1].signal_name`…). */
  field?: string;
  signal?: string;
  message: string;
  line?: number;
  column?: number;
}

/** The signal flow of a config: node → signal → node, per workflow, with its findings. */
export interface SignalGraph {
  initialWorkflow: string | undefined;
  initialSignals: string[];
  workflows: GraphWorkflow[];
  findings: GraphFinding[];
}

/** Options of {@link analyzeGraph}. */
export interface AnalyzeGraphOptions {
  /** @default the first workflow */
  initialWorkflow?: string;
  /** @default ['START'] */
  initialSignals?: string[];
  /** Adds line and column to findings. */
  locate?: Locator;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : []);

/** The workflows map of a parsed config (combined `{ workflows: … }` or a bare map). */
export function workflowsOf(config: unknown): { workflows: Record<string, unknown>; combined: boolean } {
  if (isObj(config) && 'workflows' in config) return { workflows: isObj(config.workflows) ? config.workflows : {}, combined: true };
  return { workflows: isObj(config) ? config : {}, combined: false };
}

/** Reads one node leniently: whatever is malformed is left out (`soe validate` reports it). */
export function graphNode(workflow: string, name: string, raw: unknown, defined: ReadonlySet<string>): GraphNode {
  const node = isObj(raw) ? raw : {};
  const emissions: GraphEmission[] = [];
  for (const e of Array.isArray(node.event_emissions) ? node.event_emissions : []) {
    if (isObj(e) && typeof e.signal_name === 'string' && e.signal_name !== '') {
      emissions.push(
        typeof e.condition === 'string' && e.condition !== ''
          ? { signal: e.signal_name, condition: e.condition }
          : { signal: e.signal_name },
      );
    }
  }
  if (typeof node.llm_failure_signal === 'string' && node.llm_failure_signal !== '')
    emissions.push({ signal: node.llm_failure_signal, onFailure: true });
  const out: GraphNode = {
    workflow,
    name,
    type: typeof node.node_type === 'string' ? node.node_type : '?',
    triggers: strings(node.event_triggers),
    emissions,
    reachable: false,
  };
  if (node.node_type === 'child' && typeof node.child_workflow_name === 'string') {
    out.child = {
      workflow: node.child_workflow_name,
      initialSignals: strings(node.child_initial_signals),
      signalsToParent: strings(node.signals_to_parent),
      missing: !defined.has(node.child_workflow_name),
      ...(typeof node.fan_out_field === 'string' ? { fanOut: node.fan_out_field } : {}),
    };
  }
  return out;
}

/**
 * Follows the signals of a config from its initial workflow and signals: which nodes can run, which
 * signals can be broadcast where, which child workflows start. Reports child nodes naming workflows
 * that do not exist (errors), and signals nobody listens to, nodes no signal reaches and workflows
 * never started (warnings: an end signal like DONE is often meant to be unheard, and a node may wait
 * for a signal sent from outside, such as a human approval).
 */
export function analyzeGraph(config: unknown, opts: AnalyzeGraphOptions = {}): SignalGraph {
  const { workflows: raw, combined } = workflowsOf(config);
  const names = Object.keys(raw);
  const defined = new Set(names);
  const initialWorkflow = opts.initialWorkflow ?? names[0];
  const initialSignals = opts.initialSignals ?? ['START'];
  const workflows: GraphWorkflow[] = names.map((name) => ({
    name,
    nodes: isObj(raw[name]) ? Object.entries(raw[name]).map(([n, v]) => graphNode(name, n, v, defined)) : [],
    started: false,
    entrySignals: [],
    reachingSignals: [],
  }));
  const byName = new Map(workflows.map((w) => [w.name, w]));
  const reach = new Map(workflows.map((w) => [w.name, new Set<string>()]));
  const emitted = new Map(workflows.map((w) => [w.name, new Set<string>()]));
  const entry = new Map(workflows.map((w) => [w.name, new Set<string>()]));
  const start = (wf: string, signals: string[]) => {
    const w = byName.get(wf);
    if (!w) return false;
    let changed = !w.started;
    w.started = true;
    for (const s of signals) {
      entry.get(wf)!.add(s);
      if (!reach.get(wf)!.has(s)) {
        reach.get(wf)!.add(s);
        changed = true;
      }
    }
    return changed;
  };
  if (initialWorkflow && byName.has(initialWorkflow)) start(initialWorkflow, initialSignals);
  for (let changed = true; changed; ) {
    changed = false;
    for (const w of workflows) {
      if (!w.started) continue;
      const r = reach.get(w.name)!;
      for (const n of w.nodes) {
        if (!n.triggers.some((t) => r.has(t))) continue;
        if (!n.reachable) changed = n.reachable = true;
        for (const e of n.emissions) {
          emitted.get(w.name)!.add(e.signal);
          if (!r.has(e.signal)) {
            r.add(e.signal);
            changed = true;
          }
        }
        if (n.child && !n.child.missing) {
          if (start(n.child.workflow, n.child.initialSignals)) changed = true;
          for (const s of n.child.signalsToParent) {
            if (emitted.get(n.child.workflow)!.has(s) && !r.has(s)) {
              r.add(s);
              changed = true;
            }
          }
        }
      }
    }
  }
  for (const w of workflows) {
    w.reachingSignals = [...reach.get(w.name)!];
    w.entrySignals = [...entry.get(w.name)!];
  }
  const findings = findingsOf(workflows, byName, initialWorkflow, initialSignals);
  for (const w of workflows) if (w.started) findings.push(...unconditionalCycles(w));
  if (opts.locate) {
    const prefix = combined ? ['workflows'] : [];
    for (const f of findings) {
      const field = f.field
        ? f.field
            .split(/[.[\]]+/)
            .filter(Boolean)
            .map((p) => (/^\d+$/.test(p) ? Number(p) : p))
        : [];
      const pos = opts.locate([...prefix, f.workflow, ...(f.node ? [f.node, ...field] : [])]);
      if (pos) Object.assign(f, { line: pos.line, column: pos.column });
    }
    findings.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  }
  return { initialWorkflow, initialSignals, workflows, findings };
}

/** Signals that trigger nodes of a workflow but that no node of it emits: only the initial signals or an outside caller can send them. */
export function externalSignals(nodes: readonly GraphNode[], initialSignals: readonly string[] = []): Set<string> {
  const emitted = new Set(nodes.flatMap((n) => n.emissions.map((e) => e.signal)));
  const out = new Set<string>();
  for (const n of nodes) for (const t of n.triggers) if (!emitted.has(t) && !initialSignals.includes(t)) out.add(t);
  return out;
}

function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const c = closestName(name, candidates);
  return c ? `did you mean '${c}'?` : undefined;
}

function findingsOf(
  workflows: GraphWorkflow[],
  byName: Map<string, GraphWorkflow>,
  initialWorkflow: string | undefined,
  initialSignals: string[],
): GraphFinding[] {
  const findings: GraphFinding[] = [];
  // Child nodes that start each workflow (their signals_to_parent can make a child's signal heard).
  const parentsOf = new Map<string, GraphNode[]>();
  for (const w of workflows)
    for (const n of w.nodes) if (n.child) parentsOf.set(n.child.workflow, [...(parentsOf.get(n.child.workflow) ?? []), n]);
  const listens = (wf: string, signal: string) => byName.get(wf)?.nodes.some((n) => n.triggers.includes(signal)) ?? false;

  for (const w of workflows) {
    for (const n of w.nodes) {
      if (n.child?.missing) {
        findings.push({
          severity: 'error',
          kind: 'missing-child-workflow',
          workflow: w.name,
          node: n.name,
          field: 'child_workflow_name',
          message: `child_workflow_name '${n.child.workflow}' is not a workflow of this config (${didYouMean(n.child.workflow, byName.keys()) ?? `defined: ${[...byName.keys()].join(', ')}`})`,
        });
      }
    }
    if (!w.started) {
      findings.push({
        severity: 'warning',
        kind: 'unstarted-workflow',
        workflow: w.name,
        message:
          w.name === initialWorkflow
            ? `is the initial workflow, but none of its nodes listens to ${initialSignals.join(', ')}`
            : `is never started: no child node that can run names it (start it with soe run --workflow ${w.name})`,
      });
      continue;
    }
    const external = externalSignals(w.nodes, w.entrySignals);
    const known = new Set([...w.entrySignals, ...w.nodes.flatMap((n) => n.emissions.map((e) => e.signal))]);
    for (const n of w.nodes) {
      if (n.reachable) continue;
      const outside = n.triggers.filter((t) => external.has(t));
      const typo = outside.map((t) => didYouMean(t, known)).find(Boolean);
      findings.push({
        severity: 'warning',
        kind: 'unreachable-node',
        workflow: w.name,
        node: n.name,
        field: 'event_triggers',
        message:
          n.triggers.length === 0
            ? 'has no event_triggers: nothing can run it'
            : outside.length
              ? `waits for ${outside.join(', ')}, which no node emits: ${typo ?? `it runs only when a caller sends it (soe send ID --signals ${outside[0]})`}`
              : `is never reached: ${n.triggers.join(', ')} ${n.triggers.length === 1 ? 'is' : 'are'} emitted only by nodes that never run`,
      });
    }
    const reported = new Set<string>();
    for (const n of w.nodes) {
      for (const [i, e] of n.emissions.entries()) {
        if (reported.has(e.signal) || listens(w.name, e.signal)) continue;
        const heardAbove = (parentsOf.get(w.name) ?? []).some(
          (p) => p.child!.signalsToParent.includes(e.signal) && listens(p.workflow, e.signal),
        );
        if (heardAbove) continue;
        reported.add(e.signal);
        const forwarded = (parentsOf.get(w.name) ?? []).some((p) => p.child!.signalsToParent.includes(e.signal));
        findings.push({
          severity: 'warning',
          kind: 'unheard-signal',
          workflow: w.name,
          node: n.name,
          field: e.onFailure ? 'llm_failure_signal' : `event_emissions[${i}].signal_name`,
          signal: e.signal,
          message: forwarded
            ? `emits ${e.signal} to the parent workflow, where no node listens to it`
            : `emits ${e.signal}, which no node of '${w.name}' listens to (fine if it marks the end of the run)`,
        });
      }
    }
  }
  return findings;
}

/**
 * Cycles of nodes that trigger each other through emissions without a condition: once entered,
 * nothing but the node-run limit (`limits.max_node_runs`) ends them. One finding per strongly
 * connected group of nodes (Tarjan's algorithm), at its first node.
 */
export function unconditionalCycles(w: GraphWorkflow): GraphFinding[] {
  const next = new Map<GraphNode, GraphNode[]>();
  for (const n of w.nodes) {
    const signals = new Set(n.emissions.filter((e) => !e.condition && !e.onFailure).map((e) => e.signal));
    next.set(
      n,
      w.nodes.filter((m) => m.triggers.some((t) => signals.has(t))),
    );
  }
  const index = new Map<GraphNode, number>();
  const low = new Map<GraphNode, number>();
  const stack: GraphNode[] = [];
  const onStack = new Set<GraphNode>();
  const groups: GraphNode[][] = [];
  let counter = 0;
  const visit = (n: GraphNode): void => {
    index.set(n, counter);
    low.set(n, counter++);
    stack.push(n);
    onStack.add(n);
    for (const m of next.get(n)!) {
      if (!index.has(m)) {
        visit(m);
        low.set(n, Math.min(low.get(n)!, low.get(m)!));
      } else if (onStack.has(m)) low.set(n, Math.min(low.get(n)!, index.get(m)!));
    }
    if (low.get(n) !== index.get(n)) return;
    const group: GraphNode[] = [];
    for (let m = stack.pop()!; ; m = stack.pop()!) {
      onStack.delete(m);
      group.push(m);
      if (m === n) break;
    }
    if (group.length > 1 || next.get(n)!.includes(n)) groups.push(group);
  };
  for (const n of w.nodes) if (!index.has(n)) visit(n);
  return groups.map((group) => {
    const ordered = w.nodes.filter((n) => group.includes(n));
    const first = ordered[0]!;
    return {
      severity: 'warning' as const,
      kind: 'unconditional-cycle' as const,
      workflow: w.name,
      node: first.name,
      field: 'event_emissions',
      message: `${ordered.map((n) => n.name).join(' → ')} → ${first.name} trigger each other with no condition: once started the loop runs until the node-run limit (limits.max_node_runs) fails the run; put a condition on one of the emissions`,
    };
  });
}
