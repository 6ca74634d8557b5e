// Chinese, Japanese and Korean text as search terms. FTS5's unicode61 tokenizer (and every tokenizer here that
// mirrors it) splits words at spaces and punctuation, which these scripts seldom use: a whole clause became one
// token, and a search for a word inside it found nothing. So every run of CJK characters is rewritten as its
// overlapping character bigrams ("咖啡因是" → "咖啡 啡因 因是"), as Lucene's CJK analyzer indexes them; a lone
// character stays itself. Applied alike to what is indexed and to what is searched, so the two always agree.

const CJK_RUN = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u30fc]+/gu;
const HAS_CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

export function cjkBigrams(text: string): string {
  if (!HAS_CJK.test(text)) return text;
  return text.replace(CJK_RUN, (run) => {
    const chars = [...run];
    if (chars.length === 1) return ` ${run} `;
    const grams: string[] = [];
    for (let i = 0; i + 1 < chars.length; i++) grams.push(chars[i]! + chars[i + 1]!);
    return ` ${grams.join(' ')} `;
  });
}

export interface CjkTerm {
  /** A character bigram of a CJK run, a lone CJK character, or a stretch of other text, as written. */
  text: string;
  /** UTF-16 offsets within the string given. */
  start: number;
  end: number;
  cjk: boolean;
}

/**
 * Splits a word into the pieces that search terms are made of, with their offsets: CJK runs into overlapping
 * character bigrams (as `cjkBigrams` does), everything else kept whole. Callers that must point back into the
 * text (attribution's evidence spans) use this instead of `cjkBigrams`, which loses positions.
 */
export function cjkTerms(word: string): CjkTerm[] {
  const out: CjkTerm[] = [];
  let last = 0;
  for (const m of word.matchAll(CJK_RUN)) {
    if (m.index > last) out.push({ text: word.slice(last, m.index), start: last, end: m.index, cjk: false });
    const chars = [...m[0]];
    if (!HAS_CJK.test(m[0])) {
      // A run of prolonged-sound marks alone is not a word of its own.
      out.push({ text: m[0], start: m.index, end: m.index + m[0].length, cjk: false });
    } else if (chars.length === 1) {
      out.push({ text: m[0], start: m.index, end: m.index + m[0].length, cjk: true });
    } else {
      let offset = m.index;
      for (let i = 0; i + 1 < chars.length; i++) {
        const first = chars[i]!;
        const gram = first + chars[i + 1]!;
        out.push({ text: gram, start: offset, end: offset + gram.length, cjk: true });
        offset += first.length;
      }
    }
    last = m.index + m[0].length;
  }
  if (last < word.length) out.push({ text: word.slice(last), start: last, end: word.length, cjk: false });
  return out;
}
