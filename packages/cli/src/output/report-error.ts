/** Prints an error the way every command does, as text or `--json`. */
import { CliError, InvalidConfigError, messageOf } from '../errors.js';
import { formatProblem } from './format-issue.js';
import { styleFor } from './style.js';
import { writeErr } from './write-out.js';

/** Issues carried by an engine error (WorkflowValidationError), if any. */
function issuesOf(e: unknown): InvalidConfigError['issues'] | undefined {
  const issues = (e as { issues?: unknown })?.issues;
  return Array.isArray(issues) && issues.length ? (issues as InvalidConfigError['issues']) : undefined;
}

/** Prints an error the way every command does: located problems first, then `soe: error: …` and a hint. */
export function reportError(e: unknown, color = true): number {
  const style = styleFor(process.stderr, color);
  const issues = issuesOf(e);
  if (issues)
    for (const i of issues) writeErr(`${formatProblem(i, 'error', style, e instanceof InvalidConfigError ? e.file : undefined)}\n`);
  const name = e instanceof Error && !(e instanceof CliError) && e.name !== 'Error' ? `${e.name}: ` : '';
  writeErr(`${style.red('soe: error:')} ${name}${messageOf(e)}\n`);
  const hint = e instanceof CliError ? e.hint : hintFor(e);
  if (hint) writeErr(`${style.dim('hint:')} ${hint}\n`);
  if (process.env.SOE_DEBUG && e instanceof Error && e.stack) writeErr(`${e.stack}\n`);
  else if (!(e instanceof CliError) && !issues && !hint) writeErr(`${style.dim('(set SOE_DEBUG=1 to see the stack)')}\n`);
  return e instanceof CliError ? e.exitCode : 1;
}

function hintFor(e: unknown): string | undefined {
  const name = (e as { name?: unknown })?.name;
  if (name === 'WorkflowValidationError')
    return 'fix the workflow file or the flags named above; soe validate FILE checks a file without running it';
  if (name === 'ModelProviderError') return 'check the --llm spec and the provider settings (README, "Models")';
  return undefined;
}

/** The `--json` document of a run that could not start (bad config, bad flags). */
export function failureJson(e: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {
    executionId: null,
    status: 'failed',
    context: {},
    signals: [],
    events: [],
    error: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
  };
  const issues = issuesOf(e);
  if (issues) out.issues = issues;
  return out;
}
