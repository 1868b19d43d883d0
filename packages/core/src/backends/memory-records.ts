/**
 * The in-memory stores of contexts, telemetry, registries and current workflow names, kept as slots
 * of one record per execution under one Map entry. Four Map entries and a telemetry record per
 * execution were more than a third of what a fan-out's child kept.
 */
import type { StoredContext, WorkflowsRegistry } from '../types.js';
import { MemoryStore, type RecordStore } from './store.js';
import type { StoredTelemetry, TelemetryColumns } from './telemetry-log.js';

/** Where the in-memory telemetry counts its executions' start times from (see ExecutionRecord.t0). */
const EPOCH = Date.now();

/** What the in-memory backends keep for one execution. Its telemetry columns are its own fields. */
class ExecutionRecord {
  context: StoredContext | undefined = undefined;
  registry: WorkflowsRegistry | undefined = undefined;
  current: string | undefined = undefined;
  // The telemetry columns (see TelemetryColumns), `ev` undefined until the first event.
  last = 0;
  ev: unknown[] | undefined = undefined;
  // `t0` as milliseconds after this process's EPOCH, a small integer kept in the record: an epoch
  // time is a double, which V8 keeps boxed, 16 bytes more per execution. Undefined: no time yet.
  #sinceEpoch: number | undefined = undefined;
  get t0(): number {
    return this.#sinceEpoch === undefined ? Number.NaN : EPOCH + this.#sinceEpoch;
  }
  set t0(at: number) {
    this.#sinceEpoch = Number.isNaN(at) ? undefined : at - EPOCH;
  }

  get empty(): boolean {
    return this.context === undefined && this.registry === undefined && this.current === undefined && this.ev === undefined;
  }
}

/** The records of every execution, by execution id. */
class ExecutionRecords {
  readonly byId = new Map<string, ExecutionRecord>();
  /** The record of `id`, made when there is none. */
  of(id: string): ExecutionRecord {
    let r = this.byId.get(id);
    if (!r) this.byId.set(id, (r = new ExecutionRecord()));
    return r;
  }
  /** Drops `id`'s record once nothing is left in it. */
  dropIfEmpty(id: string, r: ExecutionRecord): void {
    if (r.empty) this.byId.delete(id);
  }
}

/**
 * One slot of every execution's record, as a record store (what a backend is given). Each slot is a
 * class of its own that reads its field by name: one class reading a field named by a variable made
 * every read a generic keyed lookup.
 */
abstract class RecordSlot<T> implements RecordStore<T> {
  /** @internal */
  constructor(protected readonly records: ExecutionRecords) {}
  abstract get(key: string): T | undefined;
  abstract set(key: string, value: T): void;
  /** Empties the slot in `r`. */
  protected abstract empty(r: ExecutionRecord): void;
  delete(key: string): boolean {
    const r = this.records.byId.get(key);
    if (!r || this.get(key) === undefined) return false;
    this.empty(r);
    this.records.dropIfEmpty(key, r);
    return true;
  }
  keys(): string[] {
    const out: string[] = [];
    for (const id of this.records.byId.keys()) if (this.get(id) !== undefined) out.push(id);
    return out;
  }
  clear(): void {
    for (const id of this.keys()) this.delete(id);
  }
}

/** The contexts. */
export class ContextSlot extends RecordSlot<StoredContext> {
  get(key: string): StoredContext | undefined {
    return this.records.byId.get(key)?.context;
  }
  set(key: string, value: StoredContext): void {
    this.records.of(key).context = value;
  }
  protected empty(r: ExecutionRecord): void {
    r.context = undefined;
  }
}

/** The workflow registries. */
export class RegistrySlot extends RecordSlot<WorkflowsRegistry> {
  get(key: string): WorkflowsRegistry | undefined {
    return this.records.byId.get(key)?.registry;
  }
  set(key: string, value: WorkflowsRegistry): void {
    this.records.of(key).registry = value;
  }
  protected empty(r: ExecutionRecord): void {
    r.registry = undefined;
  }
}

/** The current workflow names. */
export class CurrentWorkflowSlot extends RecordSlot<string> {
  get(key: string): string | undefined {
    return this.records.byId.get(key)?.current;
  }
  set(key: string, value: string): void {
    this.records.of(key).current = value;
  }
  protected empty(r: ExecutionRecord): void {
    r.current = undefined;
  }
}

/**
 * The telemetry slot: an execution's record is its columns. Columns handed to `set` are taken over
 * into the record, so a writer appends to what `get` gives back after it, not to what it handed over.
 */
export class TelemetrySlot extends RecordSlot<StoredTelemetry> {
  get(key: string): StoredTelemetry | undefined {
    const r = this.records.byId.get(key);
    return r?.ev === undefined ? undefined : (r as TelemetryColumns);
  }
  set(key: string, value: StoredTelemetry): void {
    const r = this.records.of(key);
    if ((r as unknown) === value) return;
    if (Array.isArray(value) || !('ev' in value)) throw new TypeError('the in-memory telemetry store keeps columns only');
    r.t0 = value.t0;
    r.last = value.last ?? 0;
    r.ev = value.ev;
  }
  protected empty(r: ExecutionRecord): void {
    r.t0 = Number.NaN;
    r.last = 0;
    r.ev = undefined;
  }
}

/**
 * A store factory for the in-memory backends: contexts, telemetry, registries and current workflow
 * names share one record per execution; every other kind is a {@link MemoryStore} of its own.
 */
export function executionRecordStores(): <T>(kind: string) => RecordStore<T> {
  const records = new ExecutionRecords();
  return <T>(kind: string): RecordStore<T> => {
    switch (kind) {
      case 'contexts':
        return new ContextSlot(records) as unknown as RecordStore<T>;
      case 'workflows':
        return new RegistrySlot(records) as unknown as RecordStore<T>;
      case 'current_workflow':
        return new CurrentWorkflowSlot(records) as unknown as RecordStore<T>;
      case 'telemetry':
        return new TelemetrySlot(records) as unknown as RecordStore<T>;
      default:
        return new MemoryStore<T>();
    }
  };
}
