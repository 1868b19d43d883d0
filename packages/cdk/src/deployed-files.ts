/**
 * Synth-time checks of the files a deployment ships: the workflow files of `workflowsDir` and the
 * rules file of a scripted model. A broken file fails `cdk synth` (and so `cdk deploy`) with the
 * engine's own message — file, workflow, node and field — instead of failing the first start request.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, relative, resolve } from 'node:path';
import { loadScriptedLlm, parseConfig } from '@soe/core';
import { WORKFLOW_FILE_EXTENSIONS } from './defaults.js';

/** One deployed workflow file: started with `{ workflowName: name }`. */
export interface DeployedWorkflow {
  /** The name a start request uses: the file name without its extension. */
  readonly name: string;
  /** Absolute path of the file. */
  readonly path: string;
  /** The file name in the bundle (`<name><ext>`). */
  readonly fileName: string;
}

/** The names the start handler accepts for `workflowName` (packages/aws/src/start-handler.ts). */
const WORKFLOW_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** A deployment file was rejected at synth time. */
export class DeploymentFileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DeploymentFileError';
  }
}

/** The path as the user knows it: relative to the working directory when that is shorter. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

/**
 * Reads every `*.yaml`, `*.yml` and `*.json` file directly in `dir` and validates it with the engine's
 * `parseConfig`. Throws one {@link DeploymentFileError} listing every broken file with every problem.
 */
export function loadDeployedWorkflows(dir: string): DeployedWorkflow[] {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new DeploymentFileError(`SoeOrchestrator: workflowsDir '${shown(root)}' is not a directory`);
  }
  const files = readdirSync(root)
    .filter((f) => (WORKFLOW_FILE_EXTENSIONS as readonly string[]).includes(extname(f).toLowerCase()))
    .filter((f) => statSync(join(root, f)).isFile())
    .sort();
  if (files.length === 0) {
    throw new DeploymentFileError(
      `SoeOrchestrator: workflowsDir '${shown(root)}' holds no workflow file (expected ${WORKFLOW_FILE_EXTENSIONS.join(', ')})`,
    );
  }
  const problems: string[] = [];
  const byName = new Map<string, string>();
  const out: DeployedWorkflow[] = [];
  for (const fileName of files) {
    const path = join(root, fileName);
    const name = basename(fileName, extname(fileName));
    if (!WORKFLOW_NAME.test(name)) {
      problems.push(
        `file '${shown(path)}': '${name}' cannot be a workflow name (letters, digits, '_', '.', '-'; not starting with '.' or '-')`,
      );
      continue;
    }
    const twin = byName.get(name);
    if (twin) {
      problems.push(`files '${twin}' and '${fileName}' both deploy the workflow name '${name}'`);
      continue;
    }
    byName.set(name, fileName);
    const text = readFileSync(path, 'utf8');
    try {
      // JSON is YAML, so parseConfig reads both; it names the file in every issue.
      parseConfig(text, { file: shown(path) });
    } catch (e) {
      problems.push(e instanceof Error ? e.message : String(e));
      continue;
    }
    out.push({ name, path, fileName });
  }
  if (problems.length) {
    throw new DeploymentFileError(`SoeOrchestrator: invalid deployed workflow file:\n  ${problems.join('\n  ')}`);
  }
  return out;
}

/** Checks that a scripted model's rules file exists and holds rules (the worker loads it at cold start). */
export function checkScriptedModelFile(file: string): string {
  const path = resolve(file);
  try {
    loadScriptedLlm(path);
  } catch (e) {
    throw new DeploymentFileError(`SoeOrchestrator: scriptedModelFile: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return path;
}
