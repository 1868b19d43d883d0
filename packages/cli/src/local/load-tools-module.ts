/** Loads the `--tools` module: its tools registry, model and workflows. */
import { access } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CallLlm, ToolsRegistry } from '@soe/core';
import { CliError, InputFileError, messageOf } from '../errors.js';
import { moduleErrorLocation } from './module-error-location.js';

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
 * Imports a tools module: an ES module (or TypeScript when the process runs under tsx) exporting
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
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION' && TS_EXTENSIONS.has(extname(path))) {
      throw new CliError(`tools module '${file}' is TypeScript, and Node cannot import TypeScript by itself`, {
        hint: `run the command under tsx: NODE_OPTIONS='--import tsx' soe run … --tools ${file} (or compile it to .mjs)`,
        cause: e,
      });
    }
    const where = moduleErrorLocation(path, e);
    throw new CliError(`tools module '${file}' failed to load: ${messageOf(e)}${where ? `\n  at ${where}` : ''}`, {
      hint: 'fix the error above; the module must be an ES module (use .mjs, or "type": "module" in its package.json)',
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
