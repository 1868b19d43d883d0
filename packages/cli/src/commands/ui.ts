/** `soe ui`: serves a runtime's executions as a web page on loopback. */
import type { Command } from 'commander';
import { CliError, UsageError } from '../errors.js';
import { loadWorkflowFile } from '../input/load-workflow-file.js';
import { parseRuntime, requireExistingDir } from '../input/parse-runtime.js';
import { writeErr, writeOut } from '../output/write-out.js';
import { addRemoteOptions, REMOTE_HELP, type RemoteOptions } from '../remote/remote-options.js';
import type { TokenPrices } from '../ui/execution-view.js';
import { startUiServer, type UiServer } from '../ui/ui-server.js';
import { FileUiSource, RemoteUiSource, type UiSource } from '../ui/ui-sources.js';

/** Flags of `soe ui`. */
export interface UiOptions extends RemoteOptions {
  runtime?: string;
  port?: string;
  host?: string;
  config?: string;
  priceIn?: string;
  priceOut?: string;
}

const EXAMPLES = `
Examples:
  $ soe run examples/human-approval/workflow.yaml --runtime file:.soe-data …   # waits for APPROVED
  $ soe ui --runtime file:.soe-data --port 4400                                # open http://127.0.0.1:4400
  $ soe run workflow.yaml --runtime local-aws --ui --port 4400                 # local-aws: served by the run itself
  $ soe ui 6f1c… --outputs cdk-outputs.json --config workflow.yaml             # a deployed stack

Pages: the home page lists executions (id, workflow, status, start, duration, node runs, tokens);
/executions/ID shows the workflow graph with the path taken and the awaited signals, a timeline of node
runs (children nested), each run's inputs and outputs, the context with each field's history, tokens and
cost, and the error of a FAILED run. Pages refresh while an execution runs. Send a signal, cancel or
redrive (stack only) from the page, after a confirmation. The server listens on loopback unless --host
says otherwise. A deployed stack has no listing request: the home page lists the ids given and opened.
${REMOTE_HELP}`;

/** Registers `soe ui`. */
export function registerUiCommand(program: Command): void {
  const cmd = program
    .command('ui')
    .summary('serve a web page of runs: graph, timeline, every step’s input and output')
    .description('Serve a local web page of executions: graph, timeline, step inputs and outputs, context, actions.')
    .argument('[execution-ids...]', 'a deployed stack: executions to list (any other id can be opened by its URL)')
    .option('-r, --runtime <runtime>', 'file:DIR: the state soe run --runtime file:DIR kept (omit for a deployed stack)')
    .option('-p, --port <port>', 'port to listen on (0: any free port)', '4400')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--config <file>', 'a deployed stack: the workflow file, to draw the graph (the stack does not return it)')
    .option('--price-in <usd>', 'USD per million input tokens, for the cost line')
    .option('--price-out <usd>', 'USD per million output tokens, for the cost line');
  addRemoteOptions(cmd, ['signal', 'status']).addHelpText('after', EXAMPLES);
  cmd.action(async (ids: string[], opts: UiOptions, c: Command) => {
    process.exitCode = await uiCommand(ids, { ...c.optsWithGlobals(), ...opts } as UiOptions);
  });
}

/** Parses `--port`. */
export function parsePort(text: string | undefined): number {
  const n = Number(text ?? '4400');
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new UsageError(`--port must be a whole number from 0 to 65535, got '${text}'`, {
      hint: 'e.g. --port 4400, or --port 0 for any free port',
    });
  }
  return n;
}

/** Parses `--price-in` / `--price-out` (both or neither). */
export function parsePrices(opts: Pick<UiOptions, 'priceIn' | 'priceOut'>): TokenPrices | undefined {
  if (opts.priceIn === undefined && opts.priceOut === undefined) return undefined;
  const one = (flag: string, v: string | undefined) => {
    const n = Number(v ?? '0');
    if (!Number.isFinite(n) || n < 0)
      throw new UsageError(`${flag} must be a price in USD of at least 0, got '${v}'`, { hint: `e.g. ${flag} 3` });
    return n;
  };
  return { inputPerMillion: one('--price-in', opts.priceIn), outputPerMillion: one('--price-out', opts.priceOut) };
}

async function sourceFor(ids: string[], opts: UiOptions): Promise<UiSource> {
  if (opts.runtime === undefined) {
    const registry = opts.config ? ((await loadWorkflowFile(opts.config)).config.workflows as Record<string, unknown>) : undefined;
    return new RemoteUiSource(opts, ids, registry);
  }
  const spec = parseRuntime(opts.runtime);
  if (spec.kind === 'file') {
    requireExistingDir(spec);
    return new FileUiSource(spec.dir, spec.text);
  }
  throw new CliError(`soe ui cannot open the ${spec.kind} runtime on its own: its state lives only as long as the soe run that made it`, {
    hint:
      spec.kind === 'local-aws'
        ? 'serve the UI from the run itself: soe run workflow.yaml --runtime local-aws --ui --port 4400 (or keep state with --runtime file:DIR)'
        : 'run with --runtime file:DIR, then soe ui --runtime file:DIR',
  });
}

/** Serves until SIGINT/SIGTERM, then closes the server. */
export async function serveUntilInterrupted(ui: UiServer, what: string, toStderr = false): Promise<void> {
  const line = `soe ui: ${what} at ${ui.url}  (Ctrl-C to stop)\n`;
  // soe run --ui --json keeps stdout for its one JSON object.
  if (toStderr) writeErr(line);
  else await writeOut(line);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await ui.close();
  writeErr('soe ui: stopped\n');
}

/** `soe ui`: serves until interrupted; returns the exit code. */
export async function uiCommand(ids: string[], opts: UiOptions): Promise<number> {
  const port = parsePort(opts.port);
  const prices = parsePrices(opts);
  const source = await sourceFor(ids, opts);
  let ui: UiServer;
  try {
    ui = await startUiServer({ source, port, host: opts.host, prices });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(
      `cannot listen on ${opts.host ?? '127.0.0.1'}:${port}: ${code === 'EADDRINUSE' ? 'the port is in use' : String(e)}`,
      {
        hint: 'choose another --port (or --port 0 for any free one)',
        cause: e,
      },
    );
  }
  await serveUntilInterrupted(ui, source.label);
  return 0;
}
