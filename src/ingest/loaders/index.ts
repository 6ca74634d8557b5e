// Turns one file's bytes into documents. Documents in containers (PDF, Word, EPUB, e-mail) go to their own loaders;
// everything else must be text (UTF-8, UTF-16 or single-byte Western: see encoding.ts): binary, undecodable and empty
// files become a problem, the rest get a loader by extension (markdown, html, code, notebook, BEIR corpus, plain text).
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { LoadedDocument } from '../../types.js';
import { formatBytes } from '../walk.js';
import { isBeirCorpusLine, loadBeir } from './beir.js';
import { languageForFile, loadCode } from './code.js';
import { loadHtml } from './html.js';
import { loadCsv } from './csv.js';
import { loadDocx } from './docx.js';
import { loadEmail } from './email.js';
import { loadEpub } from './epub.js';
import { loadMarkdown } from './markdown.js';
import { loadNotebook } from './notebook.js';
import { loadPdf } from './pdf.js';
import { skipped, type LoadResult } from './result.js';
import { decodeText } from '../encoding.js';
import { loadText } from './text.js';

export type { LoadResult } from './result.js';

const MARKDOWN_EXTENSIONS = new Set(['md', 'markdown', 'mdx', 'mdown', 'mkd']);
const HTML_EXTENSIONS = new Set(['html', 'htm', 'xhtml']);
const TEXT_EXTENSIONS = new Set(['txt', 'text', 'rst', 'adoc', 'asciidoc', 'org', 'log']);
/** Tables: one line per row naming its columns (a file that is not really a table is read as text). */
const TABLE_EXTENSIONS = new Set(['csv', 'tsv']);

/** Formats in containers (binary, or MIME with its own charsets) that have a loader of their own (all asynchronous). */
const CONTAINER_LOADERS: Readonly<Record<string, (filePath: string, bytes: Buffer) => Promise<LoadResult>>> = {
  pdf: loadPdf,
  docx: loadDocx,
  epub: loadEpub,
  eml: loadEmail,
};

/** What a gzip-compressed file may unpack to when the caller sets no limit (ingest passes its file limit). */
const DEFAULT_MAX_UNPACKED_BYTES = 20 * 1024 * 1024;

/**
 * Any file sieve can index: a gzip-compressed file as the file inside it, container formats by extension, else the
 * text loaders of `loadFile`.
 */
export async function loadAny(filePath: string, bytes: Buffer, opts: { maxBytes?: number } = {}): Promise<LoadResult> {
  const extension = extensionOf(filePath);
  if (extension === 'gz') return loadGzip(filePath, bytes, opts.maxBytes ?? DEFAULT_MAX_UNPACKED_BYTES);
  const container = CONTAINER_LOADERS[extension];
  return container ? container(filePath, bytes) : loadFile(filePath, bytes);
}

/** Unpacks within the size limit (a small file can unpack to gigabytes) and loads what is inside under the file's own path. */
async function loadGzip(filePath: string, bytes: Buffer, maxBytes: number): Promise<LoadResult> {
  let unpacked: Buffer;
  try {
    unpacked = gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      return skipped(filePath, 'FILE_TOO_LARGE', `${filePath} unpacks to more than the ${formatBytes(maxBytes)} limit; skipped.`);
    }
    return skipped(filePath, 'FILE_UNREADABLE', `${filePath} is not a readable gzip file (${(err as Error).message}); skipped.`);
  }
  const innerPath = filePath.slice(0, -'.gz'.length);
  const inside = await loadAny(innerPath, unpacked, { maxBytes });
  return {
    documents: inside.documents.map((d) => ({ ...d, uri: filePath })),
    problems: inside.problems.map((p) => ({ ...p, path: filePath, message: p.message.split(innerPath).join(filePath) })),
  };
}

/** Lower-cased extension without the dot ('' for none or a dotfile). */
function extensionOf(filePath: string): string {
  const name = path.basename(filePath).toLowerCase();
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1) : '';
}

export function loadFile(filePath: string, bytes: Buffer): LoadResult {
  const decoded = decodeText(bytes);
  if (!decoded.ok) {
    return decoded.reason === 'binary'
      ? skipped(filePath, 'FILE_BINARY', `${filePath} looks binary (it has NUL bytes); skipped.`)
      : skipped(filePath, 'FILE_UNREADABLE', `${filePath} is not valid UTF-8 or UTF-16, nor single-byte Western text (re-save it as UTF-8 to index it); skipped.`);
  }
  if (decoded.text.trim() === '') return skipped(filePath, 'FILE_EMPTY', `${filePath} is empty or only whitespace; skipped.`);
  const result = loadDecoded(filePath, decoded.text);
  // Said where it was not UTF-8, so a reader of the stored document knows its text was converted.
  if (decoded.encoding !== 'utf-8') for (const doc of result.documents) doc.metadata = { ...doc.metadata, encoding: decoded.encoding };
  return result;
}

/** The loader for decoded text, chosen by extension (and a shebang line). */
function loadDecoded(filePath: string, text: string): LoadResult {
  const extension = extensionOf(filePath);

  if (extension === 'jsonl' && looksLikeBeirCorpus(text)) return loadBeir(filePath, text);
  if (extension === 'ipynb') return loadNotebook(filePath, text);
  if (MARKDOWN_EXTENSIONS.has(extension)) return single(loadMarkdown(filePath, text));
  if (HTML_EXTENSIONS.has(extension)) return single(loadHtml(filePath, text));
  if (TEXT_EXTENSIONS.has(extension)) return single(loadText(filePath, text));
  if (TABLE_EXTENSIONS.has(extension)) return single(loadCsv(filePath, text) ?? loadText(filePath, text));
  const language = languageForFile(filePath) ?? (extension === 'jsonl' || extension === 'ndjson' ? 'json' : null);
  if (language !== null) return single(loadCode(filePath, text, language));
  if (text.startsWith('#!')) return single(loadCode(filePath, text, shebangLanguage(text)));
  return single(loadText(filePath, text));
}

function single(document: LoadedDocument): LoadResult {
  return { documents: [document], problems: [] };
}

/** A .jsonl file is a BEIR corpus when one of its first non-blank lines is a {_id, text} object. */
export function looksLikeBeirCorpus(text: string): boolean {
  let checked = 0;
  let lineStart = 0;
  while (lineStart < text.length && checked < 5) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    const line = text.slice(lineStart, lineEnd).trim();
    lineStart = lineEnd + 1;
    if (line === '') continue;
    if (isBeirCorpusLine(line)) return true;
    checked++;
  }
  return false;
}

function shebangLanguage(text: string): string | null {
  const firstLine = text.slice(0, text.indexOf('\n') === -1 ? text.length : text.indexOf('\n'));
  if (/\b(?:ba|z|k|da)?sh\b/.test(firstLine)) return 'shell';
  if (/\bpython[\d.]*\b/.test(firstLine)) return 'python';
  if (/\bnode\b|\bdeno\b|\bbun\b/.test(firstLine)) return 'javascript';
  if (/\bruby\b/.test(firstLine)) return 'ruby';
  if (/\bperl\b/.test(firstLine)) return 'perl';
  return null;
}
