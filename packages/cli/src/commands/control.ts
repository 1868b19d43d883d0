/** `soe cancel` and `soe redrive`: stop an execution, or re-send the broadcast that failed it. */
import { randomUUID } from 'node:crypto';
import { cancelExecution, createLocalBackends } from '@soe/core';
import type { Command } from 'commander';
import { CliError, messageOf } from '../errors.js';
import { parseRuntime, requireExistingDir } from '../input/parse-runtime.js';
import { writeOut } from '../output/write-out.js';
import { addRemoteOptions, REMOTE_HELP, type RemoteOptions } from '../remote/remote-options.js';
import { SoeRemote } from '../remote/soe-remote.js';

/** Flags of `soe cancel` and `soe redrive`. */
export interface ControlOptions extends RemoteOptions {
  runtime?: string;
  json?: boolean;
}

const CANCEL_EXAMPLES = `
Examples:
  $ soe cancel <execution-id> --runtime file:.soe-data        # an execution soe run kept in a file runtime
  $ soe cancel <execution-id> --outputs cdk-outputs.json      # on a deployed stack, through its signal function

The execution and its children are cancelled: status CANCELLED, nothing more runs (messages still in flight
are dropped by the worker), and later signals are refused. Cancelling again changes nothing.
${REMOTE_HELP}`;

const REDRIVE_EXAMPLES = `
Examples:
  $ soe status <execution-id> --outputs cdk-outputs.json      # FAILED: read the error, fix its cause
  $ soe redrive <execution-id> --outputs cdk-outputs.json     # re-sends the failed broadcast, clears FAILED
  $ soe wait <execution-id> --outputs cdk-outputs.json

Re-sends the broadcast(s) whose failure made the execution (or one of its children) FAILED, under new ids, and
clears FAILED: the node whose run failed runs again. Refused for an execution that is not FAILED.
${REMOTE_HELP}`;

/** Registers `soe cancel` and `soe redrive`. */
export function registerControlCommands(program: Command): void {
  const cancel = program
    .command('cancel')
    .summary('cancel an execution (file runtime or deployed stack)')
    .description('Cancel an execution and its children: nothing more runs, signals are refused, its status reads CANCELLED.')
    .argument('<execution-id>', 'the execution to cancel')
    .option('-r, --runtime <runtime>', 'cancel locally on file:DIR (the state soe run --runtime file:DIR kept)')
    .option('--json', 'print { executionId, status, cancelled }');
  addRemoteOptions(cancel, ['signal']).addHelpText('after', CANCEL_EXAMPLES);
  cancel.action(async (id: string, opts: ControlOptions, c: Command) => {
    process.exitCode = await cancelCommand(id, { ...c.optsWithGlobals(), ...opts } as ControlOptions);
  });

  const redrive = program
    .command('redrive')
    .summary('re-send the failed broadcast of a FAILED execution on a deployed stack')
    .description('Once the cause of a failure is fixed: re-send the failed broadcast(s) of a FAILED execution and clear FAILED.')
    .argument('<execution-id>', 'the FAILED execution (or its main execution)')
    .option('--json', 'print { executionId, redriven: [{ executionId, failedBroadcastId, broadcastId, signals, error }] }');
  addRemoteOptions(redrive, ['signal']).addHelpText('after', REDRIVE_EXAMPLES);
  redrive.action(async (id: string, opts: ControlOptions, c: Command) => {
    process.exitCode = await redriveCommand(id, { ...c.optsWithGlobals(), ...opts } as ControlOptions);
  });
}

/** `soe cancel`: returns the exit code. */
export async function cancelCommand(executionId: string, opts: ControlOptions): Promise<number> {
  let cancelled: number;
  if (opts.runtime === undefined) cancelled = await new SoeRemote(opts).cancel(executionId);
  else {
    const spec = parseRuntime(opts.runtime);
    if (spec.kind !== 'file') {
      throw new CliError(
        `soe cancel cannot reach an execution of the ${spec.kind} runtime: its state lived only as long as the soe run that made it`,
        {
          hint: 'cancel an execution kept with --runtime file:DIR, or one on a deployed stack (--outputs cdk-outputs.json)',
        },
      );
    }
    requireExistingDir(spec);
    try {
      cancelled = await cancelExecution(createLocalBackends(spec.dir), executionId);
    } catch (e) {
      throw new CliError(`cannot cancel execution '${executionId}' in ${spec.dir}: ${messageOf(e)}`, {
        hint: 'use the execution id soe run printed, with the same --runtime file:DIR it ran on',
        cause: e,
      });
    }
  }
  await writeOut(
    opts.json
      ? `${JSON.stringify({ executionId, status: 'CANCELLED', cancelled })}\n`
      : cancelled
        ? `cancelled ${executionId}${cancelled > 1 ? ` and ${cancelled - 1} child execution(s)` : ''}\n`
        : `${executionId} was already cancelled\n`,
  );
  return 0;
}

/** `soe redrive`: returns the exit code. */
export async function redriveCommand(executionId: string, opts: ControlOptions): Promise<number> {
  // One id per command: a retried invocation of the same request applies once.
  const redriven = await new SoeRemote(opts).redrive(executionId, randomUUID());
  if (opts.json) await writeOut(`${JSON.stringify({ executionId, redriven })}\n`);
  else {
    const lines = redriven.map(
      (r) =>
        `redriven ${r.signals.join(', ')} in ${r.executionId} (broadcast ${r.failedBroadcastId} → ${r.broadcastId}), clearing: ${r.error}`,
    );
    await writeOut(`${lines.join('\n')}\nfollow it with: soe wait ${executionId}\n`);
  }
  return 0;
}
