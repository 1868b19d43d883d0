/** Renders a signal graph as Graphviz DOT. */
import type { SignalGraph } from './analyze-graph.js';
import { flags } from './render-mermaid.js';

const q = (text: string) => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

/**
 * Renders the signal flow as Graphviz DOT: a cluster per workflow, nodes as boxes, signals as
 * ellipses, dashed edges for child workflows. Unheard signals are orange, unreachable nodes grey and
 * dashed, missing child workflows red; findings are repeated as comments.
 */
export function renderDot(graph: SignalGraph): string {
  const flagged = flags(graph.findings);
  const out: string[] = ['digraph soe {', '  rankdir=LR;', '  node [fontname="Helvetica"]; edge [fontname="Helvetica", fontsize=10];'];
  for (const f of graph.findings)
    out.push(`  // ${f.severity}: ${f.workflow}${f.node ? `/${f.node}` : ''}: ${f.message.replace(/\n/g, ' ')}`);
  const nodeId = (wf: string, n: string) => q(`${wf}/node/${n}`);
  const sigId = (wf: string, s: string) => q(`${wf}/signal/${s}`);
  const edges: string[] = [];
  for (const w of graph.workflows) {
    out.push(`  subgraph ${q(`cluster_${w.name}`)} {`);
    out.push(`    label=${q(`workflow ${w.name}${w.started ? '' : ' (never started)'}`)};`);
    const signals = new Set<string>([...w.entrySignals, ...w.nodes.flatMap((n) => [...n.triggers, ...n.emissions.map((e) => e.signal)])]);
    for (const s of signals) {
      const attrs = flagged.unheard.has(`${w.name}/${s}`)
        ? ', style="filled,dashed", fillcolor="#fff8e1", color="#f9a825"'
        : w.entrySignals.includes(s)
          ? ', style=filled, fillcolor="#e3f2fd"'
          : '';
      out.push(`    ${sigId(w.name, s)} [shape=ellipse, label=${q(s)}${attrs}];`);
    }
    for (const n of w.nodes) {
      const attrs = flagged.unreachable.has(`${w.name}/${n.name}`) ? ', style=dashed, color=grey, fontcolor=grey' : '';
      out.push(`    ${nodeId(w.name, n.name)} [shape=box, label=${q(`${n.name}\n(${n.type})`)}${attrs}];`);
      for (const t of n.triggers) edges.push(`  ${sigId(w.name, t)} -> ${nodeId(w.name, n.name)};`);
      for (const e of n.emissions) {
        const text = e.onFailure ? 'on failure' : e.condition;
        edges.push(
          `  ${nodeId(w.name, n.name)} -> ${sigId(w.name, e.signal)}${text ? ` [label=${q(text.length > 60 ? `${text.slice(0, 59)}…` : text)}]` : ''};`,
        );
      }
    }
    out.push('  }');
  }
  for (const w of graph.workflows) {
    for (const n of w.nodes) {
      if (!n.child) continue;
      if (n.child.missing) {
        const m = q(`missing/${n.child.workflow}`);
        out.push(
          `  ${m} [shape=box, style=filled, fillcolor="#ffebee", color="#e53935", label=${q(`missing workflow ${n.child.workflow}`)}];`,
        );
        edges.push(`  ${nodeId(w.name, n.name)} -> ${m} [style=dashed, color="#e53935"];`);
        continue;
      }
      const how = n.child.fanOut ? `one child per ${n.child.fanOut}` : 'starts';
      for (const s of n.child.initialSignals)
        edges.push(`  ${nodeId(w.name, n.name)} -> ${sigId(n.child.workflow, s)} [style=dashed, label=${q(how)}];`);
      for (const s of n.child.signalsToParent) {
        if (graph.workflows.find((c) => c.name === n.child!.workflow)?.nodes.some((c) => c.emissions.some((e) => e.signal === s))) {
          edges.push(`  ${sigId(n.child.workflow, s)} -> ${sigId(w.name, s)} [style=dashed, label="to parent"];`);
        }
      }
    }
  }
  out.push(...edges, '}');
  return `${out.join('\n')}\n`;
}
