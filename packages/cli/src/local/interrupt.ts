/** What `soe run` does on Ctrl-C: says what the run did so far and exits with 130. */
import type { Backends } from '@soe/core';
import { writeErr, writeOut } from '../output/write-out.js';

/** The `--json` document of a run that ended before its result: the promise of one object on stdout holds. */
async function writeUnfinishedJson(executionId: string | undefined, status: 'interrupted' | 'stalled', error: string) {
  await writeOut(`${JSON.stringify({ executionId: executionId ?? null, status, context: {}, signals: [], events: [], error })}\n`);
}

/** Exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const INTERRUPTED_EXIT_CODE = 130;

/** How long Ctrl-C waits for the partial summary before exiting anyway. */
const SUMMARY_WAIT_MS = 2000;

/**
 * What a run did so far, in one line: node runs per node, model and tool calls, errors and the
 * signals last broadcast. Read from the stored context; undefined when it cannot be read in time.
 */
export async function partialSummary(backends: Backends, executionId: string): Promise<string | undefined> {
  const read = backends.context.getContext(executionId).then((ctx) => {
    const op = ctx.__operational__;
    if (!op) return undefined;
    const nodes = Object.entries(op.nodes ?? {});
    const runs = nodes.reduce((n, [, c]) => n + c, 0);
    return [
      `${runs} node run${runs === 1 ? '' : 's'}${nodes.length ? ` (${nodes.map(([n, c]) => `${n} ×${c}`).join(', ')})` : ''}`,
      `${op.llm_calls ?? 0} model calls`,
      `${op.tool_calls ?? 0} tool calls`,
      `${op.errors ?? 0} errors`,
      ...(op.signals?.length ? [`last signals ${op.signals.slice(-5).join(', ')}`] : []),
    ].join(', ');
  });
  const timeout = new Promise<undefined>((done) => setTimeout(() => done(undefined), SUMMARY_WAIT_MS).unref());
  return Promise.race([read.catch(() => undefined), timeout]);
}

/**
 * On Ctrl-C during `soe run`: prints the execution id (once known) and a partial summary to stderr,
 * then exits 130. Returns the function that removes the handler.
 */
export function onInterrupt(backends: () => Backends | undefined, executionId: () => string | undefined, json = false): () => void {
  const handler = async () => {
    const id = executionId();
    const b = backends();
    const summary = id && b ? await partialSummary(b, id) : undefined;
    const message = id
      ? `interrupted: execution ${id} did not finish${summary ? `; so far: ${summary}` : ''}`
      : 'interrupted before the execution started: nothing was stored';
    writeErr(`\n${message}\n`);
    if (json) await writeUnfinishedJson(id, 'interrupted', message);
    process.exit(INTERRUPTED_EXIT_CODE);
  };
  process.once('SIGINT', handler);
  return () => process.off('SIGINT', handler);
}

/**
 * Under `--json`, stdout holds one JSON object: what tools print with console.log/info/debug goes
 * to stderr instead. Returns the function that restores the console.
 */
export function routeConsoleToStderr(): () => void {
  const saved = { log: console.log, info: console.info, debug: console.debug };
  console.log = console.info = console.debug = (...args: unknown[]) => console.error(...args);
  return () => Object.assign(console, saved);
}

/** Exit code of a run that stopped making progress (a call that never settles and nothing else to wait for). */
export const STALLED_EXIT_CODE = 1;

/**
 * Node exits (with code 0) when nothing is left to wait for, even while a tool or model call's
 * promise never settles. During `soe run` that would end the command silently with no result, so
 * this says what happened, with the execution id and a partial summary, and exits 1. Returns the
 * function that removes the handler.
 */
export function onStall(backends: () => Backends | undefined, executionId: () => string | undefined, json = false): () => void {
  const handler = async () => {
    const id = executionId();
    const b = backends();
    const summary = id && b ? await partialSummary(b, id) : undefined;
    const message =
      `the run stopped making progress${id ? `: execution ${id} did not finish` : ''}. A tool or model ` +
      'call never settled and nothing else was left to wait for; give the node a timeout_seconds';
    writeErr(`\nerror: ${message}${summary ? `\nso far: ${summary}` : ''}\n`);
    if (json) await writeUnfinishedJson(id, 'stalled', message);
    process.exit(STALLED_EXIT_CODE);
  };
  process.once('beforeExit', handler);
  return () => process.off('beforeExit', handler);
}
