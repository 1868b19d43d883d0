/** `soe graph`: a config's signal graph as Mermaid or DOT, with its findings. */
import { isError, validateConfig } from '@soe/core';
import type { Command } from 'commander';
import { parseDocument } from 'yaml';
import { UsageError } from '../errors.js';
import { analyzeGraph, workflowsOf } from '../graph/analyze-graph.js';
import { renderDot } from '../graph/render-dot.js';
import { renderMermaid } from '../graph/render-mermaid.js';
import { createLocator } from '../graph/yaml-locator.js';
import { parseSignals } from '../input/parse-signals.js';
import { readInputFile } from '../input/read-input-file.js';
import { formatProblem } from '../output/format-issue.js';
import { plural } from '../output/format-value.js';
import { styleFor } from '../output/style.js';
import { writeErr, writeOut } from '../output/write-out.js';

/** Flags of `soe graph`. */
export interface GraphOptions {
  format?: string;
  workflow?: string;
  signals?: string;
  json?: boolean;
  color?: boolean;
}

const FORMATS = ['mermaid', 'dot'] as const;

const EXAMPLES = `
Examples:
  $ soe graph examples/fan-out/workflow.yaml                    # Mermaid on stdout
  $ soe graph workflow.yaml --format dot | dot -Tsvg > flow.svg
  $ soe graph workflow.yaml --workflow review --signals START,RETRY

Draws node → signal → node for every workflow (child workflows dotted). Findings go to stderr as
FILE:LINE:COLUMN lines (and into the graph as comments):
  error    a child node names a workflow that does not exist          (exit code 1)
  warning  a signal no node listens to (fine for an end signal like DONE)
  warning  a node no signal reaches from the initial signals (e.g. one waiting for a human's APPROVED)
  warning  a workflow nothing starts
Invalid files are reported like soe validate does, and exit with code 1.`;

/** Registers `soe graph`. */
export function registerGraphCommand(program: Command): void {
  program
    .command('graph')
    .summary('draw the signal flow of a workflow file (Mermaid or DOT)')
    .description(
      'Draw the signal flow of a workflow file: which signals trigger which nodes, and which signals each node emits. Flags signals nobody listens to, nodes no signal reaches and child workflows that do not exist.',
    )
    .argument('<config.yaml>', 'the workflow file')
    .option('-f, --format <format>', 'mermaid | dot', 'mermaid')
    .option('-w, --workflow <name>', 'the initial workflow (default: the first in the file)')
    .option('-s, --signals <list>', 'initial signals, comma-separated', 'START')
    .option('--json', 'print the analysed graph and findings as JSON instead of a drawing')
    .addHelpText('after', EXAMPLES)
    .action(async (file: string, opts: GraphOptions, cmd: Command) => {
      process.exitCode = await graphCommand(file, { ...cmd.optsWithGlobals(), ...opts } as GraphOptions);
    });
}

/** `soe graph`: returns the exit code. */
export async function graphCommand(file: string, opts: GraphOptions): Promise<number> {
  const format = (opts.format ?? 'mermaid').toLowerCase();
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`unknown graph format '${opts.format}'`, { hint: `use --format ${FORMATS.join(' or --format ')}` });
  }
  const text = await readInputFile(file, 'workflow file');
  const style = styleFor(process.stderr, opts.color !== false);
  const issues = validateConfig(text, { file });
  const doc = parseDocument(text);
  if (doc.errors.length) {
    // Nothing to draw from a file that is not YAML.
    for (const i of issues) writeErr(`${formatProblem(i, 'error', style, file)}\n`);
    return 1;
  }
  const { workflows } = workflowsOf(doc.toJS());
  const names = Object.keys(workflows);
  if (opts.workflow !== undefined && !names.includes(opts.workflow)) {
    throw new UsageError(`workflow '${opts.workflow}' is not defined in ${file}`, { hint: `pick one of: ${names.join(', ') || '(none)'}` });
  }
  const graph = analyzeGraph(doc.toJS(), {
    initialWorkflow: opts.workflow,
    initialSignals: parseSignals(opts.signals),
    locate: createLocator(text),
  });
  // The graph reports missing child workflows itself; validate's other problems are listed too.
  const other = issues.filter((i) => i.field !== 'child_workflow_name');
  if (opts.json) await writeOut(`${JSON.stringify({ file, ...graph, issues: other }, null, 2)}\n`);
  else await writeOut(format === 'dot' ? renderDot(graph) : renderMermaid(graph));
  const problems = [...other.map((i) => ({ ...i, severity: isError(i) ? ('error' as const) : ('warning' as const) })), ...graph.findings];
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  for (const p of problems) writeErr(`${formatProblem(p, p.severity, style, file)}\n`);
  const errors = problems.filter((p) => p.severity === 'error').length;
  const warnings = problems.length - errors;
  if (errors || warnings) writeErr(style.dim(`${plural(errors, 'error')}, ${plural(warnings, 'warning')}\n`));
  return errors ? 1 : 0;
}
