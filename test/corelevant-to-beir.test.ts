// The ArguAna-shaped long-query set built from another set's judgements (bench/corelevant-to-beir.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { corelevantSet, main } from '../bench/corelevant-to-beir.js';
import { readBeirDataset } from '../src/train/beir.js';

const miniDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'beir-mini');
const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe('corelevantSet', () => {
  const corpus = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ _id: id, title: id.toUpperCase(), text: `text of ${id}` }));

  it('makes each document judged relevant beside others a query whose answers are those others', () => {
    const set = corelevantSet(corpus, [
      new Map([['a', 1], ['b', 2], ['d', 0]]), // d is judged not relevant: it relates to nothing
      new Map([['b', 1], ['c', 1]]),
      new Map([['e', 1]]), // alone: no pair
      new Map([['a', 1], ['zz', 1]]), // a document missing from the corpus is ignored
    ]);
    expect(set.queries).toEqual([
      { _id: 'a', text: 'A. text of a' },
      { _id: 'b', text: 'B. text of b' },
      { _id: 'c', text: 'C. text of c' },
    ]);
    expect(set.qrels.map((q) => `${q.queryId}>${q.corpusId}`)).toEqual(['a>b', 'b>a', 'b>c', 'c>b']);
    expect(set.corpus).toHaveLength(5);
  });
});

describe('corelevant-to-beir', () => {
  it('writes a BEIR folder that sieve reads, with query ids equal to document ids', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'sieve-corelevant-'));
    dirs.push(out);
    await main([miniDir, out, '--splits', 'test']);
    const dataset = await readBeirDataset(out, 'test');
    // beir-mini's test split marks d1 and d3 relevant to q1 (d4 is judged 0).
    expect([...dataset.qrels.keys()].sort()).toEqual(['d1', 'd3']);
    expect([...dataset.qrels.get('d1')!.keys()]).toEqual(['d3']);
    expect(dataset.queries.get('d3')?.text).toMatch(/^Sun\. The Sun also pulls on the oceans/);
  });
});
