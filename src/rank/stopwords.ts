// Words a query is not searched for. Documents are indexed whole; only queries drop these.

// Lucene's default English stop set (the one Anserini's BM25 baselines on BEIR use). Dropping these from the FTS
// query barely moves BM25 (their IDF is near zero) but stops a question from matching nearly every chunk,
// which is what made scoring slow.
export const LUCENE_ENGLISH_STOPWORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'but', 'by', 'for', 'if', 'in', 'into', 'is', 'it', 'no', 'not', 'of',
  'on', 'or', 'such', 'that', 'the', 'their', 'then', 'there', 'these', 'they', 'this', 'to', 'was', 'will', 'with',
]);

/**
 * The words a question wraps around its subject: interrogatives, the auxiliaries that form questions, personal
 * pronouns. Lucene's set was made for keyword queries and keeps them. Their IDF is low but not near zero in a small
 * corpus, so "What year did Tesla die?" ranked paragraphs that merely say "did" and "year" above the one saying
 * "Tesla died". Left out on purpose: modals that are also nouns ("may", "can", "will" stays as Lucene has it) and
 * "us", which is also the country.
 */
export const QUESTION_WORDS: ReadonlySet<string> = new Set([
  'what', 'which', 'who', 'whom', 'whose', 'when', 'where', 'why', 'how',
  'do', 'does', 'did', 'has', 'have', 'had', 'were', 'been', 'being', 'am',
  'i', 'me', 'my', 'we', 'our', 'you', 'your', 'he', 'him', 'his', 'she', 'her', 'its', 'them', 'those',
]);

export const QUERY_STOPWORDS: ReadonlySet<string> = new Set([...LUCENE_ENGLISH_STOPWORDS, ...QUESTION_WORDS]);
