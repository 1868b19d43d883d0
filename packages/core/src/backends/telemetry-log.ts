/**
 * Telemetry kept as fixed-shape columns, one set per execution: an event costs five array slots
 * (its type, a numeric timestamp, the node it is about, a number and its data) instead of an object
 * with an ISO string. Events are formatted into the objects users read ({@link TelemetryEvent}, with
 * `event_type` and an ISO `timestamp`) only when they are read.
 */
import type { TelemetryEvent, TelemetryNode } from '../types.js';

/** The columns of one execution's events (plain data, so a file store can keep them as JSON). */
export interface TelemetryColumns {
  /** `event_type` of each event. */
  type: string[];
  /** Epoch milliseconds. */
  at: number[];
  /** The node an event is about, shared by all its events (never copied per event). */
  node: (TelemetryNode | null)[];
  /** `duration_ms` of a `node_completed` the engine recorded; -1 when the event has none of its own. */
  num: number[];
  /** The rest of the event, compacted by {@link packData}. */
  data: unknown[];
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

/** Why a node's signals were chosen, the same for every plain run of one node config (shared). */
interface CompletionWhy {
  selectedBy: unknown;
  definitions: NodeEmissions['definitions'] | undefined;
}
const whyCache = new WeakMap<object, Map<unknown, CompletionWhy>>();
const NO_EMISSIONS: object = {};

function whyOf(selectedBy: unknown, emissions: NodeEmissions | undefined): CompletionWhy {
  const key = emissions?.definitions ?? NO_EMISSIONS;
  let bySelection = whyCache.get(key);
  if (!bySelection) whyCache.set(key, (bySelection = new Map()));
  let why = bySelection.get(selectedBy);
  if (!why) bySelection.set(selectedBy, (why = { selectedBy, definitions: emissions?.definitions }));
  return why;
}

/**
 * A plain `node_completed` (fine, no model or tool calls, nothing written): what varies per run is the
 * emitted signals; the rest is the node config's, shared. Read (or serialized) as the full event data.
 */
class PackedCompletion {
  constructor(
    readonly why: CompletionWhy,
    readonly emitted: unknown,
  ) {}

  toJSON(): Record<string, unknown> {
    const emitted = unpackSignals(this.emitted) as string[];
    return {
      emitted,
      ...COMPLETED_DEFAULTS,
      selected_by: this.why.selectedBy,
      ...(this.why.definitions ? { emissions: new NodeEmissions(this.why.definitions, emitted).toJSON() } : {}),
    };
  }
}

/** Empty columns. */
export function newColumns(): TelemetryColumns {
  return { type: [], at: [], node: [], num: [], data: [] };
}

/** What a `node_completed` adds when nothing else is said: the node ran fine and called nothing. */
const COMPLETED_DEFAULTS = { ok: true, llm_calls: 0, tool_calls: 0 };

/**
 * The data slot of an event. The engine's most frequent events keep only what varies: a
 * `signals_broadcast` its signals, a `node_completed` that ended fine with no calls its emitted
 * signals; one signal is kept as the string (a list allocated per event would cost more than the
 * event). Anything else is the data object.
 */
function packData(type: string, data: Record<string, unknown> | undefined): unknown {
  if (data === undefined) return null;
  if (type === 'signals_broadcast' && Array.isArray(data.signals) && Object.keys(data).length === 1) return packSignals(data.signals);
  // A node_execution says only what triggered it: kept like a broadcast's signals.
  if (type === 'node_execution' && Array.isArray(data.triggered_by) && Object.keys(data).length === 1)
    return packSignals(data.triggered_by);
  if (
    type === 'node_completed' &&
    Array.isArray(data.emitted) &&
    data.ok === true &&
    data.llm_calls === 0 &&
    data.tool_calls === 0 &&
    'selected_by' in data &&
    (data.emissions === undefined || data.emissions instanceof NodeEmissions) &&
    Object.keys(data).length === (data.emissions === undefined ? 5 : 6)
  )
    return new PackedCompletion(whyOf(data.selected_by, data.emissions as NodeEmissions | undefined), packSignals(data.emitted));
  if (
    type === 'node_completed' &&
    Array.isArray(data.emitted) &&
    data.ok === true &&
    data.llm_calls === 0 &&
    data.tool_calls === 0 &&
    Object.keys(data).length === 4
  )
    return packSignals(data.emitted);
  return data;
}

const EMPTY: readonly string[] = Object.freeze([]);

function packSignals(signals: unknown[]): unknown {
  if (signals.length === 1 && typeof signals[0] === 'string') return signals[0];
  return signals.length === 0 ? EMPTY : signals.slice();
}

const unpackSignals = (v: unknown): unknown[] => (typeof v === 'string' ? [v] : [...(v as unknown[])]);

/** Appends one event. `data` must not be changed by the caller afterwards (the engine builds it per event). */
export function appendEvent(
  cols: TelemetryColumns,
  type: string,
  at: number,
  node: TelemetryNode | undefined,
  durationMs: number,
  data: Record<string, unknown> | undefined,
): void {
  cols.type.push(type);
  cols.at.push(at);
  cols.node.push(node ?? null);
  cols.num.push(durationMs);
  cols.data.push(packData(type, data));
}

/** The events as users read them, oldest first: `{ ...node, ...data, event_type, timestamp }`. */
export function formatEvents(cols: TelemetryColumns): TelemetryEvent[] {
  const out: TelemetryEvent[] = new Array(cols.type.length);
  for (let i = 0; i < cols.type.length; i++) out[i] = formatEvent(cols, i);
  return out;
}

function formatEvent(cols: TelemetryColumns, i: number): TelemetryEvent {
  const type = cols.type[i]!;
  const node = cols.node[i];
  const data = cols.data[i];
  let fields: Record<string, unknown>;
  if (type === 'node_completed') {
    const rest =
      data instanceof PackedCompletion ? data.toJSON() : isRecord(data) ? data : { emitted: unpackSignals(data), ...COMPLETED_DEFAULTS };
    fields = cols.num[i]! >= 0 ? { ...node, duration_ms: cols.num[i], ...rest } : { ...node, ...rest };
  } else if (type === 'signals_broadcast' && !isRecord(data)) fields = { ...node, signals: unpackSignals(data) };
  else if (type === 'node_execution' && data !== null && data !== undefined && !isRecord(data))
    fields = { ...node, triggered_by: unpackSignals(data) };
  else fields = { ...node, ...(isRecord(data) ? data : {}) };
  if (fields.emissions instanceof NodeEmissions) fields.emissions = fields.emissions.toJSON();
  return { ...fields, event_type: type, timestamp: new Date(cols.at[i]!).toISOString() };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Columns from what a store holds: columns, or (written by an earlier version) a list of events. */
export function columnsOf(stored: TelemetryColumns | TelemetryEvent[]): TelemetryColumns {
  if (!Array.isArray(stored)) return stored;
  const cols = newColumns();
  for (const { event_type, timestamp, ...data } of stored) appendEvent(cols, event_type, Date.parse(timestamp), undefined, -1, data);
  return cols;
}
