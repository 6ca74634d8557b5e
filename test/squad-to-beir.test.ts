import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { squadToBeir, type SquadToBeirResult } from '../bench/squad-to-beir.js';
import { SieveError } from '../src/errors.js';
import { readBeirDataset } from '../src/train/beir.js';

const execFileAsync = promisify(execFile);
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const miniPath = path.join(repoRoot, 'test/fixtures/squad-mini.json');
// CI clones the repo with shared/ beside it.
const realSquadPath = path.resolve(repoRoot, '../shared/data/squad/dev-v1.1.json');

async function readJson(filePath: string): Promise<unknown> {
  return JSON.parse(await readFile(filePath, 'utf8')) as unknown;
}

function queryIds(rows: { queryId: string }[] | undefined): string[] {
  return (rows ?? []).map((row) => row.queryId);
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('squadToBeir on the mini fixture', () => {
  let mini: unknown;
  beforeAll(async () => {
    mini = await readJson(miniPath);
  });

  it('makes one document per paragraph, ids by article title and paragraph index', () => {
    const result = squadToBeir(mini, { seed: 1 });
    expect(result.corpus).toEqual([
      {
        _id: 'Ocean_Tides#0',
        title: 'Ocean Tides',
        text: 'Tides are caused mainly by the gravitational pull of the Moon. The Sun contributes about half as much.',
      },
      { _id: 'Ocean_Tides#1', title: 'Ocean Tides', text: 'Spring tides happen at new and full moon, when the Sun and Moon line up.' },
      { _id: 'Coral_reef#0', title: 'Coral reef', text: 'Coral reefs are built by colonies of tiny animals called polyps.' },
    ]);
  });

  it('makes one query per question with deduplicated gold answers', () => {
    const result = squadToBeir(mini, { seed: 1 });
    expect(result.queries.map((query) => query._id)).toEqual(['t1', 't2', 't3', 't4', 'c1', 'c2']);
    expect(result.queries[0]).toEqual({
      _id: 't1',
      text: 'What mainly causes tides?',
      metadata: { answers: ['the gravitational pull of the Moon', 'Moon'] },
    });
    expect(result.queries[2]?.metadata.answers).toEqual(['at new and full moon', 'new and full moon']);
    expect(result.queries[5]?.metadata.answers).toEqual(['polyps']);
  });

  it('puts every question in test without a holdout, relevant to its own paragraph', () => {
    const result = squadToBeir(mini, { seed: 1 });
    expect(result.qrels.train).toBeUndefined();
    expect(result.qrels.test).toEqual([
      { queryId: 't1', corpusId: 'Ocean_Tides#0', score: 1 },
      { queryId: 't2', corpusId: 'Ocean_Tides#0', score: 1 },
      { queryId: 't3', corpusId: 'Ocean_Tides#1', score: 1 },
      { queryId: 't4', corpusId: 'Ocean_Tides#1', score: 1 },
      { queryId: 'c1', corpusId: 'Coral_reef#0', score: 1 },
      { queryId: 'c2', corpusId: 'Coral_reef#0', score: 1 },
    ]);
  });

  it('splits the questions by the seed, keeping source order within each split', () => {
    const result = squadToBeir(mini, { holdout: 0.5, seed: 1 });
    const train = queryIds(result.qrels.train);
    const test = queryIds(result.qrels.test);
    expect(test).toHaveLength(3);
    expect(train).toHaveLength(3);
    expect([...train, ...test].sort()).toEqual(['c1', 'c2', 't1', 't2', 't3', 't4']);
    const sourceOrder = ['t1', 't2', 't3', 't4', 'c1', 'c2'];
    expect(test).toEqual(sourceOrder.filter((id) => test.includes(id)));
    // the corpus and query list do not depend on the split
    expect(result.corpus).toHaveLength(3);
    expect(result.queries).toHaveLength(6);
    // deterministic for a seed, and the seed matters
    expect(squadToBeir(mini, { holdout: 0.5, seed: 1 })).toEqual(result);
    const splitsBySeed = new Set(
      [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => queryIds(squadToBeir(mini, { holdout: 0.5, seed }).qrels.test).join(',')),
    );
    expect(splitsBySeed.size).toBeGreaterThan(1);
  });

  it('handles the extreme fractions and rounds the test share', () => {
    expect(squadToBeir(mini, { holdout: 0, seed: 1 }).qrels).toMatchObject({ test: [] });
    expect(queryIds(squadToBeir(mini, { holdout: 0, seed: 1 }).qrels.train)).toHaveLength(6);
    expect(squadToBeir(mini, { holdout: 1, seed: 1 }).qrels.train).toEqual([]);
    expect(squadToBeir(mini, { holdout: 0.2, seed: 1 }).qrels.test).toHaveLength(1); // round(1.2)
  });

  it('rejects a bad holdout and input that is not SQuAD', () => {
    const badHoldout = thrown(() => squadToBeir(mini, { holdout: 1.5, seed: 1 }));
    expect(badHoldout).toBeInstanceOf(SieveError);
    expect((badHoldout as SieveError).code).toBe('CONFIG_INVALID');
    const notSquad = thrown(() => squadToBeir({ data: [{ title: 'x', paragraphs: [{ qas: [] }] }] }, { seed: 1 }));
    expect(notSquad).toBeInstanceOf(SieveError);
    expect((notSquad as SieveError).code).toBe('DATASET_INVALID');
  });
});

describe('squadToBeir on the real SQuAD v1.1 dev set', () => {
  let real: unknown;
  let split: SquadToBeirResult;
  let outDir: string;
  beforeAll(async () => {
    real = await readJson(realSquadPath);
    split = squadToBeir(real, { holdout: 0.5, seed: 1 });
    outDir = await mkdtemp(path.join(os.tmpdir(), 'sieve-squad-'));
  });
  afterAll(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('yields 2,067 documents and 10,570 queries, and the same split twice for a seed', () => {
    expect(split.corpus).toHaveLength(2067);
    expect(split.queries).toHaveLength(10570);
    expect(new Set(split.corpus.map((doc) => doc._id)).size).toBe(2067);
    expect(split.qrels.test).toHaveLength(5285);
    expect(split.qrels.train).toHaveLength(5285);
    const again = squadToBeir(real, { holdout: 0.5, seed: 1 });
    expect(queryIds(again.qrels.test)).toEqual(queryIds(split.qrels.test));
    expect(queryIds(squadToBeir(real, { holdout: 0.5, seed: 2 }).qrels.test)).not.toEqual(queryIds(split.qrels.test));
    expect(split.corpus[0]?._id).toBe('Super_Bowl_50#0');
    expect(split.corpus[0]?.title).toBe('Super Bowl 50');
  });

  it('runs as a CLI and writes a folder readBeirDataset reads back', async () => {
    const tsxCli = path.join(repoRoot, 'node_modules/tsx/dist/cli.mjs');
    const { stderr } = await execFileAsync(
      process.execPath,
      [tsxCli, 'bench/squad-to-beir.ts', realSquadPath, outDir, '--holdout', '0.5', '--seed', '1'],
      { cwd: repoRoot },
    );
    expect(stderr).toMatch(/2067 docs, 10570 queries \(train 5285, test 5285; seed 1\)/);

    const test = await readBeirDataset(outDir, 'test');
    const train = await readBeirDataset(outDir, 'train');
    expect([...test.queries.keys()]).toEqual(queryIds(split.qrels.test));
    expect([...train.queries.keys()]).toEqual(queryIds(split.qrels.train));
    const [firstId, firstQuery] = [...test.queries][0] ?? [];
    const source = split.queries.find((query) => query._id === firstId);
    expect(firstQuery).toEqual({ text: source?.text, answers: source?.metadata.answers });
    expect(test.qrels.get(firstId as string)?.size).toBe(1);
    const corpusLines = (await readFile(test.corpusPath, 'utf8')).trimEnd().split('\n');
    expect(corpusLines).toHaveLength(2067);
    expect(JSON.parse(corpusLines[0] as string)).toEqual(split.corpus[0]);
  });
});
