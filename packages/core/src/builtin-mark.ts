/**
 * The mark that tells a built-in tool's function from a user's. It lives apart from the built-ins so
 * the engine can recognise a built-in (even one copied into a user's registry with its own
 * failureSignal) without importing them: composition happens in setup.ts.
 */

/** A registered symbol, so the mark survives two copies of the package in one bundle. */
const BUILTIN_MARK = Symbol.for('soe.builtin');

/** Marks a function as a built-in's, so an entry copied from it (`{...builtin, failureSignal}`) stays a built-in. */
export function markBuiltin(fn: object): void {
  Object.defineProperty(fn, BUILTIN_MARK, { value: true });
}

/** True when a registry entry's function is a built-in's (see `createBuiltinTools`). */
export function isBuiltinFunction(fn: unknown): boolean {
  return typeof fn === 'function' && (fn as unknown as Record<symbol, unknown>)[BUILTIN_MARK] === true;
}
