// SOE_DEBUG=1 promises stacks. A tool's error reaches the trace as a message only (the engine stores
// messages, not stacks, in telemetry), so under SOE_DEBUG the CLI wraps each tool and prints the stack
// of what it throws, pointing at the user's own file and line.
import type { CallLlm, ToolsRegistry } from '@soe/core';
import { writeErr } from '../output/write-out.js';

type Entry = ToolsRegistry[string];

function printStack(what: string, e: unknown): void {
  const stack = e instanceof Error ? e.stack : undefined;
  writeErr(`SOE_DEBUG: ${what} threw\n${stack ?? String(e)}\n`);
}

function wrap<F extends (...args: never[]) => unknown>(what: string, fn: F): F {
  return (async (...args: Parameters<F>) => {
    try {
      return await fn(...args);
    } catch (e) {
      printStack(what, e);
      throw e;
    }
  }) as unknown as F;
}

/** The registry with each tool's function wrapped to print the stack of what it throws. */
export function withToolStacks(registry: ToolsRegistry): ToolsRegistry {
  const out: ToolsRegistry = {};
  for (const [name, entry] of Object.entries(registry)) {
    out[name] =
      typeof entry === 'function'
        ? (wrap(`tool '${name}'`, entry as (...a: never[]) => unknown) as Entry)
        : ({ ...entry, fn: wrap(`tool '${name}'`, entry.fn as (...a: never[]) => unknown) } as Entry);
  }
  return out;
}

/** The model caller wrapped the same way. */
export function withModelStacks(callLlm: CallLlm): CallLlm {
  return wrap('the model call', callLlm as (...a: never[]) => unknown) as unknown as CallLlm;
}
