/** What `soe run` on a file runtime remembers about an execution, so `soe send` can reuse it. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What `soe run` on a file runtime remembers about an execution, so `soe send` can reuse it. */
export interface RunRecord {
  executionId: string;
  /** The workflow file (absolute). */
  config: string;
  workflow: string;
  /** The tools module (absolute), if one was given. */
  tools?: string;
  /** The `--llm` spec (file paths absolute), if one was given. */
  llm?: string;
  startedAt: string;
  /** Set when the run (or a later send) failed: `soe send` refuses signals from then on. */
  failed?: string;
  /** `--signal-id`s of the sends applied so far: a repeated send applies once. */
  signalIds?: string[];
}

const file = (dir: string, id: string) => join(dir, 'cli-runs', `${encodeURIComponent(id)}.json`);

/** Saves the record beside the runtime's own files. */
export async function saveRunRecord(dir: string, record: RunRecord): Promise<void> {
  await mkdir(join(dir, 'cli-runs'), { recursive: true });
  await writeFile(file(dir, record.executionId), `${JSON.stringify(record, null, 2)}\n`);
}

/** The record of an execution, or undefined when `soe run` did not start it. */
export async function loadRunRecord(dir: string, executionId: string): Promise<RunRecord | undefined> {
  try {
    return JSON.parse(await readFile(file(dir, executionId), 'utf8')) as RunRecord;
  } catch {
    return undefined;
  }
}

/** Changes the record of an execution (nothing when `soe run` did not start it). */
export async function updateRunRecord(dir: string, executionId: string, change: (r: RunRecord) => void): Promise<void> {
  const record = await loadRunRecord(dir, executionId);
  if (!record) return;
  change(record);
  await saveRunRecord(dir, record);
}
