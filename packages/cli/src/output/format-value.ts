/** One line of JSON for a value, shortened to `max` characters. */
export function formatValue(value: unknown, max = 160): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  text = text.replace(/\s*\n\s*/g, ' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** `1 tool call`, `2 tool calls`. */
export function plural(n: number, word: string): string {
  return `${n} ${n === 1 ? word : (IRREGULAR[word] ?? `${word}s`)}`;
}

const IRREGULAR: Record<string, string> = { child: 'children' };

/** `850 ms`, `2.4 s`. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** The first 8 characters of an execution id (enough to tell children apart). */
export function shortId(id: string): string {
  return id.slice(0, 8);
}
