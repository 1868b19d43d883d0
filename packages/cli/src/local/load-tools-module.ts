/** Loads the `--tools` module: its tools registry, model and workflows. */
import { spawnSync } from 'node:child_process';
import { access } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CallLlm, ToolsRegistry } from '@soe/core';
import { tsImport } from 'tsx/esm/api';
import { CliError, InputFileError, messageOf } from '../errors.js';

/** What a `--tools` module gives the engine. */
export interface ToolsModule {
  /** The absolute path it was loaded from. */
  path: string;
  toolsRegistry: ToolsRegistry;
  callLlm?: CallLlm;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx']);

/**
 * Where in the module `url` a load failure happened, as `path:line[:column]`: the stack frame of an
 * error thrown while the module ran, or, for a syntax error (whose message names no file), the line
 * Node's syntax check reports. tsx's messages for TypeScript name the place already.
 */
export function loadErrorLocation(e: unknown, url: string): string | undefined {
  const stack = e instanceof Error ? e.stack : undefined;
  const at = stack?.indexOf(`${url}:`) ?? -1;
  const m = stack && at >= 0 ? /^:(\d+)(?::(\d+))?/.exec(stack.slice(at + url.length)) : null;
  if (m) return `${fileURLToPath(url)}:${m[1]}${m[2] ? `:${m[2]}` : ''}`;
  // Node 20 keeps an ES module's syntax error position out of the error it rejects with; its own
  // syntax check prints it (`<path>:<line>` on the first line of stderr).
  if (e instanceof SyntaxError) {
    const path = fileURLToPath(url);
    const check = spawnSync(process.execPath, ['--check', path], { encoding: 'utf8', timeout: 10_000 });
    const first = (check.stderr ?? '').split('\n', 1)[0] ?? '';
    const line = first.startsWith(`${path}:`) ? first.slice(path.length + 1) : '';
    if (/^\d+$/.test(line)) return `${path}:${line}`;
  }
  return undefined;
}

/**
 * Imports a tools module: an ES module, or TypeScript (`.ts`, `.mts`, `.cts`, `.tsx`; types are
 * stripped by tsx, which needs no tsconfig and no build step), exporting
 * `tools` (or `toolsRegistry`, or a default export) — a registry of functions or `{ fn, … }` entries —
 * and optionally `callLlm`.
 * @example
 * // tools.mjs
 * export const tools = { add: ({ a, b }) => a + b };
 * export function callLlm(prompt, nodeConfig) { return '{"output": "ok"}'; }
 */
export async function loadToolsModule(file: string): Promise<ToolsModule> {
  const path = resolve(file);
  try {
    await access(path);
  } catch {
    throw new InputFileError(file, `tools module '${file}' does not exist${path === file ? '' : ` (looked at ${path})`}`, {
      hint: 'pass the path of a JS module exporting `tools`, e.g. --tools examples/tool-pipeline/tools.mjs',
    });
  }
  let mod: Record<string, unknown>;
  const url = pathToFileURL(path).href;
  try {
    // tsImport keeps its loader to this one import: the rest of the process is not affected.
    mod = (TS_EXTENSIONS.has(extname(path)) ? await tsImport(url, import.meta.url) : await import(url)) as Record<string, unknown>;
  } catch (e) {
    const at = loadErrorLocation(e, url);
    throw new CliError(`tools module '${file}' failed to load: ${messageOf(e)}${at ? ` (at ${at})` : ''}`, {
      hint: 'fix the error above; the module must be an ES module (.mjs, .ts, or "type": "module" in its package.json)',
      cause: e,
    });
  }
  const registry = mod.tools ?? mod.toolsRegistry ?? mod.default;
  if (!isObj(registry)) {
    throw new CliError(`tools module '${file}' exports no tools registry`, {
      hint: 'export an object of tools: `export const tools = { my_tool: (args) => … }` (or a default export)',
    });
  }
  for (const [name, entry] of Object.entries(registry)) {
    if (typeof entry === 'function') continue;
    if (isObj(entry) && typeof entry.fn === 'function') continue;
    throw new CliError(`tools module '${file}': tool '${name}' is neither a function nor an object with a function in 'fn'`, {
      hint: `write ${name}: (args) => … or ${name}: { fn: (args) => …, description: '…', parameters: { type: 'object', … } }`,
    });
  }
  const out: ToolsModule = { path, toolsRegistry: registry as ToolsRegistry };
  if (mod.callLlm !== undefined) {
    if (typeof mod.callLlm !== 'function') {
      throw new CliError(`tools module '${file}' exports callLlm, but it is not a function`, {
        hint: 'export function callLlm(prompt, nodeConfig) { … } returning the answer text, or remove the export',
      });
    }
    out.callLlm = mod.callLlm as CallLlm;
  }
  return out;
}
