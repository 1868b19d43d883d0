/** Finds the line and column of a config path in YAML text, for located error messages. */
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';

/** A 1-based position in a text file. */
export interface Position {
  line: number;
  column: number;
}

/** Finds where a path of keys sits in YAML text. */
export type Locator = (path: ReadonlyArray<string | number>) => Position | undefined;

/**
 * Parses YAML text once and answers where a key path is: the position of the last key (so a node
 * points at `MyNode:`), or of the nearest ancestor that exists.
 */
export function createLocator(text: string): Locator {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const pos = (offset: number): Position => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  return (path) => {
    for (let n = path.length; n > 0; n--) {
      const parent = n > 1 ? doc.getIn(path.slice(0, n - 1), true) : doc.contents;
      const key = path[n - 1];
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === key);
        const range = isScalar(pair?.key) ? pair.key.range : undefined;
        if (range) return pos(range[0]);
      } else if (parent && typeof key === 'number') {
        const item = (parent as { items?: Array<{ range?: [number, number, number] }> }).items?.[key];
        if (item?.range) return pos(item.range[0]);
      }
    }
    return undefined;
  };
}
