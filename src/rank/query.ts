// Turning user text into a Query, and a Query into an FTS5 expression that cannot fail or change meaning.
import { SieveError } from '../errors.js';
import type { Query } from '../types.js';
import { searchText } from '../util/search-text.js';
import { QUERY_STOPWORDS } from './stopwords.js';

// Letters, marks and numbers: the same classes FTS5's unicode61 tokenizer keeps as token characters,
// so a term we extract is one token to FTS5 as well.
const TERM = /[\p{L}\p{M}\p{N}]+/gu;

/**
 * A long query (a pasted paragraph, an ArguAna argument of 200 words) keeps its first this-many distinct content
 * words, stopwords and repeats between them included. Counting raw tokens instead, as before, kept about the first
 * 35 content words of 64 tokens and dropped the rest of the argument, which BM25 baselines (Anserini, BEIR's
 * Elasticsearch) search in full.
 */
export const MAX_QUERY_CONTENT_TERMS = 128;
/** And never more tokens than this in all, whatever the repeats (the cost of features grows with them). */
export const MAX_QUERY_TOKENS = 1024;

export function parseQuery(text: string): Query {
  // Identifiers gain their parts and CJK runs become bigrams, as they are indexed (src/util/search-text.ts).
  const tokens = searchText(text.normalize('NFKC')).toLowerCase().match(TERM) ?? [];
  const terms: string[] = [];
  const content = new Set<string>();
  for (const token of tokens) {
    if (terms.length >= MAX_QUERY_TOKENS) break;
    if (!QUERY_STOPWORDS.has(token) && !content.has(token)) {
      if (content.size >= MAX_QUERY_CONTENT_TERMS) break;
      content.add(token);
    }
    terms.push(token);
  }
  if (terms.length === 0) {
    throw new SieveError('QUESTION_EMPTY', `the question ${JSON.stringify(text.slice(0, 80))} has no words or numbers to search for`);
  }
  return { text, terms };
}

/**
 * Each distinct non-stopword term becomes a quoted FTS5 string joined by OR. Quoting makes AND/OR/NOT/NEAR, '*', '^', ':'
 * and column filters plain text; terms hold only letters, marks and digits, so no quote can appear inside one.
 */
export function toFtsMatch(query: Query): string {
  return lexicalTerms(query)
    .map((t) => `"${t}"`)
    .join(' OR ');
}

/** The distinct terms lexical retrieval searches for: stopwords dropped, unless the question is only stopwords. */
export function lexicalTerms(query: Query): string[] {
  const distinct = [...new Set(query.terms)];
  const content = distinct.filter((t) => !QUERY_STOPWORDS.has(t));
  // A question made only of stopwords ("to be or not to be") still searches for them.
  return content.length > 0 ? content : distinct;
}
