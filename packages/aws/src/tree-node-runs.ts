/**
 * `limits.max_node_runs` per execution tree on DynamoDB: the node runs of the main execution (once it
 * has children) and of all its descendants are counted on one item of the main execution's partition
 * (`N#TREE`, attribute `n`).
 *
 * Cost stays flat: an execution outside any tree never touches the item. An execution in a tree adds
 * the runs one worker invocation made with ONE UpdateItem ADD when the invocation ends, which returns
 * the new total; the state cache keeps that total for the execution's next invocation, so a warm
 * invocation reads nothing (a cold one reads the item once, when its first node is about to run).
 * Within an invocation the count is the total it started from plus the runs it made.
 *
 * What this allows: concurrent invocations of the tree do not see each other's runs until they end,
 * so the tree may overshoot the limit by at most the runs those invocations make: concurrent
 * invocations × (1 + their follow budget) nodes (`followNodes`, 100 by default). A worker that dies
 * after a commit but before its ADD leaves those runs uncounted (the redelivery skips them).
 */
import type { SoeTable } from './soe-table.js';
import { executionPk, SK } from './table-keys.js';

/** The attribute of the `N#TREE` item that holds the count. */
const COUNT = 'n';

/** The node runs of one execution tree, as one worker invocation sees and adds to them. */
export class TreeNodeRunTally {
  /** The total when the invocation started (the last ADD's answer, or a read); undefined until needed. */
  private base: number | undefined;
  /** Runs this invocation added (or gave back) that are not written yet. */
  private pending = 0;

  constructor(
    private readonly table: SoeTable,
    readonly mainExecutionId: string,
    known: number | undefined,
  ) {
    this.base = known;
  }

  /** True when this invocation added to the count (it will write one ADD when it ends). */
  get touched(): boolean {
    return this.pending !== 0;
  }

  /** Adds `n` to the count (0 reads it) and resolves to the total this invocation sees. */
  async add(n: number): Promise<number> {
    if (this.base === undefined) {
      const item = await this.table.get(executionPk(this.mainExecutionId), SK.treeNodeRuns);
      this.base = Number(item?.[COUNT] ?? 0);
    }
    this.pending += n;
    return this.base + this.pending;
  }

  /** Writes what this invocation added with one UpdateItem ADD; resolves to the new total (undefined when nothing was added). */
  async flush(): Promise<number | undefined> {
    if (this.pending === 0) return undefined;
    const n = this.pending;
    this.pending = 0;
    this.base = await this.table.addToCounter(executionPk(this.mainExecutionId), SK.treeNodeRuns, COUNT, n);
    return this.base;
  }
}
