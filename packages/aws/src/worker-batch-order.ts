/**
 * Batch ordering of the worker: records of one FIFO message group (one execution) run one after
 * another, in the order SQS delivered them; different groups run in parallel. After a record of a
 * group fails (or is handed back), the rest of that group is not processed: each is failed at once, so
 * the group keeps its order when SQS delivers it again — what Lambda expects of FIFO batches.
 */
import type { SQSRecord } from 'aws-lambda';

/** Thrown for a record not processed because an earlier record of its group did not complete. */
export class GroupBlockedError extends Error {
  readonly group: string;
  constructor(group: string) {
    super(`not processed: an earlier message of group ${group} did not complete in this invocation`);
    this.name = 'GroupBlockedError';
    this.group = group;
  }
}

/** Runs the records of one batch in group order. One instance per invocation. */
export class GroupOrderedBatch {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly blocked = new Set<string>();

  /**
   * @param handle processes one record; a rejection fails it (and blocks the rest of its group)
   * @param onBlocked called for each record skipped because its group is blocked, before it is failed
   *   (the redelivery policy makes it visible again at once)
   */
  constructor(
    private readonly handle: (record: SQSRecord) => Promise<void>,
    private readonly onBlocked: (record: SQSRecord, error: GroupBlockedError) => Promise<void>,
  ) {}

  /** Processes a record after the earlier records of its group; records without a group run at once. */
  run(record: SQSRecord): Promise<void> {
    const group = record.attributes?.MessageGroupId;
    if (!group) return this.handle(record);
    const run = (this.chains.get(group) ?? Promise.resolve()).then(async () => {
      if (this.blocked.has(group)) {
        const error = new GroupBlockedError(group);
        await this.onBlocked(record, error);
        throw error;
      }
      try {
        await this.handle(record);
      } catch (e) {
        this.blocked.add(group);
        throw e;
      }
    });
    this.chains.set(
      group,
      run.catch(() => undefined),
    );
    return run;
  }
}
