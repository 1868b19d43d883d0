/** Where `soe ui` reads runs from and sends actions to: a file runtime, a local-aws run, or a deployed stack. */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Backends, type BroadcastSignalsCaller, cancelExecution, createLocalBackends, type TelemetryEvent } from '@soe/core';
import { childrenOf, collectExecution, type TaggedEvent } from '../local/collect-execution.js';
import { loadRunRecord } from '../local/run-record.js';
import type { RemoteOptions } from '../remote/remote-options.js';
import { type RemoteStatus, SoeRemote } from '../remote/soe-remote.js';
import { distPath } from './dist-path.js';
import { type ExecutionFacts, type ExecutionPart, partOf } from './execution-view.js';

/** Where the UI reads executions from and sends its actions to. */
export interface UiSource {
  /** Shown in the page header (`file:.soe-data`, `local-aws`, `stack`). */
  readonly label: string;
  /** Main executions to list on the home page (newest first is up to the caller). */
  listExecutionIds(): Promise<string[]>;
  /** What is known of an execution tree; undefined when the runtime has no such execution. */
  read(executionId: string): Promise<ExecutionFacts | undefined>;
  /** Sends signals (refused by the runtime when they are not awaited); resolves with a short report. */
  signal?(executionId: string, signals: string[]): Promise<string>;
  cancel?(executionId: string): Promise<string>;
  redrive?(executionId: string): Promise<string>;
}

const execFileAsync = promisify(execFile);
const BIN = distPath('bin.js');

/** Reads an execution tree from backends: contexts, events and the stored config. */
async function readFromBackends(backends: Backends, executionId: string): Promise<Omit<ExecutionFacts, 'actions'> | undefined> {
  const collected = await collectExecution(backends, executionId);
  if (!collected.context?.__operational__ && collected.events.length === 0) return undefined;
  const parts: ExecutionPart[] = [];
  for (const { executionId: id, context } of collected.executions) {
    const name = await backends.workflow.getCurrentWorkflowName(id).catch(() => undefined);
    parts.push(partOf(id, context, name ?? undefined));
  }
  const registry = await backends.workflow.getWorkflowsRegistry(executionId).catch(() => undefined);
  return { executionId, parts, events: collected.events, ...(registry ? { registry: registry as Record<string, unknown> } : {}) };
}

/**
 * A file runtime (`--runtime file:DIR`). Every read opens the directory afresh, so runs that another
 * process (`soe run`, `soe send`) writes show up as they happen. Signals go through `soe send`, which
 * reloads the tools and model the run was started with.
 */
export class FileUiSource implements UiSource {
  readonly label: string;
  constructor(
    private readonly dir: string,
    label?: string,
  ) {
    this.label = label ?? `file:${dir}`;
  }

  async listExecutionIds(): Promise<string[]> {
    let files: string[];
    try {
      files = await readdir(join(this.dir, 'contexts'));
    } catch {
      return [];
    }
    const ids = files.filter((f) => f.endsWith('.json')).map((f) => decodeURIComponent(f.slice(0, -'.json'.length)));
    const backends = createLocalBackends(this.dir);
    const main: string[] = [];
    for (const id of ids) {
      const ctx = await backends.context.getContext(id).catch(() => undefined);
      if (ctx?.__operational__ && !ctx.__parent__) main.push(id);
    }
    return main;
  }

  async read(executionId: string): Promise<ExecutionFacts | undefined> {
    const facts = await readFromBackends(createLocalBackends(this.dir), executionId);
    if (!facts) return undefined;
    const record = await loadRunRecord(this.dir, executionId);
    return { ...facts, actions: { signal: record !== undefined, cancel: true, redrive: false } };
  }

  async signal(executionId: string, signals: string[]): Promise<string> {
    try {
      const { stdout } = await execFileAsync(
        process.execPath,
        // The id after `--`: one that starts with '-' is an id, never an option.
        [
          BIN,
          'send',
          '--signals',
          signals.join(','),
          '--runtime',
          `file:${this.dir}`,
          '--json',
          '--quiet',
          '--no-color',
          '--',
          executionId,
        ],
        { maxBuffer: 64 * 1024 * 1024 },
      );
      const out = JSON.parse(stdout) as { status?: string; error?: string };
      return `sent ${signals.join(', ')}: ${out.status ?? 'done'}${out.error ? ` (${out.error})` : ''}`;
    } catch (e) {
      const err = e as { stderr?: string; stdout?: string; message?: string };
      throw new Error((err.stderr || err.stdout || err.message || String(e)).trim());
    }
  }

  async cancel(executionId: string): Promise<string> {
    const n = await cancelExecution(createLocalBackends(this.dir), executionId);
    return n ? `cancelled ${n} execution(s)` : 'already cancelled';
  }
}

/**
 * Any backends the caller holds open, e.g. the local AWS runtime's (its state lives only in the process
 * that runs it, so the UI is served from that process). Executions are those `ids()` names.
 */
export class BackendsUiSource implements UiSource {
  constructor(
    readonly label: string,
    private readonly backends: Backends,
    private readonly ids: () => string[] | Promise<string[]>,
    private readonly caller?: BroadcastSignalsCaller,
  ) {}

  async listExecutionIds(): Promise<string[]> {
    return [...(await this.ids())];
  }

  async read(executionId: string): Promise<ExecutionFacts | undefined> {
    const facts = await readFromBackends(this.backends, executionId);
    return facts && { ...facts, actions: { signal: this.caller !== undefined, cancel: true, redrive: false } };
  }

  async signal(executionId: string, signals: string[]): Promise<string> {
    if (!this.caller) throw new Error('this runtime takes no signals from the UI');
    await this.caller(executionId, signals);
    return `sent ${signals.join(', ')}`;
  }

  async cancel(executionId: string): Promise<string> {
    const n = await cancelExecution(this.backends, executionId);
    return n ? `cancelled ${n} execution(s)` : 'already cancelled';
  }
}

/**
 * A deployed stack, read through its status function (context with histories and events, children
 * followed through `child_started`) and driven through its signal function. The stack has no listing
 * request, so the home page lists the ids given on the command line and those opened since.
 */
export class RemoteUiSource implements UiSource {
  readonly label = 'deployed stack';
  private readonly remote: SoeRemote;
  private readonly known: Set<string>;

  constructor(
    opts: RemoteOptions,
    ids: readonly string[],
    private readonly registry?: Record<string, unknown>,
  ) {
    this.remote = new SoeRemote(opts);
    this.known = new Set(ids);
  }

  async listExecutionIds(): Promise<string[]> {
    return [...this.known];
  }

  async read(executionId: string): Promise<ExecutionFacts | undefined> {
    const parts: ExecutionPart[] = [];
    const events: Array<{ event: TaggedEvent; order: number }> = [];
    let main: RemoteStatus | undefined;
    const seen = new Set<string>();
    for (let queue = [executionId]; queue.length; ) {
      const id = queue.shift()!;
      if (seen.has(id)) continue;
      seen.add(id);
      const s = await this.remote.statusAll(id, { includeContext: true, history: true, events: true });
      if (s.status === 'NOT_FOUND') {
        if (id === executionId) return undefined;
        continue;
      }
      main ??= s;
      parts.push(partOf(id, s.context ?? {}));
      const got: TelemetryEvent[] = s.events ?? [];
      for (const e of got) events.push({ event: { ...e, execution_id: id }, order: events.length });
      queue.push(...childrenOf(got));
    }
    this.known.add(executionId);
    const t = (e: TelemetryEvent) => (typeof e.timestamp === 'number' ? e.timestamp : Date.parse(String(e.timestamp)));
    events.sort((a, b) => t(a.event) - t(b.event) || a.order - b.order);
    const status = main!.status === 'NOT_FOUND' ? 'IDLE' : main!.status;
    return {
      executionId,
      parts,
      events: events.map((e) => e.event),
      ...(this.registry ? { registry: this.registry } : {}),
      reported: { status, ...(main!.error ? { error: main!.error } : {}), ...(main!.failedNode ? { failedNode: main!.failedNode } : {}) },
      actions: { signal: true, cancel: true, redrive: true },
    };
  }

  async signal(executionId: string, signals: string[]): Promise<string> {
    const id = await this.remote.signal(executionId, signals);
    return `sent ${signals.join(', ')}${id ? ` (broadcast ${id})` : ''}`;
  }

  async cancel(executionId: string): Promise<string> {
    const n = await this.remote.cancel(executionId);
    return n ? `cancelled ${n} execution(s)` : 'already cancelled';
  }

  async redrive(executionId: string): Promise<string> {
    const r = await this.remote.redrive(executionId, randomUUID());
    return r.map((x) => `redriven ${x.signals.join(', ')} in ${x.executionId}`).join('; ') || 'nothing to redrive';
  }
}
