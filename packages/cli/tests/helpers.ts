import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (commands run from there, as a user would). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The built command. */
export const BIN = join(ROOT, 'packages', 'cli', 'dist', 'bin.js');
/** Fixtures of this package, relative to ROOT. */
export const FIXTURES = 'packages/cli/tests/fixtures';

/** What a finished `soe` process left. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Throws a clear error when the command has not been built (npm test builds first). */
export function requireBuiltCli(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build (npm test does) before these tests`);
}

/**
 * Runs `node packages/cli/dist/bin.js …args` from the repository root, asynchronously (tests serve
 * HTTP in this process while the command runs), and resolves with its exit code and output.
 */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: opts.cwd ?? ROOT,
        env: { ...process.env, NO_COLOR: '1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...opts.env },
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Parses stdout as exactly one JSON document (fails the test with the output when it is not). */
export function parseJsonOut<T = Record<string, unknown>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${r.code}):\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
  }
}

/** The arguments that run an example with its tools and scripted model. */
export function exampleArgs(name: string): string[] {
  return [`examples/${name}/workflow.yaml`, '--tools', `examples/${name}/tools.mjs`, '--llm', `scripted:examples/${name}/model.yaml`];
}

/** Newest value of a context field (every field is its history). */
export function newest(context: Record<string, unknown>, field: string): unknown {
  const h = context[field];
  return Array.isArray(h) ? h[h.length - 1] : undefined;
}

/** The shape of `soe run --json`. */
export interface RunJson {
  executionId: string;
  status: 'completed' | 'failed';
  error?: string;
  context: Record<string, unknown> & {
    __operational__: { signals: string[]; nodes: Record<string, number>; llm_calls: number; tool_calls: number; errors: number };
  };
  signals: string[];
  events: Array<{ event_type: string; timestamp: string; execution_id: string; [k: string]: unknown }>;
}
