/** `soe trace`: prints an execution's telemetry as a trace. */
import { createLocalBackends, type TelemetryEvent } from '@soe/core';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { parseRuntime, requireExistingDir } from '../input/parse-runtime.js';
import { childrenOf, collectExecution, type TaggedEvent } from '../local/collect-execution.js';
import { formatDuration } from '../output/format-value.js';
import { styleFor } from '../output/style.js';
import { TraceFormatter } from '../output/trace-formatter.js';
import { writeOut } from '../output/write-out.js';
import { addRemoteOptions, REMOTE_HELP, type RemoteOptions } from '../remote/remote-options.js';
import { SoeRemote } from '../remote/soe-remote.js';

/** Flags of `soe trace`. */
export interface TraceOptions extends RemoteOptions {
  runtime?: string;
  json?: boolean;
  verbose?: boolean;
  color?: boolean;
}

const EXAMPLES = `
Examples:
  $ soe trace 6f1c… --runtime file:.soe-data            # an execution soe run/send kept on disk
  $ soe trace 6f1c… --runtime file:.soe-data --verbose  # every node start, model call and tool call
  $ soe trace 6f1c… --outputs cdk-outputs.json          # an execution on a deployed stack
  $ soe trace 6f1c… --runtime file:.soe-data --json     # the raw events, children's included

Lines are offsets from the first event: signals as they were broadcast, nodes as they completed (type,
duration, emitted signals, model and tool calls), failures, children as they started (indented, tagged
with their id). The memory and local-aws runtimes keep nothing after soe run exits: trace needs
--runtime file:DIR, or a deployed stack.
${REMOTE_HELP}`;

/** Registers `soe trace`. */
export function registerTraceCommand(program: Command): void {
  const cmd = program
    .command('trace')
    .summary("show an execution's timeline from its telemetry")
    .description("Show an execution's timeline (its children's included) from its telemetry, kept by a file runtime or a deployed stack.")
    .argument('<execution-id>', 'the execution to show')
    .option('-r, --runtime <runtime>', 'file:DIR: the state soe run --runtime file:DIR kept (omit for a deployed stack)')
    .option('--json', 'print the events as one JSON array (each with its execution_id)')
    .option('-v, --verbose', 'also node starts and every model and tool call');
  addRemoteOptions(cmd, ['status']).addHelpText('after', EXAMPLES);
  cmd.action(async (id: string, opts: TraceOptions, c: Command) => {
    process.exitCode = await traceCommand(id, { ...c.optsWithGlobals(), ...opts } as TraceOptions);
  });
}

/** `soe trace`: returns the exit code. */
export async function traceCommand(executionId: string, opts: TraceOptions): Promise<number> {
  const events = opts.runtime === undefined ? await remoteEvents(executionId, opts) : await localEvents(executionId, opts.runtime);
  if (opts.json) {
    await writeOut(`${JSON.stringify(events)}\n`);
    return 0;
  }
  const style = styleFor(process.stdout, opts.color !== false);
  const trace = new TraceFormatter({ style, timeline: true, verbose: opts.verbose }, executionId);
  const lines = events.flatMap((e) => trace.format(e.execution_id, e));
  const first = Date.parse(events[0]?.timestamp ?? '');
  const last = Date.parse(events[events.length - 1]?.timestamp ?? '');
  const executions = new Set(events.map((e) => e.execution_id)).size;
  lines.push(
    style.dim(
      `${events.length} events · ${executions} execution${executions === 1 ? '' : 's'}${Number.isFinite(first) && Number.isFinite(last) ? ` · ${formatDuration(last - first)} from first to last` : ''}`,
    ),
  );
  await writeOut(`${lines.join('\n')}\n`);
  return 0;
}

async function localEvents(executionId: string, runtime: string): Promise<TaggedEvent[]> {
  const spec = parseRuntime(runtime);
  if (spec.kind !== 'file') {
    throw new CliError(`soe trace cannot read an execution of the ${spec.kind} runtime: it keeps nothing after soe run exits`, {
      hint: 'run with --runtime file:DIR, then soe trace ID --runtime file:DIR (or soe run --json prints the events of the run itself)',
    });
  }
  requireExistingDir(spec);
  const backends = createLocalBackends(spec.dir);
  const collected = await collectExecution(backends, executionId);
  if (!collected.context.__operational__ && collected.events.length === 0) {
    throw new CliError(`execution '${executionId}' was not found in ${spec.dir}`, {
      hint: 'use the execution id soe run printed, with the same --runtime file:DIR it ran on',
    });
  }
  return collected.events;
}

async function remoteEvents(executionId: string, opts: TraceOptions): Promise<TaggedEvent[]> {
  const remote = new SoeRemote(opts);
  const out: Array<{ event: TaggedEvent; order: number }> = [];
  const seen = new Set<string>();
  for (let queue = [executionId]; queue.length; ) {
    const id = queue.shift()!;
    if (seen.has(id)) continue;
    seen.add(id);
    const s = await remote.statusAll(id, { events: true });
    if (s.status === 'NOT_FOUND') {
      if (id === executionId) {
        throw new CliError(`execution '${executionId}' was not found on the stack`, {
          hint: 'check the id, and that --outputs / --status-function point at the stack that ran it',
        });
      }
      continue;
    }
    const events: TelemetryEvent[] = s.events ?? [];
    for (const e of events) out.push({ event: { ...e, execution_id: id }, order: out.length });
    queue.push(...childrenOf(events));
  }
  out.sort((a, b) => Date.parse(a.event.timestamp) - Date.parse(b.event.timestamp) || a.order - b.order);
  return out.map((o) => o.event);
}
