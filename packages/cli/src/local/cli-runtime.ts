/** The runtimes `soe run` and `soe send` drive (memory, file:DIR, local AWS) behind one interface. */
import {
  type Backends,
  type BroadcastSignalsCaller,
  type CallLlm,
  createAllNodes,
  createInMemoryBackends,
  createLocalBackends,
  loadExecution,
  orchestrate,
  prepareExecution,
  type StepCaptureOptions,
  storeExecution,
  type ToolsRegistry,
} from '@soe/core';
import { CliError, messageOf } from '../errors.js';
import type { RuntimeSpec } from '../input/parse-runtime.js';
import { EventPoller } from './event-poller.js';
import { type TelemetryListener, TracingTelemetry } from './tracing-telemetry.js';

/** How a run ended: `completed` when nothing is left in flight (idle), `failed` with the error. */
export interface RunOutcome {
  executionId: string;
  status: 'completed' | 'failed';
  /** `ErrorName: message`, when failed. */
  error?: string;
}

/** What `soe run` starts. */
export interface StartRequest {
  config: string;
  workflow: string;
  signals: string[];
  context?: Record<string, unknown>;
}

/** A runtime `soe run` and `soe send` drive: memory, file:DIR or the local AWS runtime. */
export interface CliRuntime {
  readonly spec: RuntimeSpec;
  readonly backends: Backends;
  /** Stores and starts an execution; resolves when it settled. Rejects (storing nothing) on a bad config. */
  start(request: StartRequest, onStarted?: (executionId: string) => void): Promise<RunOutcome>;
  /** Sends signals to a stored execution; resolves when everything they caused settled. */
  send(executionId: string, signals: string[]): Promise<RunOutcome>;
  close(): Promise<void>;
}

/** Options of {@link openCliRuntime}. */
export interface CliRuntimeOptions {
  callLlm?: CallLlm;
  toolsRegistry?: ToolsRegistry;
  /** Receives every telemetry event as it happens (the live trace). */
  onEvent?: TelemetryListener;
  /** local-aws: how long to wait for a run to settle. @default 120 s */
  timeoutMs?: number;
  /** How step I/O is capped and redacted in telemetry. */
  capture?: StepCaptureOptions;
}

const errorText = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

/** Opens the runtime a `--runtime` flag names. */
export async function openCliRuntime(spec: RuntimeSpec, opts: CliRuntimeOptions = {}): Promise<CliRuntime> {
  if (spec.kind === 'local-aws') return openLocalAws(spec, opts);
  const base = spec.kind === 'file' ? openFileBackends(spec.dir) : createInMemoryBackends();
  const backends: Backends = opts.onEvent ? { ...base, telemetry: new TracingTelemetry(base.telemetry, opts.onEvent) } : base;
  const { broadcastSignalsCaller } = createAllNodes(backends, {
    callLlm: opts.callLlm,
    toolsRegistry: opts.toolsRegistry,
    capture: opts.capture,
  });
  const settle = async (executionId: string, signals: string[]): Promise<RunOutcome> => {
    try {
      await broadcastSignalsCaller(executionId, signals);
      return { executionId, status: 'completed' };
    } catch (e) {
      return { executionId, status: 'failed', error: errorText(e) };
    }
  };
  return {
    spec,
    backends,
    async start(request, onStarted) {
      // prepare + store + send, rather than orchestrate(): a failing node rejects the in-process
      // broadcast, and the execution id must still be known to report it.
      const prepared = await prepareExecution({
        config: request.config,
        initialWorkflowName: request.workflow,
        initialSignals: request.signals,
        initialContext: request.context,
        backends,
      });
      await storeExecution(backends, prepared);
      onStarted?.(prepared.executionId);
      return settle(prepared.executionId, prepared.initialSignals);
    },
    async send(executionId, signals) {
      await ensureExecution(backends, executionId, spec);
      return settle(executionId, signals);
    },
    async close() {},
  };
}

function openFileBackends(dir: string) {
  try {
    return createLocalBackends(dir);
  } catch (e) {
    throw new CliError(`cannot use '${dir}' as a file runtime: ${messageOf(e)}`, {
      hint: 'give a directory you can write to: --runtime file:.soe-data',
      cause: e,
    });
  }
}

async function ensureExecution(backends: Backends, executionId: string, spec: RuntimeSpec): Promise<void> {
  try {
    await loadExecution(backends, executionId);
  } catch (e) {
    const where = spec.kind === 'file' ? `in ${spec.dir}` : 'in this runtime';
    throw new CliError(`execution '${executionId}' was not found ${where}`, {
      hint: 'use the execution id soe run printed, with the same --runtime file:DIR it ran on',
      cause: e,
    });
  }
}

/**
 * The error of a local AWS runtime that could not start. A missing module (an install without the
 * emulators, which are dependencies of `@soe/aws`) is named with the command that installs it.
 */
export function localRuntimeError(e: unknown): CliError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const missing = /Cannot find (?:package|module) '([^']+)'/.exec(messageOf(e))?.[1];
  if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && missing) {
    return new CliError(`the local AWS runtime cannot start: the module '${missing}' is not installed`, {
      hint: 'install the AWS runtime with its emulators (npm install @soe/aws; it depends on dynalite and fauxqs), or use --runtime memory',
      cause: e,
    });
  }
  return new CliError(`the local AWS runtime cannot start: ${messageOf(e)}`, {
    hint: 'it runs DynamoDB and SQS emulators on 127.0.0.1 (dynalite, fauxqs); --runtime memory runs the same workflow without them',
    cause: e,
  });
}

async function openLocalAws(spec: RuntimeSpec, opts: CliRuntimeOptions): Promise<CliRuntime> {
  let runtime: import('@soe/aws/local').LocalRuntime;
  try {
    const local = await import('@soe/aws/local');
    runtime = await local.createLocalRuntime({ callLlm: opts.callLlm, toolsRegistry: opts.toolsRegistry, capture: opts.capture });
  } catch (e) {
    throw localRuntimeError(e);
  }
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const caller: BroadcastSignalsCaller = runtime.broadcastSignalsCaller;
  const settle = async (executionId: string): Promise<RunOutcome> => {
    const poller = opts.onEvent ? new EventPoller(runtime.backends.telemetry, opts.onEvent) : undefined;
    poller?.follow(executionId);
    try {
      const r = await runtime.waitForIdle(executionId, timeoutMs);
      return r.status === 'idle' ? { executionId, status: 'completed' } : { executionId, status: 'failed', error: r.error ?? 'failed' };
    } finally {
      await poller?.stop();
    }
  };
  return {
    spec,
    backends: runtime.backends,
    async start(request, onStarted) {
      const executionId = await orchestrate({
        config: request.config,
        initialWorkflowName: request.workflow,
        initialSignals: request.signals,
        initialContext: request.context,
        backends: runtime.backends,
        broadcastSignalsCaller: caller,
      });
      onStarted?.(executionId);
      return settle(executionId);
    },
    async send(executionId, signals) {
      await caller(executionId, signals);
      return settle(executionId);
    },
    close: () => runtime.close(),
  };
}
