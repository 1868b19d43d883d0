/**
 * Shapes of the payloads stored in an execution's records (see table-keys.ts for the keys). Payloads
 * are JSON, so short property names keep the bytes written per node run small.
 */
import type { ContextUpdate, ExecutionLimits, ParentLink, StoredContext, TelemetryEvent } from '@soe/core';

/** A broadcast recorded in a node run's outbox: sent after the commit, re-sent after a crash. */
export interface OutboxEntry {
  /** Broadcast id, derived from the run key: the same on every redelivery. */
  i: string;
  /** Target execution. */
  t: string;
  /** Signal names. */
  s: string[];
  /** Delivery delay in seconds (a fan-out's spawn_interval). */
  d?: number;
}

/** A child execution a node run creates: everything needed to create it again after a crash. */
export interface ChildSpec {
  /** Child execution id (deterministic from the run key). */
  id: string;
  /** Workflow the child runs. */
  wf: string;
  /** Execution whose registry the child copies. */
  src: string;
  /** Initial field histories. */
  f: Record<string, unknown[]>;
  /** Main execution id. */
  m: string;
  p: ParentLink;
  /** Id of the start broadcast (also in the outbox). */
  b: string;
  /** Start signals. */
  s: string[];
  /** Node-run limit and the runs of its ancestors before it. */
  l?: ExecutionLimits;
}

/** The payload of a node run's commit record. */
export interface CommitPayload {
  /** Changes to the own execution: appends, counters, node count, the emitted signals. */
  u: ContextUpdate;
  /** Broadcasts to send. */
  o?: OutboxEntry[];
  /**
   * Appends to other executions (a child's updates to its ancestors), each gated on the broadcast
   * `w` it travels with: the target folds them in when it receives that broadcast.
   */
  f?: Array<{ t: string; u: ContextUpdate; w: string }>;
  /** Child executions to create. */
  c?: ChildSpec[];
  /** Telemetry events the run logged: stored with the commit (no second write); the fold ignores them. */
  t?: TelemetryEvent[];
}

/** Kinds of log records (attribute `k` of an `L#` item). */
export const LOG_KIND = {
  /** A node run's commit ({@link CommitPayload}). */
  run: 'r',
  /** A broadcast received from outside: its signals, and the appends from other executions that travel with it ({@link ReceiptPayload}). */
  receipt: 's',
  /** A direct context update (a {@link ContextUpdate}). */
  update: 'u',
  /** The registry, identities or schema changed: a worker holding them reloads them. */
  config: 'w',
  /** A broadcast failed outside a node run (or used up its retries): the execution is FAILED. */
  failure: 'x',
  /** The execution was cancelled: workers drop its broadcasts from here on (see execution-control.ts). */
  cancel: 'c',
  /**
   * A redrive: clears the failures recorded before it and re-sends a failed broadcast under a new id
   * (`b`, derived from the failed one `r`), whose signals (`s`) are already in the context.
   */
  redrive: 'd',
} as const;
/** One of {@link LOG_KIND}. */
export type LogKind = (typeof LOG_KIND)[keyof typeof LOG_KIND];

/** The payload of a receipt record: appends from other executions that arrived with the broadcast. */
export interface ReceiptPayload {
  u?: ContextUpdate[];
}

/** Where a large value lives: the log record at position `q`, field `f`, the `j`-th value it appended. */
export interface ValueRef {
  q: number;
  f: string;
  j: number;
}

/** The payload of a snapshot (`P#<seq>`): the fold up to position `q`, large values by reference. */
export interface SnapshotPayload {
  q: number;
  /** The context; values listed in `l` are `null` placeholders. */
  c: StoredContext;
  /** Large values left out: `[field, history index, where it lives]`. */
  l: Array<[string, number, ValueRef]>;
  /** Committed run keys and their positions (a redelivery of an old broadcast must find them). */
  r: Array<[string, number]>;
  /** Broadcasts whose signals are already in the context. */
  s: string[];
  /** The first failure, if the execution failed. */
  e?: { error: string; node?: string; ord: number };
  /** Set when the execution was cancelled. */
  x?: 1;
}

/** The payload of an execution's first context record. */
export interface InitPayload {
  /** Initial field histories. */
  f: Record<string, unknown[]>;
  /** Main execution id. */
  m: string;
  p?: ParentLink;
  /** Signals recorded at creation (a child's start signals). */
  s?: string[];
  /** Node-run limit and the runs of its ancestors before it (absent: the defaults). */
  l?: ExecutionLimits;
}
