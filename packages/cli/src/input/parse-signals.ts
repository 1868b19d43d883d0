/** Parses `--signals` into signal names. */
import { UsageError } from '../errors.js';

/** The signal sent when `--signals` is not given. */
export const DEFAULT_SIGNAL = 'START';

/**
 * Parses `--signals A,B` (commas and/or spaces) into signal names.
 * @example parseSignals('START, RETRY') // ['START', 'RETRY']
 */
export function parseSignals(text: string | undefined, flag = '--signals'): string[] {
  if (text === undefined) return [DEFAULT_SIGNAL];
  const signals = text
    .split(/[,\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (signals.length === 0) throw new UsageError(`${flag} names no signal`, { hint: `write ${flag} START or ${flag} APPROVED,NOTIFY` });
  return signals;
}

/** Like {@link parseSignals}, for commands where the flag is required. */
export function requireSignals(text: string | undefined, flag = '--signals'): string[] {
  if (text === undefined) throw new UsageError(`${flag} is required`, { hint: `name the signals to send, e.g. ${flag} APPROVED` });
  return parseSignals(text, flag);
}
