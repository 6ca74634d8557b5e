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
