// One identity per file: ingest stores, and scopes and forget match, each path by its real location, so a file
// reached through a symlinked folder (../shared → /work/shared) is the same source however it was named.
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';

/** The real path (symlinks resolved) of a path that exists; the absolute path as given for one that does not. */
export function canonicalPath(given: string): string {
  const absolute = resolve(given);
  try {
    return realpathSync.native(absolute);
  } catch {
    return absolute;
  }
}
