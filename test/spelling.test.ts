// Spelling correction in lexical search: an unknown term is searched as the closest term the corpus holds.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Bm25Index } from '../src/rank/bm25-index.js';
import { Bm25Retriever } from '../src/rank/lexical.js';
import { parseQuery } from '../src/rank/query.js';
import { Store } from '../src/store/store.js';
import { boundedEditDistance } from '../src/util/edit-distance.js';
import { writeAndIngest } from './helpers/fts.js';
import { tempDir } from './helpers/tmp.js';

describe('boundedEditDistance', () => {
  it('counts insertions, deletions, substitutions and adjacent transpositions', () => {
    expect(boundedEditDistance('kitten', 'sitting', 5)).toBe(3);
    expect(boundedEditDistance('descale', 'descale', 2)).toBe(0);
    expect(boundedEditDistance('recieve', 'receive', 2)).toBe(1); // transposition
    expect(boundedEditDistance('kettel', 'kettl', 2)).toBe(1);
    expect(boundedEditDistance('', 'abc', 5)).toBe(3);
  });

  it('gives up past the bound with bound + 1', () => {
    expect(boundedEditDistance('kitten', 'sitting', 2)).toBe(3);
    expect(boundedEditDistance('a', 'abcdef', 2)).toBe(3);
    expect(boundedEditDistance('abcdefgh', 'zyxwvuts', 1)).toBe(2);
  });
});

describe('Bm25Index spelling correction', () => {
  const index = Bm25Index.fromRows([
    { id: 1, heading: 'Kettle', text: 'Descale the kettle with vinegar.' },
    { id: 2, heading: 'Printer', text: 'The printer jams when the paper is damp.' },
    { id: 3, heading: 'Printers', text: 'Printers in the office: printer on floor two, printer on floor three.' },
    { id: 4, heading: 'Codes', text: 'Error code e42 means the tray is open.' },
  ]);
  const weights = { heading: 2, body: 1 };
  const ids = (terms: string[], correctSpelling = true) => index.search(terms, 10, weights, undefined, { correctSpelling }).map((h) => h.chunkId);

  it('finds what a misspelt term meant, and nothing without correction (as FTS5)', () => {
    expect(ids(['kettel'])).toEqual([1]);
    expect(ids(['vinegr'])).toEqual([1]);
    expect(ids(['descael'])).toEqual([1]); // transposed letters
    expect(ids(['kettel'], false)).toEqual([]);
  });

  it('leaves known terms, short terms and terms with digits alone', () => {
    expect(ids(['printer'])).toEqual(ids(['printer'], false));
    expect(ids(['jam'])).toEqual(ids(['jam'], false));
    expect(ids(['tey'])).toEqual([]); // three letters: too short to correct
    expect(ids(['e43'])).toEqual([]); // a code is not a typo
  });

  it('corrects to the closest term, the more frequent one on ties', () => {
    // "printr" is one edit from "printer" (stem "printer", in both printer chunks) and none is closer.
    expect(ids(['printr'])).toEqual(ids(['printer'], false));
  });
});

describe('spelling correction while FTS5 serves (one-shot CLI queries, index not built)', () => {
  const tmp = tempDir('spelling');
  afterAll(() => tmp.cleanup());

  it('corrects through the FTS vocabulary, and finds what the in-memory index finds', async () => {
    const store = new Store(join(tmp.dir, 'sieve.db'));
    try {
      await writeAndIngest(store, tmp.dir, {
        'kettle.md': '# Kettle\n\nDescale the kettle with vinegar every month.\n',
        'printer.md': '# Printer\n\nThe printer jams when the paper is damp.\n',
      });
      expect(store.correctFtsTerm('kettl')).toBe('kettl'); // known: as it is
      expect(store.correctFtsTerm('kettel')).toBe('kettl');
      expect(store.correctFtsTerm('zebra')).toBeNull();
      const viaFts = new Bm25Retriever(store, () => null, { heading: 2, body: 1 });
      const viaIndex = new Bm25Retriever(store, () => Bm25Index.build(store), { heading: 2, body: 1 });
      for (const question of ['kettel descaling', 'the printr jams']) {
        const fts = viaFts.retrieve(parseQuery(question), 10).map((c) => c.chunkId);
        expect(fts.length).toBeGreaterThan(0);
        expect(fts).toEqual(viaIndex.retrieve(parseQuery(question), 10).map((c) => c.chunkId));
      }
    } finally {
      store.close();
    }
  });
});
