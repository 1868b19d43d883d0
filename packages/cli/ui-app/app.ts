// The `soe ui` page app: a home list of executions and an execution page (graph, timeline, step I/O,
// context, actions). Plain DOM, polled JSON from the server; bundled with dagre by scripts/bundle-ui.mjs.
import { type GraphMarks, workflowSvg } from './graph-svg.js';
import type { Event, ExecutionPart, ExecutionSummary, ExecutionView, NodeRun, Status } from './types.js';

/** Poll interval while a page is open. */
const POLL_MS = 1500;

type Child = Node | string | null | undefined | false;

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | undefined> = {},
  ...children: Child[]
) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

const fmtTime = (ms?: number) => (ms ? new Date(ms).toLocaleString() : '—');
const fmtDuration = (ms?: number) =>
  ms === undefined ? '—' : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
const statusBadge = (s: Status) => h('span', { class: `status status-${s.toLowerCase()}` }, s);

async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, init);
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `${res.status} ${res.statusText}`);
  return body;
}

/** A captured value as text: a capped one (`{ truncated, prefix, size }`) shows its prefix and full size. */
function valueText(v: unknown): string {
  if (typeof v === 'object' && v !== null && (v as { truncated?: unknown }).truncated === true) {
    const t = v as { prefix: string; size: number };
    return `${t.prefix}… (truncated: ${t.size} characters in all)`;
  }
  if (typeof v === 'string') return v;
  return JSON.stringify(v, null, 2) ?? String(v);
}

/** A labelled block of a captured value, as preformatted text. */
const io = (label: string, v: unknown, cls = '') =>
  h('div', { class: `io ${cls}` }, h('div', { class: 'io-label' }, label), h('pre', {}, valueText(v)));

let timer: number | undefined;
let lastJson = '';
const app = document.getElementById('app')!;
const sourceLabel = document.body.dataset.source ?? '';

function schedule(fn: () => Promise<void>) {
  window.clearTimeout(timer);
  timer = window.setTimeout(() => void fn().finally(() => schedule(fn)), POLL_MS);
}

// ---- home page ----

async function renderHome(): Promise<void> {
  const data = await api<{ source: string; executions: ExecutionSummary[] }>('/api/executions');
  const json = JSON.stringify(data);
  if (json === lastJson) return;
  lastJson = json;
  const open = h(
    'form',
    { class: 'open-form' },
    h('input', { name: 'id', placeholder: 'execution id', 'aria-label': 'execution id' }),
    h('button', {}, 'Open'),
  );
  open.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const id = (open.elements.namedItem('id') as HTMLInputElement).value.trim();
    if (id) location.href = `/executions/${encodeURIComponent(id)}`;
  });
  const rows = data.executions.map((x) =>
    h(
      'tr',
      { 'data-execution': x.executionId },
      h('td', {}, h('a', { href: `/executions/${encodeURIComponent(x.executionId)}`, class: 'mono' }, x.executionId)),
      h('td', {}, x.workflowName ?? '—'),
      h('td', {}, statusBadge(x.status)),
      h('td', {}, fmtTime(x.startedAt)),
      h('td', {}, fmtDuration(x.durationMs)),
      h('td', { class: 'num' }, String(x.nodes)),
      h('td', { class: 'num' }, String(x.tokens)),
      h('td', { class: 'num' }, String(x.children)),
    ),
  );
  app.replaceChildren(
    header('Executions'),
    open,
    rows.length
      ? h(
          'table',
          { class: 'executions' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['Execution', 'Workflow', 'Status', 'Started', 'Duration', 'Node runs', 'Tokens', 'Children'].map((t) => h('th', {}, t)),
            ),
          ),
          h('tbody', {}, ...rows),
        )
      : h('p', { class: 'empty' }, `No executions in ${data.source} yet.`),
  );
}

function header(title: string, ...extra: Child[]) {
  return h(
    'header',
    {},
    h('a', { href: '/', class: 'brand' }, 'SOE'),
    h('h1', {}, title),
    ...extra,
    h('span', { class: 'source' }, sourceLabel),
  );
}

// ---- execution page ----

interface PageState {
  selectedRun?: string;
  message?: { text: string; error: boolean };
}
const state: PageState = {};

async function renderExecution(id: string): Promise<void> {
  let view: ExecutionView;
  try {
    view = await api<ExecutionView>(`/api/executions/${encodeURIComponent(id)}`);
  } catch (e) {
    app.replaceChildren(header(id), h('div', { class: 'error-banner' }, String((e as Error).message)));
    lastJson = '';
    return;
  }
  const json = JSON.stringify(view) + JSON.stringify(state);
  if (json === lastJson) return;
  lastJson = json;
  const scrollY = window.scrollY;
  const parts: Child[] = [
    header(
      `Execution ${view.executionId}`,
      statusBadge(view.status),
      view.status === 'RUNNING' ? h('span', { class: 'live' }, '● live') : null,
    ),
    view.status === 'FAILED'
      ? h(
          'div',
          { class: 'error-banner', role: 'alert' },
          h('strong', {}, `FAILED${view.failedNode ? ` in ${view.failedNode}` : ''}: `),
          view.error ?? 'no reason recorded',
        )
      : null,
    state.message ? h('div', { class: state.message.error ? 'error-banner' : 'notice' }, state.message.text) : null,
    summaryBar(view),
    actionsBar(view),
    section('Graph', graphView(view)),
    section('Timeline', timeline(view)),
    section('Step', runDetail(view)),
    section('Context', contextView(view)),
  ];
  app.replaceChildren(...parts.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
  window.scrollTo(0, scrollY);
}

function section(title: string, body: Node) {
  return h('section', { class: `panel panel-${title.toLowerCase()}` }, h('h2', {}, title), body);
}

function summaryBar(v: ExecutionView) {
  const op = v.parts.map((p) => p.operational ?? {});
  const sum = (k: string) => op.reduce((a, o) => a + (typeof o[k] === 'number' ? (o[k] as number) : 0), 0);
  const items: Array<[string, string]> = [
    ['workflow', v.workflowName ?? '—'],
    ['started', fmtTime(v.startedAt)],
    ['duration', fmtDuration(v.durationMs)],
    ['node runs', String(v.runs.length)],
    ['llm calls', String(sum('llm_calls'))],
    ['tool calls', String(sum('tool_calls'))],
    ['errors', String(sum('errors'))],
    ['tokens', `${v.usage.input_tokens} in · ${v.usage.output_tokens} out`],
    ['cost', v.usage.cost !== undefined ? `$${v.usage.cost.toFixed(4)}` : 'set --price-in/--price-out'],
  ];
  if (v.parts.length > 1) items.push(['executions', String(v.parts.length)]);
  return h('dl', { class: 'summary' }, ...items.flatMap(([k, val]) => [h('dt', {}, k), h('dd', { 'data-summary': k }, val)]));
}

async function act(v: ExecutionView, action: 'signal' | 'cancel' | 'redrive', signals?: string[]) {
  const what =
    action === 'signal'
      ? `Send ${signals!.join(', ')} to execution ${v.executionId}?`
      : action === 'cancel'
        ? `Cancel execution ${v.executionId} and its children? Nothing more will run.`
        : `Redrive the failed broadcast of ${v.executionId}?`;
  if (!window.confirm(what)) return;
  try {
    const r = await api<{ message: string }>(`/api/executions/${encodeURIComponent(v.executionId)}/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(signals ? { signals } : {}),
    });
    state.message = { text: r.message, error: false };
  } catch (e) {
    state.message = { text: (e as Error).message, error: true };
  }
  lastJson = '';
  await renderExecution(v.executionId);
}

function actionsBar(v: ExecutionView) {
  const bar = h('div', { class: 'actions' });
  const waiting = v.awaited.filter((a) => !a.received);
  if (v.awaited.length) {
    bar.append(
      h(
        'span',
        { class: 'awaited-list' },
        'Awaited signals: ',
        ...v.awaited.map((a) =>
          h(
            'span',
            { class: `awaited-signal${a.received ? ' received' : ''}`, 'data-awaited': a.signal, title: `triggers ${a.nodes.join(', ')}` },
            `${a.signal}${a.received ? ' ✓' : ''}`,
          ),
        ),
      ),
    );
  }
  if (v.actions.signal && v.status !== 'CANCELLED') {
    for (const a of waiting) {
      const b = h('button', { 'data-action': `send-${a.signal}` }, `Send ${a.signal}`);
      b.addEventListener('click', () => void act(v, 'signal', [a.signal]));
      bar.append(b);
    }
    const form = h(
      'form',
      { class: 'signal-form' },
      h('input', { name: 'signals', placeholder: 'SIGNAL, …', 'aria-label': 'signals to send' }),
      h('button', {}, 'Send'),
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const signals = (form.elements.namedItem('signals') as HTMLInputElement).value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (signals.length) void act(v, 'signal', signals);
    });
    bar.append(form);
  }
  if (v.actions.cancel && v.status !== 'CANCELLED') {
    const b = h('button', { class: 'danger', 'data-action': 'cancel' }, 'Cancel');
    b.addEventListener('click', () => void act(v, 'cancel'));
    bar.append(b);
  }
  if (v.actions.redrive) {
    const b = h('button', { 'data-action': 'redrive' }, 'Redrive');
    b.addEventListener('click', () => void act(v, 'redrive'));
    bar.append(b);
  }
  return bar;
}

function selectRun(id: string | undefined) {
  state.selectedRun = id;
  lastJson = '';
  const m = /^\/executions\/([^/]+)/.exec(location.pathname);
  if (m) void renderExecution(decodeURIComponent(m[1]!));
}

function graphView(v: ExecutionView) {
  if (!v.graph) return h('p', { class: 'empty' }, 'No config to draw: the runtime does not return it (soe ui --config FILE draws it).');
  const box = h('div', { class: 'graphs' });
  const byWorkflow = new Map<string, ExecutionPart[]>();
  for (const p of v.parts) {
    const w = p.workflowName ?? v.workflowName ?? '';
    byWorkflow.set(w, [...(byWorkflow.get(w) ?? []), p]);
  }
  const workflows = v.graph.workflows.filter((w) => w.name === v.workflowName || byWorkflow.has(w.name));
  for (const wf of workflows) {
    const parts = byWorkflow.get(wf.name) ?? [];
    const ids = new Set(parts.map((p) => p.executionId));
    const runs = v.runs.filter((r) => ids.has(r.executionId));
    const broadcast = new Set(parts.flatMap((p) => (Array.isArray(p.operational?.signals) ? (p.operational.signals as string[]) : [])));
    if (wf.name === v.workflowName) for (const s of v.signals) broadcast.add(s);
    const marks: GraphMarks = {
      ran: new Set(runs.map((r) => r.node)),
      broadcast,
      awaited: new Set(wf.name === v.workflowName ? v.awaited.map((a) => a.signal) : []),
      failed: new Set(runs.filter((r) => r.ok === false && r.end !== undefined).map((r) => r.node)),
      onNodeClick: (node) => selectRun([...runs].reverse().find((r) => r.node === node)?.id),
    };
    box.append(
      h(
        'div',
        { class: 'graph-box' },
        h('div', { class: 'graph-title' }, `workflow ${wf.name}${parts.length > 1 ? ` · ${parts.length} executions` : ''}`),
        workflowSvg(wf, marks),
      ),
    );
  }
  box.append(
    h(
      'div',
      { class: 'legend' },
      h('span', { class: 'lg ran' }, 'ran'),
      h('span', { class: 'lg taken' }, 'signal broadcast'),
      h('span', { class: 'lg awaited' }, 'awaited from outside'),
      h('span', { class: 'lg failed' }, 'failed'),
    ),
  );
  return box;
}

function timeline(v: ExecutionView) {
  if (!v.runs.length) return h('p', { class: 'empty' }, 'No node has run yet.');
  const t0 = Math.min(...v.runs.map((r) => r.start));
  const now = v.status === 'RUNNING' ? Date.now() : (v.lastEventAt ?? t0);
  const t1 = Math.max(now, ...v.runs.map((r) => r.end ?? now));
  const span = Math.max(1, t1 - t0);
  const rows: Node[] = [];
  const byExec = new Map<string, NodeRun[]>();
  for (const r of v.runs) byExec.set(r.executionId, [...(byExec.get(r.executionId) ?? []), r]);
  const placed = new Set<string>();
  // Each execution's runs in start order; a child's runs right under the run that started it.
  const addExecution = (executionId: string, depth: number) => {
    if (placed.has(executionId)) return;
    placed.add(executionId);
    if (depth > 0) {
      const part = v.parts.find((p) => p.executionId === executionId);
      rows.push(
        h(
          'div',
          { class: 'tl-exec', style: `padding-left:${depth * 16}px` },
          `child ${executionId.slice(0, 8)} · ${part?.workflowName ?? ''}`,
        ),
      );
    }
    for (const r of [...(byExec.get(executionId) ?? [])].sort((a, b) => a.start - b.start)) {
      rows.push(timelineRow(r, depth, (t) => ((t - t0) / span) * 100, now));
      for (const c of r.children) addExecution(c, depth + 1);
    }
  };
  addExecution(v.executionId, 0);
  // Executions no run claims (their starter's events were cut off): after the rest.
  for (const p of v.parts) addExecution(p.executionId, p.parentId ? 1 : 0);
  return h('div', { class: 'timeline' }, ...rows);
}

/** One Gantt row: the node, a bar from its start to its end (or now), its duration and signals. */
function timelineRow(r: NodeRun, depth: number, at: (t: number) => number, now: number): Node {
  const left = at(r.start);
  const width = Math.max(0.6, at(r.end ?? now) - left);
  const row = h(
    'div',
    {
      class: `tl-row${r.id === state.selectedRun ? ' selected' : ''}${r.ok === false ? ' failed' : ''}${r.end === undefined ? ' running' : ''}`,
      'data-run': r.id,
      'data-node': r.node,
      role: 'button',
      tabindex: 0,
    },
    h(
      'div',
      { class: 'tl-label', style: `padding-left:${depth * 16}px` },
      h('span', { class: 'tl-node' }, r.node),
      h('span', { class: 'tl-type' }, r.type),
    ),
    h('div', { class: 'tl-track' }, h('div', { class: 'tl-bar', style: `left:${left.toFixed(2)}%;width:${width.toFixed(2)}%` })),
    h('span', { class: 'tl-dur' }, `${fmtDuration((r.end ?? now) - r.start)}${r.emitted.length ? ` → ${r.emitted.join(', ')}` : ''}`),
  );
  row.addEventListener('click', () => selectRun(r.id));
  row.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') selectRun(r.id);
  });
  return row;
}

function callView(e: Event) {
  const ok = e.ok !== false;
  if (e.event_type === 'llm_call') {
    const tokens = e.input_tokens !== undefined ? ` · ${String(e.input_tokens)} in / ${String(e.output_tokens)} out tokens` : '';
    return h(
      'div',
      { class: `call${ok ? '' : ' failed'}` },
      h(
        'div',
        { class: 'call-head' },
        `model call · ${String(e.stage ?? 'llm')} stage · attempt ${String(e.attempt ?? 1)} · ${fmtDuration(Number(e.latency_ms ?? 0))}${tokens}${e.model ? ` · ${String(e.model)}` : ''}`,
      ),
      e.prompt !== undefined ? io('prompt', e.prompt, 'prompt') : null,
      e.response !== undefined ? io('answer', e.response, 'response') : null,
      e.error !== undefined ? io('error', e.error, 'error') : null,
    );
  }
  if (e.event_type === 'tool_call') {
    return h(
      'div',
      { class: `call${ok ? '' : ' failed'}` },
      h(
        'div',
        { class: 'call-head' },
        `tool ${String(e.tool_name)} · attempt ${String(e.attempt ?? 1)} · ${fmtDuration(Number(e.duration_ms ?? 0))}`,
      ),
      e.arguments !== undefined ? io('arguments', e.arguments, 'arguments') : null,
      e.result !== undefined ? io('result', e.result, 'result') : null,
      e.error !== undefined ? io('error', e.error, 'error') : null,
    );
  }
  if (e.event_type === 'node_error') {
    return h(
      'div',
      { class: 'call failed' },
      h(
        'div',
        { class: 'call-head' },
        `error${Array.isArray(e.handled_by) && e.handled_by.length ? ` (handled: emitted ${(e.handled_by as string[]).join(', ')})` : ''}`,
      ),
      io(String(e.error_type ?? 'Error'), e.error, 'error'),
      Array.isArray(e.cause) ? io('caused by', (e.cause as string[]).join('\n'), 'error') : null,
    );
  }
  return h(
    'div',
    { class: 'call failed' },
    h('div', { class: 'call-head' }, `condition of ${String(e.signal_name)} raised, counted as false`),
    io('error', e.error),
  );
}

function runDetail(v: ExecutionView) {
  const run: NodeRun | undefined = v.runs.find((r) => r.id === state.selectedRun);
  if (!run) return h('p', { class: 'empty' }, 'Click a node run in the timeline (or a node in the graph) to see its inputs and outputs.');
  const reasons = run.emissions?.length
    ? h(
        'ul',
        { class: 'reasons' },
        ...run.emissions.map((m) =>
          h(
            'li',
            { class: m.emitted ? 'emitted' : 'not-emitted' },
            `${m.emitted ? '✓' : '✗'} ${m.signal}`,
            m.condition ? h('code', {}, ` if ${m.condition}`) : null,
          ),
        ),
      )
    : null;
  return h(
    'div',
    { class: 'run-detail', 'data-run': run.id },
    h(
      'h3',
      {},
      `${run.node} `,
      h('span', { class: 'tl-type' }, run.type),
      run.executionId !== v.executionId ? h('span', { class: 'mono small' }, ` in child ${run.executionId.slice(0, 8)}`) : null,
    ),
    h(
      'dl',
      { class: 'summary' },
      h('dt', {}, 'triggered by'),
      h('dd', {}, run.triggeredBy.join(', ') || '—'),
      h('dt', {}, 'started'),
      h('dd', {}, fmtTime(run.start)),
      h('dt', {}, 'duration'),
      h('dd', {}, run.end !== undefined ? fmtDuration(run.end - run.start) : 'running'),
      h('dt', {}, 'emitted'),
      h('dd', {}, run.emitted.join(', ') || '—'),
      h('dt', {}, 'chosen by'),
      h('dd', {}, run.selectedBy ?? '—'),
    ),
    reasons,
    ...run.calls.map(callView),
    run.outputs !== undefined ? io('outputs (context updates)', run.outputs, 'outputs') : null,
  );
}

function contextView(v: ExecutionView) {
  const box = h('div', { class: 'context' });
  for (const p of v.parts) {
    const rows = Object.entries(p.fields).map(([field, history]) =>
      h(
        'tr',
        { 'data-field': field },
        h('th', {}, field, history.length > 1 ? h('span', { class: 'small' }, ` ×${history.length}`) : null),
        h(
          'td',
          {},
          h(
            'ol',
            { class: 'history' },
            ...history.map((val, i) => h('li', { class: i === history.length - 1 ? 'newest' : '' }, h('pre', {}, valueText(val)))),
          ),
        ),
      ),
    );
    box.append(
      h(
        'div',
        { class: 'context-part' },
        h(
          'div',
          { class: 'graph-title' },
          p.executionId === v.executionId ? 'main execution' : `child ${p.executionId} · ${p.workflowName ?? ''}`,
        ),
        rows.length ? h('table', { class: 'fields' }, h('tbody', {}, ...rows)) : h('p', { class: 'empty' }, 'No context fields.'),
      ),
    );
  }
  return box;
}

// ---- router ----

function start() {
  const m = /^\/executions\/([^/]+)\/?$/.exec(location.pathname);
  if (m) {
    const id = decodeURIComponent(m[1]!);
    document.title = `SOE · ${id}`;
    const tick = () => renderExecution(id).catch((e) => console.error(e));
    void tick().finally(() => schedule(tick));
  } else {
    const tick = () =>
      renderHome().catch((e) => {
        app.replaceChildren(header('Executions'), h('div', { class: 'error-banner' }, String((e as Error).message)));
        lastJson = '';
      });
    void tick().finally(() => schedule(tick));
  }
}

start();
