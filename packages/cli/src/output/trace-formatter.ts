/** Formats telemetry events as the lines of a trace. */
import type { TelemetryEvent } from '@soe/core';
import { formatDuration, formatValue, plural, shortId } from './format-value.js';
import type { Style } from './style.js';

/** Options of {@link TraceFormatter}. */
export interface TraceFormatterOptions {
  style: Style;
  /** Prefix each line with the time since the first event (`soe trace`). */
  timeline?: boolean;
  /** Also print node starts and every successful model and tool call. */
  verbose?: boolean;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined ? '' : formatValue(v));
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

/** A captured value on one line: a capped one (`{ truncated, prefix, size }`) shows its prefix and full size. */
export function formatCaptured(v: unknown, max = 200): string {
  if (typeof v === 'object' && v !== null && (v as { truncated?: unknown }).truncated === true) {
    const t = v as { prefix?: unknown; size?: unknown };
    return `${oneLine(String(t.prefix ?? ''), max)}… (${num(t.size)} chars in all)`;
  }
  return typeof v === 'string' ? oneLine(v, max) : formatValue(v, max);
}

function oneLine(text: string, max: number): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** The verbose I/O lines of an event: its captured fields, one per line. */
function ioLines(e: Record<string, unknown>, fields: Array<[string, string]>, s: Style): string[] {
  return fields.filter(([f]) => e[f] !== undefined).map(([f, label]) => s.dim(`      ${label}: ${formatCaptured(e[f])}`));
}

/** Why a node emitted what it did (verbose): the selection and each emission's condition. */
function reasonLine(e: Record<string, unknown>, s: Style): string[] {
  const emissions = Array.isArray(e.emissions) ? (e.emissions as Array<Record<string, unknown>>) : [];
  if (!e.selected_by || (!emissions.length && e.selected_by === 'none')) return [];
  const each = emissions.map((m) => `${m.emitted ? '✓' : '✗'} ${str(m.signal)}${m.condition ? ` if ${formatValue(m.condition, 60)}` : ''}`);
  return [s.dim(`      why: ${str(e.selected_by)}${each.length ? ` · ${each.join(' · ')}` : ''}`)];
}

/**
 * Turns telemetry events into trace lines: signals as they are broadcast, nodes as they complete
 * (type, duration, emitted signals, model and tool calls), failures with their error, conditions that
 * raised as warnings, children as they start. Child executions are indented under their parent and tagged with their short id.
 */
export class TraceFormatter {
  private readonly depth = new Map<string, number>();
  private t0: number | undefined;

  constructor(
    private readonly opts: TraceFormatterOptions,
    mainExecutionId?: string,
  ) {
    if (mainExecutionId) this.depth.set(mainExecutionId, 0);
  }

  /** Declares the execution the trace is about (its lines are not tagged). */
  setMain(executionId: string): void {
    if (!this.depth.has(executionId)) this.depth.set(executionId, 0);
  }

  /** The lines for one event (none for events the trace does not show). */
  format(executionId: string, event: TelemetryEvent): string[] {
    const { style: s, verbose } = this.opts;
    if (!this.depth.has(executionId)) this.depth.set(executionId, this.depth.size === 0 ? 0 : 1);
    const depth = this.depth.get(executionId)!;
    const e = event as Record<string, unknown>;
    const node = str(e.node_name);
    let lines: string[] = [];
    switch (event.event_type) {
      case 'orchestration_start':
        lines = [`${s.bold('▶')} workflow ${s.bold(str(e.workflow_name))} · signals ${list(e.initial_signals).join(', ')}`];
        break;
      case 'signals_broadcast':
        lines = [`${s.cyan('⇢')} ${s.cyan(list(e.signals).join(', '))}`];
        break;
      case 'node_execution':
        if (verbose) lines = [s.dim(`… ${node} (${str(e.node_type)}) started`)];
        break;
      case 'node_completed': {
        const ok = e.ok !== false;
        const parts = [
          `${ok ? s.green('✓') : s.red('✗')} ${s.bold(node)} ${s.dim(`(${str(e.node_type)})`)} ${formatDuration(num(e.duration_ms))}`,
        ];
        const emitted = list(e.emitted);
        if (emitted.length) parts.push(`→ ${s.cyan(emitted.join(', '))}`);
        const extras: string[] = [];
        if (num(e.llm_calls)) extras.push(plural(num(e.llm_calls), 'llm call'));
        if (num(e.tool_calls)) extras.push(plural(num(e.tool_calls), 'tool call'));
        if (extras.length) parts.push(s.dim(`· ${extras.join(' · ')}`));
        if (!ok) parts.push(s.red('failed'));
        lines = [parts.join(' ')];
        if (verbose) lines.push(...reasonLine(e, s), ...ioLines(e, [['outputs', 'outputs']], s));
        break;
      }
      case 'node_error':
        lines = [
          `  ${s.red(`error in ${node}: ${str(e.error_type) ? `${str(e.error_type)}: ` : ''}${str(e.error)}`)}${
            list(e.handled_by).length ? s.dim(` (handled: emitted ${list(e.handled_by).join(', ')})`) : ''
          }`,
          ...list(e.cause).map((c) => s.dim(`    caused by ${c}`)),
        ];
        break;
      case 'condition_error':
        // A condition that raised counts as false: say so, or a missing signal would go unexplained.
        lines = [`  ${s.yellow(`! condition of ${str(e.signal_name)} in ${node} raised, counted as false: ${str(e.error)}`)}`];
        break;
      case 'llm_call':
        if (e.ok === false)
          lines = [
            `  ${s.yellow(`! model call failed (${node}, ${str(e.stage) || 'llm'} stage, attempt ${num(e.attempt) || 1}): ${str(e.error)}`)}`,
          ];
        else if (verbose) {
          const tokens = e.input_tokens !== undefined ? ` · ${num(e.input_tokens)} in / ${num(e.output_tokens)} out tokens` : '';
          lines = [s.dim(`  · model call (${node}, ${str(e.stage) || 'llm'} stage) ${formatDuration(num(e.latency_ms))}${tokens}`)];
        }
        if (verbose)
          lines.push(
            ...ioLines(
              e,
              [
                ['prompt', 'prompt'],
                ['response', 'answer'],
              ],
              s,
            ),
          );
        break;
      case 'tool_call':
        if (e.ok === false)
          lines = [`  ${s.yellow(`! tool ${str(e.tool_name)} failed (${node}, attempt ${num(e.attempt) || 1}): ${str(e.error)}`)}`];
        else if (verbose) lines = [s.dim(`  · tool ${str(e.tool_name)} (${node}) ${formatDuration(num(e.duration_ms))}`)];
        if (verbose)
          lines.push(
            ...ioLines(
              e,
              [
                ['arguments', 'arguments'],
                ['result', 'result'],
              ],
              s,
            ),
          );
        break;
      case 'child_started': {
        const children = list(e.children);
        for (const c of children) this.depth.set(c, depth + 1);
        lines = [
          `${s.bold('⇉')} ${node} started ${plural(children.length, 'child')}${children.length ? s.dim(`: ${children.map(shortId).join(', ')}`) : ''}`,
        ];
        break;
      }
      default: {
        const { event_type: _t, timestamp: _ts, ...rest } = e;
        lines = [s.dim(`· ${event.event_type} ${formatValue(rest, 120)}`)];
      }
    }
    if (!lines.length) return [];
    const indent = '  '.repeat(depth);
    const tag = depth > 0 ? `${s.dim(`[${shortId(executionId)}]`)} ` : '';
    const time = this.opts.timeline ? `${s.dim(this.offset(event).padStart(9))}  ` : '';
    return lines.map((l) => `${time}${indent}${tag}${l}`);
  }

  private offset(event: TelemetryEvent): string {
    const t = Date.parse(event.timestamp);
    if (!Number.isFinite(t)) return '';
    this.t0 ??= t;
    return `+${t - this.t0}ms`;
  }
}
