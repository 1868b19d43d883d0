/** `soe run`: runs a workflow file locally (memory, file:DIR or the local AWS runtime) and reports the result. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadWorkflowFile, pickWorkflow } from '../input/load-workflow-file.js';
import { CAPTURE_FLAGS } from '../input/parse-capture.js';
import { parseContext } from '../input/parse-context.js';
import { parseRuntime, type RuntimeSpec } from '../input/parse-runtime.js';
import { parseSeconds } from '../input/parse-seconds.js';
import { parseSignals } from '../input/parse-signals.js';
import type { CliRuntime } from '../local/cli-runtime.js';
import { onInterrupt, onStall, routeConsoleToStderr } from '../local/interrupt.js';
import { saveRunRecord } from '../local/run-record.js';
import { failureJson } from '../output/report-error.js';
import { writeOut } from '../output/write-out.js';
import { startUiServer } from '../ui/ui-server.js';
import { BackendsUiSource, FileUiSource } from '../ui/ui-sources.js';
import { type LocalOutputOptions, openLocalRun, reportLocalRun, traceHeader } from './local-run.js';
import { parsePort, serveUntilInterrupted } from './ui.js';

/** Flags of `soe run`. */
export interface RunOptions extends LocalOutputOptions {
  workflow?: string;
  signals?: string;
  context?: string;
  tools?: string;
  llm?: string;
  runtime?: string;
  timeout?: string;
  /** Serve `soe ui` over the runtime once the run settled, until Ctrl-C. */
  ui?: boolean;
  port?: string;
}

const EXAMPLES = `
Examples:
  $ soe run examples/routing/workflow.yaml --tools examples/routing/tools.mjs --llm scripted:examples/routing/model.yaml
  $ soe run workflow.yaml --context '{"ticket": "My invoice is wrong"}' --json
  $ soe run workflow.yaml --workflow review --signals START,PRIORITY --context @input.json
  $ soe run workflow.yaml --runtime file:.soe-data          # keep state: soe send / soe trace can use it later
  $ soe run workflow.yaml --runtime local-aws               # the Lambda handlers on embedded DynamoDB + SQS
  $ soe run workflow.yaml --runtime local-aws --ui --port 4400   # then serve the run as a web page until Ctrl-C
  $ OPENAI_API_KEY=… soe run workflow.yaml --llm openai:gpt-4o-mini

Without --json the live trace goes to stderr and the result (status, context fields, summary) to stdout.
With --json stdout holds one JSON object { executionId, status, context, signals, events } and nothing else.
Exit code 0 when the run completed (nothing left in flight), 1 when it failed.

--tools MODULE is an ES module exporting \`tools\` (or a default export): { name: fn | { fn, description, parameters,
maxRetries, failureSignal, processAccumulated } }, and optionally callLlm(prompt, nodeConfig). A TypeScript module
(.ts, .mts) works as it is: soe strips its types when it loads it (no build step, no tsconfig needed).
The model is --llm, else the module's callLlm, else SOE_MODEL_PROVIDER (same specs as --llm).`;

/** Registers `soe run`. */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .summary('run a workflow file locally and show what happened')
    .description(
      'Run a workflow file: start a workflow with initial signals and context, trace signals and nodes as they fire, then print the status, the final context and a summary.',
    )
    .argument('<config.yaml>', 'the workflow file (YAML: workflows, context_schema, identities)')
    .option('-w, --workflow <name>', 'workflow to start (default: the first in the file)')
    .option('-s, --signals <list>', 'initial signals, comma-separated', 'START')
    .option('-c, --context <json|@file>', 'initial context: a JSON object inline, or @file.json')
    .option('-t, --tools <module>', 'ES or TypeScript module exporting `tools` (and optionally `callLlm`)')
    .option('--llm <spec>', 'model: scripted:FILE | openai[:MODEL] | bedrock[:MODEL_ID]')
    .option('-r, --runtime <runtime>', 'memory | file:DIR | local-aws', 'memory')
    .option('--json', 'print one JSON object { executionId, status, context, signals, events } on stdout')
    .option('--timeout <seconds>', 'local-aws: how long to wait for the run to settle', '120')
    .option('-q, --quiet', 'no live trace on stderr')
    .option('-v, --verbose', 'trace node starts and every model and tool call too')
    .option(...CAPTURE_FLAGS.chars)
    .option(...CAPTURE_FLAGS.redact)
    .option('--ui', 'once the run settled, serve it as a web page (soe ui) until Ctrl-C: the way to see a local-aws or memory run')
    .option('-p, --port <port>', 'with --ui: port to listen on on 127.0.0.1 (0: any free port)', '4400')
    .addHelpText('after', EXAMPLES)
    .action(async (file: string, opts: RunOptions, cmd: Command) => {
      const o = { ...cmd.optsWithGlobals(), ...opts } as RunOptions;
      try {
        process.exitCode = await runCommand(file, o);
      } catch (e) {
        // --json promises one JSON object on stdout, even when the run cannot start.
        if (o.json) await writeOut(`${JSON.stringify(failureJson(e))}\n`);
        throw e;
      }
    });
}

/** `soe run`: returns the exit code. */
export async function runCommand(file: string, opts: RunOptions): Promise<number> {
  const wf = await loadWorkflowFile(file);
  const workflow = pickWorkflow(wf, opts.workflow);
  const signals = parseSignals(opts.signals);
  const context = await parseContext(opts.context);
  const spec = parseRuntime(opts.runtime);
  const timeoutMs = parseSeconds(opts.timeout, '--timeout') * 1000;
  const restoreConsole = opts.json ? routeConsoleToStderr() : () => undefined;
  let executionId: string | undefined;
  const opened = await openLocalRun(spec, { ...opts, timeoutMs });
  const stopInterrupt = onInterrupt(
    () => opened.runtime.backends,
    () => executionId,
    opts.json,
  );
  const stopStall = onStall(
    () => opened.runtime.backends,
    () => executionId,
    opts.json,
  );
  const stopListening = () => {
    stopInterrupt();
    stopStall();
  };
  try {
    traceHeader([`soe run ${file}`, `workflow ${workflow}`, `signals ${signals.join(', ')}`], opened, opts);
    const started = Date.now();
    const outcome = await opened.runtime.start({ config: wf.text, workflow, signals, context }, (id) => {
      executionId = id;
      opened.trace.setMain(id);
    });
    const wallMs = Date.now() - started;
    if (spec.kind === 'file') {
      await saveRunRecord(spec.dir, {
        executionId: outcome.executionId,
        config: resolve(wf.file),
        workflow,
        ...(opened.tools ? { tools: opened.tools.path } : {}),
        ...(opened.model.spec ? { llm: opened.model.spec } : {}),
        startedAt: new Date(started).toISOString(),
        ...(outcome.status === 'failed' ? { failed: outcome.error ?? 'failed' } : {}),
      });
    }
    const code = await reportLocalRun(opened, outcome, wallMs, opts);
    if (opts.ui) {
      // Ctrl-C now stops the server, not an unfinished run.
      stopListening();
      await serveRun(spec, opened.runtime, outcome.executionId, parsePort(opts.port));
    }
    return code;
  } finally {
    stopListening();
    restoreConsole();
    await opened.runtime.close();
  }
}

/**
 * `soe run --ui`: serves the run's runtime as `soe ui` does. A local-aws or memory runtime lives only
 * in this process, so this is where its runs can be seen; signals sent from the page run here.
 */
async function serveRun(spec: RuntimeSpec, runtime: CliRuntime, executionId: string, port: number): Promise<void> {
  const source =
    spec.kind === 'file'
      ? new FileUiSource(spec.dir, spec.text)
      : new BackendsUiSource(
          spec.kind,
          runtime.backends,
          () => [executionId],
          async (id, signals) => {
            await runtime.send(id, signals);
          },
        );
  const ui = await startUiServer({ source, port });
  await serveUntilInterrupted(ui, `${source.label} run ${executionId}`, true);
}
