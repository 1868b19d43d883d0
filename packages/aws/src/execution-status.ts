/** An execution's status (RUNNING, IDLE, FAILED, CANCELLED, NOT_FOUND), derived from the run's status facts. */
import { mainOfInit } from './dynamo-context-backend.js';
import type { SoeTable } from './soe-table.js';
import { RunFacts } from './status-facts.js';
import { executionPk, SK } from './table-keys.js';

/** Status values of an execution (with its children). */
export const EXECUTION_STATUS = {
  running: 'RUNNING',
  idle: 'IDLE',
  failed: 'FAILED',
  cancelled: 'CANCELLED',
  notFound: 'NOT_FOUND',
} as const;
/** One of {@link EXECUTION_STATUS}. */
export type ExecutionStatusValue = (typeof EXECUTION_STATUS)[keyof typeof EXECUTION_STATUS];

/** An execution's status, derived from its records and its children's. */
export interface ExecutionStatus {
  status: ExecutionStatusValue;
  /** `Name: message` of the first failure (FAILED only). */
  error?: string;
  /** The node that failed, when a node did. */
  failedNode?: string;
  /** The execution the failure happened in (the execution itself or one of its descendants). */
  failedExecutionId?: string;
  /** Broadcasts sent and not yet handled. */
  inFlight: number;
  /** Executions looked at: this one and its descendants. */
  executions: number;
}

/**
 * Derives the status of an execution and its descendants from the run's status facts (see
 * status-facts.ts), never from a counter that a redelivery could move twice: one Query of the main
 * execution's `S#` range, whatever the contexts hold and however many children the run has (plus a
 * Query of the init record's key when the execution is not a main one, or has no facts yet).
 *
 * In flight = sent − handled, over the broadcasts addressed to the execution and its descendants. A
 * worker writes a commit's handled marks and its outbox in the same fact item, and every fact before
 * the messages it lists go to SQS, so there is no moment where a broadcast counts as handled while
 * what it emitted is not yet counted as sent. FAILED as soon as a fact holds an error (the earliest)
 * that no redrive cleared; RUNNING while anything is in flight; IDLE otherwise. CANCELLED, before all
 * of these, once the execution was cancelled (see execution-control.ts).
 */
export async function getExecutionStatus(table: SoeTable, executionId: string): Promise<ExecutionStatus> {
  let facts = await RunFacts.read(table, executionId);
  if (!facts.executions.has(executionId)) {
    // Not a main execution with facts: find the run it belongs to.
    // A Query of the init record's key (not a GetItem): the status role reads with Query only.
    const [init] = await table.queryPartition(executionPk(executionId), SK.init, { ProjectionExpression: 'sk, m' });
    if (!init) return { status: EXECUTION_STATUS.notFound, error: `execution '${executionId}' not found`, inFlight: 0, executions: 0 };
    const main = mainOfInit(executionId, init);
    if (main !== executionId) facts = await RunFacts.read(table, main);
  }
  const tree = facts.subtree(executionId);
  let inFlight = 0;
  for (const [id, target] of facts.sent) if (tree.has(target) && !facts.handled.has(id)) inFlight++;
  let failure: RunFacts['failures'][number] | undefined;
  for (const f of facts.failures) {
    if (!tree.has(f.executionId) || f.ord < (facts.cleared.get(f.executionId) ?? 0)) continue;
    if (!failure || f.ord < failure.ord) failure = f;
  }
  const base = { inFlight, executions: tree.size };
  if (facts.cancelled.has(executionId)) return { status: EXECUTION_STATUS.cancelled, ...base };
  if (failure) {
    const out: ExecutionStatus = { status: EXECUTION_STATUS.failed, error: failure.error, failedExecutionId: failure.executionId, ...base };
    if (failure.node) out.failedNode = failure.node;
    return out;
  }
  return { status: inFlight ? EXECUTION_STATUS.running : EXECUTION_STATUS.idle, ...base };
}
