// Watches ingested folders and files, and says when they have settled after a change. What changed is not
// passed on: the caller re-ingests the roots, whose walk applies .gitignore and the excludes and whose content
// hashes make unchanged files cheap, so a watcher cannot index anything an ingest would not.
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { SieveError } from '../errors.js';
import { DEFAULT_EXCLUDED_DIRS } from './walk.js';

export interface WatchOptions {
  /** Quiet time after the last change before `onSettled` runs (editors write a file in several steps). */
  debounceMs?: number;
  /** Folders whose changes are never news (the home's database lives there and changes on every write). */
  ignore?: readonly string[];
  /** Runs once the roots have been quiet for `debounceMs` after a change; never twice at once. */
  onSettled: (changed: string[]) => Promise<void>;
  onError?: (err: unknown) => void;
}

export interface FolderWatch {
  close(): void;
  /** Resolves when no settle is running or pending (tests and shutdown wait on it). */
  idle(): Promise<void>;
}

export const DEFAULT_DEBOUNCE_MS = 500;

/** Whether a changed path is inside a folder no ingest reads (VCS data, dependencies, build output, the home). */
function isNoise(changed: string, ignore: readonly string[]): boolean {
  if (ignore.some((dir) => changed === dir || changed.startsWith(dir + path.sep))) return true;
  return changed.split(path.sep).some((segment) => DEFAULT_EXCLUDED_DIRS.has(segment) || segment.startsWith('.sieve'));
}

export async function watchPaths(roots: readonly string[], opts: WatchOptions): Promise<FolderWatch> {
  const debounceMs = opts.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const ignore = (opts.ignore ?? []).map((dir) => path.resolve(dir));
  const watchers: FSWatcher[] = [];
  let pending = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let closed = false;

  const settle = (): void => {
    timer = null;
    if (running) return; // the running settle schedules another when it finishes
    const changed = [...pending].sort();
    pending = new Set();
    running = opts
      .onSettled(changed)
      .catch((err: unknown) => opts.onError?.(err))
      .finally(() => {
        running = null;
        if (pending.size > 0 && !closed) schedule();
      });
  };
  const schedule = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(settle, debounceMs);
  };
  const changedAt = (full: string): void => {
    if (closed || isNoise(full, ignore)) return;
    pending.add(full);
    schedule();
  };

  for (const root of roots.map((r) => path.resolve(r))) {
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(root)).isDirectory();
    } catch {
      for (const w of watchers) w.close();
      throw new SieveError('PATH_NOT_FOUND', `cannot watch ${root}: it does not exist`, { path: root });
    }
    // A file is watched through its folder: editors replace files (write a copy, rename it over), which a watch
    // on the file itself stops seeing.
    const dir = isDirectory ? root : path.dirname(root);
    const watcher = watch(dir, { recursive: isDirectory }, (_event, name) => {
      if (name === null) return changedAt(root);
      const full = path.join(dir, name.toString());
      if (isDirectory || full === root) changedAt(full);
    });
    watcher.on('error', (err) => opts.onError?.(err));
    watchers.push(watcher);
  }

  return {
    close(): void {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
    async idle(): Promise<void> {
      while (running || timer) {
        if (running) await running;
        else await new Promise((resolve) => setTimeout(resolve, debounceMs));
      }
    },
  };
}
