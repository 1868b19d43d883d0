/** `soe send`: sends signals to an execution, local or deployed. */
import { type Backends, checkExternalSignals, endedExecutionError } from '@soe/core';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { CAPTURE_FLAGS } from '../input/parse-capture.js';
import { parseRuntime, requireExistingDir } from '../input/parse-runtime.js';
import { requireSignals } from '../input/parse-signals.js';
import { loadRunRecord, updateRunRecord } from '../local/run-record.js';
import { writeOut } from '../output/write-out.js';
import { addRemoteOptions, REMOTE_HELP, type RemoteOptions } from '../remote/remote-options.js';
import { SoeRemote } from '../remote/soe-remote.js';
import { type LocalOutputOptions, openLocalRun, reportLocalRun, traceHeader } from './local-run.js';

/** Flags of `soe send`. */
export interface SendOptions extends RemoteOptions, LocalOutputOptions {
  signals?: string;
  signalId?: string;
  runtime?: string;
  tools?: string;
  llm?: string;
}

const EXAMPLES = `
Examples:
  # Locally, on the state a file runtime kept (the tools module and model of soe run are reused):
  $ soe run examples/human-approval/workflow.yaml --tools examples/human-approval/tools.mjs \\
      --llm scripted:examples/human-approval/model.yaml --runtime file:.soe-data      # stops, waiting for approval
  $ soe send <execution-id> --signals APPROVED --runtime file:.soe-data
  $ soe send <execution-id> --signals REJECTED --runtime file:.soe-data --json

  # On a deployed stack, through its signal function:
  $ soe send <execution-id> --signals APPROVED --outputs cdk-outputs.json
  $ soe send <execution-id> --signals APPROVED --signal-function my-stack-Signal --endpoint http://localhost:4566

With --runtime the signals are handled here and the result is printed as soe run does (exit 1 if a node fails).
Without it they go to the deployed signal function, which answers once they are queued (soe wait follows up).
Signals are refused (exit 1, nothing sent) when the execution is FAILED or cancelled, or when no node of its
workflow listens to one of them (the error names those that are: --signals APROVED suggests APPROVED).
${REMOTE_HELP}`;

/** Registers `soe send`. */
export function registerSendCommand(program: Command): void {
  const cmd = program
    .command('send')
    .summary('send signals to a waiting execution (file runtime or deployed stack)')
    .description(
      'Send signals to an existing execution — e.g. a human approval — either locally on a file runtime, or to a deployed stack.',
    )
    .argument('<execution-id>', 'the execution to signal')
    .requiredOption('-s, --signals <list>', 'signals to send, comma-separated')
    .option('--signal-id <id>', 'apply this send once: a repeated send with the same id changes nothing (e.g. one approval per ticket)')
    .option('-r, --runtime <runtime>', 'handle the signals locally on file:DIR (the state soe run --runtime file:DIR kept)')
    .option('-t, --tools <module>', 'local: tools module (default: the one soe run used)')
    .option('--llm <spec>', 'local: model spec (default: the one soe run used)')
    .option('--json', 'local: print { executionId, status, context, signals, events }; remote: { executionId, broadcastId }')
    .option('-q, --quiet', 'local: no live trace on stderr')
    .option('-v, --verbose', 'local: trace node starts and every model and tool call too')
    .option(CAPTURE_FLAGS.chars[0], `local: ${CAPTURE_FLAGS.chars[1]}`)
    .option(CAPTURE_FLAGS.redact[0], `local: ${CAPTURE_FLAGS.redact[1]}`);
  addRemoteOptions(cmd, ['signal']).addHelpText('after', EXAMPLES);
  cmd.action(async (id: string, opts: SendOptions, c: Command) => {
    process.exitCode = await sendCommand(id, { ...c.optsWithGlobals(), ...opts } as SendOptions);
  });
}

/** `soe send`: returns the exit code. */
export async function sendCommand(executionId: string, opts: SendOptions): Promise<number> {
  const signals = requireSignals(opts.signals);
  if (opts.runtime === undefined) {
    const broadcastId = await new SoeRemote(opts).signal(executionId, signals, opts.signalId);
    await writeOut(
      opts.json
        ? `${JSON.stringify({ executionId, broadcastId })}\n`
        : `sent ${signals.join(', ')} to ${executionId}${broadcastId ? ` (broadcast ${broadcastId})` : ''}\n`,
    );
    return 0;
  }
  const spec = parseRuntime(opts.runtime);
  if (spec.kind !== 'file') {
    throw new CliError(
      `soe send cannot reach an execution of the ${spec.kind} runtime: its state lived only as long as the soe run that made it`,
      {
        hint: 'run the workflow with --runtime file:DIR, then soe send ID --signals … --runtime file:DIR; or send to a deployed stack (--outputs cdk-outputs.json)',
      },
    );
  }
  requireExistingDir(spec);
  const record = await loadRunRecord(spec.dir, executionId);
  if (record?.failed)
    throw new CliError(endedExecutionError(executionId, 'FAILED', record.failed).message.replace(/; fix the cause.*$/, ''));
  if (opts.signalId !== undefined && record?.signalIds?.includes(opts.signalId)) {
    await writeOut(
      opts.json
        ? `${JSON.stringify({ executionId, signalId: opts.signalId, applied: false })}\n`
        : `signals with --signal-id ${opts.signalId} were already applied to ${executionId}: nothing sent\n`,
    );
    return 0;
  }
  const tools = opts.tools ?? record?.tools;
  const llm = opts.llm ?? record?.llm;
  const opened = await openLocalRun(spec, { ...opts, tools, llm });
  try {
    opened.trace.setMain(executionId);
    traceHeader([`soe send ${executionId}`, `signals ${signals.join(', ')}`], opened, opts);
    await refuseUncheckedSignals(opened.runtime.backends, executionId, signals);
    const started = Date.now();
    const outcome = await opened.runtime.send(executionId, signals);
    await updateRunRecord(spec.dir, executionId, (r) => {
      if (opts.signalId !== undefined) r.signalIds = [...(r.signalIds ?? []), opts.signalId];
      if (outcome.status === 'failed') r.failed = outcome.error ?? 'failed';
    });
    return await reportLocalRun(opened, outcome, Date.now() - started, opts);
  } finally {
    await opened.runtime.close();
  }
}

/** Refuses signals to a cancelled execution or that no node listens to; an unknown execution is left to the runtime's own error. */
async function refuseUncheckedSignals(backends: Backends, executionId: string, signals: string[]): Promise<void> {
  try {
    await checkExternalSignals(backends, executionId, signals);
  } catch (e) {
    if ((e as Error).name === 'SignalRefusedError') throw new CliError((e as Error).message);
  }
}
