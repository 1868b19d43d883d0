/** How the stored context (field histories) reads: newest values, histories, and the variables templates see. */
import type { ContextUpdate, OperationalState, StoredContext, TemplateVars } from './types.js';

/** True for engine-owned fields (`__operational__`, `__parent__`). */
export const isReservedField = (name: string): boolean => name.startsWith('__');

/** The newest value of a field's history (undefined when absent or empty). */
export function newest(ctx: StoredContext, field: string): unknown {
  const h = ctx[field];
  return Array.isArray(h) ? h[h.length - 1] : undefined;
}

/** The history of a field ([] when absent). */
export function historyOf(ctx: StoredContext, field: string): unknown[] {
  const h = ctx[field];
  return Array.isArray(h) ? h : [];
}

/**
 * The context as templates see it: each field's newest value, `__operational__` and `__parent__` as
 * stored, and the histories for `| accumulated`. `pending` overlays changes the current node has made
 * but not yet committed (its output, its own run count), so its conditions see them.
 * Costs O(number of fields): histories and the signal list are shared, not copied.
 */
export function templateVars(ctx: StoredContext, pending?: ContextUpdate, extra?: Record<string, unknown>): TemplateVars {
  const context: Record<string, unknown> = {};
  const history: Record<string, unknown[]> = {};
  for (const key of Object.keys(ctx)) {
    const v = ctx[key];
    if (isReservedField(key)) context[key] = v;
    else if (Array.isArray(v)) {
      history[key] = v;
      if (v.length) context[key] = v[v.length - 1];
    }
  }
  if (pending?.fields) {
    for (const [k, values] of Object.entries(pending.fields)) {
      if (!values.length) continue;
      history[k] = [...(history[k] ?? []), ...values];
      context[k] = values[values.length - 1];
    }
  }
  const op = ctx.__operational__;
  if (op && (pending?.nodes || pending?.signals || pending?.counters)) {
    const next: OperationalState = { ...op };
    if (pending.nodes) next.nodes = overlayCounts(op.nodes, pending.nodes);
    if (pending.signals?.length) next.signals = [...op.signals, ...pending.signals];
    if (pending.counters) for (const [k, c] of Object.entries(pending.counters)) next[k] = ((op[k] as number) ?? 0) + (c ?? 0);
    context.__operational__ = next;
  }
  return { ...extra, context, history };
}

/**
 * A read-only view of a counter map with some counts added, in O(1): copying the map would cost as
 * much as the number of distinct nodes run so far, on every node run.
 */
function overlayCounts(base: Record<string, number>, adds: Record<string, number>): Record<string, number> {
  const value = (k: string) => (base[k] ?? 0) + (adds[k] ?? 0);
  const has = (k: string | symbol) => typeof k === 'string' && (Object.hasOwn(base, k) || Object.hasOwn(adds, k));
  return new Proxy(base, {
    get: (t, k) => (typeof k === 'string' && Object.hasOwn(adds, k) ? value(k) : Reflect.get(t, k)),
    has: (t, k) => has(k) || Reflect.has(t, k),
    ownKeys: (t) => [...new Set([...Reflect.ownKeys(t), ...Object.keys(adds)])],
    getOwnPropertyDescriptor: (t, k) =>
      typeof k === 'string' && Object.hasOwn(adds, k)
        ? { value: value(k), writable: false, enumerable: true, configurable: true }
        : Reflect.getOwnPropertyDescriptor(t, k),
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  });
}

/** The fields a template source refers to as `context.x` or `context['x']`. */
export function referencedFields(source: string): string[] {
  const out = new Set<string>();
  for (const m of source.matchAll(/context\s*(?:\.\s*([A-Za-z_]\w*)|\[\s*['"]([^'"]+)['"]\s*\])/g)) {
    const name = m[1] ?? m[2];
    if (name && !isReservedField(name)) out.add(name);
  }
  return [...out];
}

/** Merges b into a (both updates of one execution). */
export function mergeUpdates(a: ContextUpdate, b: ContextUpdate): ContextUpdate {
  const out: ContextUpdate = { ...a };
  if (b.fields) {
    out.fields = { ...(a.fields ?? {}) };
    for (const [k, v] of Object.entries(b.fields)) out.fields[k] = [...(out.fields[k] ?? []), ...v];
  }
  if (b.signals) out.signals = [...(a.signals ?? []), ...b.signals];
  if (b.nodes) {
    out.nodes = { ...(a.nodes ?? {}) };
    for (const [k, v] of Object.entries(b.nodes)) out.nodes[k] = (out.nodes[k] ?? 0) + v;
  }
  if (b.counters) {
    out.counters = { ...(a.counters ?? {}) };
    for (const [k, v] of Object.entries(b.counters) as [keyof typeof out.counters, number][]) out.counters[k] = (out.counters[k] ?? 0) + v;
  }
  return out;
}

/**
 * The items of a history as `| accumulated` and fan-out read them: the history itself, except that a
 * history of one list (a list given as an initial value) is that list.
 */
export function accumulate(history: unknown[]): unknown[] {
  if (history.length === 1 && Array.isArray(history[0])) return history[0] as unknown[];
  return history;
}
