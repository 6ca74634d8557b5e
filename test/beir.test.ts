import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SieveError } from '../src/errors.js';
import { listSplits, readBeirDataset } from '../src/train/beir.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const miniDir = path.join(repoRoot, 'test/fixtures/beir-mini');
// CI clones the repo with shared/ beside it.
const scifactDir = path.resolve(repoRoot, '../shared/data/scifact');

async function expectDatasetInvalid(promise: Promise<unknown>, messagePattern: RegExp): Promise<SieveError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(SieveError);
  const sieveError = error as SieveError;
  expect(sieveError.code).toBe('DATASET_INVALID');
  expect(sieveError.message).toMatch(messagePattern);
  return sieveError;
}

describe('readBeirDataset on the mini fixture', () => {
  it('reads the split with a header: graded scores, qrels order, answers from metadata', async () => {
    const dataset = await readBeirDataset(miniDir, 'test');
    expect(dataset.dir).toBe(path.resolve(miniDir));
    expect(dataset.corpusPath).toBe(path.join(miniDir, 'corpus.jsonl'));
    // qrels order is q2 then q1; q3 and 4 belong to train only
    expect([...dataset.queries.keys()]).toEqual(['q2', 'q1']);
    expect([...dataset.qrels.keys()]).toEqual(['q2', 'q1']);
    expect(dataset.qrels.get('q1')).toEqual(
      new Map([
        ['d1', 2],
        ['d3', 1],
        ['d4', 0],
      ]),
    );
    expect(dataset.queries.get('q1')).toEqual({
      text: 'What causes the tides?',
      answers: ['the gravitational pull of the Moon', 'the Moon'],
    });
    // metadata.answers that is not an array of strings is ignored
    expect(dataset.queries.get('q2')).toEqual({ text: 'Why is the sea salty?' });
  });

  it('reads a split without a header and numeric query ids', async () => {
    const dataset = await readBeirDataset(miniDir, 'train');
    expect([...dataset.queries.keys()]).toEqual(['q3', '4']);
    expect(dataset.queries.get('4')).toEqual({ text: 'How long is a lunar orbit?' });
    expect(dataset.qrels.get('4')).toEqual(new Map([['d2', 1]]));
  });

  it('lists the splits', async () => {
    expect(await listSplits(miniDir)).toEqual(['test', 'train']);
    expect(await listSplits(path.join(miniDir, 'nowhere'))).toEqual([]);
  });

  it('names the missing split file and the splits that exist', async () => {
    const error = await expectDatasetInvalid(readBeirDataset(miniDir, 'dev'), /qrels\/dev\.tsv.*splits there: test, train/);
    expect(error.details['splits']).toEqual(['test', 'train']);
  });
});

describe('readBeirDataset on broken folders', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sieve-beir-'));
    await mkdir(path.join(dir, 'qrels'));
    await writeFile(path.join(dir, 'corpus.jsonl'), '{"_id":"d1","title":"","text":"x"}\n');
    await writeFile(path.join(dir, 'queries.jsonl'), '{"_id":"q1","text":"hello"}\n');
    await writeFile(path.join(dir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\nq1\td1\t1\n');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts the valid baseline', async () => {
    const dataset = await readBeirDataset(dir, 'test');
    expect(dataset.queries.get('q1')).toEqual({ text: 'hello' });
  });

  it('requires corpus.jsonl', async () => {
    await rm(path.join(dir, 'corpus.jsonl'));
    await expectDatasetInvalid(readBeirDataset(dir, 'test'), /corpus\.jsonl does not exist/);
  });

  it('requires queries.jsonl', async () => {
    await rm(path.join(dir, 'queries.jsonl'));
    await expectDatasetInvalid(readBeirDataset(dir, 'test'), /queries\.jsonl does not exist/);
  });

  it('says when there are no splits at all', async () => {
    await rm(path.join(dir, 'qrels'), { recursive: true });
    await expectDatasetInvalid(readBeirDataset(dir, 'test'), /no qrels\/<split>\.tsv files exist/);
  });

  it('rejects a non-integer score with file and line', async () => {
    await writeFile(path.join(dir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0.5\n');
    await expectDatasetInvalid(readBeirDataset(dir, 'test'), /test\.tsv:3: expected/);
  });

  it('rejects a qrels line with the wrong number of columns', async () => {
    await writeFile(path.join(dir, 'qrels', 'test.tsv'), 'q1\td1\n');
    await expectDatasetInvalid(readBeirDataset(dir, 'test'), /test\.tsv:1: expected/);
  });

  it('rejects malformed query lines', async () => {
    await writeFile(path.join(dir, 'queries.jsonl'), '{"_id":"q1","text":"hello"}\n{"_id":"q2"\n');
    await expectDatasetInvalid(readBeirDataset(dir, 'test'), /queries\.jsonl:2: not valid JSON/);
    await writeFile(path.join(dir, 'queries.jsonl'), '{"_id":"q1"}\n');
    await expectDatasetInvalid(readBeirDataset(dir, 'test'), /queries\.jsonl:1: expected/);
  });

  it('rejects qrels naming a query that queries.jsonl lacks', async () => {
    await writeFile(path.join(dir, 'qrels', 'test.tsv'), 'q1\td1\t1\nq9\td1\t1\n');
    const error = await expectDatasetInvalid(readBeirDataset(dir, 'test'), /1 query missing .*q9/);
    expect(error.details['missing']).toEqual(['q9']);
  });
});

describe('readBeirDataset on real SciFact', () => {
  it('reads the test split: 300 queries, 339 pairs', async () => {
    const dataset = await readBeirDataset(scifactDir, 'test');
    expect(dataset.queries.size).toBe(300);
    expect([...dataset.qrels.values()].reduce((sum, docs) => sum + docs.size, 0)).toBe(339);
    expect([...dataset.qrels.keys()]).toEqual([...dataset.queries.keys()]);
    expect(dataset.qrels.get('1')?.get('31715818')).toBe(1); // first line after the header
  });

  it('reads the train split: 809 queries, 919 pairs', async () => {
    const dataset = await readBeirDataset(scifactDir, 'train');
    expect(dataset.queries.size).toBe(809);
    expect([...dataset.qrels.values()].reduce((sum, docs) => sum + docs.size, 0)).toBe(919);
    expect(dataset.queries.get('0')?.text).toBe('0-dimensional biomaterials lack inductive properties.');
    expect(await listSplits(scifactDir)).toEqual(['test', 'train']);
  });
});

describe('evaluateBeir where queries are corpus documents themselves (ArguAna, Quora)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sieve-identical-'));
    // Each query is an argument that is also in the corpus under the same id; the relevant document is its
    // counter-argument. Searching with the argument's own text finds the argument itself first.
    const docs = [
      { _id: 'a1', title: 'Zoos protect species', text: 'Zoos protect endangered species through breeding programmes that keep rare animals alive.' },
      { _id: 'a1-counter', title: 'Zoos confine animals', text: 'Breeding programmes in zoos rarely return endangered animals to the wild; species need protected habitats.' },
      { _id: 'b1', title: 'Homework builds habits', text: 'Homework builds study habits and lets pupils practise what the lesson taught.' },
      { _id: 'b1-counter', title: 'Homework burdens pupils', text: 'Homework rarely builds lasting study habits; pupils practise better in the lesson itself.' },
      { _id: 'c1', title: 'Tea', text: 'Green tea is brewed below boiling point.' },
    ];
    await writeFile(path.join(dir, 'corpus.jsonl'), docs.map((d) => JSON.stringify(d)).join('\n'));
    await writeFile(path.join(dir, 'queries.jsonl'), [docs[0], docs[2]].map((d) => JSON.stringify({ _id: d!._id, text: `${d!.title}. ${d!.text}` })).join('\n'));
    await mkdir(path.join(dir, 'qrels'));
    await writeFile(path.join(dir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\na1\ta1-counter\t1\nb1\tb1-counter\t1\n');
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it("drops each query's own document from its ranking, as BEIR's evaluator does, unless asked to keep it", async () => {
    const { openEngine } = await import('../src/engine.js');
    const { evaluateBeir } = await import('../src/train/evaluate.js');
    const engine = await openEngine({ home: path.join(dir, 'home'), llm: null, embed: { enabled: false } });
    try {
      const kept = await evaluateBeir(engine, { data: dir, split: 'test', keepIdenticalIds: true });
      // The argument itself ranks first, its counter-argument second.
      expect(kept.identical_ids_dropped).toBe(0);
      expect(kept['recall@1']).toBe(0);
      expect(kept['mrr@10']).toBeCloseTo(0.5, 10);
      const dropped = await evaluateBeir(engine, { data: dir, split: 'test' });
      expect(dropped.identical_ids_dropped).toBe(2);
      expect(dropped['recall@1']).toBe(1);
      expect(dropped['ndcg@10']).toBe(1);
    } finally {
      engine.close();
    }
  });
});
