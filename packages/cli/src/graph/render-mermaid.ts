/** Renders a signal graph as a Mermaid flowchart. */
import type { GraphFinding, SignalGraph } from './analyze-graph.js';

const label = (text: string) => text.replace(/#/g, '#35;').replace(/"/g, '#quot;');

/**
 * Renders the signal flow as a Mermaid flowchart: one subgraph per workflow, nodes as boxes, signals
 * as rounded shapes, `signal --> node` for triggers and `node --> signal` for emissions (conditions
 * as edge labels), dotted edges for child workflows. Unheard signals, unreachable nodes and missing
 * workflows get their own classes, and every finding is repeated as a `%%` comment.
 */
export function renderMermaid(graph: SignalGraph): string {
  const ids = new Map<string, string>();
  const id = (kind: 'n' | 's' | 'm', wf: string, name: string) => {
    const key = `${kind}\u0000${wf}\u0000${name}`;
    let v = ids.get(key);
    if (!v) ids.set(key, (v = `${kind}${ids.size + 1}`));
    return v;
  };
  const flagged = flags(graph.findings);
  const out: string[] = ['flowchart LR'];
  for (const f of graph.findings) out.push(`  %% ${f.severity}: ${f.workflow}${f.node ? `/${f.node}` : ''}: ${f.message}`);
  const edges: string[] = [];
  for (const w of graph.workflows) {
    out.push(`  subgraph ${id('m', w.name, '')}["workflow ${label(w.name)}${w.started ? '' : ' (never started)'}"]`);
    out.push('    direction LR');
    const signals = new Set<string>([...w.entrySignals, ...w.nodes.flatMap((n) => [...n.triggers, ...n.emissions.map((e) => e.signal)])]);
    for (const s of signals) {
      const cls = flagged.unheard.has(`${w.name}/${s}`) ? ':::unheard' : w.entrySignals.includes(s) ? ':::entry' : '';
      out.push(`    ${id('s', w.name, s)}(["${label(s)}"])${cls}`);
    }
    for (const n of w.nodes) {
      const cls = flagged.unreachable.has(`${w.name}/${n.name}`) ? ':::unreachable' : '';
      out.push(`    ${id('n', w.name, n.name)}["${label(n.name)}<br/><small>${label(n.type)}</small>"]${cls}`);
      for (const t of n.triggers) edges.push(`  ${id('s', w.name, t)} --> ${id('n', w.name, n.name)}`);
      for (const e of n.emissions) {
        const text = e.onFailure ? 'on failure' : e.condition;
        edges.push(
          text
            ? `  ${id('n', w.name, n.name)} -->|"${label(short(text))}"| ${id('s', w.name, e.signal)}`
            : `  ${id('n', w.name, n.name)} --> ${id('s', w.name, e.signal)}`,
        );
      }
    }
    out.push('  end');
  }
  for (const w of graph.workflows) {
    for (const n of w.nodes) {
      if (!n.child) continue;
      if (n.child.missing) {
        const m = id('m', `missing:${n.child.workflow}`, '');
        out.push(`  ${m}["missing workflow ${label(n.child.workflow)}"]:::missing`);
        edges.push(`  ${id('n', w.name, n.name)} -.-> ${m}`);
        continue;
      }
      const how = n.child.fanOut ? `one child per ${n.child.fanOut}` : 'starts';
      for (const s of n.child.initialSignals)
        edges.push(`  ${id('n', w.name, n.name)} -.->|"${label(how)}"| ${id('s', n.child.workflow, s)}`);
      for (const s of n.child.signalsToParent) {
        if (graph.workflows.find((c) => c.name === n.child!.workflow)?.nodes.some((c) => c.emissions.some((e) => e.signal === s))) {
          edges.push(`  ${id('s', n.child.workflow, s)} -.->|"to parent"| ${id('s', w.name, s)}`);
        }
      }
    }
  }
  out.push(...edges);
  out.push('  classDef entry fill:#e3f2fd,stroke:#1e88e5');
  out.push('  classDef unheard fill:#fff8e1,stroke:#f9a825,stroke-dasharray: 4 2');
  out.push('  classDef unreachable fill:#f5f5f5,stroke:#9e9e9e,stroke-dasharray: 4 2,color:#757575');
  out.push('  classDef missing fill:#ffebee,stroke:#e53935,color:#b71c1c');
  return `${out.join('\n')}\n`;
}

function short(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 60 ? `${t.slice(0, 59)}…` : t;
}

/** The flagged signals and nodes, as `workflow/name` keys. */
export function flags(findings: readonly GraphFinding[]): { unheard: Set<string>; unreachable: Set<string> } {
  const unheard = new Set<string>();
  const unreachable = new Set<string>();
  for (const f of findings) {
    if (f.kind === 'unheard-signal' && f.signal) unheard.add(`${f.workflow}/${f.signal}`);
    if (f.kind === 'unreachable-node' && f.node) unreachable.add(`${f.workflow}/${f.node}`);
  }
  return { unheard, unreachable };
}
