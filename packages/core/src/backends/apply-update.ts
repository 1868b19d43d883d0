/** How an update applies to a stored context (appends, counters, signals), shared by every backend. */
import type { ContextInit, ContextUpdate, OperationalState, ParentLink, StoredContext } from '../types.js';

/**
 * A fresh `__operational__` record.
 * @internal Used by `@soe/aws`; not part of the stable API.
 */
export function newOperational(mainExecutionId: string, signals: string[] = []): OperationalState {
  return { signals: [...signals], nodes: {}, llm_calls: 0, tool_calls: 0, errors: 0, main_execution_id: mainExecutionId };
}

// Marks an update whose appended values are the engine's own copies, made for it and held by no
// caller (telemetry keeps them too, read-only): a store may keep them without copying them again.
const OWNED_VALUES: unique symbol = Symbol('values owned by the engine');

/**
 * Marks `update`'s appended values as the engine's own copies (see {@link ownsValues}).
 * @internal
 */
export function markOwnedValues(update: ContextUpdate): void {
  (update as { [OWNED_VALUES]?: true })[OWNED_VALUES] = true;
}

/**
 * True when `update`'s appended values are the engine's own copies: an in-memory store keeps them as
 * they are rather than copy them (a copy per value per node run, and twice the memory).
 * @internal
 */
export function ownsValues(update: ContextUpdate): boolean {
  return (update as { [OWNED_VALUES]?: true })[OWNED_VALUES] === true;
}

/**
 * Lists up to this many slots grow to their exact size rather than by `push`, which reserves 16
 * spare slots each time a list grows: most executions of a fan-out keep a few signals and events
 * and each field a few values, and that spare room was most of what they kept.
 * @internal
 */
export const SMALL_LIST = 16;

/**
 * `list` with `items` appended: while it stays small, an exact-size copy (the caller keeps that one);
 * past that, the same list, pushed to.
 * @internal
 */
export function appended<T>(list: T[], items: readonly T[]): T[] {
  const n = list.length;
  if (n + items.length > SMALL_LIST) {
    for (const item of items) list.push(item);
    return list;
  }
  const out = copiedWithRoom(list, items.length);
  for (let j = 0; j < items.length; j++) out[n + j] = items[j]!;
  return out;
}

/**
 * A copy of `list` sized for `room` more items (left for the caller to fill), copied by hand:
 * `concat` takes a slower, generic path.
 * @internal
 */
export function copiedWithRoom<T>(list: readonly T[], room: number): T[] {
  const out = new Array<T>(list.length + room);
  for (let i = 0; i < list.length; i++) out[i] = list[i]!;
  return out;
}

/**
 * A copy of a value, as `structuredClone` makes it. A record of plain values (most tool arguments and
 * results) is copied by a spread: about ten times faster, and sized to its keys.
 * @internal
 */
export function copyValue<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Object.getPrototypeOf(value) === Object.prototype && isFlatRecord(value)) return { ...value };
  return structuredClone(value);
}

/** True when every own value is a primitive structuredClone copies as it is, and no key is a symbol (which it drops). */
function isFlatRecord(record: object): boolean {
  for (const key in record) {
    const v = (record as Record<string, unknown>)[key];
    if ((typeof v === 'object' && v !== null) || typeof v === 'function' || typeof v === 'symbol') return false;
  }
  return Object.getOwnPropertySymbols(record).length === 0;
}

/** Past this many keys, a record is built as a hash table from the start (see `recordFor`). */
const LARGE_RECORD = 64;

/**
 * An empty ordinary object to fill with `size` keys. A large one starts as a hash table: V8 gives
 * each key added to an ordinary object a new hidden class, which for a thousand context fields makes
 * building the record about five times slower (and copying it with a spread slower still).
 * @internal
 */
export function recordFor<T>(size: number): Record<string, T> {
  return size > LARGE_RECORD ? Object.setPrototypeOf(Object.create(null), Object.prototype) : {};
}

/**
 * Builds the stored shape of a new context.
 * @internal Used by `@soe/aws`; not part of the stable API.
 */
export function contextFromInit(init: ContextInit, operational?: OperationalState): StoredContext {
  const fields = init.fields;
  let ctx: StoredContext;
  // Handed over (a start's own histories): kept as they are; a thousand-field record is not built twice.
  if (init.handOver) ctx = fields as StoredContext;
  else {
    const names = Object.keys(fields);
    ctx = recordFor<unknown>(names.length) as StoredContext;
    for (const field of names) ctx[field] = fields[field]!.slice();
  }
  if (operational) ctx.__operational__ = operational;
  else {
    ctx.__operational__ = newOperational(init.mainExecutionId, init.signals);
    // Only limits that differ from the defaults are kept, so an ordinary context looks as it always did.
    if (init.limits?.maxNodeRuns !== undefined) ctx.__operational__.max_node_runs = init.limits.maxNodeRuns;
    if (init.limits?.ancestorNodeRuns) ctx.__operational__.ancestor_node_runs = init.limits.ancestorNodeRuns;
    if (init.limits?.maxTokens !== undefined) ctx.__operational__.max_tokens = init.limits.maxTokens;
  }
  // A frozen link (the child node gives all its children one) is kept as it is: nothing can change it.
  if (init.parent && isFrozenLink(init.parent)) ctx.__parent__ = init.parent;
  else if (init.parent) {
    // Copied field by field (strings and lists of strings): a structuredClone per child costs more.
    const { parent_execution_id, main_execution_id, signals_to_parent, context_updates_to_parent } = init.parent;
    ctx.__parent__ = {
      parent_execution_id,
      main_execution_id,
      signals_to_parent: [...signals_to_parent],
      context_updates_to_parent: [...context_updates_to_parent],
    };
  }
  return ctx;
}

/** True when neither the link nor its lists can change. */
function isFrozenLink(link: ParentLink): boolean {
  return Object.isFrozen(link) && Object.isFrozen(link.signals_to_parent) && Object.isFrozen(link.context_updates_to_parent);
}

/**
 * Applies an update to a context in place. Shared by every backend that folds updates in memory,
 * so they agree on the semantics: appends keep order, counters add.
 * @internal Used by `@soe/aws`; not part of the stable API.
 */
export function applyUpdate(ctx: StoredContext, update: ContextUpdate): void {
  // `for...in` rather than entries or keys: an update is applied per broadcast and per node run, and
  // a list per update is most of what a small one costs. Updates are plain records of their own keys.
  const fields = update.fields;
  if (fields) {
    for (const field in fields) {
      const values = fields[field]!;
      const current = ctx[field];
      ctx[field] = Array.isArray(current) ? appended(current, values) : [...values];
    }
  }
  const op = ctx.__operational__;
  if (!op) return;
  if (Object.isFrozen(op)) ctx.__operational__ = sharedAfter(op, update);
  else applyOperational(op, update);
}

/** Applies the operational part of an update (signals, node runs, counters) to an own record, in place. */
function applyOperational(op: OperationalState, update: ContextUpdate): void {
  if (update.signals) op.signals = appended(op.signals, update.signals);
  const nodes = update.nodes;
  if (nodes) {
    let added = 0;
    for (const name in nodes) {
      const n = nodes[name]!;
      op.nodes[name] = (op.nodes[name] ?? 0) + n;
      added += n;
    }
    const total = nodeRunTotals.get(op.nodes);
    if (total !== undefined) nodeRunTotals.set(op.nodes, total + added);
  }
  const counters = update.counters;
  if (counters) for (const k in counters) op[k] = ((op[k] as number) ?? 0) + (counters[k as keyof typeof counters] ?? 0);
}

// ---- shared operational records --------------------------------------------------------------------
// The children of one fan-out start alike and mostly run alike, yet each kept its own `__operational__`
// with its own signal list and run counts: most of what a small child kept. An in-memory store starts
// such a child on a frozen record shared with its siblings (see sharedContextFromInit), and an update
// moves it to the shared record of the state it reaches, made once and found from the record before.
// A record past a few signals or nodes, or one of too many states that follow one record, is the
// execution's own again, changed in place like any other: a long run never copies its lists per update.

/** Signals and distinct nodes a shared record holds at most. */
const SHARED_SIGNALS = 8;
const SHARED_NODES = 4;
/** States kept after one shared record at most: past that, runs that differ get records of their own. */
const SHARED_FOLLOWERS = 16;

/**
 * The shared records that follow one shared record: by the one signal or the one node run that leads
 * to them (most updates are one or the other), or by a key made of any other update (see updateKey).
 * Each table is made when first needed: most records are followed by one kind of update only.
 */
class Followers {
  bySignal: Map<string, OperationalState> | undefined = undefined;
  byNodeRun: Map<string, OperationalState> | undefined = undefined;
  byUpdate: Map<string, OperationalState> | undefined = undefined;
  size = 0;
}
const followers = new WeakMap<OperationalState, Followers>();

/** The record the children of one child-node run start on, with the start it is for. */
interface FirstShared {
  readonly mainExecutionId: string;
  readonly signals: ContextInit['signals'];
  readonly limits: ContextInit['limits'];
  readonly op: OperationalState;
}
/** By the children's parent link: the child node gives all children of one run one frozen link. */
const firstShared = new WeakMap<ParentLink, FirstShared>();

/**
 * {@link contextFromInit} for an in-memory store: a child of a frozen parent link starts on the
 * frozen `__operational__` of the first child of that link, when it starts alike (the same signals
 * and limits, which the child node hands every child as one object).
 * @internal
 */
export function sharedContextFromInit(init: ContextInit): StoredContext {
  const link = init.parent;
  const first = link ? firstShared.get(link) : undefined;
  if (first && first.mainExecutionId === init.mainExecutionId && first.signals === init.signals && first.limits === init.limits)
    return contextFromInit(init, first.op);
  const ctx = contextFromInit(init);
  const op = ctx.__operational__!;
  if (link && !first && ctx.__parent__ === link && fitsShared(op))
    firstShared.set(link, { mainExecutionId: init.mainExecutionId, signals: init.signals, limits: init.limits, op: frozenOperational(op) });
  return ctx;
}

/** The record that follows the shared record `op` after `update`: shared when it is small, else an own copy. */
function sharedAfter(op: OperationalState, update: ContextUpdate): OperationalState {
  const signal = oneSignal(update);
  const nodeRun = signal === undefined ? oneNodeRun(update) : undefined;
  const key = signal ?? nodeRun ?? updateKey(update);
  if (key === '') return op;
  let next = followers.get(op);
  const known = next && (signal !== undefined ? next.bySignal : nodeRun !== undefined ? next.byNodeRun : next.byUpdate)?.get(key);
  if (known) return known;
  const own = ownOperational(op);
  applyOperational(own, update);
  if (!fitsShared(own) || (next && next.size >= SHARED_FOLLOWERS)) return own;
  const shared = frozenOperational(own);
  if (!next) followers.set(op, (next = new Followers()));
  if (signal !== undefined) (next.bySignal ??= new Map()).set(key, shared);
  else if (nodeRun !== undefined) (next.byNodeRun ??= new Map()).set(key, shared);
  else (next.byUpdate ??= new Map()).set(key, shared);
  next.size++;
  return shared;
}

/** The signal of an update that appends one signal and changes nothing else of `__operational__`. */
function oneSignal(update: ContextUpdate): string | undefined {
  return update.signals?.length === 1 && update.nodes === undefined && update.counters === undefined ? update.signals[0] : undefined;
}

/** The node of an update that adds one run of one node and changes nothing else of `__operational__`. */
function oneNodeRun(update: ContextUpdate): string | undefined {
  if (update.signals !== undefined || update.counters !== undefined || update.nodes === undefined) return undefined;
  let found: string | undefined;
  for (const name in update.nodes) {
    if (found !== undefined || update.nodes[name] !== 1) return undefined;
    found = name;
  }
  return found;
}

/** What an update changes in `__operational__`, as a key ('' for nothing). */
function updateKey(update: ContextUpdate): string {
  let key = '';
  if (update.signals) for (const s of update.signals) key += `s${s}\u0000`;
  const nodes = update.nodes;
  if (nodes) for (const name in nodes) key += `n${name}\u0000${nodes[name]}\u0000`;
  const counters = update.counters;
  if (counters) for (const k in counters) key += `c${k}\u0000${counters[k as keyof typeof counters]}\u0000`;
  return key;
}

/** True when a record is small enough to share. */
function fitsShared(op: OperationalState): boolean {
  if (op.signals.length > SHARED_SIGNALS) return false;
  let n = 0;
  for (const _ in op.nodes) if (++n > SHARED_NODES) return false;
  return true;
}

/** A copy of `op` with lists and counts of its own (fields in the same order). */
function ownOperational(op: OperationalState): OperationalState {
  return { ...op, signals: op.signals.slice(), nodes: { ...op.nodes } };
}

/** `op` frozen, with its lists and counts (its run total kept, for the node-run limit). */
function frozenOperational(op: OperationalState): OperationalState {
  Object.freeze(op.signals);
  nodeRunTotals.set(Object.freeze(op.nodes), sumNodeRuns(op.nodes));
  return Object.freeze(op);
}

/**
 * True when an update changes nothing.
 * @internal Used by `@soe/aws`; not part of the stable API.
 */
export function isEmptyUpdate(u: ContextUpdate): boolean {
  return (
    (!u.fields || Object.keys(u.fields).length === 0) &&
    (!u.signals || u.signals.length === 0) &&
    (!u.nodes || Object.keys(u.nodes).length === 0) &&
    (!u.counters || Object.keys(u.counters).length === 0)
  );
}

/**
 * Running totals of `__operational__.nodes` maps, kept by {@link applyUpdate}: the node-run limit is
 * checked before every node run, and summing a map of every node run so far each time would make a
 * chain of n nodes cost n².
 */
const nodeRunTotals = new WeakMap<Record<string, number>, number>();

/** The sum of a `__operational__.nodes` map (node runs so far), in O(1) once the map has been summed. */
export function sumNodeRuns(nodes: Record<string, number>): number {
  let total = nodeRunTotals.get(nodes);
  if (total === undefined) {
    total = 0;
    for (const c of Object.values(nodes)) total += c;
    nodeRunTotals.set(nodes, total);
  }
  return total;
}
