/** Lines and columns of config paths in YAML text (graph/yaml-locator.ts). */
import { describe, expect, it } from 'vitest';
import { createLocator } from '../src/graph/yaml-locator.js';

describe('createLocator', () => {
  it('points at the key of the deepest existing path element', () => {
    const locate = createLocator('a:\n  b:\n    c: [1, 2]\n');
    expect(locate(['a', 'b'])).toEqual({ line: 2, column: 3 });
    expect(locate(['a', 'b', 'c', 1])).toEqual({ line: 3, column: 12 });
    expect(locate(['a', 'b', 'missing'])).toEqual({ line: 2, column: 3 });
  });
});
