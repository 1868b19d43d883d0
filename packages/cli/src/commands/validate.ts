/** `soe validate`: checks workflow files and prints every problem with its place. */
import { BUILTIN_TOOL_NAMES, didYouMean, isError, type ValidationIssue, validateConfig } from '@soe/core';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { messageOf } from '../errors.js';
import { workflowsOf } from '../graph/analyze-graph.js';
import { createLocator } from '../graph/yaml-locator.js';
import { readInputFile } from '../input/read-input-file.js';
import { loadToolsModule } from '../local/load-tools-module.js';
import { formatProblem } from '../output/format-issue.js';
import { plural } from '../output/format-value.js';
import { styleFor } from '../output/style.js';
import { writeErr, writeOut } from '../output/write-out.js';

/** Flags of `soe validate`. */
export interface ValidateOptions {
  json?: boolean;
  tools?: string;
  color?: boolean;
  /** Warnings (unknown keys that are no near miss) count as errors. */
  strict?: boolean;
}

/** The verdict on one file. */
export interface FileVerdict {
  file: string;
  ok: boolean;
  issues: ValidationIssue[];
  workflows?: number;
  nodes?: number;
}

const EXAMPLES = `
Examples:
  $ soe validate examples/*/workflow.yaml
  $ soe validate workflow.yaml --tools tools.mjs     # also check that every tool_name is registered
  $ soe validate workflow.yaml --json

Each problem is printed as FILE:LINE:COLUMN: error: workflow 'w', node 'n', field 'f': what is wrong —
every problem of every file at once. A valid file gets one "ok" line. Exit code 1 if any file has an error.
A key that is a near miss of a known one (conditon, promt) or a trap (if, when, type, tool) is an error;
any other unknown key (description, tags) is a warning, and an error with --strict.`;

/** Registers `soe validate`. */
export function registerValidateCommand(program: Command): void {
  program
    .command('validate')
    .summary('check workflow files without running them')
    .description(
      'Check workflow files: YAML syntax, node types and fields, templates, context_schema, identities, child workflows. Every problem is reported with its file, line, column, workflow, node and field.',
    )
    .argument('<files...>', 'workflow files (YAML)')
    .option('-t, --tools <module>', 'also check tool_name against the tools this module exports (plus the soe_* built-ins)')
    .option('--strict', 'refuse unknown keys that are otherwise only warnings (annotations such as description)')
    .option('--json', 'print [{ file, ok, issues: [{ message, line, column, workflow, node, field }] }] on stdout')
    .addHelpText('after', EXAMPLES)
    .action(async (files: string[], opts: ValidateOptions, cmd: Command) => {
      process.exitCode = await validateCommand(files, { ...cmd.optsWithGlobals(), ...opts } as ValidateOptions);
    });
}

/** `soe validate`: returns the exit code. */
export async function validateCommand(files: string[], opts: ValidateOptions): Promise<number> {
  const tools = opts.tools ? await loadToolsModule(opts.tools) : undefined;
  const known = tools
    ? { all: new Set([...Object.keys(tools.toolsRegistry), ...BUILTIN_TOOL_NAMES]), exported: Object.keys(tools.toolsRegistry) }
    : undefined;
  const verdicts: FileVerdict[] = [];
  for (const file of files) verdicts.push(await validateFile(file, known, opts.strict === true));
  if (opts.json) {
    await writeOut(`${JSON.stringify(verdicts, null, 2)}\n`);
  } else {
    const style = styleFor(process.stdout, opts.color !== false);
    const lines: string[] = [];
    for (const v of verdicts) {
      for (const i of v.issues) lines.push(formatProblem(i, isError(i) ? 'error' : 'warning', style, v.file));
      const warned = v.issues.length ? `, ${plural(v.issues.length, 'warning')}` : '';
      if (v.ok)
        lines.push(
          `${v.file}: ${style.green('ok')} ${style.dim(`(${plural(v.workflows ?? 0, 'workflow')}, ${plural(v.nodes ?? 0, 'node')}${warned})`)}`,
        );
    }
    await writeOut(`${lines.join('\n')}\n`);
    const bad = verdicts.filter((v) => !v.ok);
    if (bad.length) {
      const problems = bad.reduce((n, v) => n + v.issues.filter(isError).length, 0);
      writeErr(`${plural(problems, 'problem')} in ${plural(bad.length, 'file')} of ${verdicts.length} checked\n`);
    }
  }
  return verdicts.every((v) => v.ok) ? 0 : 1;
}

async function validateFile(
  file: string,
  knownTools: { all: Set<string>; exported: string[] } | undefined,
  strict: boolean,
): Promise<FileVerdict> {
  let text: string;
  try {
    text = await readInputFile(file, 'workflow file');
  } catch (e) {
    return { file, ok: false, issues: [{ file, message: messageOf(e) }] };
  }
  const issues = validateConfig(text, { file, strict });
  if (!issues.some(isError) && knownTools) issues.push(...unknownTools(text, file, knownTools.all, knownTools.exported));
  // In file order, so the list reads top to bottom like the file.
  issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  if (issues.some(isError)) return { file, ok: false, issues };
  const { workflows } = workflowsOf(parseYaml(text));
  const nodes = Object.values(workflows).reduce<number>((n, w) => n + Object.keys(w as object).length, 0);
  return { file, ok: true, issues, workflows: Object.keys(workflows).length, nodes };
}

/** tool nodes naming tools the module does not export (and that are not built-ins). */
function unknownTools(text: string, file: string, known: Set<string>, exported: string[]): ValidationIssue[] {
  const { workflows, combined } = workflowsOf(parseYaml(text));
  const locate = createLocator(text);
  const out: ValidationIssue[] = [];
  for (const [wf, nodes] of Object.entries(workflows)) {
    for (const [name, node] of Object.entries(nodes as Record<string, Record<string, unknown>>)) {
      const toolNames: string[] = [];
      if (node.node_type === 'tool' && typeof node.tool_name === 'string') toolNames.push(node.tool_name);
      if (node.node_type === 'agent')
        for (const t of [node.tools, node.available_tools])
          if (Array.isArray(t)) toolNames.push(...t.filter((x): x is string => typeof x === 'string'));
      for (const t of toolNames) {
        if (known.has(t)) continue;
        const field = node.node_type === 'tool' ? 'tool_name' : Array.isArray(node.tools) ? 'tools' : 'available_tools';
        const pos = locate([...(combined ? ['workflows'] : []), wf, name, field]);
        out.push({
          file,
          workflow: wf,
          node: name,
          field,
          message: `tool '${t}' is not exported by the tools module (it exports: ${exported.join(', ') || 'nothing'}) nor a soe_* built-in${didYouMean(t, known)}`,
          ...(pos ? { line: pos.line, column: pos.column } : {}),
        });
      }
    }
  }
  return out;
}
