/**
 * Builds a node run's commit record (its attributes and payload) from the run's outcome, without any
 * I/O: the appends, the emitted signals and the outbox with ids derived from the run key (the same on
 * every redelivery), appends to other executions gated on a broadcast to them, the children to create,
 * and the broadcasts the record marks handled. broadcast-processor.ts writes it at the next log position.
 */
import { type ContextUpdate, type NodeOutcome, type TelemetryEvent, triggeredNodes, type Workflow } from '@soe/core';
import { describeError, ValueTooLargeError } from './errors.js';
import { type ChildSpec, type CommitPayload, LOG_KIND, type OutboxEntry } from './record-types.js';
import type { TableItem } from './soe-table.js';
import { derivedId, nowMicros } from './table-keys.js';

/** What {@link buildCommit} needs to know about the run. */
export interface CommitInput {
  /** The execution the node ran in. */
  executionId: string;
  /** The broadcast that triggered the run. */
  broadcastId: string;
  nodeName: string;
  /** `<broadcastId>#<node>`: every id the commit derives comes from it. */
  runKey: string;
  outcome: NodeOutcome;
  /** The execution's workflow (an emitted signal no node of it listens to is marked handled at once). */
  workflow: Workflow | undefined;
  /** True for the last node the broadcast triggers: its commit marks the broadcast handled. */
  isLast: boolean;
  /** Largest single context value, in bytes of JSON. */
  maxValueBytes: number;
  /** Telemetry events the run logged (ride in the commit; the fold ignores them). */
  events?: TelemetryEvent[];
}

/** A commit record ready to be written at the next log position. */
export interface BuiltCommit {
  /** Item attributes besides `pk`, `sk` and the position `q`. */
  attributes: TableItem;
  payload: CommitPayload;
  /** The node's failure (its own, or a value too large to store), when the run failed. */
  error?: Error;
}

/** The first appended value over the size limit, if any. */
export function firstOversized(updates: Array<[string, ContextUpdate]>, maxValueBytes: number): ValueTooLargeError | undefined {
  for (const [executionId, u] of updates) {
    for (const [field, values] of Object.entries(u.fields ?? {})) {
      for (const v of values) {
        const bytes = Buffer.byteLength(JSON.stringify(v ?? null));
        if (bytes > maxValueBytes) return new ValueTooLargeError(executionId, field, bytes, maxValueBytes);
      }
    }
  }
  return undefined;
}

/** Builds the commit record of one node run (see the module comment). */
export function buildCommit(input: CommitInput): BuiltCommit {
  const { executionId: own, broadcastId, runKey, outcome } = input;
  let error = outcome.error;
  let update: ContextUpdate = { ...outcome.update };
  let foreign = outcome.foreignUpdates;
  const tooBig = firstOversized(
    [[own, update], ...foreign.map((f) => [f.executionId, f.update] as [string, ContextUpdate])],
    input.maxValueBytes,
  );
  if (tooBig) {
    // The value cannot be stored: the node fails with an error that names the field, and nothing it appended is kept.
    error = tooBig;
    update = { nodes: update.nodes, counters: { ...update.counters, errors: (update.counters?.errors ?? 0) + (outcome.error ? 0 : 1) } };
    foreign = [];
  }
  const entries: OutboxEntry[] = [];
  const children: ChildSpec[] = [];
  const handles: string[] = [];
  if (!error) {
    if (outcome.emit.length) {
      const id = derivedId(runKey, 'emit');
      update.signals = [...(update.signals ?? []), ...outcome.emit];
      entries.push({ i: id, t: own, s: [...outcome.emit] });
      if (input.workflow && triggeredNodes(input.workflow, outcome.emit).length === 0) handles.push(id);
    }
    outcome.outbox.forEach((b, n) => {
      entries.push({
        i: derivedId(runKey, 'out', n),
        t: b.executionId,
        s: [...b.signals],
        ...(b.delaySeconds ? { d: b.delaySeconds } : {}),
      });
    });
    outcome.spawns.forEach((c, n) => {
      const id = derivedId(runKey, 'child', n);
      entries.push({ i: id, t: c.executionId, s: [...c.signals], ...(c.delaySeconds ? { d: c.delaySeconds } : {}) });
      children.push({
        id: c.executionId,
        wf: c.workflowName,
        src: c.sourceExecutionId,
        f: c.fields,
        m: c.mainExecutionId,
        p: c.parent,
        b: id,
        s: [...c.signals],
        ...(c.limits ? { l: c.limits } : {}),
      });
    });
  }
  if (input.isLast || error) handles.push(broadcastId);
  const payload: CommitPayload = { u: update };
  const gated = foreign.map((f) => {
    // Appends to another execution travel with a broadcast to it: the target folds them in when it
    // receives that broadcast, as in process, not earlier (a fan-in router then counts its inputs one
    // by one). Without one, a broadcast with no signals carries them.
    let gate = entries.find((o) => o.t === f.executionId && !children.some((c) => c.id === o.t));
    if (!gate) {
      gate = { i: derivedId(runKey, 'append', f.executionId), t: f.executionId, s: [] };
      entries.push(gate);
    }
    return { t: f.executionId, u: f.update, w: gate.i };
  });
  if (entries.length) payload.o = entries;
  if (gated.length) payload.f = gated;
  if (children.length) payload.c = children;
  if (input.events?.length) payload.t = input.events;
  const attributes: TableItem = { k: LOG_KIND.run, b: broadcastId, n: input.nodeName, rk: runKey };
  if (handles.length) attributes.h = handles;
  if (error) {
    attributes.e = describeError(error);
    attributes.ord = nowMicros();
  }
  return error ? { attributes, payload, error } : { attributes, payload };
}
