/**
 * Time and run bounds of a node: its `timeout_seconds`, the runtime's deadline (on AWS, the worker
 * invocation's remaining time less a reserve) and the limit on node runs (per execution tree where the
 * backend counts trees, else per execution and its ancestors).
 *
 * Every tool and model call gets the node's `AbortSignal`; each call is also raced against it, and the
 * node's whole run is raced against it with a short grace, so a call that ignores the signal still ends.
 */
import { sumNodeRuns } from './backends/apply-update.js';
import { DeadlineExceededError, NodeTimeoutError } from './errors.js';
import type { NodeClock, NodeRun } from './nodes/types.js';

export type { NodeClock } from './nodes/types.js';

import type { ContextBackend, NodeConfig, StoredContext } from './types.js';

/** `timeout_seconds` of a tool node that sets none. */
export const DEFAULT_TOOL_TIMEOUT_SECONDS = 300;
/** Node runs an execution may make unless its config or start options say otherwise. */
export const DEFAULT_MAX_NODE_RUNS = 10_000;
/**
 * After the signal fires, calls that honour it (or that are raced against it) end within microtasks;
 * the node as a whole is abandoned this long after, whatever it is still awaiting.
 */
export const NODE_ABORT_GRACE_MS = 100;

/** The node's own time limit in seconds, if it has one (tools: 300 s unless set). */
export function nodeTimeoutSeconds(node: NodeConfig): number | undefined {
  if (typeof node.timeout_seconds === 'number' && node.timeout_seconds > 0) return node.timeout_seconds;
  return node.node_type === 'tool' ? DEFAULT_TOOL_TIMEOUT_SECONDS : undefined;
}

/** Node runs the execution has made so far, its ancestors' runs (up to its start) included. */
export function countedNodeRuns(context: StoredContext): number {
  const op = context.__operational__;
  return (op?.ancestor_node_runs ?? 0) + (op?.nodes ? sumNodeRuns(op.nodes) : 0);
}

/** The node runs counted against the limit before a node runs, and how they were counted. */
export interface NodeRunCount {
  /** Node runs counted before this one (of the execution and its ancestors, or of its whole tree). */
  counted: number;
  /**
   * Set when the runs are counted per execution tree: its main execution. This run is then already
   * added to the tree's counter; {@link giveBackNodeRun} takes it back when the node does not run.
   */
  treeOf?: string;
}

/**
 * Counts the node runs before this one against the limit. On a backend with a tree counter
 * (`addTreeNodeRuns`), a child execution (and a main execution that has started children) adds this
 * run to its tree's counter first, so concurrent runs of the tree never both take the last run left.
 * A main execution without children keeps the counter untouched and counts its own runs.
 */
export async function countNodeRunsBefore(backend: ContextBackend, executionId: string, context: StoredContext): Promise<NodeRunCount> {
  if (!backend.addTreeNodeRuns) return { counted: countedNodeRuns(context) };
  const main = mainExecutionOf(executionId, context);
  if (main === executionId && (await backend.addTreeNodeRuns(main, 0)) === 0) return { counted: countedNodeRuns(context) };
  return reserved(main, await backend.addTreeNodeRuns(main, 1));
}

/** {@link countNodeRunsBefore} with a synchronous tree counter (the built-in backends: see `directStore`). */
export function countNodeRunsNow(
  counter: { treeRuns(mainExecutionId: string, n: number): number },
  executionId: string,
  context: StoredContext,
): NodeRunCount {
  const main = mainExecutionOf(executionId, context);
  if (main === executionId && counter.treeRuns(main, 0) === 0) return { counted: countedNodeRuns(context) };
  return reserved(main, counter.treeRuns(main, 1));
}

/** The count once this run is added to its tree's counter, which now stands at `total`. */
const reserved = (main: string, total: number): NodeRunCount => ({ counted: total - 1, treeOf: main });

/** Takes back the run {@link countNodeRunsBefore} added to a tree's counter for a node that did not run. */
export async function giveBackNodeRun(backend: ContextBackend, count: NodeRunCount): Promise<void> {
  if (count.treeOf !== undefined) await backend.addTreeNodeRuns?.(count.treeOf, -1);
}

/**
 * Called when a main execution that had no children yet starts some: its runs so far (`runs`, this one
 * included) open its tree's counter, which from then on counts every run of the tree. If another run
 * opened it meanwhile, this one takes its addition back (the runs would be counted twice).
 */
export async function openTreeCounter(backend: ContextBackend, mainExecutionId: string, runs: number): Promise<void> {
  if (!backend.addTreeNodeRuns) return;
  const total = await backend.addTreeNodeRuns(mainExecutionId, runs);
  if (total !== runs) await backend.addTreeNodeRuns(mainExecutionId, -runs);
}

/** The main execution of an execution's tree (itself when it is the main one). */
export function mainExecutionOf(executionId: string, context: StoredContext): string {
  return context.__operational__?.main_execution_id ?? executionId;
}

/** The node-run limit that applies to an execution. */
export function nodeRunLimit(context: StoredContext, engineDefault?: number): number {
  return context.__operational__?.max_node_runs ?? engineDefault ?? DEFAULT_MAX_NODE_RUNS;
}

/** A signal that never fires (a node with no time limit). */
const NEVER = new AbortController().signal;

/** The clock of a node with no time limit (shared: it holds no timer and no promise). */
const UNBOUNDED: NodeClock = { signal: NEVER, reason: undefined, expired: undefined, backstop: undefined, dispose: () => undefined };

const ignore = () => undefined;

/** What a {@link TimedClock} holds once its signal or promises are asked for, or its time is up. */
interface ClockState {
  controller: AbortController | undefined;
  error: Error | undefined;
  graceOver: boolean;
  graceTimer: NodeJS.Timeout | undefined;
  expiredPromise: Promise<never> | undefined;
  rejectExpired: ((e: Error) => void) | undefined;
  backstopPromise: Promise<never> | undefined;
  rejectBackstop: ((e: Error) => void) | undefined;
}

const newState = (): ClockState => ({
  controller: undefined,
  error: undefined,
  graceOver: false,
  graceTimer: undefined,
  expiredPromise: undefined,
  rejectExpired: undefined,
  backstopPromise: undefined,
  rejectBackstop: undefined,
});

/**
 * The clock of a node with a time limit. Its signal and promises are made when first asked for, and
 * the shared {@link clockTimer} calls {@link expire} when its time is up: a node run that ends in time
 * costs this record and a slot in the timer's list, not a timer, two promises and their closures.
 */
class TimedClock implements NodeClock {
  /** Its place in the timer's list while it runs; -1 once removed. */
  slot = -1;
  private state: ClockState | undefined = undefined;

  constructor(
    /** Epoch ms at which the time is up. */
    readonly end: number,
    /** The run, named by the error when the time is up. */
    private readonly run: NodeRun,
    /** The node's `timeout_seconds` when that ends it, else undefined: the runtime's deadline does. */
    private readonly timeoutSeconds: number | undefined,
  ) {}

  private held(): ClockState {
    this.state ??= newState();
    return this.state;
  }

  get signal(): AbortSignal {
    const state = this.held();
    if (!state.controller) {
      state.controller = new AbortController();
      if (state.error) state.controller.abort(state.error);
    }
    return state.controller.signal;
  }

  get reason(): Error | undefined {
    return this.state?.error;
  }

  get expired(): Promise<never> {
    const state = this.held();
    if (!state.expiredPromise) {
      state.expiredPromise = state.error ? Promise.reject(state.error) : new Promise<never>((_, reject) => (state.rejectExpired = reject));
      // It may lose its race to the node: its rejection must not be reported as unhandled.
      state.expiredPromise.catch(ignore);
    }
    return state.expiredPromise;
  }

  get backstop(): Promise<never> {
    const state = this.held();
    if (!state.backstopPromise) {
      state.backstopPromise =
        state.error && state.graceOver ? Promise.reject(state.error) : new Promise<never>((_, reject) => (state.rejectBackstop = reject));
      state.backstopPromise.catch(ignore);
    }
    return state.backstopPromise;
  }

  /** Called by the shared timer when the time is up: aborts the signal, then the node after the grace. */
  expire(): void {
    const { workflowName, nodeName } = this.run;
    const err =
      this.timeoutSeconds !== undefined
        ? new NodeTimeoutError(workflowName, nodeName, this.timeoutSeconds)
        : new DeadlineExceededError(workflowName, nodeName);
    const state = this.held();
    state.error = err;
    state.controller?.abort(err);
    state.rejectExpired?.(err);
    state.graceTimer = setTimeout(() => {
      state.graceOver = true;
      state.rejectBackstop?.(err);
    }, NODE_ABORT_GRACE_MS);
  }

  dispose(): void {
    clockTimer.remove(this);
    if (this.state?.graceTimer) clearTimeout(this.state.graceTimer);
  }
}

/**
 * One timer for every running {@link TimedClock}, set for the earliest end. While no clock runs it
 * stays set but unreferenced (it does not keep the process alive), so a chain of short node runs sets
 * no timer at all; a running clock references it again, so a node that waits forever still ends.
 * The running clocks are a list, each holding its place in it: a set's table is made again as it
 * empties and fills, once per node run of a chain.
 */
class ClockTimer {
  private readonly clocks: TimedClock[] = [];
  private timer: NodeJS.Timeout | undefined;
  private at = Number.POSITIVE_INFINITY;

  add(clock: TimedClock): void {
    clock.slot = this.clocks.length;
    this.clocks.push(clock);
    // Overdue: its timer was lost (made under fake timers since restored, say): set a new one.
    if (clock.end < this.at || this.at <= Date.now()) this.schedule(Math.min(clock.end, this.earliest()));
    else if (this.clocks.length === 1) this.timer?.ref();
  }

  private earliest(): number {
    let end = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.clocks.length; i++) if (this.clocks[i]!.end < end) end = this.clocks[i]!.end;
    return end;
  }

  remove(clock: TimedClock): void {
    if (clock.slot < 0) return;
    // The last clock takes the removed one's place.
    const last = this.clocks.pop()!;
    if (last !== clock) {
      this.clocks[clock.slot] = last;
      last.slot = clock.slot;
    }
    clock.slot = -1;
    if (this.clocks.length === 0) this.timer?.unref();
  }

  private schedule(at: number): void {
    if (this.timer) {
      // Unreferenced first: a timer another timer implementation cannot clear then never holds the process.
      this.timer.unref?.();
      clearTimeout(this.timer);
    }
    this.at = at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - Date.now()));
  }

  /** Expires every clock whose time is up, then sets the timer for the next one. */
  private fire(): void {
    this.timer = undefined;
    this.at = Number.POSITIVE_INFINITY;
    const now = Date.now();
    // Taken out first, then expired: expiring runs abort listeners, which may start or end clocks.
    const due = this.clocks.filter((clock) => clock.end <= now);
    for (const clock of due) this.remove(clock);
    for (const clock of due) clock.expire();
    const next = this.earliest();
    if (next !== Number.POSITIVE_INFINITY) this.schedule(next);
  }
}

const clockTimer = new ClockTimer();

/**
 * Starts the clock of a node run: whichever comes first of its `timeout_seconds` and `deadline`
 * (epoch ms) aborts the signal. A deadline already past throws DeadlineExceededError at once.
 */
export function startNodeClock(run: NodeRun, deadline: number | undefined): NodeClock {
  const timeoutS = nodeTimeoutSeconds(run.node);
  const now = Date.now();
  const byTimeout = timeoutS !== undefined ? now + timeoutS * 1000 : Number.POSITIVE_INFINITY;
  const byDeadline = deadline ?? Number.POSITIVE_INFINITY;
  if (byDeadline <= now) throw new DeadlineExceededError(run.workflowName, run.nodeName);
  const end = Math.min(byTimeout, byDeadline);
  if (!Number.isFinite(end)) return UNBOUNDED;
  const clock = new TimedClock(end, run, byTimeout <= byDeadline ? timeoutS : undefined);
  clockTimer.add(clock);
  return clock;
}

/**
 * Settles with `work`, or rejects with the clock's reason as soon as its time is up (the work is
 * abandoned). Races a promise rather than listening on the signal, so the signal is never made for it.
 */
export function raceClock<T>(work: Promise<T>, clock: NodeClock | undefined): Promise<T> {
  if (!clock?.expired) return work;
  if (clock.reason) {
    work.catch(ignore);
    return Promise.reject(clock.reason);
  }
  return Promise.race([work, clock.expired]);
}

/** Settles with `work`, or rejects with the signal's reason as soon as it fires (the work is abandoned). */
export function raceSignal<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  // The shared never-firing signal gets no listeners: calls that never settle would pile them up on it.
  if (!signal || signal === NEVER) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
