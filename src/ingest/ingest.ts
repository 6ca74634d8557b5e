// The ingest job: walk → hash → (skip | load → chunk → replace document) → prune.
// Every document is written in its own transaction, so a crash at any point leaves only whole documents,
// and a re-run redoes only what had not been committed.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Store } from '../store/store.js';
import type { LoadedDocument } from '../types.js';
import { chunkDocument } from './chunk.js';
import { loadAny } from './loaders/index.js';
import { walkPaths, type IngestProblem } from './walk.js';

export interface IngestOptions {
  /** Remove documents whose files are gone from disk under the given roots. */
  prune?: boolean;
  maxFileBytes: number;
  exclude?: string[];
  chunking: { maxTokens: number; overlapTokens: number };
  /** Real paths of folders no file may resolve outside of (the HTTP service's --root folders). */
  confineTo?: readonly string[];
  onProgress?: (p: IngestProgress) => void;
}

export interface IngestProgress {
  filesDone: number;
  filesTotal: number;
  path: string;
}

export interface IngestSummary {
  files: number;
  /** Documents written (new or changed). */
  documents: number;
  chunks: number;
  /** Files (or corpus lines) unchanged since the last ingest. */
  skipped: number;
  /** Documents removed (pruned files, or lines gone from a corpus file). */
  removed: number;
  problems: IngestProblem[];
  seconds: number;
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A document's identity for change detection: everything that reaches the index. */
function documentHash(doc: LoadedDocument): string {
  // Page starts join the hash only where there are any, so documents stored before they existed keep their hash.
  const paged = doc.pageStarts !== undefined ? [doc.pageStarts] : [];
  return sha256(JSON.stringify([doc.title, doc.text, doc.kind, doc.language, doc.metadata, ...paged]));
}

/** Chunks written in one run after which the FTS index is merged into one segment. */
export const OPTIMIZE_AFTER_CHUNKS = 1000;

export async function ingestPaths(store: Store, paths: string[], opts: IngestOptions): Promise<IngestSummary> {
  const started = performance.now();
  const roots = paths.map((p) => (isAbsolute(p) ? p : resolve(p)));
  const { files, problems } = await walkPaths(roots, {
    maxFileBytes: opts.maxFileBytes,
    extraExcludes: opts.exclude ?? [],
    ...(opts.confineTo ? { confineTo: opts.confineTo } : {}),
  });
  const summary: IngestSummary = { files: files.length, documents: 0, chunks: 0, skipped: 0, removed: 0, problems, seconds: 0 };

  for (const [i, file] of files.entries()) {
    opts.onProgress?.({ filesDone: i, filesTotal: files.length, path: file.path });
    let bytes: Buffer;
    try {
      bytes = readFileSync(file.path);
    } catch (err) {
      problems.push({ path: file.path, code: 'FILE_UNREADABLE', message: `cannot read ${file.path}: ${(err as Error).message}` });
      continue;
    }
    const contentHash = sha256(bytes);
    const known = store.getSource(file.path);
    if (known && known.contentHash === contentHash) {
      summary.skipped++;
      continue;
    }
    const loaded = await loadAny(file.path, bytes);
    problems.push(...loaded.problems);
    if (loaded.documents.length === 0) continue; // unreadable/binary/empty: keep whatever was stored before

    // The source row's hash is only brought up to date after all its documents are written, so a crash
    // mid-file makes the next run revisit this file (its finished documents then skip by document hash).
    const sourceId = known?.id ?? store.upsertSource({ path: file.path, root: file.root, contentHash: '', size: file.size, mtimeMs: file.mtimeMs });
    const existing = new Map(store.documentsOfSource(sourceId).map((d) => [d.uri, d]));
    for (const doc of loaded.documents) {
      const hash = documentHash(doc);
      const prior = existing.get(doc.uri);
      existing.delete(doc.uri);
      if (prior && prior.contentHash === hash) {
        summary.skipped++;
        continue;
      }
      const chunks = chunkDocument(doc, opts.chunking);
      if (chunks.length === 0) continue;
      store.replaceDocument(sourceId, doc, hash, file.mtimeMs, chunks);
      summary.documents++;
      summary.chunks += chunks.length;
    }
    // Documents this file no longer yields (lines removed from a corpus, a changed uri).
    // Only when the file loaded cleanly: a line that failed to parse must not delete what was stored for it.
    if (loaded.problems.length === 0) {
      for (const gone of existing.values()) {
        store.deleteDocument(gone.id);
        summary.removed++;
      }
    }
    store.upsertSource({ path: file.path, root: file.root, contentHash, size: file.size, mtimeMs: file.mtimeMs });
  }
  opts.onProgress?.({ filesDone: files.length, filesTotal: files.length, path: '' });

  if (opts.prune) summary.removed += pruneMissing(store, roots);
  // A bulk load leaves FTS5 with many small segments, and every query pays for each; merging them once
  // (about 150 ms for 10k chunks) cut BM25 query time by about a quarter on SciFact.
  if (summary.chunks >= OPTIMIZE_AFTER_CHUNKS) store.optimizeFts();
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

/** Removes sources under these roots whose files no longer exist (cascading to documents and chunks). */
export function pruneMissing(store: Store, roots: string[]): number {
  let removed = 0;
  for (const root of roots) {
    for (const source of store.sourcesUnder(root)) {
      if (existsSync(source.path)) continue;
      const docs = store.documentsOfSource(source.id);
      store.db.transaction(() => store.deleteSource(source.id))();
      removed += docs.length;
    }
  }
  return removed;
}
