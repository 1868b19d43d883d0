/** Parses the step I/O flags (`--capture-chars`, `--redact`) into capture options. */
import type { StepCaptureOptions } from '@soe/core';
import { UsageError } from '../errors.js';

/** The step I/O flags of `soe run` and `soe send`. */
export interface CaptureFlags {
  /** `--capture-chars N`: characters kept per captured value (0: none). */
  captureChars?: string;
  /** `--redact a,b`: field names whose values never reach telemetry. */
  redact?: string;
}

/**
 * Turns `--capture-chars` and `--redact` into capture options (undefined when neither is given).
 * @example parseCapture({ captureChars: '200', redact: 'password,apiKey' }) // { maxChars: 200, redact: ['password', 'apiKey'] }
 */
export function parseCapture(flags: CaptureFlags): StepCaptureOptions | undefined {
  const out: StepCaptureOptions = {};
  if (flags.captureChars !== undefined) {
    const n = Number(flags.captureChars);
    if (!Number.isInteger(n) || n < 0) {
      throw new UsageError(`--capture-chars must be a whole number of at least 0, got '${flags.captureChars}'`, {
        hint: 'e.g. --capture-chars 2000 (0 keeps no prompts, answers or tool values in telemetry)',
      });
    }
    out.maxChars = n;
  }
  const names = (flags.redact ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length) out.redact = names;
  return Object.keys(out).length ? out : undefined;
}

/** The help text of the capture flags. */
export const CAPTURE_FLAGS = {
  chars: ['--capture-chars <n>', 'characters of each prompt, answer, tool argument and result kept in telemetry (default 4000; 0: none)'],
  redact: ['--redact <fields>', 'comma-separated field names whose values telemetry masks as "[redacted]" (any depth)'],
} as const;
