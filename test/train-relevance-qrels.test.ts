// `sieve train relevance` from a BEIR split: with its qrels loaded as history (the benchmark setting), or with
// --no-history, a ranker for homes that have no history yet.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine } from '../src/engine.js';
import { FEATURE_NAMES } from '../src/rank/features.js';
import { readRelevanceModelConfig } from '../src/rank/relevance-scorer.js';
import { activeModel } from '../src/train/registry.js';
import { SeededRandom } from '../src/util/random.js';
import { writeBeirFolder } from './helpers/beir.js';
import { runSieve as sieve } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('train-relevance-qrels');
const data = join(tmp.dir, 'beir');
const TRAIN_PAIRS = 24;

/** Six topics × six documents; four train questions a topic, each naming two of its document's words. */
function writeCorpus(): void {
  const rng = new SeededRandom(3);
  const docs: Array<{ _id: string; title: string; text: string }> = [];
  const queries: Array<{ _id: string; text: string }> = [];
  const qrels: Array<[string, string, number]> = [];
  for (let t = 0; t < 6; t++) {
    for (let d = 0; d < 6; d++) {
      const words = Array.from({ length: 30 }, () => `t${t}w${rng.nextInt(12)}`);
      docs.push({ _id: `t${t}d${d}`, title: `Topic ${t} note ${d}`, text: `${words.join(' ')}.` });
      if (d < 4) {
        queries.push({ _id: `q${t}x${d}`, text: `${words[0]} ${words[1]} ${words[2]}` });
        qrels.push([`q${t}x${d}`, `t${t}d${d}`, 1]);
      }
    }
  }
  writeBeirFolder(data, { corpus: docs, queries, qrels: { train: qrels } });
}

async function historyRows(home: string): Promise<{ rows: number; meta: Record<string, unknown>; dir: string }> {
  const engine = await openEngine({ home, llm: null });
  try {
    const { n } = engine.store.db.prepare('SELECT count(*) AS n FROM history').get() as { n: number };
    const model = activeModel(engine.store, home, 'relevance')!;
    return { rows: n, meta: model.meta, dir: model.dir };
  } finally {
    engine.close();
  }
}

beforeAll(() => writeCorpus());
afterAll(() => tmp.cleanup());

describe('sieve train relevance', () => {
  it("loads the split's qrels as history before training, by default", async () => {
    const home = join(tmp.dir, 'with-history');
    const r = await sieve(home, 'train', 'relevance', '--data', data, '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { historyEvents: number; lists: number };
    expect(out.historyEvents).toBe(TRAIN_PAIRS);
    expect(out.lists).toBeGreaterThan(0);
    const { rows, meta } = await historyRows(home);
    expect(rows).toBe(TRAIN_PAIRS);
    expect(meta['trainedOn']).toMatchObject({ split: 'train', history: true });
  }, 120_000);

  it('--no-history trains on the same lists without writing any history', async () => {
    const home = join(tmp.dir, 'no-history');
    const r = await sieve(home, 'train', 'relevance', '--data', data, '--no-history', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { historyEvents: number; lists: number };
    expect(out.historyEvents).toBe(0);
    expect(out.lists).toBeGreaterThan(0);
    const { rows, meta } = await historyRows(home);
    expect(rows).toBe(0);
    expect(meta['trainedOn']).toMatchObject({ split: 'train', history: false });
  }, 120_000);

  it('--ignore-features keeps the named features out of the model, and refuses a name it does not know', async () => {
    const home = join(tmp.dir, 'ignore');
    const r = await sieve(home, 'train', 'relevance', '--data', data, '--ignore-features', 'first_chunk, log_tokens', '--json');
    expect(r.code, r.stderr).toBe(0);
    const { meta, dir } = await historyRows(home);
    expect(meta['trainedOn']).toMatchObject({ ignoredFeatures: ['first_chunk', 'log_tokens'] });
    const { scale } = readRelevanceModelConfig(dir).standardisation;
    expect(scale[FEATURE_NAMES.indexOf('first_chunk')]).toBe(0);
    expect(scale[FEATURE_NAMES.indexOf('log_tokens')]).toBe(0);
    expect(scale[FEATURE_NAMES.indexOf('bm25_norm')]).toBeGreaterThan(0);
    const bad = await sieve(join(tmp.dir, 'ignore-bad'), 'train', 'relevance', '--data', data, '--ignore-features', 'first_chunk,colour');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('unknown feature colour');
    expect(bad.stderr).toContain('bm25_norm');
  }, 120_000);
});
