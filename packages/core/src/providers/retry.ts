/**
 * The retry policy shared by the model providers: one timeout per attempt (AbortController), a few
 * attempts with exponential backoff and full jitter on throttling, 5xx and network failures, then a
 * {@link TransientError} so the runtime's own retry (SQS redelivery with backoff) takes over. A
 * permanent failure ({@link ModelProviderError}: bad key, unknown model, bad request) is thrown at once.
 */
import { isPermanentModelError, TransientError } from '../errors.js';

/** Time one attempt may take before it is aborted and counted as transient. */
export const DEFAULT_MODEL_TIMEOUT_MS = 60_000;
/** Attempts per model call (the first one included). */
export const DEFAULT_MODEL_MAX_ATTEMPTS = 4;
/** Backoff before the second attempt (the cap of its jitter); it doubles with each attempt. */
export const DEFAULT_MODEL_BASE_DELAY_MS = 500;
/** Upper bound of one backoff delay, a `Retry-After` header included. */
export const DEFAULT_MODEL_MAX_DELAY_MS = 20_000;

/** How a provider call is retried. Every field is optional; the defaults suit a Lambda worker. */
export interface RetryPolicy {
  /** Attempts per call, the first included (>= 1). @default 4 */
  maxAttempts?: number;
  /** Time limit of one attempt, in ms. @default 60000 */
  timeoutMs?: number;
  /** Backoff cap before the second attempt, doubled for each later one. @default 500 */
  baseDelayMs?: number;
  /** Upper bound of one backoff delay. @default 20000 */
  maxDelayMs?: number;
  /**
   * Stop retrying once this much time has passed since the first attempt began (the last error is
   * then thrown as a TransientError). Set it below the worker Lambda's timeout. @default no limit
   */
  maxElapsedMs?: number;
  /** Random source in [0, 1) for the jitter (tests pin it). @default Math.random */
  random?: () => number;
}

/** What a provider says about one failed attempt. */
export interface AttemptFailure {
  /** True when a later attempt may succeed (throttling, 5xx, network, timeout). */
  retryable: boolean;
  /** For a permanent failure: the error to throw (normally a ModelProviderError). */
  error?: Error;
  /** The provider asked to wait this long (`Retry-After`). */
  retryAfterMs?: number;
  /** A short description for the final TransientError (`HTTP 429: rate limited`). */
  reason?: string;
}

/** One call under the retry policy. */
export interface RetryCall<T> {
  /** `openai`, `bedrock`: the prefix of error messages. */
  provider: string;
  /** What is being called, for messages: `model 'gpt-4o-mini' at https://…`. */
  target: string;
  policy?: RetryPolicy;
  /** Cancels the whole call (every attempt and the backoff). */
  signal?: AbortSignal;
  /** One attempt. Must honour `signal`: it is aborted when the attempt times out. */
  attempt: (signal: AbortSignal, attemptNumber: number) => Promise<T>;
  /** Sorts an error thrown by `attempt`. A thrown ModelProviderError is permanent without asking. */
  classify: (err: unknown) => AttemptFailure;
  /** Called after each failed attempt that will be retried (logging, tests). */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

/** The delay before attempt `attempt + 1`: full jitter over an exponential cap, at least `Retry-After`. */
export function backoffDelayMs(attempt: number, policy: RetryPolicy = {}, retryAfterMs?: number): number {
  const base = policy.baseDelayMs ?? DEFAULT_MODEL_BASE_DELAY_MS;
  const max = policy.maxDelayMs ?? DEFAULT_MODEL_MAX_DELAY_MS;
  const cap = Math.min(max, base * 2 ** (attempt - 1));
  const jittered = Math.floor((policy.random ?? Math.random)() * cap);
  return Math.min(max, Math.max(jittered, retryAfterMs ?? 0));
}

/** Thrown into an attempt's signal when its time is up, so the attempt's own error can be recognised. */
class AttemptTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
    this.name = 'AttemptTimeout';
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Runs `call.attempt` under the policy: each attempt gets its own timeout; retryable failures are
 * retried with backoff; a permanent one is thrown as is; when attempts (or `maxElapsedMs`) run out the
 * last failure is thrown as a {@link TransientError}, which the runtime retries through the queue.
 * @example
 * const body = await withRetries({
 *   provider: 'openai', target: `model '${model}'`,
 *   attempt: (signal) => fetch(url, { signal }).then((r) => r.json()),
 *   classify: () => ({ retryable: true }),
 * });
 */
export async function withRetries<T>(call: RetryCall<T>): Promise<T> {
  const policy = call.policy ?? {};
  const maxAttempts = Math.max(1, Math.floor(policy.maxAttempts ?? DEFAULT_MODEL_MAX_ATTEMPTS));
  const timeoutMs = policy.timeoutMs ?? DEFAULT_MODEL_TIMEOUT_MS;
  const started = Date.now();
  let lastReason = '';
  let lastError: unknown;
  for (let attempt = 1; ; attempt++) {
    call.signal?.throwIfAborted();
    const controller = new AbortController();
    const timeout = new AttemptTimeout(timeoutMs);
    const timer = setTimeout(() => controller.abort(timeout), timeoutMs);
    const onOuterAbort = () => controller.abort(call.signal?.reason);
    call.signal?.addEventListener('abort', onOuterAbort, { once: true });
    let failure: AttemptFailure;
    try {
      return await call.attempt(controller.signal, attempt);
    } catch (err) {
      if (call.signal?.aborted) throw err;
      if (controller.signal.reason === timeout) {
        failure = { retryable: true, reason: timeout.message };
      } else if (isPermanentModelError(err)) {
        throw err;
      } else {
        failure = call.classify(err);
      }
      if (!failure.retryable) throw failure.error ?? err;
      lastError = err;
      lastReason = failure.reason ?? messageOf(err);
    } finally {
      clearTimeout(timer);
      call.signal?.removeEventListener('abort', onOuterAbort);
    }
    const delayMs = backoffDelayMs(attempt, policy, failure.retryAfterMs);
    const outOfTime = policy.maxElapsedMs !== undefined && Date.now() - started + delayMs + timeoutMs > policy.maxElapsedMs;
    if (attempt >= maxAttempts || outOfTime) {
      // `attempts` tells the node how many requests this call spent, so they count against its retries.
      throw Object.assign(
        new TransientError(
          `${call.provider}: ${call.target} failed ${attempt} time${attempt === 1 ? '' : 's'}` +
            `${outOfTime && attempt < maxAttempts ? ' (out of time for another attempt)' : ''}; last error: ${lastReason}`,
          { cause: lastError },
        ),
        { attempts: attempt },
      );
    }
    call.onRetry?.({ attempt, delayMs, reason: lastReason });
    await sleep(delayMs, call.signal);
  }
}

/**
 * Parses a `Retry-After` (seconds or an HTTP date) or `retry-after-ms` header into milliseconds.
 * Returns undefined when absent or unreadable.
 */
export function parseRetryAfterMs(headers: { get(name: string): string | null }, now = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers.get('retry-after');
  if (!value) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.max(0, Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
