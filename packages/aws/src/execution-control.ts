/**
 * Requests that change what an execution may still do, made from outside the workers: checked
 * signals, cancel and redrive. Each writes a record into the execution log (so a worker holding the
 * execution folds it before its next commit) and is safe to repeat.
 *
 * - **Cancel** appends a cancel record to the execution and every descendant: status CANCELLED, the
 *   worker drops their broadcasts from then on, signals are refused.
 * - **Redrive** re-sends each broadcast whose failure made an execution FAILED, under a new id derived
 *   from the failed one and a redrive key, after a redrive record that clears those failures (status
 *   and worker honour it) and holds the re-sent broadcast's signals (already in the context, so they
 *   are not recorded twice).
 */
import { checkSignalsListened, endedExecutionError, SignalRefusedError } from '@soe/core';
import { UnknownExecutionError } from './errors.js';
import { appendAtTail } from './execution-log.js';
import { ExecutionRecords } from './execution-records.js';
import { getExecutionStatus } from './execution-status.js';
import { LOG_KIND } from './record-types.js';
import type { RuntimeServices } from './runtime-services.js';
import { sendSignalMessages } from './signal-message.js';
import type { SoeTable } from './soe-table.js';
import { writeStatusFact } from './status-facts.js';
import { commitOrd, derivedId, executionPk } from './table-keys.js';

/** What a cancel did. */
export interface CancelResult {
  executionId: string;
  status: 'CANCELLED';
  /** Executions cancelled by this request (0 when it was cancelled already). */
  cancelled: number;
}

/** One broadcast a redrive re-sent. */
export interface RedrivenBroadcast {
  executionId: string;
  /** The broadcast whose failure is cleared. */
  failedBroadcastId: string;
  /** The id it was re-sent under. */
  broadcastId: string;
  signals: string[];
  /** The failure it clears (`Name: message`). */
  error: string;
}

/** What a redrive did. */
export interface RedriveResult {
  executionId: string;
  redriven: RedrivenBroadcast[];
}

const readRecords = async (table: SoeTable, executionId: string): Promise<ExecutionRecords> =>
  new ExecutionRecords(executionId, await table.queryPartition(executionPk(executionId)));

/**
 * Refuses signals the execution cannot take: it is unknown, FAILED or CANCELLED, or no node of its
 * current workflow listens to one of them (the error names those that are listened to).
 */
export async function checkSignalRequest(table: SoeTable, executionId: string, signals: readonly string[]): Promise<void> {
  const status = await getExecutionStatus(table, executionId);
  // An unknown execution is refused by the sender, with the same words as for orchestrate's signals.
  if (status.status === 'NOT_FOUND') return;
  if (status.status === 'FAILED' || status.status === 'CANCELLED') throw endedExecutionError(executionId, status.status, status.error);
  const records = await readRecords(table, executionId);
  const name = records.currentWorkflowName();
  const workflow = name ? records.registry()?.[name] : undefined;
  if (name && workflow) checkSignalsListened(executionId, name, workflow, signals);
}

/** Cancels an execution and its descendants (see this file's header). Repeating it changes nothing. */
export async function cancelExecution(services: Pick<RuntimeServices, 'backends'>, executionId: string): Promise<CancelResult> {
  const table = services.backends.table;
  const root = await readRecords(table, executionId);
  if (!root.exists) throw new UnknownExecutionError(executionId);
  let cancelled = 0;
  const seen = new Set<string>();
  let level = [root];
  while (level.length) {
    const next: string[] = [];
    await Promise.all(
      level.map(async (records) => {
        if (!records.cancelled()) {
          await appendAtTail(table, records.pk, { k: LOG_KIND.cancel, ord: commitOrd(records.maxOrd()) }, undefined);
          cancelled++;
        }
        // Status reads the run's facts: say it there too (again on a repeat, which changes nothing).
        await writeStatusFact(table, records.mainExecutionId(), { executionId: records.executionId, cancelled: true });
        next.push(...records.children());
      }),
    );
    for (const r of level) seen.add(r.executionId);
    const ids = [...new Set(next)].filter((id) => !seen.has(id));
    level = (await Promise.all(ids.map((id) => readRecords(table, id)))).filter((r) => r.exists);
  }
  return { executionId, status: 'CANCELLED', cancelled };
}

/**
 * Redrives a FAILED execution (see this file's header): for the execution the failure is recorded in
 * (itself or a descendant), clears its failures and re-sends each failed broadcast. `redriveKey`
 * makes a repeated request idempotent: the same key derives the same ids, and a record already
 * written is not written again (its message is sent again, which the worker handles once).
 */
export async function redriveExecution(
  services: Pick<RuntimeServices, 'backends' | 'sqs' | 'queues'>,
  executionId: string,
  redriveKey?: string,
): Promise<RedriveResult> {
  const table = services.backends.table;
  const status = await getExecutionStatus(table, executionId);
  if (status.status === 'NOT_FOUND') throw new UnknownExecutionError(executionId);
  const records = await readRecords(table, status.failedExecutionId ?? executionId);
  if (status.status !== 'FAILED') {
    const earlier = redriveKey ? records.redrives().filter((r) => r.rq === redriveKey) : [];
    if (earlier.length) return { executionId, redriven: earlier.map((r) => redrivenOf(records.executionId, r)) };
    throw new SignalRefusedError(
      `execution '${executionId}' is ${status.status}, not FAILED: only a failed execution can be redriven`,
      'not-failed',
    );
  }
  const failures = new Map<string, string>();
  for (const f of records.failures()) if (f.broadcastId && !failures.has(f.broadcastId)) failures.set(f.broadcastId, f.error);
  const previous = records.redrives().length;
  const redriven: RedrivenBroadcast[] = [];
  for (const [failedBroadcastId, error] of failures) {
    const signals = records.broadcastSignals(failedBroadcastId);
    if (!signals)
      throw new Error(`execution '${records.executionId}': no record of the signals of failed broadcast '${failedBroadcastId}'`);
    const broadcastId = derivedId(failedBroadcastId, 'redrive', redriveKey ?? String(previous + 1));
    redriven.push({ executionId: records.executionId, failedBroadcastId, broadcastId, signals, error });
  }
  if (!redriven.length) throw new Error(`execution '${records.executionId}' is FAILED but names no failed broadcast to redrive`);
  const clearedBefore = commitOrd(records.maxOrd());
  let ord = clearedBefore;
  for (const r of redriven) {
    const item = { k: LOG_KIND.redrive, b: r.broadcastId, r: r.failedBroadcastId, s: r.signals, e0: r.error, ord: ord++ };
    await appendAtTail(table, records.pk, redriveKey ? { ...item, rq: redriveKey } : item, undefined);
  }
  // Status reads the run's facts: the failures are cleared and the re-sent broadcasts are in flight
  // (written before the messages exist, so no poll reads the run IDLE while they are queued).
  await writeStatusFact(table, records.mainExecutionId(), {
    executionId: records.executionId,
    clearedBefore,
    sent: redriven.map((r) => [r.broadcastId, r.executionId] as [string, string]),
  });
  await sendSignalMessages(
    services.sqs,
    services.queues,
    redriven.map((r) => ({ i: r.broadcastId, t: r.executionId, s: r.signals })),
  );
  return { executionId, redriven };
}

function redrivenOf(executionId: string, item: Record<string, unknown>): RedrivenBroadcast {
  return {
    executionId,
    failedBroadcastId: String(item.r),
    broadcastId: String(item.b),
    signals: Array.isArray(item.s) ? item.s.map(String) : [],
    error: String(item.e0 ?? ''),
  };
}
