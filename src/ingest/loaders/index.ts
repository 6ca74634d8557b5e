// Turns one file's bytes into documents. Documents in binary containers (PDF, Word, EPUB) go to their own loaders;
// everything else must be UTF-8 text: binary, non-UTF-8 and empty files become a problem, the rest get a loader by
// extension (markdown, html, code, notebook, BEIR corpus, plain text).
import path from 'node:path';
import type { LoadedDocument } from '../../types.js';
import { isBeirCorpusLine, loadBeir } from './beir.js';
import { languageForFile, loadCode } from './code.js';
import { loadHtml } from './html.js';
import { loadDocx } from './docx.js';
import { loadEpub } from './epub.js';
import { loadMarkdown } from './markdown.js';
import { loadNotebook } from './notebook.js';
import { loadPdf } from './pdf.js';
import { skipped, type LoadResult } from './result.js';
import { loadText } from './text.js';

export type { LoadResult } from './result.js';

const MARKDOWN_EXTENSIONS = new Set(['md', 'markdown', 'mdx', 'mdown', 'mkd']);
const HTML_EXTENSIONS = new Set(['html', 'htm', 'xhtml']);
const TEXT_EXTENSIONS = new Set(['txt', 'text', 'rst', 'adoc', 'asciidoc', 'org', 'log', 'csv', 'tsv']);
/** How far binary sniffing looks, like git's heuristic. */
const SNIFF_BYTES = 8192;

/** Formats stored in binary containers that have a loader of their own (all asynchronous). */
const CONTAINER_LOADERS: Readonly<Record<string, (filePath: string, bytes: Buffer) => Promise<LoadResult>>> = {
  pdf: loadPdf,
  docx: loadDocx,
  epub: loadEpub,
};

/** Any file sieve can index: container formats by extension, else the text loaders of `loadFile`. */
export async function loadAny(filePath: string, bytes: Buffer): Promise<LoadResult> {
  const container = CONTAINER_LOADERS[extensionOf(filePath)];
  return container ? container(filePath, bytes) : loadFile(filePath, bytes);
}

/** Lower-cased extension without the dot ('' for none or a dotfile). */
function extensionOf(filePath: string): string {
  const name = path.basename(filePath).toLowerCase();
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1) : '';
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function loadFile(filePath: string, bytes: Buffer): LoadResult {
  if (bytes.subarray(0, SNIFF_BYTES).includes(0)) {
    return skipped(filePath, 'FILE_BINARY', `${filePath} looks binary (it has NUL bytes); skipped.`);
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return skipped(filePath, 'FILE_UNREADABLE', `${filePath} is not valid UTF-8 text (re-save it as UTF-8 to index it); skipped.`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') return skipped(filePath, 'FILE_EMPTY', `${filePath} is empty or only whitespace; skipped.`);

  const extension = extensionOf(filePath);

  if (extension === 'jsonl' && looksLikeBeirCorpus(text)) return loadBeir(filePath, text);
  if (extension === 'ipynb') return loadNotebook(filePath, text);
  if (MARKDOWN_EXTENSIONS.has(extension)) return single(loadMarkdown(filePath, text));
  if (HTML_EXTENSIONS.has(extension)) return single(loadHtml(filePath, text));
  if (TEXT_EXTENSIONS.has(extension)) return single(loadText(filePath, text));
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
