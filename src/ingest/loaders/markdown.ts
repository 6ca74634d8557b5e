// Markdown: a line-based block parser, enough of CommonMark to find structure (not to render).
// Headings (ATX and setext) build the heading path; paragraphs, lists, tables, quotes and code are blocks;
// YAML front matter becomes metadata and stays out of every block.
import path from 'node:path';
import type { Block, LoadedDocument } from '../../types.js';
import { rightTrimmedSpan, trimmedSpan } from './text.js';

interface Line {
  start: number;
  /** End of the line's content, before '\r\n' or '\n'. */
  end: number;
  text: string;
}

type OpenBlockType = 'paragraph' | 'list' | 'table' | 'quote' | 'indented-code';

interface OpenBlock {
  type: OpenBlockType;
  firstLine: number;
  lastLine: number;
}

const ATX_HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const FENCE_OPEN = /^( {0,3})(`{3,}|~{3,})(.*)$/;
const SETEXT_UNDERLINE = /^ {0,3}(=+|-+)[ \t]*$/;
const THEMATIC_BREAK = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const LIST_ITEM = /^ {0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)/;
const QUOTE = /^ {0,3}>/;
const TABLE_DELIMITER = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;
const INDENTED = /^(?: {4}|\t)/;
/** An HTML heading on a line of its own, as READMEs write a centred title: <h1 align="center">Name</h1>. */
const HTML_HEADING = /^ {0,3}<h([1-6])(?:\s[^>]*)?>(.*?)<\/h\1>\s*$/i;
/** A link reference definition, [label]: url "title" (the url may start the next line) — a link target, not text. */
const LINK_DEFINITION = /^ {0,3}\[[^\]]+\]:[ \t]*\n?[ \t]*\S.*$/gm;
/** A list item that is only a link to an anchor in the same page: a table of contents line. */
const ANCHOR_ITEM = /^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+\[[^\]]*\]\(#[^)]*\)[ \t]*$/;

export function loadMarkdown(filePath: string, text: string): LoadedDocument {
  const lines = splitLines(text);
  const { metadata, bodyLine } = readFrontMatter(lines);
  const blocks: Block[] = [];
  const headings: Array<{ level: number; text: string }> = [];
  let firstH1: string | null = null;
  let open: OpenBlock | null = null;

  const currentPath = (): string[] => headings.map((h) => h.text);
  const pushBlock = (type: Block['type'], firstLine: number, lastLine: number, keepIndent = false): void => {
    const first = lines[firstLine];
    const last = lines[lastLine];
    if (first === undefined || last === undefined) return;
    const span = keepIndent ? rightTrimmedSpan(text, first.start, last.end) : trimmedSpan(text, first.start, last.end);
    // A block of markup alone (a row of badges, a logo, a closing </details>, link definitions) has nothing to
    // retrieve or to read, and a table of contents only repeats the headings with every query word in them.
    if (span === null) return;
    const body = text.slice(span.start, span.end);
    if (type !== 'code' && (!hasReadableText(body) || (type === 'list' && isTableOfContents(body)))) return;
    blocks.push({ ...span, headingPath: currentPath(), type });
  };
  const closeOpen = (): void => {
    if (open === null) return;
    const type: Block['type'] =
      open.type === 'list' ? 'list'
      : open.type === 'table' ? 'table'
      : open.type === 'indented-code' ? 'code'
      : open.type === 'quote' ? 'other'
      : 'paragraph';
    pushBlock(type, open.firstLine, open.lastLine, open.type === 'indented-code');
    open = null;
  };
  const enterHeading = (level: number, rawText: string): void => {
    const headingText = cleanInline(rawText);
    while (headings.length > 0 && (headings[headings.length - 1] as { level: number }).level >= level) headings.pop();
    headings.push({ level, text: headingText });
    if (level === 1 && firstH1 === null && headingText !== '') firstH1 = headingText;
  };

  for (let i = bodyLine; i < lines.length; i++) {
    const line = (lines[i] as Line).text;

    const fence = FENCE_OPEN.exec(line);
    if (fence !== null && !(fence[2]?.startsWith('`') && fence[3]?.includes('`'))) {
      closeOpen();
      const marker = fence[2] as string;
      let closing = i + 1;
      while (closing < lines.length && !isFenceClose((lines[closing] as Line).text, marker)) closing++;
      const lastLine = Math.min(closing, lines.length - 1);
      pushBlock('code', i, lastLine, true);
      i = lastLine;
      continue;
    }

    if (line.trim() === '') {
      // A blank line inside a list continues it when the next non-blank line is an item or indented continuation.
      if (open?.type === 'list') {
        const next = nextNonBlank(lines, i + 1);
        if (next !== null && (LIST_ITEM.test(next.text) || /^[ \t]{2,}\S/.test(next.text))) continue;
      }
      closeOpen();
      continue;
    }

    const atx = ATX_HEADING.exec(line);
    const html = open === null ? HTML_HEADING.exec(line) : null;
    if (atx !== null || html !== null) {
      closeOpen();
      enterHeading(atx ? (atx[1] as string).length : Number(html![1]), atx ? (atx[2] ?? '') : html![2]!);
      pushBlock('heading', i, i);
      continue;
    }

    const setext = SETEXT_UNDERLINE.exec(line);
    if (setext !== null && open !== null && open.type === 'paragraph') {
      const first = lines[open.firstLine] as Line;
      const contentEnd = (lines[i - 1] as Line).end;
      enterHeading((setext[1] as string).startsWith('=') ? 1 : 2, text.slice(first.start, contentEnd).replace(/\s+/g, ' '));
      pushBlock('heading', open.firstLine, i);
      open = null;
      continue;
    }

    if (THEMATIC_BREAK.test(line)) {
      closeOpen();
      continue;
    }

    if (open?.type === 'table') {
      if (line.includes('|')) {
        open.lastLine = i;
        continue;
      }
      closeOpen();
    }

    const nextLine = lines[i + 1];
    if (line.includes('|') && nextLine !== undefined && TABLE_DELIMITER.test(nextLine.text) && nextLine.text.includes('-')) {
      closeOpen();
      open = { type: 'table', firstLine: i, lastLine: i + 1 };
      i++;
      continue;
    }

    if (LIST_ITEM.test(line)) {
      if (open?.type !== 'list') {
        closeOpen();
        open = { type: 'list', firstLine: i, lastLine: i };
      } else {
        open.lastLine = i;
      }
      continue;
    }

    if (QUOTE.test(line)) {
      if (open?.type !== 'quote') {
        closeOpen();
        open = { type: 'quote', firstLine: i, lastLine: i };
      } else {
        open.lastLine = i;
      }
      continue;
    }

    if (open === null && INDENTED.test(line)) {
      open = { type: 'indented-code', firstLine: i, lastLine: i };
      continue;
    }

    if (open === null) {
      open = { type: 'paragraph', firstLine: i, lastLine: i };
    } else {
      // Lazy continuation: a plain line extends whatever block is open (paragraph, list item, quote, indented code).
      open.lastLine = i;
    }
  }
  closeOpen();

  const frontMatterTitle = typeof metadata['title'] === 'string' && metadata['title'].trim() !== '' ? metadata['title'].trim() : null;
  return {
    uri: filePath,
    externalId: null,
    title: frontMatterTitle ?? firstH1 ?? path.basename(filePath),
    text,
    kind: 'markdown',
    language: null,
    metadata,
    blocks,
  };
}

function isFenceClose(line: string, openMarker: string): boolean {
  const m = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(line);
  if (m === null) return false;
  const marker = m[1] as string;
  return marker[0] === openMarker[0] && marker.length >= openMarker.length;
}

function nextNonBlank(lines: Line[], from: number): Line | null {
  for (let i = from; i < lines.length; i++) {
    const line = lines[i] as Line;
    if (line.text.trim() !== '') return line;
  }
  return null;
}

export function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  let start = 0;
  while (start <= text.length) {
    let newline = text.indexOf('\n', start);
    if (newline === -1) newline = text.length;
    const end = newline > start && text.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
    lines.push({ start, end, text: text.slice(start, end) });
    start = newline + 1;
  }
  return lines;
}

/** Heading text without inline markup: links keep their label, code spans and emphasis lose their markers. */
export function cleanInline(raw: string): string {
  return (
    raw
      // Images first, and dropped: a badge's alt text ("Build Status") is not the heading's words, and removing the
      // image turns a linked badge, [![alt](img)](url), into an empty link that the next rule removes.
      .replace(/!\[[^\]]*\](?:\([^)]*\)|\[[^\]]*\])/g, '')
      // Links keep their text: inline [text](url) and reference-style [text][ref].
      .replace(/\[([^\]]*)\](?:\([^)]*\)|\[[^\]]*\])/g, '$1')
      .replace(/`+([^`]*)`+/g, '$1')
      .replace(/(\*\*|__)(.+?)\1/g, '$2')
      .replace(/(^|[^\w*])[*_]([^*_]+)[*_](?=$|[^\w*])/g, '$1$2')
      .replace(/<[^>]+>/g, '')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

/**
 * Whether a block holds any words once images, link targets and definitions, comments and HTML tags are taken out.
 * An image described in a sentence (alt text of four words or more, "Architecture of the ingest pipeline, from
 * files to chunks") counts as words; a badge's "npm version" does not.
 */
export function hasReadableText(block: string): boolean {
  const described = block.replace(/!\[([^\]]*)\]/g, (image, alt: string) => (alt.trim().split(/\s+/).length >= 4 ? alt : image));
  return /[\p{L}\p{N}]/u.test(cleanInline(described.replace(/<!--[\s\S]*?(?:-->|$)/g, '').replace(LINK_DEFINITION, '')));
}

/** A list whose every item is a link to an anchor of the same page. */
function isTableOfContents(list: string): boolean {
  const items = list.split('\n').filter((l) => l.trim() !== '');
  return items.length > 1 && items.every((l) => ANCHOR_ITEM.test(l));
}

/**
 * YAML front matter between '---' lines at the very top. Only the common shapes are read (key: value, inline
 * [a, b] lists, and '- item' lists under a key); anything else is kept as a raw string.
 */
function readFrontMatter(lines: Line[]): { metadata: Record<string, unknown>; bodyLine: number } {
  if (lines.length === 0 || (lines[0] as Line).text.trimEnd() !== '---') return { metadata: {}, bodyLine: 0 };
  let close = -1;
  for (let i = 1; i < lines.length; i++) {
    const t = (lines[i] as Line).text.trimEnd();
    if (t === '---' || t === '...') {
      close = i;
      break;
    }
  }
  if (close === -1) return { metadata: {}, bodyLine: 0 };

  const metadata: Record<string, unknown> = {};
  let listKey: string | null = null;
  for (let i = 1; i < close; i++) {
    const raw = (lines[i] as Line).text;
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    const item = /^\s+-\s+(.*)$/.exec(raw) ?? /^-\s+(.*)$/.exec(raw);
    if (item !== null && listKey !== null) {
      const list = metadata[listKey];
      if (Array.isArray(list)) list.push(parseScalar(item[1] as string));
      continue;
    }
    const pair = /^([A-Za-z0-9_.-]+)\s*:\s*(.*)$/.exec(raw);
    if (pair === null) continue;
    const key = pair[1] as string;
    const value = (pair[2] as string).trim();
    if (value === '') {
      metadata[key] = [];
      listKey = key;
    } else {
      listKey = null;
      metadata[key] = value.startsWith('[') && value.endsWith(']')
        ? value.slice(1, -1).split(',').map((v) => parseScalar(v.trim())).filter((v) => v !== '')
        : parseScalar(value);
    }
  }
  // A key with no value and no items is an empty string in YAML terms, not an empty list.
  for (const [key, value] of Object.entries(metadata)) {
    if (Array.isArray(value) && value.length === 0) metadata[key] = null;
  }
  return { metadata, bodyLine: close + 1 };
}

function parseScalar(value: string): string | number | boolean {
  if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))) {
    return value.length >= 2 ? value.slice(1, -1) : value;
  }
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^-?\d+(?:\.\d+)?$/.test(value)) return Number(value);
  return value;
}
