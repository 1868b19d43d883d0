// Where in a user's module a load error happened. Node's dynamic import() reports a syntax error
// with its own internal stack and no file position, which sends users into the CLI's code instead of
// theirs; `node --check` prints the position (file:line, source line and caret), so ask it.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The position and source excerpt of a load error inside `path`, e.g. "tools.mjs:3:14", or undefined. */
export function moduleErrorLocation(path: string, error: unknown): string | undefined {
  if (error instanceof SyntaxError) return syntaxErrorLocation(path);
  // A throw while the module body runs: the first stack frame inside the module is the user's line.
  const stack = error instanceof Error ? (error.stack ?? '') : '';
  for (const m of stack.matchAll(/\(?(file:\/\/[^\s()]+?|\/[^\s():]+?):(\d+):(\d+)\)?$/gm)) {
    const [, where = '', line, column] = m;
    const file = where.startsWith('file://') ? fileURLToPath(where) : where;
    if (file === path) return `${path}:${line}:${column}`;
  }
  return undefined;
}

function syntaxErrorLocation(path: string): string | undefined {
  const r = spawnSync(process.execPath, ['--check', path], { encoding: 'utf8', timeout: 10_000 });
  const lines = (r.stderr ?? '').split('\n');
  const at = lines.findIndex((l) => l.startsWith(`${path}:`));
  if (at < 0) return undefined;
  const caret = lines[at + 2]?.indexOf('^') ?? -1;
  const position = caret >= 0 ? `${lines[at]}:${caret + 1}` : lines[at];
  return [position, lines[at + 1], lines[at + 2]].filter((l) => l !== undefined).join('\n');
}
