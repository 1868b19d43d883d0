// Draws a workflow's signal graph (the model `soe graph` builds) as SVG, laid out by dagre.
import { graphlib, layout } from '@dagrejs/dagre';
import type { GraphWorkflow } from './types.js';

const SVG = 'http://www.w3.org/2000/svg';

/** What the drawing marks on the graph. */
export interface GraphMarks {
  /** Nodes that ran at least once. */
  ran: Set<string>;
  /** Signals broadcast to the execution(s) of this workflow. */
  broadcast: Set<string>;
  /** Signals no node emits (sent from outside): awaited, received or not. */
  awaited: Set<string>;
  /** Nodes whose last run failed. */
  failed: Set<string>;
  onNodeClick?: (node: string) => void;
}

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const charWidth = 7.2;
const short = (t: string, n = 28) => (t.length > n ? `${t.slice(0, n - 1)}…` : t);

/** The SVG of one workflow: node boxes, signal pills, trigger and emission edges, the path taken highlighted. */
export function workflowSvg(wf: GraphWorkflow, marks: GraphMarks): SVGSVGElement {
  const g = new graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 42, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  const signals = new Set<string>([...wf.entrySignals, ...wf.nodes.flatMap((n) => [...n.triggers, ...n.emissions.map((e) => e.signal)])]);
  for (const s of signals) g.setNode(`s:${s}`, { width: Math.max(60, s.length * charWidth + 22), height: 26 });
  for (const n of wf.nodes)
    g.setNode(`n:${n.name}`, { width: Math.max(96, Math.max(n.name.length, n.type.length + 2) * charWidth + 24), height: 42 });
  let i = 0;
  for (const n of wf.nodes) {
    for (const t of n.triggers) g.setEdge(`s:${t}`, `n:${n.name}`, { kind: 'trigger' }, `e${i++}`);
    for (const e of n.emissions) {
      const label = e.onFailure ? 'on failure' : e.condition ? short(e.condition.replace(/\s+/g, ' '), 30) : '';
      g.setEdge(
        `n:${n.name}`,
        `s:${e.signal}`,
        { kind: 'emit', label, width: label.length * 6, height: label ? 14 : 0, labelpos: 'c' },
        `e${i++}`,
      );
    }
  }
  layout(g);
  const size = g.graph();
  const svg = el('svg', {
    class: 'graph',
    width: Math.ceil(size.width ?? 0),
    height: Math.ceil(size.height ?? 0),
    viewBox: `0 0 ${Math.ceil(size.width ?? 0)} ${Math.ceil(size.height ?? 0)}`,
    role: 'img',
    'aria-label': `workflow ${wf.name}`,
  });
  const defs = el('defs', {});
  const marker = el('marker', {
    id: `arrow-${wf.name}`,
    viewBox: '0 0 10 10',
    refX: 9,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: 'auto-start-reverse',
  });
  marker.append(el('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }));
  defs.append(marker);
  svg.append(defs);
  for (const e of g.edges()) {
    const label = g.edge(e) as { kind: string; label?: string; points?: Array<{ x: number; y: number }>; x?: number; y?: number };
    const pts = label.points ?? [];
    const from = e.v.slice(2);
    const to = e.w.slice(2);
    // Taken: a broadcast signal that triggered a node that ran, or a node that ran and emitted a broadcast signal.
    const taken =
      label.kind === 'trigger' ? marks.broadcast.has(from) && marks.ran.has(to) : marks.ran.has(from) && marks.broadcast.has(to);
    const d = pts.map((p, k) => `${k ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    svg.append(el('path', { d, class: `edge ${label.kind}${taken ? ' taken' : ''}`, 'marker-end': `url(#arrow-${wf.name})` }));
    if (label.label && label.x !== undefined && label.y !== undefined)
      svg.append(el('text', { x: label.x, y: label.y + 4, class: 'edge-label', 'text-anchor': 'middle' }, label.label));
  }
  for (const id of g.nodes()) {
    const n = g.node(id) as { x: number; y: number; width: number; height: number };
    const name = id.slice(2);
    const group = el('g', { transform: `translate(${(n.x - n.width / 2).toFixed(1)},${(n.y - n.height / 2).toFixed(1)})` });
    if (id.startsWith('s:')) {
      const awaited = marks.awaited.has(name);
      const cls = [
        'signal',
        marks.broadcast.has(name) ? 'taken' : '',
        awaited ? 'awaited' : '',
        awaited && marks.broadcast.has(name) ? 'received' : '',
      ]
        .filter(Boolean)
        .join(' ');
      group.setAttribute('class', cls);
      group.setAttribute('data-signal', name);
      group.append(el('rect', { width: n.width, height: n.height, rx: n.height / 2 }));
      group.append(el('text', { x: n.width / 2, y: n.height / 2 + 4, 'text-anchor': 'middle' }, name));
      if (awaited) {
        const t = el(
          'title',
          {},
          marks.broadcast.has(name) ? `${name}: sent from outside, received` : `${name}: awaited from outside (soe send)`,
        );
        group.append(t);
      }
    } else {
      const node = wf.nodes.find((x) => x.name === name);
      const cls = ['node', marks.ran.has(name) ? 'ran' : '', marks.failed.has(name) ? 'failed' : ''].filter(Boolean).join(' ');
      group.setAttribute('class', cls);
      group.setAttribute('data-node', name);
      group.append(el('rect', { width: n.width, height: n.height, rx: 6 }));
      group.append(el('text', { x: n.width / 2, y: 18, 'text-anchor': 'middle', class: 'node-name' }, name));
      group.append(el('text', { x: n.width / 2, y: 33, 'text-anchor': 'middle', class: 'node-type' }, node?.type ?? ''));
      if (marks.onNodeClick) {
        group.addEventListener('click', () => marks.onNodeClick?.(name));
        group.style.cursor = 'pointer';
      }
    }
    svg.append(group);
  }
  return svg;
}
