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
 *
 * Both are lazy, read-only views over the stored context: building them costs the same whatever the
 * context's size, a field costs something only when a template reads it, and a history with pending
 * values appended is put together only when a template reads that history.
 */
export function templateVars(ctx: StoredContext, pending?: ContextUpdate, extra?: Record<string, unknown>): TemplateVars {
  const view = new ContextView(ctx, pending);
  const context = new Proxy(NEWEST_TARGET, new NewestValues(view));
  const history = new Proxy(HISTORY_TARGET, new Histories(view));
  return extra ? { ...extra, context, history } : { context, history };
}

// The views' targets: empty, and shared by every view (a record without a prototype is a hash table,
// the most of what a view would cost). The traps answer every read, and refuse every change, the
// target's prototype and extensibility included: so the targets stay empty and extensible, and a
// view's answers always keep the invariants a proxy must keep with its target.
const NEWEST_TARGET = Object.create(null) as Record<string, unknown>;
const HISTORY_TARGET = Object.create(null) as Record<string, unknown[]>;

/** A stored context with a node's pending update over it. */
class ContextView {
  readonly fields: Record<string, unknown[]> | undefined;
  #operational: OperationalState | undefined | null = null;
  #histories: Map<string, unknown[]> | undefined;
  constructor(
    readonly ctx: StoredContext,
    readonly pending: ContextUpdate | undefined,
  ) {
    this.fields = pending?.fields;
  }

  /** The pending values of a field, when there are any. */
  pendingValues(key: string): unknown[] | undefined {
    const values = this.fields !== undefined && Object.hasOwn(this.fields, key) ? this.fields[key] : undefined;
    return values?.length ? values : undefined;
  }

  /** `__operational__` with the pending counts added (made once, on first read). */
  operational(): OperationalState | undefined {
    if (this.#operational === null) this.#operational = overlayOperational(this.ctx.__operational__, this.pending);
    return this.#operational;
  }

  /** What `context.<key>` reads: present or not, and the value. */
  newest(key: string): unknown {
    if (key === '__operational__') return this.operational();
    const values = this.pendingValues(key);
    if (values) return values[values.length - 1];
    if (!Object.hasOwn(this.ctx, key)) return undefined;
    const v = this.ctx[key];
    if (isReservedField(key)) return v;
    return Array.isArray(v) && v.length ? v[v.length - 1] : undefined;
  }

  hasNewest(key: string): boolean {
    if (this.pendingValues(key)) return true;
    if (!Object.hasOwn(this.ctx, key)) return false;
    const v = this.ctx[key];
    return isReservedField(key) || (Array.isArray(v) && v.length > 0);
  }

  /** Field names in stored order, then fields only the pending update has. */
  keys(withReserved: boolean, includeEmpty: boolean): string[] {
    const out: string[] = [];
    for (const key of Object.keys(this.ctx)) {
      const v = this.ctx[key];
      if (isReservedField(key)) {
        if (withReserved) out.push(key);
      } else if (Array.isArray(v) && (includeEmpty || v.length > 0 || this.pendingValues(key))) out.push(key);
    }
    if (this.fields)
      for (const key of Object.keys(this.fields)) if (this.pendingValues(key) && !Object.hasOwn(this.ctx, key)) out.push(key);
    return out;
  }

  /** A field's history with its pending values: the stored list itself when there are none (never copied then). */
  history(key: string): unknown[] | undefined {
    const values = this.pendingValues(key);
    const stored =
      !isReservedField(key) && Object.hasOwn(this.ctx, key) && Array.isArray(this.ctx[key]) ? (this.ctx[key] as unknown[]) : undefined;
    if (!values) return stored;
    this.#histories ??= new Map();
    let joined = this.#histories.get(key);
    if (!joined) {
      joined = stored ? stored.concat(values) : [...values];
      this.#histories.set(key, joined);
    }
    return joined;
  }
}

const descriptor = (value: unknown): PropertyDescriptor => ({ value, writable: false, enumerable: true, configurable: true });

/** Proxy traps of the `context` view: each field's newest value. Read-only. */
class NewestValues implements ProxyHandler<Record<string, unknown>> {
  constructor(private readonly view: ContextView) {}
  get(_t: Record<string, unknown>, key: string | symbol): unknown {
    return typeof key === 'string' ? this.view.newest(key) : undefined;
  }
  has(_t: Record<string, unknown>, key: string | symbol): boolean {
    return typeof key === 'string' && this.view.hasNewest(key);
  }
  ownKeys(): string[] {
    return this.view.keys(true, false);
  }
  getOwnPropertyDescriptor(_t: Record<string, unknown>, key: string | symbol): PropertyDescriptor | undefined {
    return typeof key === 'string' && this.view.hasNewest(key) ? descriptor(this.view.newest(key)) : undefined;
  }
  set(): boolean {
    return false;
  }
  defineProperty(): boolean {
    return false;
  }
  deleteProperty(): boolean {
    return false;
  }
  preventExtensions(): boolean {
    return false;
  }
  setPrototypeOf(): boolean {
    return false;
  }
}

/** Proxy traps of the `history` view: each field's whole history. Read-only. */
class Histories implements ProxyHandler<Record<string, unknown[]>> {
  constructor(private readonly view: ContextView) {}
  get(_t: Record<string, unknown[]>, key: string | symbol): unknown[] | undefined {
    return typeof key === 'string' ? this.view.history(key) : undefined;
  }
  has(_t: Record<string, unknown[]>, key: string | symbol): boolean {
    return typeof key === 'string' && this.view.history(key) !== undefined;
  }
  ownKeys(): string[] {
    return this.view.keys(false, true);
  }
  getOwnPropertyDescriptor(_t: Record<string, unknown[]>, key: string | symbol): PropertyDescriptor | undefined {
    const h = typeof key === 'string' ? this.view.history(key) : undefined;
    return h === undefined ? undefined : descriptor(h);
  }
  set(): boolean {
    return false;
  }
  defineProperty(): boolean {
    return false;
  }
  deleteProperty(): boolean {
    return false;
  }
  preventExtensions(): boolean {
    return false;
  }
  setPrototypeOf(): boolean {
    return false;
  }
}

/** `__operational__` as the node sees it: the stored record with its own pending counts and signals added. */
function overlayOperational(op: OperationalState | undefined, pending: ContextUpdate | undefined): OperationalState | undefined {
  if (!op || !(pending?.nodes || pending?.signals || pending?.counters)) return op;
  const next: OperationalState = { ...op };
  if (pending.nodes) next.nodes = overlayCounts(op.nodes, pending.nodes);
  if (pending.signals?.length) next.signals = [...op.signals, ...pending.signals];
  if (pending.counters) for (const [k, c] of Object.entries(pending.counters)) next[k] = ((op[k] as number) ?? 0) + (c ?? 0);
  return next;
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

/**
 * Merges b into a (both updates of one execution).
 * @internal Used by `@soe/aws`; not part of the stable API.
 */
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
