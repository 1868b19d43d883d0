/** The local AWS runtime: the real handlers on the embedded emulators, with workers polling the queues (no Docker, no account). */
import type { BroadcastSignalsCaller, CallLlm, StepCaptureOptions, ToolsRegistry } from '@soe/core';
import type { DynamoBackends } from '../create-dynamo-backends.js';
import { createDeadLetterHandler, type DeadLetterHandler } from '../dead-letter-handler.js';
import { DEFAULT_MAX_RECEIVE_COUNT } from '../env-contract.js';
import { SimulatedCrashError } from '../errors.js';
import { type CancelResult, cancelExecution, checkSignalRequest, type RedriveResult, redriveExecution } from '../execution-control.js';
import { type ExecutionStatus, getExecutionStatus } from '../execution-status.js';
import { createRuntimeServices, type RuntimeServices, type SoeLogger } from '../runtime-services.js';
import { createSignalSender, type SendOptions } from '../signal-sender.js';
import { createWorkerHandler, type WorkerHandler } from '../worker-handler.js';
import { type ChaosOptions, createChaos } from './chaos.js';
import { InvocationScopes } from './invocation-scope.js';
import { type LocalEmulators, startLocalEmulators } from './local-emulators.js';
import type { RequestCounter } from './request-counter.js';
import { LocalSqsEventSource } from './sqs-event-source.js';

/** Options of {@link createLocalRuntime}. */
export interface LocalRuntimeOptions {
  callLlm?: CallLlm;
  toolsRegistry?: ToolsRegistry;
  /** How step I/O is capped and redacted in telemetry. */
  capture?: StepCaptureOptions;
  /** Fault injection: duplicate deliveries and worker deaths right after a commit. */
  chaos?: ChaosOptions;
  /** Where the worker logs. @default a recorder in {@link LocalRuntime.logs}; `SOE_LOG_LEVEL=debug|info|warn|error` also prints to stderr */
  logger?: SoeLogger;
  /** Redrive to the dead-letter queue after this many receives. @default 5 */
  maxReceiveCount?: number;
  /** Concurrent pollers ("Lambda instances"). @default 4 */
  concurrency?: number;
  /** Router-only broadcasts one invocation may follow (0: every broadcast is an SQS hop). @default 50 */
  followRouters?: number;
  /** Seconds before a failed message comes back. @default 0 on the first failure, then 1 */
  backoffSeconds?: (receiveCount: number) => number;
  /** Counts the requests of both clients (for the benchmark). */
  requestCounter?: RequestCounter;
  /** Write telemetry events from the worker. @default true */
  telemetry?: boolean;
  /**
   * The worker's function timeout, enforced as Lambda does: an invocation still running then is killed
   * (abandoned, and every later call it makes is refused); its batch is not deleted and comes back after
   * the queues' visibility timeout, 6 × this timeout as AWS recommends. Nodes get a deadline below it.
   * @default 900000 (Lambda's maximum), with a 30 s visibility timeout
   */
  workerTimeoutMs?: number;
  /** SQS's per-message delay cap; longer `spawn_interval` delays are chained. Lower it to see chains in tests. @default 900 */
  maxDelaySeconds?: number;
  /** Days every item an execution writes is kept (the `ttl` attribute); unset: no TTL but telemetry's. */
  executionRetentionDays?: number;
}

/** One log line of the local worker. */
export interface LocalLogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  [key: string]: unknown;
}

/** The result of {@link LocalRuntime.waitForIdle}. */
export interface IdleResult {
  status: 'idle' | 'failed' | 'cancelled';
  error?: string;
}

/** The serverless runtime, running in this process against embedded emulators. */
export interface LocalRuntime {
  /** DynamoDB-backed backends. */
  backends: DynamoBackends;
  /** Sends signals through SQS; the in-process workers consume them. */
  broadcastSignalsCaller: BroadcastSignalsCaller;
  /** Resolves when the execution and its children have no broadcast in flight, or one failed. */
  waitForIdle(executionId: string, timeoutMs?: number): Promise<IdleResult>;
  /** The execution's status right now. */
  status(executionId: string): Promise<ExecutionStatus>;
  /**
   * Sends signals as the signal function does: refused (nothing sent) for a FAILED or CANCELLED
   * execution and for signals no node listens to; `signalId` makes a repeated send apply once.
   */
  signal(executionId: string, signals: string[], opts?: SendOptions): Promise<string>;
  /** Cancels the execution and its children (the signal function's `cancel`). */
  cancel(executionId: string): Promise<CancelResult>;
  /** Re-sends the failed broadcast(s) of a FAILED execution and clears FAILED (the signal function's `redrive`). */
  redrive(executionId: string, redriveId?: string): Promise<RedriveResult>;
  /** Stops the pollers and the emulators. */
  close(): Promise<void>;
  /** The emulators, clients, table and queues. */
  emulators: LocalEmulators;
  /** The real worker handler the pollers invoke. */
  worker: WorkerHandler;
  /** Shared handler services (backends, clients, logger). */
  services: RuntimeServices;
  /** What the worker logged (with the default logger). */
  logs: LocalLogEntry[];
  /** Faults injected so far. */
  chaosStats: { duplicates: number; crashes: number };
  /** The dead-letter consumer the runtime runs on both dead-letter queues. */
  deadLetter: DeadLetterHandler;
  /** Invocations killed at `workerTimeoutMs`, or abandoned by `close()`, so far. */
  killedInvocations: number;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
const MAX_LOGS = 10_000;

/** A logger that keeps entries in memory and prints those at or above SOE_LOG_LEVEL to stderr. */
function recordingLogger(entries: LocalLogEntry[]): SoeLogger {
  const threshold = LEVELS.indexOf((process.env.SOE_LOG_LEVEL ?? '') as (typeof LEVELS)[number]);
  const log =
    (level: LocalLogEntry['level']) =>
    (message: string, ...extra: Array<Record<string, unknown>>) => {
      const entry: LocalLogEntry = { ...Object.assign({}, ...extra), level, message };
      if (entries.length >= MAX_LOGS) entries.shift();
      entries.push(entry);
      if (threshold >= 0 && LEVELS.indexOf(level) >= threshold) process.stderr.write(`${JSON.stringify(entry)}\n`);
    };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/**
 * Starts the serverless runtime on one machine: dynalite and fauxqs on free loopback ports, a table,
 * a signal queue with its dead-letter queue, and the real worker handler behind pollers that behave
 * like the Lambda SQS event source. Use it with `orchestrate` from `@soe/core` exactly as in process;
 * `orchestrate` resolves once the initial signals are sent, `waitForIdle` when the run settled.
 * @example
 * const runtime = await createLocalRuntime({ toolsRegistry });
 * const id = await orchestrate({ config, initialWorkflowName: 'main', initialSignals: ['START'], backends: runtime.backends, broadcastSignalsCaller: runtime.broadcastSignalsCaller });
 * const { status } = await runtime.waitForIdle(id);
 * await runtime.close();
 */
export async function createLocalRuntime(opts: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const workerTimeoutMs = opts.workerTimeoutMs;
  if (workerTimeoutMs !== undefined && !(Number.isFinite(workerTimeoutMs) && workerTimeoutMs > 0)) {
    throw new RangeError(`createLocalRuntime: workerTimeoutMs must be a positive number of milliseconds, got ${workerTimeoutMs}`);
  }
  const emulators = await startLocalEmulators({
    maxReceiveCount: opts.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT,
    // As AWS recommends for an SQS event source: six times the function timeout.
    ...(workerTimeoutMs !== undefined ? { visibilityTimeoutSeconds: Math.max(1, Math.ceil((6 * workerTimeoutMs) / 1000)) } : {}),
  });
  // Every invocation runs in a scope; a killed one can make no further call on either client.
  const scopes = new InvocationScopes();
  scopes.guard(emulators.dynamo);
  scopes.guard(emulators.sqs);
  if (opts.requestCounter) {
    opts.requestCounter.attach(emulators.dynamo);
    opts.requestCounter.attach(emulators.sqs);
  }
  const logs: LocalLogEntry[] = [];
  const logger = opts.logger ?? recordingLogger(logs);
  const chaos = createChaos(opts.chaos);
  const deps = {
    dynamo: emulators.dynamo,
    sqs: emulators.sqs,
    tableName: emulators.tableName,
    queueUrl: emulators.queueUrl,
    delayQueueUrl: emulators.delayQueueUrl,
    callLlm: opts.callLlm,
    toolsRegistry: opts.toolsRegistry,
    capture: opts.capture,
    logger,
    ...(opts.maxDelaySeconds ? { maxDelaySeconds: opts.maxDelaySeconds } : {}),
    executionRetentionDays: opts.executionRetentionDays,
  };
  const worker = createWorkerHandler({
    ...deps,
    maxReceiveCount: emulators.maxReceiveCount,
    followRouters: opts.followRouters,
    telemetry: opts.telemetry,
    backoffSeconds: opts.backoffSeconds ?? ((n) => (n <= 1 ? 0 : 1)),
    hooks: opts.chaos
      ? {
          afterCommit: () => {
            if (chaos.crashAfterCommit()) throw new SimulatedCrashError();
          },
        }
      : undefined,
  });
  const services = createRuntimeServices(deps, 'soe-local');
  const deadLetter = createDeadLetterHandler({ ...deps, maxReceiveCount: emulators.maxReceiveCount });
  const onError = (e: unknown) => logger.warn('local event source error', { error: e instanceof Error ? e.message : String(e) });
  const stats = { killed: 0 };
  const onKilled = (info: { messageIds: string[]; timeoutMs: number; reason: 'timeout' | 'closed' }) => {
    stats.killed++;
    if (info.reason === 'closed') logger.warn('worker invocation abandoned: the runtime closed while it ran', info);
    else logger.error('worker invocation killed: it ran past the function timeout; its batch returns after the visibility timeout', info);
  };
  const lambda = { scopes, onKilled, timeoutMs: workerTimeoutMs ?? 900_000, onError };
  const sources = [
    new LocalSqsEventSource({
      sqs: emulators.sqs,
      queueUrl: emulators.queueUrl,
      handler: worker,
      concurrency: opts.concurrency ?? 4,
      chaos,
      ...lambda,
    }),
    new LocalSqsEventSource({ sqs: emulators.sqs, queueUrl: emulators.delayQueueUrl, handler: worker, concurrency: 1, ...lambda }),
    // The dead-letter consumers, as deployed: nothing reaches a dead-letter queue silently.
    new LocalSqsEventSource({ sqs: emulators.sqs, queueUrl: emulators.dlqUrl, handler: deadLetter, concurrency: 1, ...lambda }),
    new LocalSqsEventSource({ sqs: emulators.sqs, queueUrl: emulators.delayDlqUrl, handler: deadLetter, concurrency: 1, ...lambda }),
  ];
  for (const s of sources) s.start();
  let closed = false;

  const status = (executionId: string) => getExecutionStatus(services.backends.table, executionId);

  const sender = createSignalSender(services);
  return {
    backends: services.backends,
    broadcastSignalsCaller: sender,
    status,
    async signal(executionId, signals, sendOpts) {
      await checkSignalRequest(services.backends.table, executionId, signals);
      return sender.sendWithId(executionId, signals, sendOpts);
    },
    cancel: (executionId) => cancelExecution(services, executionId),
    redrive: (executionId, redriveId) => redriveExecution(services, executionId, redriveId),
    async waitForIdle(executionId, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let idleSeen = 0;
      for (;;) {
        const s = await status(executionId);
        if (s.status === 'FAILED') return { status: 'failed', error: s.error };
        if (s.status === 'CANCELLED') return { status: 'cancelled', error: `CancelledError: execution '${executionId}' was cancelled` };
        if (s.status === 'NOT_FOUND')
          return { status: 'failed', error: `OperationalValidationError: execution '${executionId}' not found` };
        // Two idle readings in a row: a reader that pages through partitions while a worker commits
        // cannot mistake a moment between two records for the end of the run.
        if (s.status === 'IDLE' && ++idleSeen >= 2) return { status: 'idle' };
        if (s.status !== 'IDLE') idleSeen = 0;
        if (Date.now() > deadline) {
          return {
            status: 'failed',
            error: `TimeoutError: execution '${executionId}' still has ${s.inFlight} broadcast(s) in flight after ${timeoutMs} ms`,
          };
        }
        await new Promise((r) => setTimeout(r, idleSeen ? 5 : 15));
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(sources.map((s) => s.stop()));
      // Requests an abandoned invocation had already sent complete first: the emulators answer them.
      await scopes.settled();
      await emulators.close();
    },
    emulators,
    worker,
    services,
    logs,
    chaosStats: chaos.stats,
    deadLetter,
    get killedInvocations() {
      return stats.killed;
    },
  };
}
