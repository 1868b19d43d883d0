/**
 * Shapes of the payloads stored in an execution's records (see table-keys.ts for the keys). Payloads
 * are JSON, so short property names keep the bytes written per node run small.
 */
import type { ContextUpdate, ExecutionLimits, ParentLink } from '@soe/core';

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
  /** Appends to other executions (a child's updates to its ancestors). */
  f?: Array<{ t: string; u: ContextUpdate }>;
  /** Child executions to create. */
  c?: ChildSpec[];
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
