/** The record stores under the simple backends: a Map, or one JSON file per key. */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A keyed record store under the simple backends: a Map in memory, JSON files on disk. */
export interface RecordStore<T> {
  get(key: string): T | undefined;
  /** Stores (or re-stores after an in-place change) the record under key. */
  set(key: string, value: T): void;
  delete(key: string): boolean;
  keys(): string[];
  clear(): void;
}

/** A Map. */
export class MemoryStore<T> implements RecordStore<T> {
  private readonly map = new Map<string, T>();
  get(key: string): T | undefined {
    return this.map.get(key);
  }
  set(key: string, value: T): void {
    this.map.set(key, value);
  }
  delete(key: string): boolean {
    return this.map.delete(key);
  }
  keys(): string[] {
    return [...this.map.keys()];
  }
  clear(): void {
    this.map.clear();
  }
}

/**
 * One JSON file per key under a directory, cached in memory. Every write goes to a temporary file
 * that is then renamed over the old one, so a crash never leaves a half-written record.
 */
export class FileStore<T> implements RecordStore<T> {
  private readonly cache = new Map<string, T>();
  private seq = 0;
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }
  private file(key: string): string {
    return join(this.dir, `${encodeURIComponent(key)}.json`);
  }
  get(key: string): T | undefined {
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    let text: string;
    try {
      text = readFileSync(this.file(key), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    const value = JSON.parse(text) as T;
    this.cache.set(key, value);
    return value;
  }
  set(key: string, value: T): void {
    this.cache.set(key, value);
    const target = this.file(key);
    const tmp = `${target}.${process.pid}.${++this.seq}.tmp`;
    writeFileSync(tmp, JSON.stringify(value));
    renameSync(tmp, target);
  }
  delete(key: string): boolean {
    const existed = this.get(key) !== undefined;
    this.cache.delete(key);
    rmSync(this.file(key), { force: true });
    return existed;
  }
  keys(): string[] {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => decodeURIComponent(f.slice(0, -'.json'.length)));
  }
  clear(): void {
    for (const k of this.keys()) this.delete(k);
    this.cache.clear();
  }
}

/** Creates the store for one backend kind. */
export type StoreFactory = <T>(kind: string) => RecordStore<T>;
