/** Backends over a record store: in memory (tests, `soe run`) or on files. */
import { shareRegistry, withNode, withoutNode, withoutWorkflow, withWorkflow } from '../registry.js';
import { LazyText } from '../step-capture.js';
import type {
  Backends,
  ContextBackend,
  ContextInit,
  ContextSchema,
  ContextSchemaBackend,
  ContextUpdate,
  ConversationHistoryBackend,
  ConversationMessage,
  Identities,
  IdentityBackend,
  NodeConfig,
  StoredContext,
  TelemetryBackend,
  TelemetryEvent,
  TelemetryNode,
  Workflow,
  WorkflowBackend,
  WorkflowsRegistry,
} from '../types.js';
import { applyUpdate, contextFromInit, ownsValues, sharedContextFromInit } from './apply-update.js';
import { ContextSlot, CurrentWorkflowSlot, executionRecordStores, RegistrySlot, TelemetrySlot } from './memory-records.js';
import { MemoryStore, type RecordStore, type StoreFactory } from './store.js';
import { appendEvent, columnsOf, formatEvents, newColumns, type StoredTelemetry, type TelemetryColumns } from './telemetry-log.js';

/** Contexts in a record store (a Map by default). */
export class InMemoryContextBackend implements ContextBackend {
  /** The store is the built-in Map: it holds the records themselves, so one changed in place needs no re-store. */
  private readonly changesInPlace: boolean;
  constructor(
    protected readonly contexts: RecordStore<StoredContext> = new MemoryStore(),
    /** Node runs per execution tree, keyed by the main execution id (see {@link addTreeNodeRuns}). */
    protected readonly treeNodeRuns: RecordStore<number> = new MemoryStore(),
  ) {
    this.changesInPlace = isPlainMemoryStore(contexts);
  }

  async createContext(executionId: string, init: ContextInit): Promise<void> {
    this.createNow(executionId, init);
  }
  /**
   * {@link createContext} without a promise: see `directStore`.
   * @internal
   */
  createNow(executionId: string, init: ContextInit): void {
    // Siblings of one fan-out start on one shared `__operational__` where records are kept as they are.
    this.contexts.set(executionId, this.changesInPlace ? sharedContextFromInit(init) : contextFromInit(init));
  }
  async getContext(executionId: string): Promise<StoredContext> {
    const ctx = this.contexts.get(executionId);
    return ctx ? structuredClone(ctx) : {};
  }
  async readContext(executionId: string): Promise<StoredContext> {
    return this.contexts.get(executionId) ?? {};
  }
  async updateContext(executionId: string, update: ContextUpdate): Promise<void> {
    this.updateNow(executionId, update);
  }
  /**
   * The stored context (read-only), without a promise: see `directStore`.
   * @internal
   */
  readNow(executionId: string): StoredContext | undefined {
    return this.contexts.get(executionId);
  }
  /**
   * {@link updateContext} without a promise: see `directStore`. `stored`, when given, is the record
   * just read for this execution ({@link readNow}), so it is not looked up twice.
   * @internal
   */
  updateNow(executionId: string, update: ContextUpdate, stored?: StoredContext): void {
    const ctx = stored ?? this.contexts.get(executionId);
    if (!ctx) throw new Error(`no context stored for execution '${executionId}'`);
    // Values are cloned on the way in so that a caller mutating its objects cannot change history
    // (unless they are copies the engine made for this update).
    applyUpdate(ctx, update.fields && !ownsValues(update) ? withCopiedValues(update, update.fields) : update);
    if (!this.changesInPlace) this.contexts.set(executionId, ctx);
  }
  async listContexts(): Promise<string[]> {
    return this.contexts.keys();
  }
  async addTreeNodeRuns(mainExecutionId: string, n: number): Promise<number> {
    return this.treeRunsNow(mainExecutionId, n);
  }
  /**
   * {@link addTreeNodeRuns} without a promise: see `directStore`.
   * @internal
   */
  treeRunsNow(mainExecutionId: string, n: number): number {
    const total = (this.treeNodeRuns.get(mainExecutionId) ?? 0) + n;
    // Reads (n = 0) write nothing: a file store would otherwise rewrite the counter on every node run.
    if (n !== 0) this.treeNodeRuns.set(mainExecutionId, total);
    return total;
  }
}

/**
 * `update` with copies of the appended values that a caller could change (objects and lists). Strings,
 * numbers and the other plain primitives cannot change, so a field of only those is not copied.
 */
function withCopiedValues(update: ContextUpdate, fields: NonNullable<ContextUpdate['fields']>): ContextUpdate {
  let copied: NonNullable<ContextUpdate['fields']> | undefined;
  // `for…in`, not a list of keys per update: updates are plain records of their own keys.
  for (const field in fields) {
    const values = fields[field]!;
    if (values.every(isImmutable)) continue;
    copied ??= { ...fields };
    copied[field] = structuredClone(values);
  }
  return copied ? { ...update, fields: copied } : update;
}

/** True for what structuredClone would give back unchanged (it refuses symbols and functions). */
const isImmutable = (v: unknown): boolean => v === null || (typeof v !== 'object' && typeof v !== 'symbol' && typeof v !== 'function');

/**
 * True for a store that holds the records themselves, with the built-in methods (not a subclass or an
 * instance that changes them): a MemoryStore, or a slot of the in-memory execution records.
 */
function isPlainMemoryStore(store: RecordStore<unknown>): boolean {
  for (const kind of [MemoryStore, ContextSlot, RegistrySlot, CurrentWorkflowSlot, TelemetrySlot])
    if (store instanceof kind) return store.get === kind.prototype.get && store.set === kind.prototype.set;
  return false;
}

/** Workflow registries in a record store. */
export class InMemoryWorkflowBackend implements WorkflowBackend {
  constructor(
    protected readonly registries: RecordStore<WorkflowsRegistry> = new MemoryStore(),
    protected readonly current: RecordStore<string> = new MemoryStore(),
  ) {}

  async saveWorkflowsRegistry(executionId: string, registry: WorkflowsRegistry): Promise<void> {
    this.saveRegistryNow(executionId, registry);
  }
  /**
   * {@link saveWorkflowsRegistry} without a promise: see `directStore`.
   * @internal
   */
  saveRegistryNow(executionId: string, registry: WorkflowsRegistry): void {
    // Stored by reference when already shared (a child gets its parent's registry): see registry.ts.
    this.registries.set(executionId, shareRegistry(registry));
  }
  async getWorkflowsRegistry(executionId: string): Promise<WorkflowsRegistry | null> {
    return this.registryNow(executionId);
  }
  async saveCurrentWorkflowName(executionId: string, name: string): Promise<void> {
    this.saveCurrentNow(executionId, name);
  }
  /**
   * {@link saveCurrentWorkflowName} without a promise: see `directStore`.
   * @internal
   */
  saveCurrentNow(executionId: string, name: string): void {
    this.current.set(executionId, name);
  }
  async getCurrentWorkflowName(executionId: string): Promise<string | null> {
    return this.currentNow(executionId);
  }
  /**
   * {@link getWorkflowsRegistry} without a promise: see `directStore`.
   * @internal
   */
  registryNow(executionId: string): WorkflowsRegistry | null {
    return this.registries.get(executionId) ?? null;
  }
  /**
   * {@link getCurrentWorkflowName} without a promise: see `directStore`.
   * @internal
   */
  currentNow(executionId: string): string | null {
    return this.current.get(executionId) ?? null;
  }
  async putWorkflow(executionId: string, name: string, workflow: Workflow): Promise<void> {
    // Copy on write: readers holding the previous registry object never see a half-changed one.
    this.registries.set(executionId, withWorkflow(this.registries.get(executionId), name, workflow));
  }
  async putNode(executionId: string, workflowName: string, nodeName: string, node: NodeConfig): Promise<void> {
    this.registries.set(executionId, withNode(this.registries.get(executionId), workflowName, nodeName, node));
  }
  async deleteWorkflow(executionId: string, name: string): Promise<boolean> {
    const reg = this.registries.get(executionId);
    if (!reg || !(name in reg)) return false;
    this.registries.set(executionId, withoutWorkflow(reg, name));
    return true;
  }
  async deleteNode(executionId: string, workflowName: string, nodeName: string): Promise<boolean> {
    const reg = this.registries.get(executionId);
    const wf = reg?.[workflowName];
    if (!reg || !wf || !(nodeName in wf)) return false;
    this.registries.set(executionId, withoutNode(reg, workflowName, nodeName));
    return true;
  }
}

/** Telemetry events in a record store, as fixed-shape columns formatted when read (see telemetry-log.ts). */
export class InMemoryTelemetryBackend implements TelemetryBackend {
  /** The store is the built-in Map: the columns appended to in place need no re-store per event. */
  private readonly changesInPlace: boolean;
  constructor(protected readonly events: RecordStore<StoredTelemetry> = new MemoryStore()) {
    this.changesInPlace = isPlainMemoryStore(events);
  }
  private columns(executionId: string): TelemetryColumns {
    const stored = this.events.get(executionId);
    const cols = stored ? columnsOf(stored) : newColumns();
    if (cols === stored) return cols;
    this.events.set(executionId, cols);
    // Read back: a store may keep the columns in a record of its own (see memory-records.ts).
    return this.events.get(executionId) as TelemetryColumns;
  }
  async logEvent(executionId: string, eventType: string, data: Record<string, unknown> = {}): Promise<void> {
    this.record(executionId, eventType, Date.now(), undefined, -1, { ...data });
  }
  record(
    executionId: string,
    eventType: string,
    at: number,
    node: TelemetryNode | undefined,
    durationMs: number,
    data: Record<string, unknown> | undefined,
  ): void {
    const cols = this.columns(executionId);
    // A store that writes the columns as JSON on every event would write a prompt's parts out again
    // each time (rendering its template again): it gets the text, once.
    if (!this.changesInPlace && data?.prompt instanceof LazyText) data = { ...data, prompt: data.prompt.toString() };
    // Folding keeps records that are not written as JSON: only for the built-in Map.
    appendEvent(cols, eventType, at, node, durationMs, data, this.changesInPlace);
    // A file store (or any other) writes on set; the built-in Map already holds these columns.
    if (!this.changesInPlace) this.events.set(executionId, cols);
  }
  async getEvents(executionId: string): Promise<TelemetryEvent[]> {
    const stored = this.events.get(executionId);
    return stored ? formatEvents(columnsOf(stored)) : [];
  }
}

/** Conversation histories in a record store. */
export class InMemoryConversationHistoryBackend implements ConversationHistoryBackend {
  constructor(protected readonly histories: RecordStore<ConversationMessage[]> = new MemoryStore()) {}
  async getConversationHistory(key: string): Promise<ConversationMessage[]> {
    return structuredClone(this.histories.get(key) ?? []);
  }
  async appendToConversationHistory(key: string, entry: ConversationMessage): Promise<void> {
    let list = this.histories.get(key);
    if (!list) this.histories.set(key, (list = []));
    list.push(structuredClone(entry));
    this.histories.set(key, list);
  }
  async saveConversationHistory(key: string, history: ConversationMessage[]): Promise<void> {
    this.histories.set(key, structuredClone(history));
  }
  async deleteConversationHistory(key: string): Promise<void> {
    this.histories.delete(key);
  }
}

/** Context schemas in a record store. */
export class InMemoryContextSchemaBackend implements ContextSchemaBackend {
  constructor(protected readonly schemas: RecordStore<ContextSchema> = new MemoryStore()) {}
  async saveContextSchema(executionId: string, schema: ContextSchema): Promise<void> {
    this.schemas.set(executionId, structuredClone(schema));
  }
  async getContextSchema(executionId: string): Promise<ContextSchema | null> {
    const s = this.schemas.get(executionId);
    return s ? structuredClone(s) : null;
  }
  /**
   * The stored schema itself, without a promise or a copy, for the engine's reads (see `schemaNow` in
   * direct.ts): not to be changed. Schemas are replaced, never changed in place.
   * @internal
   */
  schemaNow(executionId: string): ContextSchema | null {
    return this.schemas.get(executionId) ?? null;
  }
  async putContextSchemaField(executionId: string, field: string, definition: Record<string, unknown>): Promise<void> {
    this.schemas.set(executionId, { ...(this.schemas.get(executionId) ?? {}), [field]: structuredClone(definition) });
  }
  async deleteContextSchemaField(executionId: string, field: string): Promise<boolean> {
    const s = this.schemas.get(executionId);
    if (!s || !(field in s)) return false;
    const { [field]: _removed, ...rest } = s;
    this.schemas.set(executionId, rest);
    return true;
  }
  async deleteContextSchema(executionId: string): Promise<boolean> {
    return this.schemas.delete(executionId);
  }
}

/** Identities in a record store. */
export class InMemoryIdentityBackend implements IdentityBackend {
  constructor(protected readonly identities: RecordStore<Identities> = new MemoryStore()) {}
  async saveIdentities(executionId: string, identities: Identities): Promise<void> {
    this.identities.set(executionId, { ...identities });
  }
  async getIdentities(executionId: string): Promise<Identities | null> {
    const i = this.identities.get(executionId);
    return i ? { ...i } : null;
  }
  async getIdentity(executionId: string, name: string): Promise<string | null> {
    return this.identities.get(executionId)?.[name] ?? null;
  }
  async putIdentity(executionId: string, name: string, systemPrompt: string): Promise<void> {
    this.identities.set(executionId, { ...(this.identities.get(executionId) ?? {}), [name]: systemPrompt });
  }
  async deleteIdentity(executionId: string, name: string): Promise<boolean> {
    const i = this.identities.get(executionId);
    if (!i || !(name in i)) return false;
    const { [name]: _removed, ...rest } = i;
    this.identities.set(executionId, rest);
    return true;
  }
  async deleteIdentities(executionId: string): Promise<boolean> {
    return this.identities.delete(executionId);
  }
}

/** The simple backends, with `cleanupAll()` to drop every stored thing. */
export interface SimpleBackends extends Backends {
  context: InMemoryContextBackend;
  workflow: InMemoryWorkflowBackend;
  telemetry: InMemoryTelemetryBackend;
  conversationHistory: InMemoryConversationHistoryBackend;
  contextSchema: InMemoryContextSchemaBackend;
  identity: InMemoryIdentityBackend;
  cleanupAll(): Promise<void>;
}
/** The backends `createInMemoryBackends` returns. */
export type InMemoryBackends = SimpleBackends;

/** Builds the six simple backends on stores from one factory. */
export function createStoreBackends(store: StoreFactory): SimpleBackends {
  const stores: RecordStore<unknown>[] = [];
  const make = <T>(kind: string): RecordStore<T> => {
    const s = store<T>(kind);
    stores.push(s as RecordStore<unknown>);
    return s;
  };
  return {
    context: new InMemoryContextBackend(make('contexts'), make('tree_node_runs')),
    workflow: new InMemoryWorkflowBackend(make('workflows'), make('current_workflow')),
    telemetry: new InMemoryTelemetryBackend(make('telemetry')),
    conversationHistory: new InMemoryConversationHistoryBackend(make('conversations')),
    contextSchema: new InMemoryContextSchemaBackend(make('context_schemas')),
    identity: new InMemoryIdentityBackend(make('identities')),
    async cleanupAll() {
      for (const s of stores) s.clear();
    },
  };
}

/**
 * Backends that keep everything in memory: for tests and development.
 * @example
 * const backends = createInMemoryBackends();
 */
export function createInMemoryBackends(): SimpleBackends {
  return createStoreBackends(executionRecordStores());
}
