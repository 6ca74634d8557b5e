// Plain text: blank-line-separated paragraphs. Also home of the span helpers the other loaders share.
import path from 'node:path';
import type { Block, LoadedDocument } from '../../types.js';

/** Shrinks [start, end) so it neither starts nor ends with whitespace; null when nothing is left. */
export function trimmedSpan(text: string, start: number, end: number): { start: number; end: number } | null {
  let s = start;
  let e = end;
  while (s < e && isWhitespaceCode(text.charCodeAt(s))) s++;
  while (e > s && isWhitespaceCode(text.charCodeAt(e - 1))) e--;
  return s < e ? { start: s, end: e } : null;
}

/** Like trimmedSpan, but keeps the first line's indentation (it is part of code). */
export function rightTrimmedSpan(text: string, start: number, end: number): { start: number; end: number } | null {
  let s = start;
  // Drop whole blank lines at the start, keep the indentation of the first non-blank one.
  for (;;) {
    const newline = text.indexOf('\n', s);
    if (newline === -1 || newline >= end) break;
    if (text.slice(s, newline).trim() !== '') break;
    s = newline + 1;
  }
  let e = end;
  while (e > s && isWhitespaceCode(text.charCodeAt(e - 1))) e--;
  return s < e && text.slice(s, e).trim() !== '' ? { start: s, end: e } : null;
}

/** Splits text[from, to) at blank lines into trimmed blocks of one type and heading path. */
export function paragraphBlocks(
  text: string,
  from: number,
  to: number,
  headingPath: string[],
  type: Block['type'] = 'paragraph',
): Block[] {
  const blocks: Block[] = [];
  const separator = /\n[ \t\r\f\v]*\n/g;
  separator.lastIndex = from;
  let segmentStart = from;
  for (let m = separator.exec(text); m !== null && m.index < to; m = separator.exec(text)) {
    const span = trimmedSpan(text, segmentStart, m.index);
    if (span !== null) blocks.push({ ...span, headingPath, type });
    segmentStart = m.index + m[0].length;
  }
  const last = trimmedSpan(text, segmentStart, to);
  if (last !== null) blocks.push({ ...last, headingPath, type });
  return blocks;
}

export function loadText(filePath: string, text: string): LoadedDocument {
  return {
    uri: filePath,
    externalId: null,
    title: path.basename(filePath),
    text,
    kind: 'text',
    language: null,
    metadata: {},
    blocks: paragraphBlocks(text, 0, text.length, []),
  };
}

function isWhitespaceCode(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13) || code === 0xa0 || code === 0x3000 || code === 0xfeff ||
    (code >= 0x2000 && code <= 0x200a) || code === 0x2028 || code === 0x2029;
}
