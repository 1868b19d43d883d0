/**
 * Writes to stdout and resolves once the data is handed to the OS: the entry point may then exit
 * without cutting a large `--json` document short on a pipe.
 */
export function writeOut(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (e) => (e ? reject(e) : resolve()));
  });
}

/** Writes to stderr (progress, traces, diagnostics). */
export function writeErr(text: string): void {
  process.stderr.write(text);
}
