/**
 * Telemetry kept as fixed-shape records, one list per execution: an event costs three slots (its
 * head, a numeric time and its data) instead of an object with an ISO string. The head is the
 * event type, or for an event about a node one object per node and type, shared by all its events.
 * Events are formatted into the objects users read ({@link TelemetryEvent}, with `event_type` and an
 * ISO `timestamp`) only when they are read.
 */

import { CAPTURED_FIELDS, LazyText, materializeText } from '../step-capture.js';
import type { TelemetryEvent, TelemetryNode } from '../types.js';
import { copiedWithRoom, SMALL_LIST } from './apply-update.js';

/**
 * One execution's events in one list: per event its head, its time (milliseconds after `t0`, a small
 * integer rather than a boxed double) unless it is the time of the event before, and its data. Plain
 * data or records with `toJSON`, so a file store can keep them as JSON. One list rather than a list
 * per slot: an execution with a few events (a fan-out's child) then reserves one list's spare room,
 * not three. A node run's events mostly fall in the same millisecond: most leave their time out.
 */
export interface TelemetryColumns {
  /** Epoch milliseconds the times count from (the first event's). */
  t0: number;
  /** The time of the last event written (after `t0`); absent in what earlier versions stored. */
  last?: number;
  /**
   * `head, [time,] data` per event: the head is its `event_type`, or the {@link EventHead} of an event
   * about a node (or a subject that is its own head); a number after a head is a time; the data (never
   * a number) is compacted by {@link packData}, a `node_completed`'s `duration_ms` included.
   */
  ev: unknown[];
}

/** The type and node of an event about a node: one per node and type, shared by all such events. */
export interface EventHead {
  readonly type: string;
  readonly node: TelemetryNode;
}

/** How an earlier version kept the columns (five per event); read, never written. */
interface ColumnsV1 {
  type: string[];
  at: number[];
  node: (TelemetryNode | null)[];
  num: number[];
  data: unknown[];
}

// The event type a subject made by eventSubject() is the head of.
const HEAD_TYPE: unique symbol = Symbol('event type');
type Subject = TelemetryNode & { readonly [HEAD_TYPE]?: string };

/** The class of the subjects that head events of one type (see {@link eventSubject}), by type. */
const subjectClasses = new Map<string, new (node: TelemetryNode) => Subject>();

/**
 * What every node subject has besides the node's fields: the why of the node's last fine completion
 * (see {@link whyOf}). A private field, so a frozen subject still takes it and readers never see it;
 * kept here, on the subject the event is recorded with, it is found without a lookup by node config.
 */
class SubjectSlots {
  #why: CompletionWhy | undefined = undefined;
  /** The why kept on `subject`, if it is a node subject that has one. */
  static lastWhy(subject: object): CompletionWhy | undefined {
    return #why in subject ? subject.#why : undefined;
  }
  /** Keeps `why` on `subject`, if it is a node subject. */
  static keepWhy(subject: object, why: CompletionWhy): void {
    if (#why in subject) subject.#why = why;
  }
}

function subjectClass(type: string): new (node: TelemetryNode) => Subject {
  let made = subjectClasses.get(type);
  if (!made) {
    // The type and toJSON live on the class: a subject holds the node's fields only, and all subjects
    // of a type share one shape (a closure per subject made a hidden class per node config).
    made = class NodeSubject extends SubjectSlots {
      constructor(node: TelemetryNode) {
        super();
        Object.assign(this, node);
      }
      get [HEAD_TYPE](): string {
        return type;
      }
      toJSON(): { type: string; node: TelemetryNode } {
        return { type, node: { ...(this as unknown as TelemetryNode) } };
      }
    } as unknown as new (
      node: TelemetryNode,
    ) => Subject;
    subjectClasses.set(type, made);
  }
  return made;
}

/**
 * A frozen node subject that is its own head for events of `type`: the engine makes one per node
 * config and type, so recording such an event looks nothing up. The mark is not an own field, so the
 * subject spreads as the plain node; as JSON it is the head (type and node).
 * @internal
 */
export function eventSubject(type: string, node: TelemetryNode): TelemetryNode {
  return Object.freeze(new (subjectClass(type))(node));
}

const heads = new WeakMap<TelemetryNode, Map<string, EventHead>>();

/** The shared head of an event of `type` about `node`, or the bare type for an event about no node. */
function headOf(type: string, node: Subject | null | undefined): string | EventHead | Subject {
  if (!node) return type;
  if (node[HEAD_TYPE] === type) return node;
  let byType = heads.get(node);
  if (!byType) heads.set(node, (byType = new Map()));
  let head = byType.get(type);
  if (!head) byType.set(type, (head = Object.freeze({ type, node })));
  return head;
}

/** One emission of a node as `node_completed` reports it: the signal, its condition, and whether it fired. */
export interface EmissionReport {
  signal: string;
  condition?: string;
  emitted: boolean;
}

/**
 * The `emissions` of a `node_completed`, kept as references to the node's config (shared by every run
 * of it) and the signals the run emitted, and turned into {@link EmissionReport}s only when read (or
 * serialized: `toJSON`). A list of report objects per node run would be most of what telemetry keeps.
 */
export class NodeEmissions {
  constructor(
    readonly definitions: ReadonlyArray<{ signal_name: string; condition?: unknown }>,
    readonly emitted: readonly string[],
  ) {}

  /** The reports, one per emission of the config, in its order. */
  toJSON(): EmissionReport[] {
    return this.definitions.map((e) => ({
      signal: e.signal_name,
      ...(typeof e.condition === 'string' && e.condition !== '' ? { condition: e.condition } : {}),
      emitted: this.emitted.includes(e.signal_name),
    }));
  }
}

/** `data` with a lazy {@link NodeEmissions} turned into its reports (what readers and listeners get). */
export function materializeEmissions(data: Record<string, unknown>): Record<string, unknown> {
  return data.emissions instanceof NodeEmissions ? { ...data, emissions: data.emissions.toJSON() } : data;
}

/** Marks a field a packed record does not have (so `undefined` and absent stay apart). */
const ABSENT: unique symbol = Symbol('absent');
type Maybe<T> = T | typeof ABSENT;

/**
 * What every fine run of one node config shares in its `node_completed`: why its signals were chosen,
 * its emission definitions, the name of its one output field (or `WHOLE`: the outputs are kept as
 * given; `ABSENT`: none) and its call counts.
 */
interface CompletionWhy {
  selectedBy: Maybe<unknown>;
  definitions: NodeEmissions['definitions'] | undefined;
  output: Maybe<string> | typeof WHOLE;
  llmCalls: number;
  toolCalls: number;
  /** The completions shared by the runs that said this (see plainCompletion), made on first use. */
  shared: PackedCompletion[] | undefined;
  /** The last fold shape made for this (see foldShapeOf). */
  fold: FoldShape | undefined;
}
const WHOLE: unique symbol = Symbol('whole');
const NO_EMISSIONS: object = {};
// Shared records kept per key, at most (whys per node config, completions per why): a node mostly says
// the same, or one of a few things; past this many (an agent whose call counts vary), a run's is its own.
const SHARED_AT_MOST = 16;
// The whys made for each node config's emission definitions, the last one found first. A short list,
// not a table per node config: every node config keeps one, and most hold one why.
const whyCache = new WeakMap<object, CompletionWhy[]>();

function whyOf(
  selectedBy: Maybe<unknown>,
  emissions: NodeEmissions | undefined,
  output: CompletionWhy['output'],
  llmCalls: number,
  toolCalls: number,
  subject: object | undefined,
): CompletionWhy {
  // The node's last why, kept on its subject: a node's runs mostly say what the one before said.
  const last = subject && SubjectSlots.lastWhy(subject);
  if (last !== undefined && last.definitions === emissions?.definitions && saysSame(last, selectedBy, output, llmCalls, toolCalls))
    return last;
  const why = cachedWhy(selectedBy, emissions, output, llmCalls, toolCalls);
  if (subject) SubjectSlots.keepWhy(subject, why);
  return why;
}

/** True when `why` says this (its emission definitions aside). */
const saysSame = (
  why: CompletionWhy,
  selectedBy: Maybe<unknown>,
  output: CompletionWhy['output'],
  llmCalls: number,
  toolCalls: number,
): boolean => why.selectedBy === selectedBy && why.output === output && why.llmCalls === llmCalls && why.toolCalls === toolCalls;

/** {@link whyOf} by the node config's emission definitions: the whys made for them, or a new one. */
function cachedWhy(
  selectedBy: Maybe<unknown>,
  emissions: NodeEmissions | undefined,
  output: CompletionWhy['output'],
  llmCalls: number,
  toolCalls: number,
): CompletionWhy {
  const key = emissions?.definitions ?? NO_EMISSIONS;
  const known = whyCache.get(key);
  if (known) {
    for (let i = 0; i < known.length; i++) {
      const why = known[i]!;
      if (!saysSame(why, selectedBy, output, llmCalls, toolCalls)) continue;
      if (i > 0) {
        // The last one found goes first: a node's runs mostly say what the one before said.
        known[i] = known[0]!;
        known[0] = why;
      }
      return why;
    }
  }
  const why: CompletionWhy = {
    selectedBy,
    definitions: emissions?.definitions,
    output,
    llmCalls,
    toolCalls,
    shared: undefined,
    fold: undefined,
  };
  if (!known) whyCache.set(key, [why]);
  else if (known.length < SHARED_AT_MOST) {
    const grown = copiedWithRoom(known, 1);
    grown[known.length] = grown[0]!;
    grown[0] = why;
    whyCache.set(key, grown);
  }
  return why;
}

/**
 * A `node_completed` that ended fine: what varies per run is its emitted signals and its outputs (one
 * output field's one value is kept as the value: its name is the config's); the rest is shared by
 * every run of the node config that made as many calls. Read (or serialized) as the full event data.
 */
class PackedCompletion {
  constructor(
    readonly why: CompletionWhy,
    readonly emitted: unknown,
    /** `duration_ms`; -1 for none. */
    readonly ms: number,
  ) {}

  get outputs(): unknown {
    return ABSENT;
  }

  toJSON(): Record<string, unknown> {
    const emitted = unpackSignals(this.emitted) as string[];
    const { selectedBy, definitions, output } = this.why;
    const data: Record<string, unknown> = this.ms >= 0 ? { duration_ms: this.ms } : {};
    data.emitted = emitted;
    data.ok = true;
    data.llm_calls = this.why.llmCalls;
    data.tool_calls = this.why.toolCalls;
    if (selectedBy !== ABSENT) data.selected_by = selectedBy;
    if (definitions) data.emissions = new NodeEmissions(definitions, emitted).toJSON();
    if (output === WHOLE) data.outputs = this.outputs;
    else if (output !== ABSENT) data.outputs = { [output]: [this.outputs] };
    return data;
  }
}

/** A {@link PackedCompletion} of a run that wrote outputs (a plain router's stays a slot smaller). */
class PackedOutputCompletion extends PackedCompletion {
  constructor(
    why: CompletionWhy,
    emitted: unknown,
    ms: number,
    private readonly kept: unknown,
  ) {
    super(why, emitted, ms);
  }

  override get outputs(): unknown {
    return this.kept;
  }
}

/**
 * A whole number of milliseconds as a small integer where it fits: a difference of `Date.now()`s is a
 * double, and a record field that has held one keeps every value in a 16-byte box of its own.
 */
const small = (ms: number): number => (Number.isInteger(ms) && Math.abs(ms) <= 0x3fffffff ? ms | 0 : ms);

/** The fields of a `node_completed` that {@link PackedCompletion} keeps, in the order the engine writes them. */
const COMPLETION_KEYS = ['emitted', 'ok', 'llm_calls', 'tool_calls', 'selected_by', 'emissions', 'outputs'];

/**
 * A fine `node_completed` (and its `duration_ms`, -1 for none) as a {@link PackedCompletion}, or
 * undefined when it says more than one keeps.
 */
function packCompletion(data: Record<string, unknown>, ms: number, node: TelemetryNode | undefined): PackedCompletion | undefined {
  const { emitted, llm_calls: llm, tool_calls: tools, emissions, outputs } = data;
  if (!Array.isArray(emitted) || data.ok !== true || typeof llm !== 'number' || typeof tools !== 'number') return undefined;
  if (emissions !== undefined && !(emissions instanceof NodeEmissions)) return undefined;
  if (!hasOnly(data, COMPLETION_KEYS)) return undefined;
  let output: CompletionWhy['output'] = ABSENT;
  let kept: unknown = ABSENT;
  if ('outputs' in data) {
    const one = isRecord(outputs) ? singleValue(outputs) : undefined;
    output = one ? one.name : WHOLE;
    kept = one ? one.value : outputs;
  }
  const why = whyOf('selected_by' in data ? data.selected_by : ABSENT, emissions as NodeEmissions | undefined, output, llm, tools, node);
  return kept === ABSENT
    ? plainCompletion(why, packSignals(emitted), small(ms))
    : new PackedOutputCompletion(why, packSignals(emitted), small(ms), kept);
}

// Completions with no outputs, one emitted signal (or none) and a duration under this many ms are
// shared by every run that says the same: a router's runs all do.
const SHARED_MS = 8;

/** A {@link PackedCompletion} without outputs: a shared one where runs say the same, else a new one. */
function plainCompletion(why: CompletionWhy, emitted: unknown, ms: number): PackedCompletion {
  if ((typeof emitted !== 'string' && emitted !== EMPTY) || !Number.isInteger(ms) || ms < -1 || ms >= SHARED_MS)
    return new PackedCompletion(why, emitted, ms);
  // Found by a scan: a why has a few (its signals by duration), kept on the why itself.
  const known = why.shared;
  if (known) for (const c of known) if (c.emitted === emitted && c.ms === ms) return c;
  const made = new PackedCompletion(why, emitted, ms);
  if (!known) why.shared = [made];
  else if (known.length < SHARED_AT_MOST) {
    const grown = copiedWithRoom(known, 1);
    grown[known.length] = made;
    why.shared = grown;
  }
  return made;
}

/** `{ name: [value] }` (one field, one appended value) as its name and value. */
function singleValue(outputs: Record<string, unknown>): { name: string; value: unknown } | undefined {
  let found: { name: string; value: unknown } | undefined;
  for (const name in outputs) {
    const values = outputs[name];
    if (found || !Array.isArray(values) || values.length !== 1 || !Object.hasOwn(outputs, name)) return undefined;
    found = { name, value: values[0] };
  }
  return found;
}

/** True when every own key of `data` is one of `keys` (absent ones allowed). */
function hasOnly(data: Record<string, unknown>, keys: readonly string[]): boolean {
  for (const k in data) if (!keys.includes(k)) return false;
  return true;
}

/** The fields of a call event in the order its executor writes them, and which one holds its time. */
interface CallShape {
  keys: readonly string[];
  timeKey: string;
}
const TOOL_CALL: CallShape = {
  keys: ['node_name', 'tool_name', 'attempt', 'ok', 'duration_ms', 'arguments', 'result'],
  timeKey: 'duration_ms',
};
const LLM_CALL: CallShape = { keys: ['node_name', 'stage', 'attempt', 'latency_ms', 'ok', 'prompt', 'response'], timeKey: 'latency_ms' };

/** What the first-attempt calls of one node share: the event's shape and its two names. */
interface CallSite {
  readonly shape: CallShape;
  readonly name: string;
  readonly label: string;
}
const callSites = new WeakMap<CallShape, Map<string, CallSite>>();

/** The shared site of a call (the last one made for this node name and shape, if its label is the same). */
function callSiteOf(shape: CallShape, name: string, label: string): CallSite {
  let byName = callSites.get(shape);
  if (!byName) callSites.set(shape, (byName = new Map()));
  let site = byName.get(name);
  if (site?.label !== label) byName.set(name, (site = Object.freeze({ shape, name, label })));
  return site;
}

/**
 * A `tool_call` or `llm_call` that succeeded on its first attempt: its shared site, the time, and
 * the step I/O by reference (its last two fields). Read back with its fields in the executor's order.
 */
class PackedCall {
  constructor(
    readonly site: CallSite,
    readonly ms: number,
    readonly input: unknown,
    readonly output: unknown,
  ) {}

  toJSON(): Record<string, unknown> {
    const { shape, name, label } = this.site;
    const { keys, timeKey } = shape;
    const data: Record<string, unknown> = {};
    for (const key of keys) {
      if (key === keys[0]) data[key] = name;
      else if (key === keys[1]) data[key] = label;
      else if (key === 'attempt') data[key] = 1;
      else if (key === 'ok') data[key] = true;
      else if (key === timeKey) data[key] = this.ms;
      else if (key === keys[5]) {
        if (this.input !== ABSENT) data[key] = materializeText(this.input);
      } else if (this.output !== ABSENT) data[key] = this.output;
    }
    return data;
  }
}

/** A first-attempt, successful call as a {@link PackedCall}, or undefined when it says more (an error, token usage). */
function packCall(shape: CallShape, data: Record<string, unknown>): PackedCall | undefined {
  const { keys, timeKey } = shape;
  const name = data[keys[0]!];
  const label = data[keys[1]!];
  const ms = data[timeKey];
  if (data.attempt !== 1 || data.ok !== true || typeof ms !== 'number' || typeof name !== 'string' || typeof label !== 'string')
    return undefined;
  if (!hasOnly(data, keys)) return undefined;
  const input = keys[5]! in data ? data[keys[5]!] : ABSENT;
  const output = keys[6]! in data ? data[keys[6]!] : ABSENT;
  return new PackedCall(callSiteOf(shape, name, label), small(ms), input, output);
}

/**
 * What the folded runs of one node share (see {@link CallThenCompletion}): the call's site, the
 * completion's head, why its signals were chosen and which it emitted.
 */
interface FoldShape {
  readonly site: CallSite;
  readonly head: string | EventHead | Subject;
  readonly why: CompletionWhy;
  readonly emitted: unknown;
}
/** The fold shape of a run: the last one made for its why (kept on the why), when the run says the same. */
function foldShapeOf(site: CallSite, head: FoldShape['head'], why: CompletionWhy, emitted: unknown): FoldShape {
  // Shared when the run emitted one signal or none (a run's own list of several is its own).
  const shareable = typeof emitted === 'string' || emitted === EMPTY;
  const last = shareable ? why.fold : undefined;
  if (last && last.site === site && last.head === head && last.emitted === emitted) return last;
  const shape = Object.freeze({ site, head, why, emitted });
  if (shareable) why.fold = shape;
  return shape;
}

/**
 * A first-attempt call and the fine `node_completed` that followed it in the same millisecond, about
 * the same node, kept in the call's slot as one record: what the node's runs share, the two times and
 * the step I/O (two records and an event's slots cost more). Read back as the two events. Kept only in
 * memory: a store that writes JSON keeps the two events.
 */
class CallThenCompletion {
  constructor(
    readonly shape: FoldShape,
    readonly callMs: number,
    readonly doneMs: number,
    readonly input: unknown,
    readonly output: unknown,
  ) {}

  /** The `node_completed`'s head. */
  get head(): FoldShape['head'] {
    return this.shape.head;
  }
  /** What the completion kept as its outputs: the call's output (see {@link OwnOutputs} otherwise). */
  get kept(): unknown {
    return this.shape.why.output === ABSENT ? ABSENT : this.output;
  }
  call(): PackedCall {
    return new PackedCall(this.shape.site, this.callMs, this.input, this.output);
  }
  completion(): PackedCompletion {
    const kept = this.kept;
    const { why, emitted } = this.shape;
    return kept === ABSENT ? new PackedCompletion(why, emitted, this.doneMs) : new PackedOutputCompletion(why, emitted, this.doneMs, kept);
  }
}

/** A {@link CallThenCompletion} whose completion kept other outputs than the call's output (an llm's parsed answer). */
class OwnOutputs extends CallThenCompletion {
  constructor(
    shape: FoldShape,
    callMs: number,
    doneMs: number,
    input: unknown,
    output: unknown,
    private readonly outputs: unknown,
  ) {
    super(shape, callMs, doneMs, input, output);
  }
  override get kept(): unknown {
    return this.outputs;
  }
}

/** `call` and the completion that follows it as one record, or undefined when they are not about the same node. */
function foldCompletion(
  call: PackedCall,
  head: string | EventHead | Subject,
  completion: PackedCompletion,
): CallThenCompletion | undefined {
  const node = typeof head === 'string' ? undefined : 'type' in head ? head.node : head;
  if (node?.node_name !== call.site.name) return undefined;
  const shape = foldShapeOf(call.site, head, completion.why, completion.emitted);
  const kept = completion.outputs;
  return kept === ABSENT || kept === call.output
    ? new CallThenCompletion(shape, call.ms, completion.ms, call.input, call.output)
    : new OwnOutputs(shape, call.ms, completion.ms, call.input, call.output, kept);
}

/** Empty columns. */
export function newColumns(): TelemetryColumns {
  // `last` is a small integer, not NaN (a field that has held a double keeps every value boxed). It
  // starts at 0, the first event's time, as readers do: the first event keeps no time of its own.
  return { t0: Number.NaN, last: 0, ev: [] };
}

/** What a `node_completed` adds when nothing else is said: the node ran fine and called nothing. */
const COMPLETED_DEFAULTS = { ok: true, llm_calls: 0, tool_calls: 0 };

/**
 * The data slot of an event. The engine's most frequent events keep only what varies: a
 * `signals_broadcast` its signals, a `node_execution` its triggers, a `node_completed` that ended
 * fine with no calls and no duration its emitted signals (one signal is kept as the string: a list
 * allocated per event would cost more than the event); other fine completions and first-attempt calls
 * are packed records. Anything else is the data object, with `duration_ms` first when there is one.
 */
function packData(type: string, data: Record<string, unknown> | undefined, durationMs: number, node: TelemetryNode | undefined): unknown {
  let packed: unknown = data ?? null;
  if (data !== undefined)
    switch (type) {
      case 'signals_broadcast':
        if (Array.isArray(data.signals) && keyCount(data) === 1) packed = packSignals(data.signals);
        break;
      case 'node_execution':
        if (Array.isArray(data.triggered_by) && keyCount(data) === 1) packed = packSignals(data.triggered_by);
        break;
      case 'node_completed': {
        const completion = packCompletion(data, durationMs, node);
        if (completion) return completion;
        if (Array.isArray(data.emitted) && data.ok === true && data.llm_calls === 0 && data.tool_calls === 0 && keyCount(data) === 4)
          packed = packSignals(data.emitted);
        break;
      }
      case 'tool_call':
        packed = packCall(TOOL_CALL, data) ?? data;
        break;
      case 'llm_call':
        packed = packCall(LLM_CALL, data) ?? data;
        break;
    }
  return durationMs >= 0 ? { duration_ms: durationMs, ...fieldsOf(type, packed) } : packed;
}

const EMPTY: readonly string[] = Object.freeze([]);

/** How many keys an event's data has, counted without a list of them (event data are plain records). */
function keyCount(data: Record<string, unknown>): number {
  let n = 0;
  for (const _key in data) n++;
  return n;
}

function packSignals(signals: unknown[]): unknown {
  if (signals.length === 1 && typeof signals[0] === 'string') return signals[0];
  return signals.length === 0 ? EMPTY : signals.slice();
}

const unpackSignals = (v: unknown): unknown[] => (typeof v === 'string' ? [v] : [...(v as unknown[])]);

/**
 * Appends one event. `data` must not be changed by the caller afterwards (the engine builds it per
 * event). `fold`: a completion may be folded into the call before it (see {@link CallThenCompletion});
 * only for columns kept in memory as they are, never written as JSON.
 */
export function appendEvent(
  cols: TelemetryColumns,
  type: string,
  at: number,
  node: TelemetryNode | undefined,
  durationMs: number,
  data: Record<string, unknown> | undefined,
  fold = false,
): void {
  // Read once: a store's record may keep it as something else (see memory-records.ts).
  let t0 = cols.t0;
  if (Number.isNaN(t0)) cols.t0 = t0 = at;
  const dt = small(at - t0);
  const head = headOf(type, node);
  const packed = packData(type, data, durationMs, node);
  const ev = cols.ev;
  const timed = dt !== cols.last;
  cols.last = dt;
  if (fold && !timed && packed instanceof PackedCompletion) {
    const before = ev[ev.length - 1];
    const folded = before instanceof PackedCall ? foldCompletion(before, head, packed) : undefined;
    if (folded) {
      ev[ev.length - 1] = folded;
      return;
    }
  }
  if (ev.length >= SMALL_LIST) {
    if (timed) ev.push(head, dt, packed);
    else ev.push(head, packed);
    return;
  }
  // A small list grows to its exact size (see `appended`), filled here: no list per event.
  const n = ev.length;
  const next = copiedWithRoom(ev, timed ? 3 : 2);
  next[n] = head;
  if (timed) next[n + 1] = dt;
  next[next.length - 1] = packed;
  cols.ev = next;
}

/** The data fields of an event as users read them, in the order they were written. */
function fieldsOf(type: string, data: unknown): Record<string, unknown> {
  if (data instanceof PackedCompletion || data instanceof PackedCall) return data.toJSON();
  if (isRecord(data)) return data;
  if (data === null || data === undefined) return {};
  if (type === 'node_completed') return { emitted: unpackSignals(data), ...COMPLETED_DEFAULTS };
  if (type === 'signals_broadcast') return { signals: unpackSignals(data) };
  if (type === 'node_execution') return { triggered_by: unpackSignals(data) };
  return {};
}

/** The events as users read them, oldest first: `{ ...node, ...data, event_type, timestamp }`. */
export function formatEvents(cols: TelemetryColumns): TelemetryEvent[] {
  const out: TelemetryEvent[] = [];
  const ev = cols.ev;
  const t0 = cols.t0;
  let dt = 0;
  for (let i = 0; i < ev.length; ) {
    const head = ev[i++] as string | EventHead | Subject;
    if (typeof ev[i] === 'number') dt = ev[i++] as number;
    const packed = ev[i++];
    if (packed instanceof CallThenCompletion) {
      out.push(formatEvent(head, t0 + dt, packed.call()));
      out.push(formatEvent(packed.head, t0 + dt, packed.completion()));
    } else out.push(formatEvent(head, t0 + dt, packed));
  }
  return out;
}

/** One event, from its head, its time (epoch milliseconds) and its data slot. */
function formatEvent(head: string | EventHead | Subject, at: number, packed: unknown): TelemetryEvent {
  let type: string;
  let node: TelemetryNode | undefined;
  if (typeof head === 'string') type = head;
  else if ('type' in head) ({ type, node } = head);
  else {
    type = head[HEAD_TYPE]!;
    node = head;
  }
  const fields: Record<string, unknown> = { ...node, ...fieldsOf(type, packed) };
  if (fields.emissions instanceof NodeEmissions) fields.emissions = fields.emissions.toJSON();
  if (fields.prompt instanceof LazyText) fields.prompt = fields.prompt.toString();
  // Step I/O may be the very values the context stores (kept once): a reader gets copies to change.
  for (const key of CAPTURED_FIELDS) {
    const value = fields[key];
    if (typeof value === 'object' && value !== null) fields[key] = copyOf(value);
  }
  return { ...fields, event_type: type, timestamp: new Date(at).toISOString() };
}

/** A deep copy of plain data; what cannot be copied (a user's own event may hold anything) as it is. */
function copyOf(value: object): unknown {
  try {
    return structuredClone(value);
  } catch {
    return value;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Columns from what a store holds: columns, or what an earlier version stored (five columns per event,
 * or a list of events), converted.
 */
export function columnsOf(stored: TelemetryColumns | ColumnsV1 | TelemetryEvent[]): TelemetryColumns {
  if (!Array.isArray(stored) && 'ev' in stored) return stored;
  const cols = newColumns();
  if (Array.isArray(stored)) {
    for (const { event_type, timestamp, ...data } of stored) appendEvent(cols, event_type, Date.parse(timestamp), undefined, -1, data);
    return cols;
  }
  for (let i = 0; i < stored.type.length; i++) {
    const type = stored.type[i]!;
    const ms = stored.num[i]!;
    if (Number.isNaN(cols.t0)) cols.t0 = stored.at[i]!;
    const data = stored.data[i];
    cols.last = stored.at[i]! - cols.t0;
    cols.ev.push(headOf(type, stored.node[i]), cols.last, ms >= 0 ? { duration_ms: ms, ...fieldsOf(type, data) } : data);
  }
  return cols;
}

/** Whatever a store holds for an execution's telemetry, in any version's form. */
export type StoredTelemetry = TelemetryColumns | ColumnsV1 | TelemetryEvent[];
