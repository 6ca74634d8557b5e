// PDF: the text layer of every page, rebuilt into headings and paragraphs. A PDF stores positioned runs of glyphs,
// not paragraphs, so the structure is inferred from layout: lines from baselines, paragraphs from vertical gaps,
// headings from type noticeably larger than the body's, running headers and footers from lines that repeat at a
// page's edge. pdfjs-dist reads the file; it is imported only when a PDF is met, so other ingests never load it.
import path from 'node:path';
import type { Block, LoadedDocument } from '../../types.js';
import { lazy } from '../../util/lazy.js';
import { skipped, type LoadResult } from './result.js';

/** One run of text as the PDF placed it (pdfjs's TextItem, reduced to what layout needs). */
export interface PdfTextRun {
  text: string;
  /** Baseline origin, in points from the page's bottom-left corner. */
  x: number;
  y: number;
  /** Advance width of the run, in points. */
  width: number;
  /** Font size, in points. */
  size: number;
  /** The PDF ends a line after this run. */
  endOfLine: boolean;
}

export interface PdfPageText {
  /** Page height in points (for telling headers and footers from body text). */
  height: number;
  runs: PdfTextRun[];
}

interface Line {
  text: string;
  x: number;
  y: number;
  right: number;
  size: number;
  page: number;
}

/** What layout makes of the pages: the document's text and its blocks, plus where each page starts in the text. */
export interface PdfLayout {
  text: string;
  blocks: Block[];
  pageStarts: number[];
  /** The first heading of the document's largest type, a title candidate. */
  firstHeading: string | null;
}

/** Type this much larger than the body's is a heading. */
const HEADING_SCALE = 1.15;
/** A heading is a short line: longer lines in large type are a pull quote or a title page's blurb. */
const HEADING_MAX_CHARS = 150;
/** A vertical gap this many times the body's usual line spacing starts a new paragraph. */
const PARAGRAPH_GAP = 1.4;
/** Headers and footers sit in this share of the page at its top or bottom edge. */
const EDGE_SHARE = 0.1;
/**
 * A line at a page's edge repeated on at least this share of the pages (and on 3 or more), or on every page of a
 * shorter document, is a running header or footer. Not a half: a book's "Chapter 4: Reference" heads only that
 * chapter's pages.
 */
const RUNNING_SHARE = 0.2;

/** A table of contents' dot leader (". . . . ." or "......"), shortened to an ellipsis. */
const DOT_LEADER = /(?:\s*\.){4,}\s*/g;

/** A line with a shortened dot leader: a table-of-contents entry, kept on a line of its own. */
function isContentsEntry(line: Line): boolean {
  return line.text.includes(' … ');
}

/** Groups a page's runs into lines: a run starts a new line after an end-of-line mark or when its baseline moves. */
export function pageLines(page: PdfPageText, pageNumber: number): Line[] {
  const lines: Line[] = [];
  let current: Line | null = null;
  let endOfLine = false;
  for (const run of page.runs) {
    const size = Math.max(run.size, 1);
    const text = run.text.replace(/\s+/g, ' ');
    const sameLine: boolean =
      current !== null && !endOfLine && Math.abs(run.y - current.y) <= 0.5 * Math.min(size, current.size);
    endOfLine = run.endOfLine;
    if (text.trim() === '') {
      if (current !== null && text !== '' && !current.text.endsWith(' ')) current.text += ' ';
      continue;
    }
    if (current !== null && sameLine) {
      // A gap between runs wider than a fraction of a space is a word break the PDF did not encode as a glyph.
      const gap = run.x - current.right;
      if (gap > 0.15 * size && !current.text.endsWith(' ') && !text.startsWith(' ')) current.text += ' ';
      current.text += text;
      current.right = Math.max(current.right, run.x + run.width);
      // The line's size is its largest type: a heading with a smaller number in it is still a heading.
      current.size = Math.max(current.size, size);
      continue;
    }
    current = { text, x: run.x, y: run.y, right: run.x + run.width, size, page: pageNumber };
    lines.push(current);
  }
  for (const line of lines) line.text = line.text.replace(DOT_LEADER, ' … ').trim();
  return lines.filter((line) => line.text !== '');
}

/** Digits replaced so "Page 3" and "Page 4", or a footer with a date, compare equal across pages. */
function runningKey(text: string): string {
  return text.toLowerCase().replace(/\d+/g, '#').replace(/\s+/g, ' ').trim();
}

/** Drops running headers and footers: lines at a page's top or bottom edge whose text repeats on many pages. */
export function dropRunningLines(pages: Line[][], heights: number[]): Line[][] {
  const atEdge = (line: Line): boolean => {
    const height = heights[line.page - 1] ?? 792;
    return line.y >= height * (1 - EDGE_SHARE) || line.y <= height * EDGE_SHARE;
  };
  const pagesWith = new Map<string, Set<number>>();
  for (const lines of pages) {
    for (const line of lines) {
      if (!atEdge(line)) continue;
      const key = runningKey(line.text);
      let set = pagesWith.get(key);
      if (set === undefined) pagesWith.set(key, (set = new Set()));
      set.add(line.page);
    }
  }
  const threshold = Math.max(3, Math.ceil(RUNNING_SHARE * pages.length));
  const running = (line: Line): boolean => {
    if (!atEdge(line)) return false;
    // On enough pages, or on every page of a short document (two pages or more).
    const count = pagesWith.get(runningKey(line.text))?.size ?? 0;
    if (count >= threshold || (count >= 2 && count === pages.length)) return true;
    // A bare page number ("12", "- 12 -", "Page 12 of 40") at the edge, even where numbering is irregular.
    return /^(?:page\s+)?[-–—\s]*\d+(?:\s*(?:of|\/)\s*\d+)?[-–—\s]*$/i.test(line.text) && pages.length > 1;
  };
  return pages.map((lines) => lines.filter((line) => !running(line)));
}

/** The body's font size: the size that sets the most characters. */
function bodySize(lines: Line[]): number {
  const chars = new Map<number, number>();
  for (const line of lines) {
    const size = Math.round(line.size * 2) / 2;
    chars.set(size, (chars.get(size) ?? 0) + line.text.length);
  }
  let best = 0;
  let bestChars = -1;
  for (const [size, count] of chars) {
    if (count > bestChars || (count === bestChars && size < best)) {
      best = size;
      bestChars = count;
    }
  }
  return best;
}

/**
 * The body's usual distance between consecutive baselines, for telling a paragraph gap from a line break: the lower
 * quartile of the gaps, since in a text of short paragraphs a good share of all gaps are paragraph gaps.
 */
function bodyLineSpacing(lines: Line[], body: number): number {
  const gaps: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const a = lines[i - 1] as Line;
    const b = lines[i] as Line;
    if (a.page !== b.page || !isBodySize(a.size, body) || !isBodySize(b.size, body)) continue;
    const gap = a.y - b.y;
    if (gap > 0) gaps.push(gap);
  }
  if (gaps.length === 0) return body * 1.2;
  gaps.sort((p, q) => p - q);
  return gaps[Math.floor((gaps.length - 1) / 4)] as number;
}

function isBodySize(size: number, body: number): boolean {
  return size < body * HEADING_SCALE;
}

function isHeading(line: Line, body: number): boolean {
  return !isBodySize(line.size, body) && !isContentsEntry(line) && line.text.length <= HEADING_MAX_CHARS && /\p{L}/u.test(line.text);
}

/** What a document writes within its lines, for deciding what a hyphen at a line's end was. */
export interface DocumentWords {
  /** Hyphenated words written within a line ("well-known"), lower-cased. */
  compounds: Set<string>;
  /** Words written whole, lower-cased: the fragments around a line-end hyphen do not count. */
  words: Set<string>;
}

export function documentWords(lines: readonly string[]): DocumentWords {
  const compounds = new Set<string>();
  const words = new Set<string>();
  let continuesWord = false;
  for (const line of lines) {
    for (const m of line.matchAll(/\p{L}+(?:-\p{L}+)+/gu)) compounds.add(m[0].toLowerCase());
    const tokens = line.match(/\p{L}+-?/gu) ?? [];
    tokens.forEach((token, i) => {
      const fragment = (i === 0 && continuesWord) || (i === tokens.length - 1 && token.endsWith('-') && line.endsWith(token));
      if (!fragment) words.add(token.replace(/-$/, '').toLowerCase());
    });
    continuesWord = /\p{L}-$/u.test(line);
  }
  return { compounds, words };
}

/**
 * A line-end hyphen before "and"/"or" and a hyphenated word is suspended ("pro- and anti-inflammatory"), not a
 * split word ("lig-" + "and binding").
 */
const SUSPENDED_BEFORE = new Set(['and', 'or', 'nor', 'to']);
const SUSPENDED_AFTER = /^\s+(?:\S+\s+){0,3}\S*\p{L}-\p{L}/u;

/**
 * Joins a paragraph's lines; other breaks become spaces. A word split by a hyphen at a line's end ("con-" +
 * "ference") is rejoined unless the document writes the hyphenated form within a line ("well-known") and never the
 * joined word, or the hyphen is suspended ("pro- and anti-inflammatory"). Before a capital or a digit the hyphen
 * is the text's own ("Anglo-Saxon", "12-14").
 */
export function joinLines(lines: readonly string[], vocabulary: DocumentWords = { compounds: new Set(), words: new Set() }): string {
  let out = '';
  for (const line of lines) {
    const split = /(\p{L}+)-$/u.exec(out);
    const next = /^\p{Ll}+/u.exec(line);
    if (out === '') {
      out = line;
    } else if (split !== null && next !== null && /\p{Ll}$/u.test(split[1] as string)) {
      const before = (split[1] as string).toLowerCase();
      const after = next[0];
      if (vocabulary.words.has(before + after)) out = out.slice(0, -1) + line;
      else if (vocabulary.compounds.has(`${before}-${after}`)) out += line;
      else if (SUSPENDED_BEFORE.has(after) && SUSPENDED_AFTER.test(line.slice(after.length))) out += ` ${line}`;
      else out = out.slice(0, -1) + line;
    } else if (/[\p{L}\p{N}]-$/u.test(out) && /^[\p{L}\p{N}]/u.test(line)) {
      out += line; // a hyphen before a capital or a digit is real ("Anglo-Saxon", "12-14"): kept, no space
    } else {
      out += ` ${line}`;
    }
  }
  return out;
}

/** Lays out the pages' text: headings (by type size) build the heading path, paragraphs follow vertical gaps. */
export function layoutPdf(pages: readonly PdfPageText[]): PdfLayout {
  const perPage = dropRunningLines(
    pages.map((page, i) => pageLines(page, i + 1)),
    pages.map((page) => page.height),
  );
  const lines = perPage.flat();
  const vocabulary = documentWords(lines.map((l) => l.text));
  const body = bodySize(lines);
  const spacing = bodyLineSpacing(lines, body);
  // Heading levels: the distinct heading sizes, largest first (level 1), at most six.
  const headingSizes = [...new Set(lines.filter((l) => isHeading(l, body)).map((l) => Math.round(l.size * 2) / 2))]
    .sort((a, b) => b - a)
    .slice(0, 6);
  const levelOf = (size: number): number => {
    const rounded = Math.round(size * 2) / 2;
    const index = headingSizes.findIndex((s) => rounded >= s);
    return index === -1 ? headingSizes.length : index + 1;
  };

  let text = '';
  const blocks: Block[] = [];
  const headings: Array<{ level: number; text: string }> = [];
  const pageStarts: number[] = [];
  let firstHeading: string | null = null;
  let paragraph: string[] = [];
  let heading: { lines: string[]; size: number } | null = null;

  const append = (blockText: string, type: Block['type']): void => {
    if (text !== '') text += '\n\n';
    const start = text.length;
    text += blockText;
    blocks.push({ start, end: text.length, headingPath: headings.map((h) => h.text), type });
  };
  const flushParagraph = (): void => {
    if (paragraph.length > 0) append(joinLines(paragraph, vocabulary), 'paragraph');
    paragraph = [];
  };
  const flushHeading = (): void => {
    if (heading === null) return;
    const headingText = joinLines(heading.lines, vocabulary);
    const level = levelOf(heading.size);
    while (headings.length > 0 && (headings[headings.length - 1] as { level: number }).level >= level) headings.pop();
    headings.push({ level, text: headingText });
    if (firstHeading === null && level === 1) firstHeading = headingText;
    append(headingText, 'heading');
    heading = null;
  };

  // Where the next line's text will land: after the separator of a new block, or inside the open paragraph.
  const nextOffset = (): number => {
    const blockStart = text.length + (text === '' ? 0 : 2);
    return paragraph.length === 0 ? blockStart : blockStart + joinLines(paragraph, vocabulary).length + 1;
  };
  let previous: Line | null = null;
  for (const line of lines) {
    const firstOnPage = previous === null || line.page !== previous.page;
    if (isHeading(line, body)) {
      flushParagraph();
      // A heading set over two lines in the same type continues; a different size is a new heading.
      const continues = heading !== null && !firstOnPage && Math.abs(heading.size - line.size) < 0.5;
      if (!continues) flushHeading();
      if (firstOnPage) pageStarts[line.page - 1] = nextOffset();
      if (heading === null) heading = { lines: [], size: line.size };
      heading.lines.push(line.text);
    } else {
      flushHeading();
      if (paragraph.length > 0 && previous !== null && startsParagraph(previous, line, spacing)) flushParagraph();
      if (firstOnPage) pageStarts[line.page - 1] = nextOffset();
      paragraph.push(line.text);
    }
    previous = line;
  }
  flushHeading();
  flushParagraph();
  // Pages without text (a figure, a blank page) start where the next page with text does.
  for (let p = pages.length - 1; p >= 0; p--) pageStarts[p] ??= pageStarts[p + 1] ?? text.length;
  return { text, blocks, pageStarts, firstHeading };
}

/** Does `line` begin a new paragraph after `previous` (both body text)? */
function startsParagraph(previous: Line, line: Line, spacing: number): boolean {
  if (isContentsEntry(previous) || isContentsEntry(line)) return true;
  const drop = previous.y - line.y;
  // A page break, or a move up the page (the next column): a paragraph runs on across it unless the text before
  // ended a sentence and the text after starts anew.
  if (line.page !== previous.page || drop <= 0) {
    return /[.!?:;)"'”’]$/.test(previous.text) && /^[\p{Lu}\p{N}•\-–(["“‘]/u.test(line.text);
  }
  if (drop > spacing * PARAGRAPH_GAP) return true;
  // Indented first line of a new paragraph after a line that ended a sentence.
  return line.x > previous.x + 0.75 * line.size && /[.!?:]$/.test(previous.text);
}

/** Minimal view of pdfjs-dist's API, so its types do not leak into the rest of ingest. */
interface PdfjsModule {
  getDocument(params: Record<string, unknown>): { promise: Promise<PdfjsDocument> };
}
interface PdfjsDocument {
  numPages: number;
  getMetadata(): Promise<{ info?: Record<string, unknown> }>;
  getPage(n: number): Promise<{
    view: number[];
    getTextContent(): Promise<{ items: Array<Record<string, unknown>> }>;
    cleanup(): void;
  }>;
  destroy(): Promise<void>;
}

// The legacy build is the one pdfjs supports on Node (no DOM, no web worker: it runs a fake worker in-process).
const loadPdfjs = lazy(() => import('pdfjs-dist/legacy/build/pdf.mjs') as unknown as Promise<PdfjsModule>);

/** Reads the text layer of every page with pdfjs-dist. Throws what pdfjs throws for a damaged or locked file. */
async function readPdf(bytes: Uint8Array): Promise<{ pages: PdfPageText[]; title: string | null }> {
  const pdfjs = await loadPdfjs();
  const document = await pdfjs.getDocument({
    // pdfjs takes ownership of the array it is given; a copy keeps the caller's buffer (hashed for the store) intact.
    data: new Uint8Array(bytes),
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    verbosity: 0,
  }).promise;
  try {
    const metadata: { info?: Record<string, unknown> } = await document.getMetadata().catch(() => ({}));
    const infoTitle = metadata.info?.['Title'];
    const title = typeof infoTitle === 'string' && infoTitle.trim() !== '' ? infoTitle.trim() : null;
    const pages: PdfPageText[] = [];
    for (let n = 1; n <= document.numPages; n++) {
      const page = await document.getPage(n);
      const content = await page.getTextContent();
      const [, y0 = 0, , y1 = 792] = page.view;
      const runs: PdfTextRun[] = [];
      for (const item of content.items) {
        if (typeof item['str'] !== 'string') continue; // marked-content markers carry no text
        const transform = item['transform'] as number[];
        runs.push({
          text: item['str'],
          x: transform[4] ?? 0,
          y: (transform[5] ?? 0) - y0,
          width: Number(item['width'] ?? 0),
          size: Math.hypot(transform[2] ?? 0, transform[3] ?? 0),
          endOfLine: item['hasEOL'] === true,
        });
      }
      pages.push({ height: Math.abs(y1 - y0), runs });
      page.cleanup();
    }
    return { pages, title };
  } finally {
    await document.destroy();
  }
}

export async function loadPdf(filePath: string, bytes: Uint8Array): Promise<LoadResult> {
  let read: { pages: PdfPageText[]; title: string | null };
  try {
    read = await readPdf(bytes);
  } catch (err) {
    const name = (err as { name?: string }).name ?? '';
    if (name === 'PasswordException') {
      return skipped(filePath, 'FILE_UNREADABLE', `${filePath} is password-protected; save an unlocked copy to index it. Skipped.`);
    }
    return skipped(filePath, 'FILE_UNREADABLE', `${filePath} could not be read as a PDF (${(err as Error).message}); skipped.`);
  }
  const layout = layoutPdf(read.pages);
  if (layout.text.trim() === '') {
    return skipped(
      filePath,
      'FILE_EMPTY',
      `${filePath} has no text layer (${read.pages.length} page${read.pages.length === 1 ? '' : 's'}, likely scanned images); run OCR on it (e.g. ocrmypdf) to index it. Skipped.`,
    );
  }
  const document: LoadedDocument = {
    uri: filePath,
    externalId: null,
    title: read.title ?? layout.firstHeading ?? path.basename(filePath),
    text: layout.text,
    kind: 'pdf',
    language: null,
    metadata: { pages: read.pages.length },
    blocks: layout.blocks,
    pageStarts: layout.pageStarts,
  };
  return { documents: [document], problems: [] };
}
