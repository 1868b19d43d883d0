/** Reads a file the user named, with errors that say what to do. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InputFileError, messageOf } from '../errors.js';

/**
 * Reads a text file the user named, turning the usual failures into errors that say what to do.
 * @param what how the file is called in messages (`workflow file`, `context file`…)
 */
export async function readInputFile(file: string, what: string): Promise<string> {
  const path = resolve(file);
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new InputFileError(file, `${what} '${file}' does not exist${path === file ? '' : ` (looked at ${path})`}`, {
        hint: 'check the path; relative paths are resolved against the current directory',
        cause: e,
      });
    if (code === 'EISDIR') throw new InputFileError(file, `${what} '${file}' is a directory, not a file`, { cause: e });
    if (code === 'EACCES') throw new InputFileError(file, `${what} '${file}' cannot be read: permission denied`, { cause: e });
    throw new InputFileError(file, `${what} '${file}' cannot be read: ${messageOf(e)}`, { cause: e });
  }
}
