/** The report of a run: its status, context, signals and events, as text or `--json`. */
import type { Backends, StoredContext } from '@soe/core';
import { summarizeUsage } from '@soe/core';
import { externalSignals, graphNode } from '../graph/analyze-graph.js';
import type { RuntimeSpec } from '../input/parse-runtime.js';
import type { RunOutcome } from '../local/cli-runtime.js';
import { type CollectedExecution, totalsOf } from '../local/collect-execution.js';
import { formatDuration, formatValue, plural } from './format-value.js';
import type { Style } from './style.js';

/** A node that has not run and waits for a signal only an outside caller sends (a human approval). */
export interface WaitingNode {
  node: string;
  signals: string[];
}

/** Everything `soe run` / `soe send` report about a run. */
export interface RunReport {
  outcome: RunOutcome;
  collected: CollectedExecution;
  wallMs: number;
  runtime: RuntimeSpec;
  waiting: WaitingNode[];
  /** What to do about a failure. */
  hint?: string;
}

/** The `--json` document: `{ executionId, status, context, signals, events }` (+ `error` when failed). */
export function runJson(report: RunReport): Record<string, unknown> {
  const { outcome, collected } = report;
  const out: Record<string, unknown> = {
    executionId: outcome.executionId,
    status: outcome.status,
    context: collected.context,
    signals: collected.context.__operational__?.signals ?? [],
    events: collected.events,
  };
  if (outcome.error) out.error = outcome.error;
  return out;
}

/**
 * Nodes of the execution's workflow that have not run and wait for signals no node emits (a human's
 * APPROVED). Once such an outside signal has arrived, the step it belonged to is over: nothing is
 * reported then (the other answer, REJECTED, is no longer awaited).
 */
export async function waitingNodes(
  backends: Backends,
  executionId: string,
  context: StoredContext,
  initialSignals: readonly string[],
): Promise<WaitingNode[]> {
  const [registry, name] = await Promise.all([
    backends.workflow.getWorkflowsRegistry(executionId),
    backends.workflow.getCurrentWorkflowName(executionId),
  ]);
  const workflow = name ? registry?.[name] : undefined;
  if (!workflow || !name) return [];
  const defined = new Set(Object.keys(registry ?? {}));
  const nodes = Object.entries(workflow).map(([n, v]) => graphNode(name, n, v, defined));
  const op = context.__operational__;
  const seen = new Set(op?.signals ?? []);
  const external = externalSignals(nodes, initialSignals);
  if ([...seen].some((s) => external.has(s))) return [];
  const out: WaitingNode[] = [];
  for (const n of nodes) {
    if (op?.nodes?.[n.name]) continue;
    const signals = n.triggers.filter((t) => external.has(t) && !seen.has(t));
    if (signals.length) out.push({ node: n.name, signals });
  }
  return out;
}

const FIELD_WIDTH = 10;

/** The result block of `soe run` / `soe send`: status, the context fields, what waits, a summary line. */
export function renderRunReport(report: RunReport, style: Style): string {
  const { outcome, collected, runtime } = report;
  const lines: string[] = [];
  const row = (k: string, v: string) => lines.push(`${style.bold(k.padEnd(FIELD_WIDTH))} ${v}`.trimEnd());
  row(
    'status',
    outcome.status === 'completed' ? `${style.green('completed')} ${style.dim('(idle: no signal left in flight)')}` : style.red('failed'),
  );
  row('execution', outcome.executionId);
  if (outcome.error) row('error', style.red(outcome.error));
  if (report.hint) row('hint', report.hint);
  const fields = Object.entries(collected.context).filter(([k]) => !k.startsWith('__'));
  if (fields.length) {
    row('context', '');
    const width = Math.min(24, Math.max(...fields.map(([k]) => k.length)));
    for (const [k, v] of fields) {
      const history = Array.isArray(v) ? v : [v];
      const count = history.length > 1 ? style.dim(` (${history.length} values, newest shown)`) : '';
      lines.push(`  ${k.padEnd(width)}  ${formatValue(history[history.length - 1])}${count}`);
    }
  } else row('context', style.dim('(no fields)'));
  if (report.waiting.length && outcome.status === 'completed') {
    row('waiting', report.waiting.map((w) => `${w.node} ← ${w.signals.join(' | ')}`).join(' · '));
    const signal = report.waiting[0]!.signals[0]!;
    if (runtime.kind === 'file') {
      lines.push(`${' '.repeat(FIELD_WIDTH)} resume: soe send ${outcome.executionId} --signals ${signal} --runtime ${runtime.text}`);
    } else if (runtime.kind === 'memory') {
      lines.push(
        `${' '.repeat(FIELD_WIDTH)} ${style.dim('the memory runtime forgets this run on exit: run with --runtime file:DIR, then soe send ID --signals')} ${style.dim(signal)} ${style.dim('--runtime file:DIR')}`,
      );
    }
  }
  const t = totalsOf(collected);
  const parts = [
    plural(t.nodes, 'node') + ' run',
    plural(t.signals, 'signal'),
    plural(t.llmCalls, 'llm call'),
    plural(t.toolCalls, 'tool call'),
    plural(t.errors, 'error'),
  ];
  if (t.executions > 1) parts.push(`${t.executions} executions`);
  parts.push(formatDuration(report.wallMs));
  row('summary', parts.join(' · '));
  // Model usage over the execution and its children, when the provider reports tokens.
  const usage = summarizeUsage(collected.events);
  if (usage.input_tokens || usage.output_tokens) {
    row(
      'tokens',
      `${usage.input_tokens} in · ${usage.output_tokens} out · ${plural(usage.calls, 'model call')} · ${formatDuration(usage.latency_ms)} in the model`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The initial signals of an execution, from its `orchestration_start` event. */
export function initialSignalsOf(collected: CollectedExecution): string[] {
  const start = collected.events.find((e) => e.execution_id === collected.executionId && e.event_type === 'orchestration_start');
  return Array.isArray(start?.initial_signals) ? start.initial_signals.map(String) : [];
}

/** A hint for the usual reasons a local run fails. */
export function hintForRunError(error: string | undefined): string | undefined {
  if (!error) return undefined;
  if (/no callLlm was given/.test(error))
    return 'this workflow calls a model: pass --llm scripted:FILE (offline rules), --llm openai or --llm bedrock, or export callLlm from the --tools module';
  if (/is not registered|not found in the tools registry/.test(error))
    return 'pass --tools MODULE with a module that exports this tool in `tools`';
  if (/scripted model: no rule matched/.test(error)) return 'add a rule for this prompt (or a default answer) to the rules file';
  if (/\bTimeoutError/.test(error)) return 'the run did not settle in time: raise --timeout, or look for a loop with soe graph';
  return undefined;
}
