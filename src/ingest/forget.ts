// Forgetting: taking what was ingested from files or folders out of the index, without touching the files (a
// folder that should no longer be searched, a file ingested by mistake). Every path is checked before anything is
// deleted, so a typo in one of them removes nothing; each file's documents then go in one transaction, and the
// chunks' full-text rows, vectors and the generation counters follow by cascade and trigger.
import { SieveError } from '../errors.js';
import type { Store } from '../store/store.js';
import { canonicalPath } from '../util/paths.js';

export interface ForgetSummary {
  /** Ingested files removed from the index. */
  sources: number;
  documents: number;
  chunks: number;
}

/**
 * Removes every ingested file that is one of `paths` or lies under one (whole path segments; relative paths are
 * resolved against the working directory, as `--in` resolves them). Throws PATH_NOT_FOUND, removing nothing, when a
 * path matches no ingested file.
 */
export function forgetPaths(store: Store, paths: readonly string[]): ForgetSummary {
  if (paths.length === 0) throw new SieveError('PATH_NOT_FOUND', 'no paths given to forget');
  const sources = new Set<number>();
  for (const given of paths) {
    const matched = store.sourcesUnder(canonicalPath(given));
    if (matched.length === 0) {
      throw new SieveError('PATH_NOT_FOUND', `nothing was ingested from ${JSON.stringify(given)}; \`sieve sources\` lists the ingested files`, { path: given });
    }
    for (const source of matched) sources.add(source.id);
  }
  const summary: ForgetSummary = { sources: 0, documents: 0, chunks: 0 };
  for (const id of sources) {
    const docs = store.documentsOfSource(id);
    store.db.transaction(() => store.deleteSource(id)).immediate();
    summary.sources++;
    summary.documents += docs.length;
    for (const doc of docs) summary.chunks += doc.chunkCount;
  }
  return summary;
}
