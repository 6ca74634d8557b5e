// A small rule-based sentence splitter. The chunker splits oversized blocks with it and the extractive answerer
// picks sentences with it, so spans must be honest: each covers its sentence exactly, with no surrounding whitespace.

export interface SentenceSpan {
  start: number;
  end: number;
}

// Words that end in a period without ending the sentence (compared lower-cased, without the final period).
const ABBREVIATIONS = new Set([
  'e.g', 'i.e', 'eg', 'ie', 'cf', 'vs', 'viz', 'al', 'approx', 'ca', 'resp',
  'fig', 'figs', 'eq', 'eqs', 'ref', 'refs', 'tab', 'sec', 'ch', 'vol', 'no', 'nos', 'pp', 'p', 'ed', 'eds',
  'dr', 'mr', 'mrs', 'ms', 'prof', 'sr', 'jr', 'st', 'mt', 'gen', 'col', 'lt', 'sgt', 'rev', 'hon',
  'inc', 'ltd', 'co', 'corp', 'dept', 'univ', 'est', 'min', 'max',
  'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec',
  'u.s', 'u.k', 'u.n', 'a.m', 'p.m', 'ph.d', 'm.d', 'b.sc', 'm.sc',
]);

// Candidate boundaries: Latin stops (runs, so '...' and '?!' are one), CJK full stops, and newlines.
const CANDIDATE = /[.!?\u2026]+|[\u3002\uff01\uff1f\uff0e]+|\n/g;
// Closing quotes and brackets that belong to the sentence they follow.
const CLOSERS = new Set(['"', "'", '\u201d', '\u2019', ')', ']', '}', '\u00bb', '\u300d', '\u300f', '\u3011', '\uff09']);
// A line that starts a list item, heading, table row or quote: a newline before it ends a sentence.
const BLOCK_LINE_START = /^[ \t]*(?:[-*+\u2022\u2013]|\d{1,3}[.)]|[a-zA-Z][.)]|#{1,6}|\||>)(?:\s|$)/;
const LIST_MARKER_LINE = /^[ \t]*(?:[-*+\u2022]|\d{1,3}[.)]|#{1,6}|\|)\s/;

/** Splits text into sentence spans, in order, each trimmed of surrounding whitespace. */
export function splitSentences(text: string): SentenceSpan[] {
  const spans: SentenceSpan[] = [];
  let sentenceStart = 0;
  const push = (end: number): void => {
    const span = trimSpan(text, sentenceStart, end);
    if (span !== null) spans.push(span);
    sentenceStart = end;
  };

  CANDIDATE.lastIndex = 0;
  for (let m = CANDIDATE.exec(text); m !== null; m = CANDIDATE.exec(text)) {
    const stop = m[0];
    const stopStart = m.index;
    let end = stopStart + stop.length;

    if (stop === '\n') {
      if (isLineBoundary(text, stopStart)) push(stopStart);
      continue;
    }
    while (end < text.length && CLOSERS.has(text[end] as string)) end++;

    if (isCjkStop(stop)) {
      push(end);
      CANDIDATE.lastIndex = end;
      continue;
    }
    // A Latin stop must be followed by whitespace (or the end): '3.5', 'example.com', 'a.b' never split.
    if (end < text.length && !isSpace(text.charCodeAt(end))) continue;
    if (end >= text.length) break;
    if (stop.endsWith('.') && !stop.endsWith('..') && isNonFinalPeriod(text, stopStart, sentenceStart)) continue;
    const next = nextVisibleChar(text, end);
    // A lower-case continuation means the stop was not a sentence end ('e.g. the', 'approx. ten', 'Why? because').
    if (next !== null && isLowerCase(next)) continue;
    push(end);
    CANDIDATE.lastIndex = end;
  }
  push(text.length);
  return spans;
}

function isCjkStop(stop: string): boolean {
  const code = stop.charCodeAt(0);
  return code === 0x3002 || code === 0xff01 || code === 0xff1f || code === 0xff0e;
}

/** True when the period at `periodIndex` ends an abbreviation, an initial or a list number rather than a sentence. */
function isNonFinalPeriod(text: string, periodIndex: number, sentenceStart: number): boolean {
  // The token before the period: letters, digits and inner periods back to whitespace or an opening bracket/quote.
  let tokenStart = periodIndex;
  while (tokenStart > sentenceStart) {
    const ch = text[tokenStart - 1] as string;
    if (/[\p{L}\p{N}.]/u.test(ch)) tokenStart--;
    else break;
  }
  const token = text.slice(tokenStart, periodIndex);
  if (token.length === 0) return false;
  if (ABBREVIATIONS.has(token.toLowerCase())) return true;
  // Initials: a single capital letter ('J. Smith', 'A. B. Jones') or a dotted run like 'U.S.A'.
  if (/^\p{Lu}$/u.test(token)) return true;
  if (/^(?:\p{L}\.)+\p{L}$/u.test(token)) return true;
  // A list number at the start of a line ('1. First step'), not a number ending a sentence ('… in 2019. Then').
  if (/^\d{1,3}$/.test(token)) {
    const lineStart = text.lastIndexOf('\n', tokenStart - 1) + 1;
    return text.slice(lineStart, tokenStart).trim() === '';
  }
  return false;
}

/** Whether the newline at `index` separates sentences: paragraph breaks, list items, headings, table rows. */
function isLineBoundary(text: string, index: number): boolean {
  const nextLineEnd = text.indexOf('\n', index + 1);
  const nextLine = text.slice(index + 1, nextLineEnd === -1 ? text.length : nextLineEnd);
  if (nextLine.trim() === '') return true;
  if (BLOCK_LINE_START.test(nextLine)) return true;
  const lineStart = text.lastIndexOf('\n', index - 1) + 1;
  const line = text.slice(lineStart, index);
  if (line.trim() === '') return false;
  if (/^[ \t]*(?:#{1,6}\s|\|)/.test(line)) return true;
  // A line ending in a colon introduces what follows ('Steps:\n run it'); a list item line ends at its newline
  // unless the next line is indented as its continuation.
  if (/:[ \t]*$/.test(line)) return true;
  if (LIST_MARKER_LINE.test(line) && !/^[ \t]{2,}\S/.test(nextLine)) return true;
  return false;
}

function nextVisibleChar(text: string, from: number): string | null {
  for (let i = from; i < text.length; i++) {
    if (!isSpace(text.charCodeAt(i))) return text[i] as string;
  }
  return null;
}

function isLowerCase(ch: string): boolean {
  return ch !== ch.toUpperCase() && ch === ch.toLowerCase();
}

/** Exactly the characters of /\s/, so spans agree with word splitting and the token estimate. */
function isSpace(code: number): boolean {
  if (code < 128) return code === 32 || (code >= 9 && code <= 13);
  return code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a) || code === 0x2028 || code === 0x2029 ||
    code === 0x202f || code === 0x205f || code === 0x3000 || code === 0xfeff;
}

function trimSpan(text: string, start: number, end: number): SentenceSpan | null {
  let s = start;
  let e = end;
  while (s < e && isSpace(text.charCodeAt(s))) s++;
  while (e > s && isSpace(text.charCodeAt(e - 1))) e--;
  return s < e ? { start: s, end: e } : null;
}
