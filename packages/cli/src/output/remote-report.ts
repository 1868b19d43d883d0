/** Prints the status of a deployed execution, and its exit code. */
import type { RemoteStatus } from '../remote/soe-remote.js';
import { formatValue } from './format-value.js';
import type { Style } from './style.js';

const WIDTH = 10;

/** The status of a deployed execution as text. */
export function renderRemoteStatus(s: RemoteStatus, style: Style, extra: { timedOut?: boolean } = {}): string {
  const lines: string[] = [];
  const row = (k: string, v: string) => lines.push(`${style.bold(k.padEnd(WIDTH))} ${v}`.trimEnd());
  const color = s.status === 'IDLE' ? style.green : s.status === 'RUNNING' ? style.yellow : style.red;
  const what =
    s.status === 'IDLE'
      ? style.dim('(no signal in flight: done, or waiting for a signal from outside)')
      : s.status === 'RUNNING'
        ? style.dim(extra.timedOut ? '(still running when the wait timed out)' : '(signals in flight)')
        : s.status === 'CANCELLED'
          ? style.dim('(cancelled: nothing more runs, signals are refused)')
          : '';
  row('status', `${color(s.status)} ${what}`.trimEnd());
  row('execution', s.executionId);
  row('in flight', String(s.inFlight ?? 0));
  if (s.error) row('error', style.red(s.error));
  if (s.failedNode)
    row(
      'failed at',
      `node ${s.failedNode}${s.failedExecutionId && s.failedExecutionId !== s.executionId ? ` (child execution ${s.failedExecutionId})` : ''}`,
    );
  if (s.usage?.calls) {
    row('model', `${s.usage.calls} calls · ${s.usage.input_tokens} in / ${s.usage.output_tokens} out tokens · ${s.usage.latency_ms} ms`);
  }
  if (s.context) {
    const fields = Object.entries(s.context).filter(([k]) => !k.startsWith('__'));
    row('context', fields.length ? '' : style.dim('(no fields)'));
    const width = Math.min(24, Math.max(0, ...fields.map(([k]) => k.length)));
    for (const [k, v] of fields) {
      const history = Array.isArray(v) ? v : [v];
      lines.push(
        `  ${k.padEnd(width)}  ${formatValue(history[history.length - 1])}${history.length > 1 ? style.dim(` (${history.length} values)`) : ''}`,
      );
    }
    const signals = s.context.__operational__?.signals;
    if (signals?.length) row('signals', signals.join(' → '));
  }
  return `${lines.join('\n')}\n`;
}

/** The exit code of a final status: 0 when IDLE. */
export function exitCodeOf(s: RemoteStatus, timedOut = false): number {
  return s.status === 'IDLE' && !timedOut ? 0 : 1;
}
