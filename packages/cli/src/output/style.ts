/** Terminal styling: ANSI colors when the stream is a TTY, `NO_COLOR` is unset and `--no-color` was not given. */
export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const wrap = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;
const plain = (s: string) => s;

/** A style for a stream (colors only for a TTY, unless disabled). */
export function styleFor(stream: NodeJS.WriteStream, enabled = true): Style {
  const on = enabled && stream.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  if (!on) return { bold: plain, dim: plain, red: plain, green: plain, yellow: plain, cyan: plain };
  return { bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), cyan: wrap(36, 39) };
}
