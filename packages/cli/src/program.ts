/** The `soe` program: every command registered on one commander program, and `main`. */
import { Command, CommanderError } from 'commander';
import { registerControlCommands } from './commands/control.js';
import { registerGraphCommand } from './commands/graph.js';
import { registerInitCommand } from './commands/init.js';
import { registerRemoteCommands } from './commands/remote.js';
import { registerRunCommand } from './commands/run.js';
import { registerSendCommand } from './commands/send.js';
import { registerTraceCommand } from './commands/trace.js';
import { registerUiCommand } from './commands/ui.js';
import { registerValidateCommand } from './commands/validate.js';
import { failureJson, reportError } from './output/report-error.js';
import { writeOut } from './output/write-out.js';

/** The version printed by `soe --version`. */
export const CLI_VERSION = '0.1.0';

const EXAMPLES = `
Examples:
  $ soe run examples/routing/workflow.yaml --tools examples/routing/tools.mjs --llm scripted:examples/routing/model.yaml
  $ soe validate examples/*/workflow.yaml
  $ soe graph examples/fan-out/workflow.yaml > flow.mmd
  $ soe run examples/human-approval/workflow.yaml --runtime file:.soe-data …   # stops, waiting for approval
  $ soe send <execution-id> --signals APPROVED --runtime file:.soe-data
  $ soe trace <execution-id> --runtime file:.soe-data
  $ soe ui --runtime file:.soe-data                                          # the runs as a web page
  $ soe start workflow.yaml --outputs cdk-outputs.json --wait                  # a deployed stack
  $ soe init my-project                                                        # a project of your own

Run \`soe <command> --help\` for a command's flags and examples.`;

/** Builds the `soe` program with every command. */
export function createProgram(): Command {
  const program = new Command('soe')
    .description(
      'SOE — signal-driven orchestration of LLM and agent workflows written in YAML.\nRun workflows locally, check them, draw them, and drive a deployed stack.',
    )
    .version(CLI_VERSION, '-V, --version')
    .option('--no-color', 'plain output without ANSI colors (also: NO_COLOR=1)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXAMPLES)
    .exitOverride();
  registerRunCommand(program);
  registerValidateCommand(program);
  registerGraphCommand(program);
  registerTraceCommand(program);
  registerSendCommand(program);
  registerRemoteCommands(program);
  registerControlCommands(program);
  registerInitCommand(program);
  registerUiCommand(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/**
 * Runs the `soe` command line and resolves to the exit code (0 success, 1 failure).
 * @example process.exitCode = await main(process.argv);
 */
export async function main(argv: string[] = process.argv): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    // Commander has already printed its own messages (help, version, unknown options) on stderr;
    // under --json a refused command line still owes stdout its one JSON object.
    if (e instanceof CommanderError) {
      if (e.exitCode !== 0 && argv.includes('--json')) await writeOut(`${JSON.stringify(failureJson(e))}\n`);
      return e.exitCode;
    }
    return reportError(e, !argv.includes('--no-color'));
  }
}
