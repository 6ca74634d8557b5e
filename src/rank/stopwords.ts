// Lucene's default English stop set (the one Anserini's BM25 baselines on BEIR use). Dropping these from the FTS
// query barely moves BM25 (their IDF is near zero) but stops a question from matching nearly every chunk,
// which is what made scoring slow.
export const LUCENE_ENGLISH_STOPWORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', 'in', 'into', 'is', 'it', 'no', 'not', 'of',
  'on', 'or', 'such', 'that', 'the', 'their', 'then', 'there', 'these', 'they', 'this', 'to', 'was', 'will', 'with',
]);
