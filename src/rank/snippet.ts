// Query-biased snippets: the stretch of a passage that holds the most of the query's words, with those words
// marked, so a search result shows why it matched instead of the passage's first line. Words are compared as the
// index compares them (folded, Porter-stemmed, identifiers by their parts, CJK as bigrams).
import { cjkTerms } from '../util/cjk.js';
import { identifierParts } from '../util/identifiers.js';
import { ftsWords } from './bm25-index.js';
import { porterStem } from './porter.js';

export interface Snippet {
  /** The chosen stretch of the text, whitespace collapsed, with '…' where it was cut. */
  text: string;
  /** [start, end) offsets in `text` of each word that matched a query term. */
  highlights: Array<[number, number]>;
}

interface Word {
  start: number;
  end: number;
  /** Keys this word matches by: its stem, and its identifier parts' stems. */
  keys: string[];
}

const WORD = /[\p{L}\p{M}\p{N}]+/gu;
const NON_ASCII = /[^\x00-\x7f]/;
/** Words shown before the first match when no sentence starts near it. */
const LEAD_WORDS = 4;
/** Between two words: the end of a sentence, or a paragraph break. */
const SENTENCE_GAP = /[.!?]["'\u201d\u2019)\]]*\s+$|[\u3002\uff01\uff1f]\s*$|\n\s*\n/;

/** A term as the index keys it: folded as unicode61 folds it (ftsWords), then its Porter stem. */
export function matchKey(term: string): string {
  return porterStem(ftsWords(term)[0] ?? term.toLowerCase());
}

function wordsOf(text: string): Word[] {
  const words: Word[] = [];
  for (const m of text.matchAll(WORD)) {
    const raw = m[0];
    for (const piece of NON_ASCII.test(raw) ? cjkTerms(raw) : [{ text: raw, start: 0, end: raw.length, cjk: false }]) {
      const parts = piece.cjk ? null : identifierParts(piece.text);
      const keys = [matchKey(piece.text), ...(parts ?? []).map(matchKey)];
      words.push({ start: m.index + piece.start, end: m.index + piece.end, keys });
    }
  }
  return words;
}

/**
 * The window of `maxWords` words holding the most distinct query terms (ties: more matches, then the earlier
 * window), widened back to a sentence start when one is near. `terms` are the query's search terms (stopwords
 * left out by the caller).
 */
export function snippet(text: string, terms: readonly string[], maxWords = 32): Snippet {
  const wanted = new Set(terms.map(matchKey));
  const words = wordsOf(text);
  if (words.length === 0) return { text: text.replace(/\s+/g, ' ').trim(), highlights: [] };
  const matched = words.map((w) => w.keys.find((k) => wanted.has(k)) ?? null);

  let bestStart = 0;
  let bestDistinct = -1;
  let bestHits = -1;
  const counts = new Map<string, number>();
  let hits = 0;
  const add = (i: number, d: number) => {
    const key = matched[i];
    if (key === null || key === undefined) return;
    hits += d;
    const c = (counts.get(key) ?? 0) + d;
    if (c === 0) counts.delete(key);
    else counts.set(key, c);
  };
  const width = Math.min(maxWords, words.length);
  for (let i = 0; i < width; i++) add(i, 1);
  for (let start = 0; start + width <= words.length; start++) {
    if (start > 0) {
      add(start - 1, -1);
      add(start + width - 1, 1);
    }
    if (counts.size > bestDistinct || (counts.size === bestDistinct && hits > bestHits)) {
      bestStart = start;
      bestDistinct = counts.size;
      bestHits = hits;
    }
  }
  // Within the best window's matches, start at the latest sentence start that keeps them all in view, else a few
  // words before the first match; with no match at all, at the beginning.
  let first = 0;
  let firstMatch = -1;
  let lastMatch = -1;
  for (let i = bestStart; i < bestStart + width; i++) {
    if (matched[i] === null) continue;
    if (firstMatch < 0) firstMatch = i;
    lastMatch = i;
  }
  // A text that fits the window is shown whole.
  if (firstMatch >= 0 && words.length > width) {
    const earliest = Math.max(0, lastMatch - width + 1);
    first = Math.max(earliest, firstMatch - LEAD_WORDS);
    for (let j = firstMatch; j >= earliest; j--) {
      if (j === 0 || SENTENCE_GAP.test(text.slice(words[j - 1]!.end, words[j]!.start))) {
        first = j;
        break;
      }
    }
  }
  const last = Math.min(words.length, first + width) - 1;
  const to = last === words.length - 1 ? text.length : words[last]!.end;

  // Collapse whitespace while keeping highlight offsets true to the output.
  let out = first > 0 ? '…' : '';
  const highlights: Array<[number, number]> = [];
  let cursor = words[first]!.start;
  for (let i = first; i <= last; i++) {
    const w = words[i]!;
    let s: number;
    if (w.start >= cursor) {
      out += text.slice(cursor, w.start).replace(/\s+/g, ' ');
      s = out.length;
      out += text.slice(w.start, w.end);
    } else {
      // CJK bigrams overlap their neighbours by a character: write only what is new.
      s = out.length - (cursor - w.start);
      out += text.slice(cursor, w.end);
    }
    if (matched[i] !== null) {
      const previous = highlights[highlights.length - 1];
      if (previous && s <= previous[1]) previous[1] = out.length;
      else highlights.push([s, out.length]);
    }
    cursor = Math.max(cursor, w.end);
  }
  out += text.slice(cursor, to).replace(/\s+/g, ' ').trimEnd();
  if (last < words.length - 1) out += '…';
  return { text: out, highlights };
}
