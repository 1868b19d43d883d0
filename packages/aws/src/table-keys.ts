/**
 * The single-table layout: every key the runtime writes, in one place. An execution's records live in
 * one partition (`pk = E#<executionId>`).
 *
 * Sort keys of an execution partition, in the order DynamoDB returns them:
 *
 * | sk                       | record                                                                 |
 * | ------------------------ | ---------------------------------------------------------------------- |
 * | `B#<broadcastId>`        | a broadcast handled without a node-run commit (nothing triggered,     |
 * |                          | or dropped after a failure): a status fact                             |
 * | `C#0`                    | the context's first record (log position 0): initial fields, main id,  |
 * |                          | parent link, the start broadcast of a child                            |
 * | `C#F#<gate>#<id>`        | appends from another execution (a child's `context_updates_to_parent`)|
 * |                          | waiting for the broadcast `<gate>` they travel with                    |
 * | `C#S#<broadcastId>`      | signals sent from outside (start, external): written by the sender,    |
 * |                          | a status fact; they enter the context when the worker receives them   |
 * | `IDENT`                  | identities (on the main execution)                                     |
 * | `L#<seq>`                | the execution log: every record that changes the context, at a gap-free |
 * |                          | position (node-run commits with their telemetry, received signals, direct |
 * |                          | updates, registry changes, failures); see execution-log.ts             |
 * | `N#TREE`                 | `n`: node runs of the execution tree (on the main execution, once it   |
 * |                          | has children): limits.max_node_runs per tree; see tree-node-runs.ts    |
 * | `P#<seq>`                | a snapshot of the fold up to log position `<seq>` (cold starts)        |
 * | `S#<executionId>#<id>`   | a status fact of the run (on the main execution): broadcasts sent and  |
 * |                          | handled, children, a failure; see status-facts.ts                      |
 * | `SCHEMA`                 | context schema (on the main execution)                                 |
 * | `W#<workflowName>`       | one workflow of the registry (node map + node order)                   |
 * | `WFCUR`                  | the name of the workflow the execution runs                            |
 * | `WFVER`                  | `rv`: the registry version (`V#<rv>`) the execution uses while it has  |
 * |                          | no `W#` records of its own (children reference their parent's)         |
 * | `X#<owner sk>#<nonce>#<n>` | a chunk of a record's payload that did not fit in one item           |
 *
 * `B#` sorts before `C#` and `L#` on purpose: a status reader that pages through a partition sees a
 * handled marker no later than the records written before it (see execution-status.ts).
 *
 * Other partitions: `V#<hash>` an immutable registry version (`W#<name>` records, content-addressed),
 * `T#<executionId>` telemetry logged outside node runs (one item per worker message,
 * with a TTL), and `H#<key>` conversation history (one item per message).
 */
import { createHash } from 'node:crypto';
import { TABLE_PARTITION_KEY, TABLE_SORT_KEY } from './env-contract.js';

/** Attribute names of the table's key. */
export const KEY = { pk: TABLE_PARTITION_KEY, sk: TABLE_SORT_KEY } as const;

/** Partition key of an execution. */
export const executionPk = (executionId: string): string => `E#${executionId}`;
/** Partition key of an immutable registry version (shared by the executions that reference it). */
export const registryVersionPk = (hash: string): string => `V#${hash}`;
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
  received: 'C#S#',
  identities: 'IDENT',
  log: 'L#',
  treeNodeRuns: 'N#TREE',
  snapshot: 'P#',
  statusFact: 'S#',
  schema: 'SCHEMA',
  workflow: 'W#',
  currentWorkflow: 'WFCUR',
  registryVersion: 'WFVER',
  chunk: 'X#',
} as const;

/** Digits of a log position in a sort key: positions sort as numbers. */
const SEQ_DIGITS = 12;
/** Sort key of the log record at a position (1, 2, …; the init record is position 0). */
export const logSk = (seq: number): string => `${SK.log}${String(seq).padStart(SEQ_DIGITS, '0')}`;
/** Upper bound of every log sort key (for range queries). */
export const LOG_END = `${SK.log}~`;
/** Sort key of a snapshot of the fold up to a log position. */
export const snapshotSk = (seq: number): string => `${SK.snapshot}${String(seq).padStart(SEQ_DIGITS, '0')}`;
/** The log position of a log or snapshot sort key. */
export const seqOfSk = (sk: string): number => Number(sk.slice(2));
/** Sort key of appends from another execution waiting for broadcast `gate`. */
export const foreignSk = (gate: string, id: string): string => `${SK.foreign}${gate}#${id}`;
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
