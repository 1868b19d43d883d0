/**
 * The single-table layout: every key the runtime writes, in one place. An execution's records live in
 * one partition (`pk = E#<executionId>`), so one Query reads its context, workflows and status facts.
 *
 * Sort keys of an execution partition, in the order DynamoDB returns them:
 *
 * | sk                       | record                                                                 |
 * | ------------------------ | ---------------------------------------------------------------------- |
 * | `B#<broadcastId>`        | a broadcast handled without a node-run commit (nothing triggered,     |
 * |                          | dropped after a failure, or failed outside a node: then it holds `e`)  |
 * | `C#0`                    | the context's first record: initial fields, main id, parent link,      |
 * |                          | the start broadcast of a child                                         |
 * | `C#F#<source>`           | appends from another execution (a child's `context_updates_to_parent`) |
 * | `C#R#<broadcastId>#<node>` | one node run: its appends, counters, emitted signals and outbox      |
 * | `C#S#<broadcastId>`      | signals that reached the execution from outside (start, external,      |
 * |                          | a child) — recorded once, by the sender                                |
 * | `C#U#<uuid>`             | a direct `updateContext` call (outside the worker)                     |
 * | `IDENT`                  | identities (on the main execution)                                     |
 * | `SCHEMA`                 | context schema (on the main execution)                                 |
 * | `W#<workflowName>`       | one workflow of the registry (node map + node order)                   |
 * | `WFCUR`                  | the name of the workflow the execution runs                            |
 * | `X#<owner sk>#<nonce>#<n>` | a chunk of a record's payload that did not fit in one item           |
 *
 * `B#` sorts before `C#` on purpose: a status reader that pages through a partition sees a handled
 * marker no later than the records written before it (see execution-status.ts).
 *
 * Other partitions: `T#<executionId>` telemetry (one item per worker batch, with a TTL), and
 * `H#<key>` conversation history (one item per message).
 */
import { createHash } from 'node:crypto';

/** Attribute names of the table's key. */
export const KEY = { pk: 'pk', sk: 'sk' } as const;

/** Partition key of an execution. */
export const executionPk = (executionId: string): string => `E#${executionId}`;
/** Partition key of an execution's telemetry. */
export const telemetryPk = (executionId: string): string => `T#${executionId}`;
/** Partition key of a conversation history. */
export const historyPk = (key: string): string => `H#${key}`;

/** Sort-key prefixes and fixed sort keys of an execution partition. */
export const SK = {
  handled: 'B#',
  context: 'C#',
  init: 'C#0',
  foreign: 'C#F#',
  run: 'C#R#',
  received: 'C#S#',
  direct: 'C#U#',
  identities: 'IDENT',
  schema: 'SCHEMA',
  workflow: 'W#',
  currentWorkflow: 'WFCUR',
  chunk: 'X#',
} as const;

/** Sort key of a node run's commit record. */
export const runSk = (runKey: string): string => `${SK.run}${runKey}`;
/** Sort key of a handled marker. */
export const handledSk = (broadcastId: string): string => `${SK.handled}${broadcastId}`;
/** Sort key of a received-signals record. */
export const receivedSk = (broadcastId: string): string => `${SK.received}${broadcastId}`;
/** Sort key of a workflow. */
export const workflowSk = (name: string): string => `${SK.workflow}${name}`;

/**
 * A short deterministic id from parts: broadcast ids of emitted signals derive from the run key, so a
 * redelivered run re-sends the very same ids, and ids do not grow along a chain of broadcasts.
 */
export function derivedId(...parts: Array<string | number>): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 22);
}

let lastMicros = 0;
/**
 * Microseconds since the epoch, strictly increasing within the process. Records are folded in this
 * order; a run's commit also stays after every record it read (see `commitOrd`), so causally later
 * records sort later even when clocks of two machines differ a little.
 */
export function nowMicros(): number {
  const t = Date.now() * 1000;
  lastMicros = t > lastMicros ? t : lastMicros + 1;
  return lastMicros;
}

/** The fold position of a new record written after reading records up to `maxSeen`. */
export function commitOrd(maxSeen: number): number {
  const now = nowMicros();
  return now > maxSeen ? now : maxSeen + 1;
}
