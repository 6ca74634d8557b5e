// Turning user text into a Query, and a Query into an FTS5 expression that cannot fail or change meaning.
import { SieveError } from '../errors.js';
import type { Query } from '../types.js';
import { cjkBigrams } from '../util/cjk.js';
import { LUCENE_ENGLISH_STOPWORDS } from './stopwords.js';

// Letters, marks and numbers: the same classes FTS5's unicode61 tokenizer keeps as token characters,
// so a term we extract is one token to FTS5 as well.
const TERM = /[\p{L}\p{M}\p{N}]+/gu;

/** Very long questions are trimmed to this many terms: BM25 over hundreds of OR-ed terms is slow and no better. */
export const MAX_QUERY_TERMS = 64;

export function parseQuery(text: string): Query {
  // CJK runs become bigrams, as they are indexed (src/util/cjk.ts).
  const terms = (cjkBigrams(text.normalize('NFKC').toLowerCase()).match(TERM) ?? []).slice(0, MAX_QUERY_TERMS);
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
  const content = distinct.filter((t) => !LUCENE_ENGLISH_STOPWORDS.has(t));
  // A question made only of stopwords ("to be or not to be") still searches for them.
  return content.length > 0 ? content : distinct;
}
