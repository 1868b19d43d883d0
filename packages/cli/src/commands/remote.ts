/** `soe start`, `soe status` and `soe wait` against a deployed stack. */
import type { Command } from 'commander';
import { CliError, UsageError } from '../errors.js';
import { loadWorkflowFile, pickWorkflow } from '../input/load-workflow-file.js';
import { parseContext } from '../input/parse-context.js';
import { parseSeconds } from '../input/parse-seconds.js';
import { parseSignals } from '../input/parse-signals.js';
import { exitCodeOf, renderRemoteStatus } from '../output/remote-report.js';
import { styleFor } from '../output/style.js';
import { writeErr, writeOut } from '../output/write-out.js';
import { addRemoteOptions, REMOTE_HELP, type RemoteOptions } from '../remote/remote-options.js';
import { type RemoteStartRequest, type RemoteStatus, SoeRemote } from '../remote/soe-remote.js';

/** Flags of `soe start`. */
export interface StartOptions extends RemoteOptions {
  deployed?: string;
  workflow?: string;
  signals?: string;
  context?: string;
  wait?: boolean;
  history?: boolean | string;
  timeout?: string;
  interval?: string;
  json?: boolean;
  color?: boolean;
}

/** Flags of `soe status` and `soe wait`. */
export interface StatusOptions extends RemoteOptions {
  context?: boolean;
  history?: boolean | string;
  events?: boolean;
  timeout?: string;
  interval?: string;
  json?: boolean;
  color?: boolean;
}

const START_EXAMPLES = `
Examples:
  $ soe start workflow.yaml --outputs cdk-outputs.json                      # prints the execution id
  $ soe start workflow.yaml --context '{"ticket": "…"}' --wait              # …then waits until it settles
  $ soe start --deployed support --workflow main --start-function my-stack-Start
  $ soe start workflow.yaml --endpoint http://localhost:4566 --start-function soe-start   # LocalStack

The file is validated here first (errors with file, line and column), then sent inline to the start function.
With --deployed NAME the start function runs a workflow file deployed with it instead (--workflow is then required).
${REMOTE_HELP}`;

const STATUS_EXAMPLES = `
Examples:
  $ soe status 6f1c… --outputs cdk-outputs.json
  $ soe status 6f1c… --context --json
  $ soe status 6f1c… --history draft,review --json   # every value the fields ever had
  $ soe status 6f1c… --status-function my-stack-Status --region eu-west-1

RUNNING while signals of the execution or its children are in flight, IDLE when none are (finished, or
waiting for a signal from outside), FAILED with the error and the node (soe redrive once the cause is fixed),
CANCELLED (soe cancel), NOT_FOUND. Exit code 0 unless FAILED or NOT_FOUND. --context shows each field's newest value; --history the whole histories. A status answer is
capped at 5 MiB (Lambda answers at most 6 MB): soe follows its cursors until it has everything asked for.
${REMOTE_HELP}`;

const WAIT_EXAMPLES = `
Examples:
  $ soe wait 6f1c… --outputs cdk-outputs.json
  $ soe wait 6f1c… --timeout 600 --interval 5 --json

Polls the status function until the execution is IDLE (exit 0) or FAILED / CANCELLED / NOT_FOUND (exit 1), then prints
the status with the context. Exit 1 as well when --timeout passes first.
${REMOTE_HELP}`;

/** Registers `soe start`, `soe status` and `soe wait`. */
export function registerRemoteCommands(program: Command): void {
  const start = program
    .command('start')
    .summary('start an execution on a deployed stack')
    .description('Start an execution on a deployed stack through its start function (Lambda Invoke), and print its id.')
    .argument('[config.yaml]', 'workflow file to send (omit with --deployed)')
    .option('--deployed <name>', 'run a workflow file deployed with the stack, by name, instead of sending one')
    .option('-w, --workflow <name>', 'workflow to start (default: the first in the file)')
    .option('-s, --signals <list>', 'initial signals, comma-separated', 'START')
    .option('-c, --context <json|@file>', 'initial context: a JSON object inline, or @file.json')
    .option('--wait', 'wait until the execution settles, then print its status and context')
    .option('--history [fields]', "with --wait: every field's whole history (or only these, comma-separated)")
    .option('--timeout <seconds>', 'with --wait: give up after this long', '300')
    .option('--interval <seconds>', 'with --wait: seconds between status polls', '1')
    .option('--json', 'print JSON on stdout: { executionId } (with --wait: the final status, context included)');
  addRemoteOptions(start, ['start', 'status']).addHelpText('after', START_EXAMPLES);
  start.action(async (file: string | undefined, opts: StartOptions, cmd: Command) => {
    process.exitCode = await startCommand(file, { ...cmd.optsWithGlobals(), ...opts } as StartOptions);
  });

  const status = program
    .command('status')
    .summary('show the status of an execution on a deployed stack')
    .description(
      'Show the status of an execution on a deployed stack (RUNNING, IDLE, FAILED, CANCELLED, NOT_FOUND), through its status function.',
    )
    .argument('<execution-id>', 'the id soe start printed')
    .option('--context', "also show the context (each field's newest value)")
    .option('--history [fields]', "also every field's whole history (or only these fields, comma-separated)")
    .option('--events', 'also return the telemetry events (with --json; soe trace prints them as a timeline)')
    .option('--json', "print the status function's answer as JSON");
  addRemoteOptions(status, ['status']).addHelpText('after', STATUS_EXAMPLES);
  status.action(async (id: string, opts: StatusOptions, cmd: Command) => {
    const o = { ...cmd.optsWithGlobals(), ...opts } as StatusOptions;
    const history = historyOption(o.history);
    const s = await new SoeRemote(o).statusAll(id, {
      includeContext: Boolean(o.context) || Boolean(history),
      ...(history ? { history } : {}),
      events: Boolean(o.events),
    });
    await printStatus(s, o);
    process.exitCode = s.status === 'FAILED' || s.status === 'NOT_FOUND' ? 1 : 0;
  });

  const wait = program
    .command('wait')
    .summary('wait until an execution on a deployed stack settles')
    .description('Wait until an execution on a deployed stack is IDLE or FAILED, then print its status and context.')
    .argument('<execution-id>', 'the id soe start printed')
    .option('--timeout <seconds>', 'give up after this long', '300')
    .option('--interval <seconds>', 'seconds between status polls', '1')
    .option('--history [fields]', "print every field's whole history (or only these, comma-separated), not only the newest values")
    .option('--json', 'print the final status (context included) as JSON');
  addRemoteOptions(wait, ['status']).addHelpText('after', WAIT_EXAMPLES);
  wait.action(async (id: string, opts: StatusOptions, cmd: Command) => {
    const o = { ...cmd.optsWithGlobals(), ...opts } as StatusOptions;
    process.exitCode = await waitAndPrint(new SoeRemote(o), id, o);
  });
}

/** `soe start`: returns the exit code. */
export async function startCommand(file: string | undefined, opts: StartOptions): Promise<number> {
  if (file && opts.deployed) throw new UsageError('give either a workflow file or --deployed NAME, not both');
  if (!file && !opts.deployed) {
    throw new UsageError('soe start needs a workflow file (or --deployed NAME)', {
      hint: 'e.g. soe start workflow.yaml --outputs cdk-outputs.json',
    });
  }
  const signals = parseSignals(opts.signals);
  const context = await parseContext(opts.context);
  let request: RemoteStartRequest;
  if (file) {
    const wf = await loadWorkflowFile(file);
    request = { config: wf.text, initialWorkflowName: pickWorkflow(wf, opts.workflow), initialSignals: signals };
  } else {
    if (!opts.workflow) throw new UsageError('--deployed needs --workflow NAME: the workflow of the deployed file to start');
    request = { workflowName: opts.deployed, initialWorkflowName: opts.workflow, initialSignals: signals };
  }
  if (context) request.initialContext = context;
  const remote = new SoeRemote(opts);
  const executionId = await remote.start(request);
  if (!opts.wait) {
    await writeOut(opts.json ? `${JSON.stringify({ executionId })}\n` : `${executionId}\n`);
    return 0;
  }
  if (!opts.json) writeErr(`started ${executionId}, waiting…\n`);
  return waitAndPrint(remote, executionId, { ...opts, context: true });
}

async function waitAndPrint(remote: SoeRemote, executionId: string, opts: StatusOptions): Promise<number> {
  const timeoutMs = parseSeconds(opts.timeout, '--timeout', 300) * 1000;
  const intervalMs = parseSeconds(opts.interval, '--interval', 1) * 1000;
  const history = historyOption(opts.history);
  const { status, timedOut } = await remote.waitFor(executionId, {
    timeoutMs,
    intervalMs,
    includeContext: true,
    ...(history ? { history } : {}),
  });
  await printStatus(status, opts, timedOut);
  if (timedOut && !opts.json)
    writeErr(`still RUNNING after ${timeoutMs / 1000} s: wait again with soe wait ${executionId} --timeout 600\n`);
  return exitCodeOf(status, timedOut);
}

/** `--history` (every field) or `--history a,b` (those fields). */
function historyOption(value: boolean | string | undefined): true | string[] | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return true;
  const fields = value
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  if (!fields.length) throw new UsageError('--history takes field names, comma-separated (or nothing: every field)');
  return fields;
}

async function printStatus(s: RemoteStatus, opts: StatusOptions, timedOut = false): Promise<void> {
  if (opts.json) await writeOut(`${JSON.stringify(timedOut ? { ...s, timedOut } : s)}\n`);
  else await writeOut(renderRemoteStatus(s, styleFor(process.stdout, opts.color !== false), { timedOut }));
  if (s.status === 'NOT_FOUND' && !opts.json) {
    throw new CliError(`execution '${s.executionId}' was not found on the stack`, {
      hint: 'check the id (soe start prints it) and that --outputs / --status-function point at the stack that ran it',
    });
  }
}
