import { ExecutionRecords, type RecordedFailure } from './execution-records.js';
import type { SoeTable } from './soe-table.js';
import { executionPk } from './table-keys.js';

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
 * Derives the status of an execution and its descendants from records, never from a counter that a
 * redelivery could move twice:
 *
 * - sent: every broadcast recorded in a node run's outbox, a child's start broadcast, every `C#S#`
 *   record of signals sent from outside, and every receipt (`s`) in the log;
 * - handled: every `B#` marker and every broadcast a log record marks handled (the run's own broadcast
 *   when it was the last triggered node, emitted signals that trigger nothing, a broadcast that failed
 *   outside a node run).
 *
 * In flight = sent − handled, over the broadcasts addressed to the execution and its descendants. A
 * commit records its handled mark and its outbox in the same item, so there is no moment where a
 * broadcast counts as handled while what it emitted is not yet counted as sent. FAILED as soon as any
 * record holds an error not cleared by a redrive; RUNNING while anything is in flight; IDLE otherwise.
 * CANCELLED, before all of these, once the execution was cancelled (see execution-control.ts).
 */
export async function getExecutionStatus(table: SoeTable, executionId: string): Promise<ExecutionStatus> {
  const sent = new Map<string, string>();
  const handled = new Set<string>();
  const visited = new Set<string>();
  let failure: RecordedFailure | undefined;
  let cancelled = false;
  let queue = [executionId];
  while (queue.length) {
    // Children of one level are read in parallel.
    const level = queue.filter((id) => !visited.has(id));
    for (const id of level) visited.add(id);
    const all = await Promise.all(level.map(async (id) => new ExecutionRecords(id, await table.queryPartition(executionPk(id)))));
    queue = [];
    for (const records of all) {
      if (records.executionId === executionId && !records.exists) {
        return { status: EXECUTION_STATUS.notFound, error: `execution '${executionId}' not found`, inFlight: 0, executions: 0 };
      }
      if (records.executionId === executionId) cancelled = records.cancelled();
      for (const [id, target] of records.sentBroadcasts()) sent.set(id, target);
      for (const id of records.handledIds()) handled.add(id);
      const f = records.failure();
      if (f && (!failure || f.ord < failure.ord)) failure = f;
      queue.push(...records.children());
    }
  }
  let inFlight = 0;
  for (const [id, target] of sent) if (visited.has(target) && !handled.has(id)) inFlight++;
  const base = { inFlight, executions: visited.size };
  if (cancelled) return { status: EXECUTION_STATUS.cancelled, ...base };
  if (failure) {
    const out: ExecutionStatus = { status: EXECUTION_STATUS.failed, error: failure.error, failedExecutionId: failure.executionId, ...base };
    if (failure.node) out.failedNode = failure.node;
    return out;
  }
  return { status: inFlight ? EXECUTION_STATUS.running : EXECUTION_STATUS.idle, ...base };
}
