/** Execution contexts in DynamoDB: the init record, and the ContextBackend that reads and appends to an execution's log. */
import type { ContextBackend, ContextInit, ContextUpdate, StoredContext } from '@soe/core';
import { OperationalValidationError } from '@soe/core';
import { appendAtTail } from './execution-log.js';
import { ExecutionRecords } from './execution-records.js';
import { type InitPayload, LOG_KIND } from './record-types.js';
import type { SoeTable, TableItem } from './soe-table.js';
import { RunFacts, writeStatusFact } from './status-facts.js';
import { executionPk, historyPk, SK, telemetryPk } from './table-keys.js';

/** The payload and item of an execution's init record. */
export function initRecord(executionId: string, init: ContextInit, startBroadcastId?: string): { item: TableItem; payload: InitPayload } {
  const payload: InitPayload = { f: init.fields, m: init.mainExecutionId };
  if (init.parent) payload.p = init.parent;
  if (init.signals?.length) payload.s = init.signals;
  if (init.limits) payload.l = init.limits;
  const item: TableItem = { pk: executionPk(executionId), sk: SK.init, ord: 0 };
  if (startBroadcastId) item.sb = startBroadcastId;
  // In the clear (the payload may be chunked): the signal sender and the status find the run's facts by it.
  if (init.mainExecutionId !== executionId) item.m = init.mainExecutionId;
  return { item, payload };
}

/** The main execution of an execution, from its init item. */
export const mainOfInit = (executionId: string, initItem: TableItem): string => (typeof initItem.m === 'string' ? initItem.m : executionId);

/**
 * Contexts in DynamoDB as records, not as one item: each change is its own record in the execution's
 * log (`L#<seq>`, see execution-log.ts) and the context is their fold in log order. Concurrent writers never overwrite each other, a write costs
 * what it adds, not what the context holds, and a context can outgrow the 400 KB item limit.
 *
 * The worker does not use {@link updateContext}: it commits each node run as one record under the run's
 * deterministic key (see broadcast-processor.ts). This class serves everything else: orchestrate,
 * status reads, tools and tests.
 */
export class DynamoContextBackend implements ContextBackend {
  constructor(private readonly table: SoeTable) {}

  /** Reads an execution's whole partition. */
  async records(executionId: string): Promise<ExecutionRecords> {
    return new ExecutionRecords(executionId, await this.table.queryPartition(executionPk(executionId)));
  }

  async createContext(executionId: string, init: ContextInit): Promise<void> {
    const { item, payload } = initRecord(executionId, init);
    await this.table.putRecord(item, payload, { ifAbsent: false });
    // Lists the execution among its run's (soe_list_contexts, status of the run) without a scan.
    await writeStatusFact(this.table, init.mainExecutionId, { executionId }, { id: 'created', always: true });
  }

  async getContext(executionId: string): Promise<StoredContext> {
    // The fold is built fresh for every read, so the caller may keep and change it.
    return (await this.records(executionId)).context();
  }

  async readContext(executionId: string): Promise<StoredContext> {
    return (await this.records(executionId)).context();
  }

  /**
   * Appends a change as a record of its own at the log's tail (a direct update is not a retried node
   * run: it needs no key of its own). Throws for an unknown execution, as the in-memory backend does.
   */
  async updateContext(executionId: string, update: ContextUpdate): Promise<void> {
    const pk = executionPk(executionId);
    if (!(await this.table.get(pk, SK.init))) throw new OperationalValidationError(`no context stored for execution '${executionId}'`);
    await appendAtTail(this.table, pk, { k: LOG_KIND.update }, update);
  }

  /**
   * Removes every item of an execution: its partition (context, workflows, identities, schema, status
   * facts, chunks), its telemetry and its conversation histories. Used to undo a start that failed midway.
   */
  async deleteContext(executionId: string): Promise<void> {
    for (const pk of [executionPk(executionId), telemetryPk(executionId), historyPk(executionId)]) {
      const keys = await this.table.queryPartition(pk, undefined, { ProjectionExpression: 'pk, sk' });
      await this.table.batchWrite(
        [],
        keys.map((k) => ({ pk, sk: String(k.sk) })),
      );
    }
  }

  /**
   * The executions of a run: the main one, every child it or its descendants created, and every
   * execution created in the run (`soe_copy_context`), from the run's status facts — one Query of the
   * main execution's partition. Without `mainExecutionId`, every execution of the table by a Scan: for
   * operators and tests only (the worker's role has no `dynamodb:Scan`).
   */
  async listContexts(mainExecutionId?: string): Promise<string[]> {
    if (mainExecutionId !== undefined) {
      const facts = await RunFacts.read(this.table, mainExecutionId, 'x, c');
      return [mainExecutionId, ...[...facts.executions].filter((id) => id !== mainExecutionId)];
    }
    const out: string[] = [];
    let start: Record<string, unknown> | undefined;
    const { ScanCommand } = await import('@aws-sdk/lib-dynamodb');
    do {
      const res = await this.table.doc.send(
        new ScanCommand({
          TableName: this.table.tableName,
          FilterExpression: 'sk = :init',
          ExpressionAttributeValues: { ':init': SK.init },
          ProjectionExpression: 'pk',
          ExclusiveStartKey: start,
        }),
      );
      for (const item of res.Items ?? []) out.push(String(item.pk).slice(2));
      start = res.LastEvaluatedKey;
    } while (start);
    return out;
  }
}
