// The ingest job: walk → hash → (skip | load → chunk → replace document) → prune.
// Every document is written in its own transaction, so a crash at any point leaves only whole documents,
// and a re-run redoes only what had not been committed.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Store } from '../store/store.js';
import type { LoadedDocument } from '../types.js';
import { readLines } from '../util/lines.js';
import { canonicalPath } from '../util/paths.js';
import { chunkDocument } from './chunk.js';
import { beirLineReader } from './loaders/beir.js';
import { loadAny, looksLikeBeirCorpus } from './loaders/index.js';
import { isJsonl, tooLargeProblem, walkPaths, type IngestProblem, type WalkedFile } from './walk.js';

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
  /** Lines read so far of a BEIR corpus being streamed (reported every few thousand). */
  corpusLines?: number;
}

/** How often a streamed corpus reports progress, in lines. */
const PROGRESS_EVERY_LINES = 5000;

export interface IngestSummary {
  files: number;
  /** Documents written (new or changed). */
  documents: number;
  chunks: number;
  /** Files (or corpus lines) unchanged since the last ingest. */
  skipped: number;
  /** Documents removed (pruned files, or lines gone from a corpus file). */
  removed: number;
  /** Documents whose file was moved or renamed: found by content, kept with their chunks and history. */
  moved: number;
  problems: IngestProblem[];
  seconds: number;
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The loaders' output for the same bytes changed (a fix in the text, title or metadata a file yields): bump, and
 * the next ingest reads every file again but rewrites only the documents whose output changed, so history tied to
 * the chunks of the others is kept. 2 (2026-12): the loader fixes made since the first release (badges and
 * markup-only blocks in Markdown, permalinks in HTML, …) reach files ingested before them.
 */
export const LOADER_VERSION = 2;
/**
 * The chunker cuts the same document differently: bump, and every document is re-chunked and rewritten (chunks
 * that come out the same keep their ids). 2 (2026-12): a word longer than a chunk is cut to fit; chunks without a
 * letter or digit are not stored.
 */
export const CHUNKER_VERSION = 2;

type Chunking = IngestOptions['chunking'];

/**
 * A file's key for change detection: its bytes, and what turns bytes into chunks (loader version, chunker version
 * and options). A user who changes `chunking.maxTokens` gets every file re-chunked, not skipped as unchanged.
 */
function fileKey(bytesHash: string, chunking: Chunking): string {
  return sha256(JSON.stringify([bytesHash, LOADER_VERSION, CHUNKER_VERSION, chunking.maxTokens, chunking.overlapTokens]));
}

/** A document's identity for change detection: everything that reaches the index, and how it is chunked. */
function documentHash(doc: LoadedDocument, chunking: Chunking): string {
  // Page starts join the hash only where there are any, so documents stored before they existed keep their hash.
  const paged = doc.pageStarts !== undefined ? [doc.pageStarts] : [];
  return sha256(JSON.stringify([doc.title, doc.text, doc.kind, doc.language, doc.metadata, ...paged, [CHUNKER_VERSION, chunking.maxTokens, chunking.overlapTokens]]));
}

/** Chunks written in one run after which the FTS index is merged into one segment. */
export const OPTIMIZE_AFTER_CHUNKS = 1000;

export async function ingestPaths(store: Store, paths: string[], opts: IngestOptions): Promise<IngestSummary> {
  const started = performance.now();
  const roots: string[] = [];
  for (const given of paths) {
    const resolved = isAbsolute(given) ? given : resolve(given);
    const real = canonicalPath(resolved);
    // Files are stored by their real paths. What was stored through a symlinked path before takes the real one,
    // keeping its documents (so nothing is ingested twice, and nothing again).
    if (real !== resolved) store.moveSourcesUnder(resolved, real);
    roots.push(real);
  }
  const { files, problems } = await walkPaths(roots, {
    maxFileBytes: opts.maxFileBytes,
    extraExcludes: opts.exclude ?? [],
    ...(opts.confineTo ? { confineTo: opts.confineTo } : {}),
  });
  const summary: IngestSummary = { files: files.length, documents: 0, chunks: 0, skipped: 0, removed: 0, moved: 0, problems, seconds: 0 };

  for (const [i, file] of files.entries()) {
    opts.onProgress?.({ filesDone: i, filesTotal: files.length, path: file.path });
    try {
      // A BEIR corpus streams line by line whatever its size (the walk lets .jsonl files past the size limit).
      if (isJsonl(file.path) && (await startsAsBeirCorpus(file.path))) {
        await ingestCorpusStream(store, file, summary, opts, (corpusLines) =>
          opts.onProgress?.({ filesDone: i, filesTotal: files.length, path: file.path, corpusLines }),
        );
        continue;
      }
    } catch (err) {
      // The file could not be read (gone, unreadable): a problem, as for any file. Anything else is sieve's own.
      if (!isFileSystemError(err)) throw err;
      problems.push({ path: file.path, code: 'FILE_UNREADABLE', message: `cannot read ${file.path}: ${err.message}` });
      continue;
    }
    if (file.size > opts.maxFileBytes) {
      problems.push(tooLargeProblem(file.path, file.size, opts.maxFileBytes));
      continue;
    }
    let bytes: Buffer;
    try {
      bytes = readFileSync(file.path);
    } catch (err) {
      problems.push({ path: file.path, code: 'FILE_UNREADABLE', message: `cannot read ${file.path}: ${(err as Error).message}` });
      continue;
    }
    const contentHash = fileKey(sha256(bytes), opts.chunking);
    const known = store.getSource(file.path);
    if (known && known.contentHash === contentHash) {
      summary.skipped++;
      continue;
    }
    const loaded = await loadAny(file.path, bytes, { maxBytes: opts.maxFileBytes });
    problems.push(...loaded.problems);
    if (loaded.documents.length === 0) continue; // unreadable/binary/empty: keep whatever was stored before
    const writer = documentWriter(store, file, known?.id, summary, opts);
    for (const doc of loaded.documents) writer.write(doc);
    writer.finish(contentHash, loaded.problems.length === 0);
  }
  opts.onProgress?.({ filesDone: files.length, filesTotal: files.length, path: '' });

  if (opts.prune) summary.removed += pruneMissing(store, roots);
  // A bulk load leaves FTS5 with many small segments, and every query pays for each; merging them once
  // (about 150 ms for 10k chunks) cut BM25 query time by about a quarter on SciFact.
  if (summary.chunks >= OPTIMIZE_AFTER_CHUNKS) store.optimizeFts();
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

/**
 * Writes one file's documents: each unchanged one (by document hash) is skipped, each new or changed one replaced
 * in its own transaction. `finish` removes the documents the file no longer yields (only when it loaded cleanly:
 * a line that failed to parse must not delete what was stored for it) and records the file's hash last, so a
 * crash mid-file makes the next run revisit it (its finished documents then skip by document hash).
 */
function documentWriter(store: Store, file: WalkedFile, knownId: number | undefined, summary: IngestSummary, opts: IngestOptions) {
  const source = { path: file.path, root: file.root, size: file.size, mtimeMs: file.mtimeMs };
  const sourceId = knownId ?? store.upsertSource({ ...source, contentHash: '' });
  const existing = new Map(store.documentsOfSource(sourceId).map((d) => [d.uri, d]));
  return {
    write(doc: LoadedDocument): void {
      const hash = documentHash(doc, opts.chunking);
      const prior = existing.get(doc.uri);
      existing.delete(doc.uri);
      if (prior && prior.contentHash === hash) {
        summary.skipped++;
        return;
      }
      if (!prior && adoptMovedDocument(store, sourceId, doc.uri, hash, file.mtimeMs)) {
        summary.moved++;
        return;
      }
      const chunks = chunkDocument(doc, opts.chunking);
      if (chunks.length === 0) {
        summary.problems.push({ path: file.path, code: 'FILE_EMPTY', message: `${doc.uri} has no words or numbers to index` });
        return;
      }
      store.replaceDocument(sourceId, doc, hash, file.mtimeMs, chunks);
      summary.documents++;
      summary.chunks += chunks.length;
    },
    finish(contentHash: string, loadedCleanly: boolean): void {
      if (loadedCleanly) {
        for (const gone of existing.values()) {
          store.deleteDocument(gone.id);
          summary.removed++;
        }
      }
      store.upsertSource({ ...source, contentHash });
    },
  };
}

/**
 * A new document whose content is stored under a file that no longer exists is that file's document, moved or
 * renamed: re-homed under its new path, it keeps its chunk ids and history (a copy, whose original is still on
 * disk, is a new document). Returns whether one was adopted.
 */
function adoptMovedDocument(store: Store, sourceId: number, uri: string, hash: string, mtimeMs: number): boolean {
  const gone = store.documentsWithContent(hash, sourceId).find((d) => !existsSync(d.sourcePath));
  if (gone === undefined) return false;
  store.moveDocument(gone.id, sourceId, uri, mtimeMs);
  // The old path's record goes with its last document (a prune would find nothing left to remove there).
  if (store.documentsOfSource(gone.sourceId).length === 0) store.deleteSource(gone.sourceId);
  return true;
}

function isFileSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

/** Bytes read to decide whether a .jsonl file is a BEIR corpus: enough for its first few lines. */
const PEEK_BYTES = 1 << 20;

/** Whether a .jsonl file's first complete lines are BEIR corpus objects (read without loading the file). */
async function startsAsBeirCorpus(filePath: string): Promise<boolean> {
  const handle = await open(filePath, 'r');
  try {
    const buffer = Buffer.alloc(PEEK_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, PEEK_BYTES, 0);
    const text = buffer.subarray(0, bytesRead).toString('utf8');
    // Only whole lines: the peek may end inside one.
    const whole = bytesRead < PEEK_BYTES ? text : text.slice(0, text.lastIndexOf('\n') + 1);
    return looksLikeBeirCorpus(whole); // each line is trimmed there, a byte-order mark with it
  } finally {
    await handle.close();
  }
}

async function hashFile(filePath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(filePath)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * A BEIR corpus, streamed: hashed in one pass (unchanged → skipped), then read line by line, each document written
 * as it is read, so memory stays flat however large the corpus (BEIR corpora run to gigabytes).
 */
async function ingestCorpusStream(
  store: Store,
  file: WalkedFile,
  summary: IngestSummary,
  opts: IngestOptions,
  onLines: (lines: number) => void,
): Promise<void> {
  const contentHash = fileKey(await hashFile(file.path), opts.chunking);
  const known = store.getSource(file.path);
  if (known && known.contentHash === contentHash) {
    summary.skipped++;
    return;
  }
  const reader = beirLineReader(file.path);
  const writer = documentWriter(store, file, known?.id, summary, opts);
  for await (const [lineNumber, line] of readLines(file.path)) {
    if (lineNumber % PROGRESS_EVERY_LINES === 0) onLines(lineNumber);
    const doc = reader.read(line, lineNumber); // trimmed there, a byte-order mark with it
    if (doc !== null) writer.write(doc);
  }
  summary.problems.push(...reader.problems);
  writer.finish(contentHash, reader.problems.length === 0);
}

/** Removes sources under these roots whose files no longer exist (cascading to documents and chunks). */
export function pruneMissing(store: Store, roots: string[]): number {
  let removed = 0;
  for (const root of roots) {
    for (const source of store.sourcesUnder(root)) {
      if (existsSync(source.path)) continue;
      const docs = store.documentsOfSource(source.id);
      store.db.transaction(() => store.deleteSource(source.id)).immediate();
      removed += docs.length;
    }
  }
  return removed;
}
