/** What `soe run` and a local `soe send` share: opening a runtime with the tools, the model and the live trace. */
import type { TelemetryEvent } from '@soe/core';
import { type CaptureFlags, parseCapture } from '../input/parse-capture.js';
import { describeRuntime, type RuntimeSpec } from '../input/parse-runtime.js';
import { type CliRuntime, openCliRuntime, type RunOutcome } from '../local/cli-runtime.js';
import { collectExecution } from '../local/collect-execution.js';
import { withModelStacks, withToolStacks } from '../local/debug-tools.js';
import { loadToolsModule, type ToolsModule } from '../local/load-tools-module.js';
import { type ResolvedModel, resolveModel } from '../local/resolve-model.js';
import { hintForRunError, initialSignalsOf, type RunReport, renderRunReport, runJson, waitingNodes } from '../output/run-report.js';
import { styleFor } from '../output/style.js';
import { TraceFormatter } from '../output/trace-formatter.js';
import { writeErr, writeOut } from '../output/write-out.js';

/** Output flags shared by `soe run` and a local `soe send`. */
export interface LocalOutputOptions extends CaptureFlags {
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  color?: boolean;
}

/** A local runtime with the user's tools, model and a live trace on stderr. */
export interface OpenedLocalRun {
  runtime: CliRuntime;
  tools?: ToolsModule;
  model: ResolvedModel;
  trace: TraceFormatter;
}

/** Loads the tools module and model, and opens the runtime with the live trace wired in. */
export async function openLocalRun(
  spec: RuntimeSpec,
  opts: LocalOutputOptions & { tools?: string; llm?: string; timeoutMs?: number },
): Promise<OpenedLocalRun> {
  const tools = opts.tools ? await loadToolsModule(opts.tools) : undefined;
  const model = await resolveModel(opts.llm, tools?.callLlm);
  const style = styleFor(process.stderr, opts.color !== false);
  const trace = new TraceFormatter({ style, verbose: opts.verbose });
  const onEvent = opts.quiet
    ? undefined
    : (executionId: string, event: TelemetryEvent) => {
        for (const line of trace.format(executionId, event)) writeErr(`${line}\n`);
      };
  const debug = Boolean(process.env.SOE_DEBUG);
  const toolsRegistry = tools && debug ? withToolStacks(tools.toolsRegistry) : tools?.toolsRegistry;
  const runtime = await openCliRuntime(spec, {
    callLlm: model.callLlm && debug ? withModelStacks(model.callLlm) : model.callLlm,
    toolsRegistry,
    onEvent,
    timeoutMs: opts.timeoutMs,
    capture: parseCapture(opts),
  });
  return { runtime, tools, model, trace };
}

/** The header line of the live trace. */
export function traceHeader(parts: Array<string | undefined>, opened: OpenedLocalRun, opts: LocalOutputOptions): void {
  if (opts.quiet) return;
  const style = styleFor(process.stderr, opts.color !== false);
  const all = [
    ...parts,
    `runtime ${describeRuntime(opened.runtime.spec)}`,
    opened.model.source ? `model ${opened.model.source}` : undefined,
  ];
  writeErr(`${style.dim(all.filter(Boolean).join(' · '))}\n`);
}

/** Reads the settled execution and prints the result (text on stdout, or the `--json` document). Returns the exit code. */
export async function reportLocalRun(
  opened: OpenedLocalRun,
  outcome: RunOutcome,
  wallMs: number,
  opts: LocalOutputOptions,
): Promise<number> {
  const { runtime } = opened;
  const collected = await collectExecution(runtime.backends, outcome.executionId);
  const report: RunReport = {
    outcome,
    collected,
    wallMs,
    runtime: runtime.spec,
    waiting: await waitingNodes(runtime.backends, outcome.executionId, collected.context, initialSignalsOf(collected)),
    hint: hintForRunError(outcome.error),
  };
  if (opts.json) await writeOut(`${JSON.stringify(runJson(report))}\n`);
  else {
    if (!opts.quiet) writeErr('\n');
    await writeOut(renderRunReport(report, styleFor(process.stdout, opts.color !== false)));
  }
  return outcome.status === 'completed' ? 0 : 1;
}
