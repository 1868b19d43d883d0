// Every command line the README and the docs show is exercised here, so the docs cannot drift from
// the command: a line that runs offline (soe run / validate / graph on files of this repository) is
// run and must exit 0; a line that needs a deployed stack, an execution id or a real model is checked
// against the command's own --help (the subcommand and every flag must exist); `npm run X` must name
// a script of package.json, and `node FILE` an existing file.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, requireBuiltCli, runCli } from './helpers.js';

/** One command line of a document, with continuation lines joined and the comment cut off. */
interface DocCommand {
  doc: string;
  line: number;
  words: string[];
  /** Set after a `cd` in the same block: the line runs in a project of the user's (`soe init`'s). */
  inProject?: string;
}

const SHELL_FENCES = new Set(['sh', 'bash', 'shell', 'console']);

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? markdownFiles(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [],
  );
}

function documents(): string[] {
  const packages = readdirSync(join(ROOT, 'packages')).map((p) => join(ROOT, 'packages', p, 'README.md'));
  return [
    join(ROOT, 'README.md'),
    ...readdirSync(join(ROOT, 'examples')).map((e) => join(ROOT, 'examples', e, 'README.md')),
    ...markdownFiles(join(ROOT, 'packages', 'core', 'docs')),
    ...packages,
  ].filter(existsSync);
}

/** Splits a shell line into words (quotes respected); stops at an unquoted `#` that starts a word. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      word ??= '';
    } else if (/\s/.test(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (ch === '#' && word === undefined) break;
    else word = (word ?? '') + ch;
  }
  if (word !== undefined) words.push(word);
  return words;
}

function commandsOf(doc: string): DocCommand[] {
  const lines = readFileSync(doc, 'utf8').split('\n');
  const out: DocCommand[] = [];
  let inShell = false;
  let inFence = false;
  let project: string | undefined;
  for (let i = 0; i < lines.length; i++) {
    const fence = /^\s*```(\w*)/.exec(lines[i]);
    if (fence) {
      inShell = !inFence && SHELL_FENCES.has(fence[1]);
      inFence = !inFence;
      project = undefined;
      continue;
    }
    if (!inShell) continue;
    const start = i;
    let text = lines[i].replace(/^\s*\$\s+/, '');
    while (text.trimEnd().endsWith('\\') && i + 1 < lines.length) text = `${text.trimEnd().slice(0, -1)} ${lines[++i]}`;
    // `a && b` is two commands; `cd DIR` moves the rest of the block into the user's project.
    const all = shellWords(text);
    const commands: string[][] = [[]];
    for (const w of all)
      if (w === '&&') commands.push([]);
      else commands.at(-1)?.push(w);
    for (const words of commands) {
      if (!words.length) continue;
      if (words[0] === 'cd' && words[1]) {
        project = words[1];
        continue;
      }
      out.push({ doc: relative(ROOT, doc), line: start + 1, words, ...(project ? { inProject: project } : {}) });
    }
  }
  return out;
}

/** The `soe` arguments of a line (after env assignments and `npx`), or undefined if it is not one. */
function soeArgs(words: string[]): string[] | undefined {
  let i = 0;
  while (i < words.length && /^[A-Z_][A-Z0-9_]*=/.test(words[i])) i++;
  if (words[i] === 'npx' && (words[i + 1] === 'soe' || words[i + 1] === '@soe/cli')) return words.slice(i + 2);
  return undefined;
}

const FILE_ARG = /\.(ya?ml|mjs|json)$/;
const PLACEHOLDER = /…|<[^>]*>|3f2c|eb9bb676/;

/** Why a documented soe line cannot run here (so it is checked against --help instead), or undefined. */
function whyNotRunnable(args: string[]): string | undefined {
  const [sub] = args;
  if (!['run', 'validate', 'graph'].includes(sub ?? '')) return `'soe ${sub}' needs a deployed stack or a stored execution`;
  if (args.some((a) => PLACEHOLDER.test(a))) return 'a placeholder';
  if (args.some((a) => ['|', '<', '&&', ';'].includes(a))) return 'a shell pipeline';
  if (args.some((a) => /^(openai|bedrock)(:|$)/.test(a))) return 'a real model';
  for (const a of args.slice(1)) {
    const path = a.startsWith('scripted:') ? a.slice('scripted:'.length) : a.startsWith('@') ? a.slice(1) : a;
    if (FILE_ARG.test(path) && !path.includes('*') && !existsSync(join(ROOT, path))) return `a file of the user's (${path})`;
  }
  return undefined;
}

/** Expands a glob argument like examples/*\/workflow.yaml (only `*` in one path segment). */
function expandGlob(arg: string): string[] {
  if (!arg.includes('*')) return [arg];
  const [before, after] = arg.split('*', 2) as [string, string];
  const dir = before.slice(0, before.lastIndexOf('/') + 1);
  const prefix = before.slice(dir.length);
  const [segmentRest, ...tail] = after.split('/');
  return readdirSync(join(ROOT, dir))
    .filter((name) => name.startsWith(prefix) && name.endsWith(segmentRest ?? ''))
    .map((name) => [dir + name, ...tail].join('/'))
    .filter((p) => existsSync(join(ROOT, p)));
}

const ALL = documents().flatMap(commandsOf);
const SOE = ALL.flatMap((c) => {
  const args = soeArgs(c.words);
  if (!args) return [];
  return [{ ...c, args, why: c.inProject ? `runs in the user's project (${c.inProject})` : whyNotRunnable(args) }];
});
const label = (c: DocCommand) => `${c.doc}:${c.line}: ${c.words.join(' ')}`;

beforeAll(requireBuiltCli);

describe('documented commands', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'soe-doc-commands-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the docs show soe commands (the scan finds them)', () => {
    expect(SOE.filter((c) => !c.why).length).toBeGreaterThan(5);
    expect(SOE.filter((c) => c.why).length).toBeGreaterThan(5);
  });

  it.each(SOE.filter((c) => !c.why).map((c) => [label(c), c] as const))('runs offline: %s', async (_, c) => {
    // A file runtime of the docs (file:.soe-data) goes to a temporary directory, not the checkout.
    // `> file` only saves stdout: the command itself is what runs.
    const redirect = c.args.indexOf('>');
    const args = (redirect < 0 ? c.args : c.args.slice(0, redirect))
      .flatMap(expandGlob)
      .map((a) => (a.startsWith('file:') ? `file:${join(dir, a.slice(5))}` : a));
    const r = await runCli(args);
    expect(r.code, `${label(c)}\n${r.stderr}`).toBe(0);
  });

  const helpCache = new Map<string, Promise<string>>();
  const helpOf = (sub: string) => {
    if (!helpCache.has(sub))
      helpCache.set(
        sub,
        runCli([sub, '--help']).then((r) => (r.code === 0 ? r.stdout : '')),
      );
    return helpCache.get(sub) as Promise<string>;
  };

  it.each(SOE.filter((c) => c.why).map((c) => [label(c), c] as const))('matches soe --help: %s', async (_, c) => {
    const [sub = ''] = c.args;
    const help = await helpOf(sub);
    expect(help, `'soe ${sub}' is not a command (${label(c)})`).not.toBe('');
    for (const flag of c.args.filter((a) => /^--?[a-zA-Z]/.test(a)).map((a) => a.split('=')[0] as string)) {
      if (flag === '--help' || flag === '-h') continue;
      expect(help, `${label(c)}: ${flag} is not an option of soe ${sub}`).toMatch(
        new RegExp(`(^|[\\s,])${flag.replace(/[-]/g, '\\-')}([\\s,=<[]|$)`, 'm'),
      );
    }
  });

  const scriptsOf = (dir: string) =>
    Object.keys(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).scripts as Record<string, string>);
  // Lines after `cd` into a project name the scripts of the project `soe init` writes.
  let scaffold: string | undefined;
  const scaffoldScripts = async () => {
    if (!scaffold) {
      scaffold = join(dir, 'scaffold');
      const r = await runCli(['init', scaffold]);
      expect(r.code, r.stderr).toBe(0);
    }
    return scriptsOf(scaffold);
  };
  const npmRuns = ALL.filter((c) => c.words[0] === 'npm' && (c.words[1] === 'run' || c.words[1] === 'start' || c.words[1] === 'test'));
  it.each(npmRuns.map((c) => [label(c), c] as const))('names a script of package.json: %s', async (_, c) => {
    const scripts = c.inProject ? await scaffoldScripts() : scriptsOf(ROOT);
    expect(scripts).toContain(c.words[1] === 'run' ? c.words[2] : c.words[1]);
  });

  it('LocalStack commands read the outputs file that npm run local:deploy writes', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const written = /--outputs-file (\S+)/.exec(pkg.scripts['local:deploy'] ?? '')?.[1];
    expect(written).toBeDefined();
    const read = SOE.filter((c) => c.args.includes('--endpoint') && c.args.includes('--outputs'));
    expect(read.length).toBeGreaterThan(0);
    for (const c of read) expect(c.args[c.args.indexOf('--outputs') + 1], label(c)).toBe(written);
  });

  const nodeFiles = ALL.filter((c) => c.words[0] === 'node' && c.words[1] && !c.words[1].startsWith('-'));
  it.each(nodeFiles.map((c) => [label(c), c] as const))('runs a file that exists: %s', (_, c) => {
    expect(existsSync(join(ROOT, c.words[1] as string)), label(c)).toBe(true);
  });
});
