// A vocabulary-free estimate of how many BPE tokens (cl100k-like) a text costs.
// It is called on every block at ingest and on every chunk at query time, so it is one pass over char codes, no allocation.

// Character classes; a run is a maximal sequence of one class.
const CJK = 1;
const ASCII_LETTER = 2;
const OTHER_LETTER = 3;
const DIGIT = 4;
const SPACE = 5;
const SYMBOL = 6;

// Classes of BMP code units, filled lazily (0 = not yet classified) so non-ASCII text pays the regex once per char.
const classCache = new Uint8Array(65536);
const CJK_CHAR = /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}]/u;
const LETTER_OR_MARK = /[\p{L}\p{M}]/u;
const NUMBER = /\p{N}/u;
const WHITESPACE = /\s/u;
for (let code = 0; code < 128; code++) classCache[code] = classifyUncached(code);

/**
 * The rule, per run of one character class (runs tile the text):
 * - a CJK character (Han, Hiragana, Katakana, Hangul): 1 token each;
 * - a run of ASCII letters of length L: 1 token up to 7 letters, then ceil((L - 2) / 5)
 *   (common English words are single tokens; long or rare words split into pieces of ~5 chars);
 * - a run of other letters (accented Latin, Cyrillic, Greek, Arabic…) of length L: ceil(L / 3), since cl100k
 *   spends more tokens on them;
 * - a run of digits of length L: ceil(L / 3) (cl100k groups numbers in at most three digits);
 * - a run of punctuation/symbols of length L: ceil(L / 2) (one per char for lone marks, pairs like `),` or `=>` merge);
 * - whitespace: a single space is free (it is part of the next word's token); a run containing a newline costs 1,
 *   plus 1 more for an indentation of two or more spaces/tabs after it; other runs of 2+ blanks cost 1.
 *
 * Expected error against cl100k: designed to land within about ±20% on English prose and mainstream source code
 * (English prose comes out near 4 characters a token, cl100k's usual figure). It over-estimates dense scientific
 * vocabulary, accented and non-Latin text (the safe direction for a token budget) and under-estimates emoji and
 * unusual Unicode symbols, which real BPE splits into several byte tokens. It has not been calibrated against the
 * real vocabulary, so treat the number as a budget estimate, never as an exact count.
 */
export function estimateTokens(text: string): number {
  return estimateTokensInRange(text, 0, text.length);
}

/**
 * estimateTokens(text.slice(start, end)) without making the slice (the chunker measures many spans).
 * With `stopAbove`, counting stops as soon as the total passes it (the result is then some value > stopAbove):
 * enough to learn that a span does not fit a budget without reading all of it.
 */
export function estimateTokensInRange(text: string, start: number, end: number, stopAbove = Infinity): number {
  let total = 0;
  let runClass = 0;
  let runStart = start;
  // One pass: close the current run whenever the class changes (and once more at the end, via the sentinel class 0).
  for (let i = start; i <= end; i++) {
    let cls = 0;
    if (i < end) {
      const code = text.charCodeAt(i);
      cls = classCache[code] as number;
      if (cls === 0) cls = charClass(code);
      if (cls === runClass) continue;
    }
    if (runClass !== 0) {
      total += runTokens(text, runClass, runStart, i);
      if (total > stopAbove) return total;
    }
    runClass = cls;
    runStart = i;
  }
  return total;
}

function runTokens(text: string, cls: number, start: number, end: number): number {
  const run = end - start;
  switch (cls) {
    case CJK:
      return run;
    case ASCII_LETTER:
      return run <= 7 ? 1 : Math.ceil((run - 2) / 5);
    case OTHER_LETTER:
    case DIGIT:
      // Counted in UTF-16 units; astral letters are rare enough that the difference does not matter.
      return Math.ceil(run / 3);
    case SPACE:
      return run === 1 ? (text.charCodeAt(start) === 10 ? 1 : 0) : whitespaceTokens(text, start, end);
    default:
      return Math.ceil(run / 2);
  }
}

function classifyUncached(code: number): number {
  if (code < 128) {
    if ((code >= 97 && code <= 122) || (code >= 65 && code <= 90)) return ASCII_LETTER;
    if (code >= 48 && code <= 57) return DIGIT;
    if (code === 32 || (code >= 9 && code <= 13)) return SPACE;
    return SYMBOL;
  }
  // Lone surrogates (halves of emoji and astral chars) count as symbols: BPE spends bytes on them.
  if (code >= 0xd800 && code <= 0xdfff) return SYMBOL;
  const char = String.fromCharCode(code);
  if (CJK_CHAR.test(char)) return CJK;
  if (LETTER_OR_MARK.test(char)) return OTHER_LETTER;
  if (NUMBER.test(char)) return DIGIT;
  if (WHITESPACE.test(char)) return SPACE;
  return SYMBOL;
}

function charClass(code: number): number {
  const cached = classCache[code] as number;
  if (cached !== 0) return cached;
  const cls = classifyUncached(code);
  classCache[code] = cls;
  return cls;
}

function whitespaceTokens(text: string, start: number, end: number): number {
  // Scan only this run: lastIndexOf would walk back through the whole text when the run has no newline.
  let lastNewline = -1;
  for (let k = end - 1; k >= start; k--) {
    if (text.charCodeAt(k) === 10) {
      lastNewline = k;
      break;
    }
  }
  if (lastNewline === -1) return end - start >= 2 ? 1 : 0;
  const indent = end - lastNewline - 1;
  return indent >= 2 ? 2 : 1;
}
