import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SieveError } from '../src/errors.js';
import { lexicalTerms, MAX_QUERY_CONTENT_TERMS, MAX_QUERY_TOKENS, parseQuery, toFtsMatch } from '../src/rank/query.js';
import { Store } from '../src/store/store.js';
import type { LoadedDocument } from '../src/types.js';

const dir = mkdtempSync(join(tmpdir(), 'sieve-query-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function doc(uri: string, title: string, text: string): LoadedDocument {
  return { uri, externalId: null, title, text, kind: 'text', language: null, metadata: {}, blocks: [] };
}

describe('parseQuery', () => {
  it('keeps a long query whole up to 128 distinct content words, counting neither stopwords nor repeats', () => {
    // An ArguAna-style argument: 150 distinct content words spread over 450 tokens.
    const words = Array.from({ length: 150 }, (_, i) => `w${i}`);
    const argument = words.map((w) => `the ${w} of ${w}`).join(' ');
    const terms = parseQuery(argument).terms;
    const kept = lexicalTerms(parseQuery(argument));
    expect(kept).toEqual(words.slice(0, MAX_QUERY_CONTENT_TERMS));
    expect(terms.slice(0, 4)).toEqual(['the', 'w0', 'of', 'w0']);
    // One word repeated without end is cut by the token cap.
    expect(parseQuery('spam '.repeat(5000)).terms).toHaveLength(MAX_QUERY_TOKENS);
  });

  it('keeps letters, marks and digits as lower-cased terms', () => {
    expect(parseQuery('What is CRISPR-Cas9’s off-target rate (2019)?').terms).toEqual([
      'what', 'is', 'crispr', 'cas9', 's', 'off', 'target', 'rate', '2019',
    ]);
    expect(parseQuery('Ünïcödé naïve café 東京').terms).toEqual(['ünïcödé', 'naïve', 'café', '東京']);
  });

  it('refuses a question with nothing to search for', () => {
    for (const q of ['', '   ', '?!', '"*"', '---']) {
      expect(() => parseQuery(q)).toThrowError(SieveError);
      try {
        parseQuery(q);
      } catch (e) {
        expect((e as SieveError).code).toBe('QUESTION_EMPTY');
      }
    }
  });

  it('quotes every term so FTS5 syntax in user text is plain text (and drops stopwords)', () => {
    expect(toFtsMatch(parseQuery('NOT cats AND dogs OR NEAR(x y) title:foo "bar" baz*'))).toBe(
      '"cats" OR "dogs" OR "near" OR "x" OR "y" OR "title" OR "foo" OR "bar" OR "baz"',
    );
    // A question made only of stopwords still searches for them, quoted.
    expect(toFtsMatch(parseQuery('To be OR NOT to be'))).toBe('"to" OR "be" OR "or" OR "not"');
  });

  it('searches a question for its subject, not for the words that make it a question', () => {
    expect(lexicalTerms(parseQuery('What year did Tesla die?'))).toEqual(['year', 'tesla', 'die']);
    expect(lexicalTerms(parseQuery('Who has he been working with, and where does his team meet?'))).toEqual(['working', 'team', 'meet']);
    // Kept: modals that are nouns too, and "US" (the country).
    expect(lexicalTerms(parseQuery('How may the US can the budget?'))).toEqual(['may', 'us', 'can', 'budget']);
    // Only question words: searched as they are rather than refused.
    expect(lexicalTerms(parseQuery('Who are you?'))).toEqual(['who', 'are', 'you']);
  });
});

describe('FTS5 with hostile queries', () => {
  const store = new Store(join(dir, 'q.db'));
  const sid = store.upsertSource({ path: '/x', root: '/x', contentHash: 'h', size: 1, mtimeMs: 0 });
  const chunk = (text: string) => [{ ordinal: 0, text, headingPath: [], tokenCount: 5, charStart: 0, charEnd: text.length }];
  store.replaceDocument(sid, doc('/x/a', 'Operators', 'NOT and OR are words here'), 'a', 0, chunk('NOT and OR are words here'));
  store.replaceDocument(sid, doc('/x/b', 'Cats', 'cats chase mice'), 'b', 0, chunk('cats chase mice'));
  afterAll(() => store.close());

  it.each([
    'NOT', 'AND', 'OR', 'NEAR', '"unbalanced', 'cats*', '^cats', 'heading:cats', '(cats', 'cats)', "it's", 'a + b - c', 'NEAR(cats, 2)',
    '{heading text}: cats', 'cats NOT mice', '\u0000cats', 'SELECT * FROM chunks; --',
  ])('%j runs without a syntax error', (q) => {
    let match: string;
    try {
      match = toFtsMatch(parseQuery(q));
    } catch (e) {
      expect((e as SieveError).code).toBe('QUESTION_EMPTY');
      return;
    }
    expect(() => store.searchFts(match, 10, { heading: 1, body: 1 })).not.toThrow();
  });

  it('treats keywords as words: "NOT" finds the document containing the word not', () => {
    const hits = store.searchFts(toFtsMatch(parseQuery('NOT')), 10, { heading: 1, body: 1 });
    expect(hits).toHaveLength(1);
  });

  it('ranks the passage that answers a question above one that only shares its question words', () => {
    const qs = new Store(join(dir, 'question.db'));
    try {
      const qsid = qs.upsertSource({ path: '/y', root: '/y', contentHash: 'h', size: 1, mtimeMs: 0 });
      const answer = 'Tesla died in the year 1943.';
      const chatter = 'What Tesla did that year: what he did there, he did every year.';
      qs.replaceDocument(qsid, doc('/y/a', 'A', answer), 'a', 0, chunk(answer));
      qs.replaceDocument(qsid, doc('/y/b', 'B', chatter), 'b', 0, chunk(chatter));
      const hits = qs.searchFts(toFtsMatch(parseQuery('What year did Tesla die?')), 10, { heading: 1, body: 1 });
      expect(qs.getChunks([hits[0]!.chunkId]).get(hits[0]!.chunkId)?.text).toBe(answer);
    } finally {
      qs.close();
    }
  });

  it('"cats NOT mice" finds the document with cats and mice (NOT is not an operator)', () => {
    const hits = store.searchFts(toFtsMatch(parseQuery('cats NOT mice')), 10, { heading: 1, body: 1 });
    expect(hits.length).toBe(1);
    expect(store.getChunks([hits[0]!.chunkId]).get(hits[0]!.chunkId)?.text).toBe('cats chase mice');
    expect(hits[0]!.score).toBeGreaterThan(0);
  });
});
