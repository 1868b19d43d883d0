/**
 * The worker's time budget, from the Lambda context. Lambda kills an invocation at its timeout, and a
 * killed batch comes back only after the queue's visibility timeout, whole. So the worker:
 *
 * - does not start a record when less than {@link TimeBudget.recordReserveMs} remains: the record is
 *   handed back with its visibility reset to 0 and returns at once, to a fresh invocation;
 * - gives every node a deadline of the remaining time less {@link TimeBudget.nodeReserveMs} (kept for
 *   committing, sending and answering): a node still running then fails with a retryable timeout error.
 */
import type { Context } from 'aws-lambda';

/** Reserves of the time budget, in ms. */
export interface TimeBudgetOptions {
  /** Time kept after the node deadline. @default 10% of the function timeout, between 200 ms and 10 s */
  nodeReserveMs?: number;
  /** A record starts only if at least this much remains. @default twice the node reserve */
  recordReserveMs?: number;
}

/** Thrown for a record handed back unstarted because the invocation's time is nearly up. */
export class TimeBudgetExhaustedError extends Error {
  constructor(remainingMs: number, reserveMs: number) {
    super(`not started: ${remainingMs} ms left in the invocation, less than the ${reserveMs} ms a record needs; handed back at once`);
    this.name = 'TimeBudgetExhaustedError';
  }
}

/** Default node reserve for a function timeout. */
export function defaultNodeReserveMs(timeoutMs: number): number {
  return Math.min(10_000, Math.max(200, Math.round(timeoutMs * 0.1)));
}

/** The time budget of one invocation. Without a Lambda context (tests, direct calls) there is no limit. */
export class TimeBudget {
  readonly nodeReserveMs: number;
  readonly recordReserveMs: number;
  private readonly endsAt: number;

  constructor(context: Pick<Context, 'getRemainingTimeInMillis'> | undefined, opts: TimeBudgetOptions = {}, now = Date.now()) {
    const remaining = context?.getRemainingTimeInMillis ? context.getRemainingTimeInMillis() : Number.POSITIVE_INFINITY;
    this.endsAt = now + remaining;
    this.nodeReserveMs = opts.nodeReserveMs ?? (Number.isFinite(remaining) ? defaultNodeReserveMs(remaining) : 0);
    this.recordReserveMs = opts.recordReserveMs ?? 2 * this.nodeReserveMs;
  }

  /** Milliseconds left before Lambda ends the invocation. */
  remainingMs(now = Date.now()): number {
    return this.endsAt - now;
  }

  /** True while a record may start. */
  canStartRecord(now = Date.now()): boolean {
    return this.remainingMs(now) >= this.recordReserveMs;
  }

  /** Throws {@link TimeBudgetExhaustedError} when a record may not start. */
  checkRecordStart(now = Date.now()): void {
    if (!this.canStartRecord(now)) throw new TimeBudgetExhaustedError(Math.max(0, Math.round(this.remainingMs(now))), this.recordReserveMs);
  }

  /** The deadline (epoch ms) every node must end by, or undefined without a limit. */
  nodeDeadline(): number | undefined {
    return Number.isFinite(this.endsAt) ? this.endsAt - this.nodeReserveMs : undefined;
  }
}
