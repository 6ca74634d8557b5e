// `sieve train embedder` end to end on a small corpus: it continues the serving (shipped) embedder, registers and
// activates the new version, and the reload builds that version's HNSW index from the store.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine } from '../src/engine.js';
import { INDEX_FILE, indexDir } from '../src/embed/hnsw.js';
import { vectorCount } from '../src/embed/vectors.js';
import { activeModel, listModels } from '../src/train/registry.js';
import { SeededRandom } from '../src/util/random.js';
import { writeBeirFolder } from './helpers/beir.js';
import { runSieve } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('train-embedder-cli');
const home = join(tmp.dir, 'home');
const data = join(tmp.dir, 'beir');
const SHIPPED = 'sieve-embedder-base-1';
const FILLER = 'study result effect model system data method analysis patient level group change rate process'.split(' ');

/** Five topics × eight three-sentence documents (inverse cloze needs two sentences), four train questions a topic. */
function writeCorpus(): number {
  const rng = new SeededRandom(7);
  const docs: Array<{ _id: string; title: string; text: string }> = [];
  const queries: Array<{ _id: string; text: string }> = [];
  const qrels: Array<[string, string, number]> = [];
  for (let t = 0; t < 5; t++) {
    for (let d = 0; d < 8; d++) {
      const sentences = Array.from({ length: 3 }, () => {
        const words = Array.from({ length: 9 }, () => (rng.nextFloat() < 0.4 ? `t${t}w${rng.nextInt(8)}` : FILLER[rng.nextInt(FILLER.length)]!));
        const sentence = words.join(' ');
        return `${sentence[0]!.toUpperCase()}${sentence.slice(1)}.`; // sentence splitting wants a capital after '. '
      });
      docs.push({ _id: `t${t}d${d}`, title: `Topic ${t} report ${d}`, text: sentences.join(' ') });
    }
    for (let q = 0; q < 4; q++) {
      queries.push({ _id: `q${t}x${q}`, text: `what about t${t}w${rng.nextInt(8)} and t${t}w${rng.nextInt(8)}` });
      qrels.push([`q${t}x${q}`, `t${t}d${q}`, 1]);
    }
  }
  writeBeirFolder(data, { corpus: docs, queries, qrels: { train: qrels, test: qrels } });
  return docs.length;
}

const sieve = (...args: string[]) => runSieve(home, ...args);

let chunkCount = 0;

beforeAll(async () => {
  writeCorpus();
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'config.json'), JSON.stringify({ embed: { enabled: true } }));
  // Ingest with dense retrieval on: the shipped embedder is registered, activated and indexes every chunk.
  const engine = await openEngine({ home, llm: null });
  const summary = await engine.ingest([join(data, 'corpus.jsonl')]);
  chunkCount = summary.chunks;
  expect(engine.denseIndex()).toMatchObject({ embedder: SHIPPED, points: chunkCount });
  engine.close();
}, 60_000);
afterAll(() => tmp.cleanup());

describe('sieve train embedder', () => {
  it('refuses a test split and registers nothing', async () => {
    const r = await sieve('train', 'embedder', '--data', data, '--split', 'test', '--steps', '1');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\[CONFIG_INVALID\] refusing to train the embedder on split "test"/);
    const engine = openEngine({ home, llm: null });
    return engine.then((e) => {
      expect(listModels(e.store, home, 'embedder').map((m) => m.id)).toEqual([SHIPPED]);
      e.close();
    });
  }, 60_000);

  it('continues the active embedder, evaluates it held out, activates it and rebuilds the index for the new version', async () => {
    const r = await sieve('train', 'embedder', '--data', data, '--steps', '3', '--batch', '8', '--seed', '2', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      model: string;
      parent: string;
      active: boolean;
      metrics: Record<string, number>;
      index: { embedder: string; points: number };
    };
    expect(out.model).toMatch(/^embedder-\d{14}-s2$/);
    expect(out.parent).toBe(SHIPPED);
    expect(out.active).toBe(true);
    for (const key of ['heldOutRecallAt10', 'parentHeldOutRecallAt10']) {
      expect(out.metrics[key]).toBeGreaterThanOrEqual(0);
      expect(out.metrics[key]).toBeLessThanOrEqual(1);
    }
    expect(out.metrics['heldOutQueries']).toBeGreaterThan(0);
    // The reload embedded every chunk with the new version and indexed it.
    expect(out.index).toEqual({ embedder: out.model, points: chunkCount });
    expect(r.stderr).toMatch(/embedder train · step 3\/3 · loss/);
    expect(r.stderr).toMatch(/"clozeChunks":[1-9]/); // the store's own chunks were trained on

    const engine = await openEngine({ home, llm: null });
    try {
      const active = activeModel(engine.store, home, 'embedder')!;
      expect(active.id).toBe(out.model);
      expect(active.parent).toBe(SHIPPED);
      expect(active.dir).toBe(join(home, 'models', out.model));
      expect(active.meta['continuedFrom']).toBe(SHIPPED);
      expect(vectorCount(engine.store, out.model)).toBe(chunkCount);
      // The previous version's vectors stay, so activating it again needs no re-embedding.
      expect(vectorCount(engine.store, SHIPPED)).toBe(chunkCount);
      expect(existsSync(join(indexDir(home, out.model), INDEX_FILE))).toBe(true);
      // Reopening loads the saved index as it is.
      expect(engine.denseIndex()).toMatchObject({ embedder: out.model, points: chunkCount, opened: { action: 'loaded' } });
      const hits = await engine.search('what about t1w3', { k: 5 });
      expect(hits.length).toBe(5);
    } finally {
      engine.close();
    }
  }, 120_000);

  it("takes recipe overrides from the command line and records them in the new version's meta", async () => {
    const bad = await sieve('train', 'embedder', '--data', data, '--steps', '1', '--temperature', '0');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--temperature must be a number above 0 and at most 1/);
    expect((await sieve('train', 'embedder', '--steps', '1', '--lexical-residual', '-1')).stderr).toMatch(/--lexical-residual must be a number from 0 to 10/);

    const r = await sieve('train', 'embedder', '--data', data, '--steps', '2', '--batch', '8', '--seed', '3', '--temperature', '0.1', '--title-fraction', '0', '--hard-negatives', '2', '--lexical-residual', '0.5', '--json');
    expect(r.code, r.stderr).toBe(0);
    const { model } = JSON.parse(r.stdout) as { model: string };
    const engine = await openEngine({ home, llm: null });
    try {
      const meta = activeModel(engine.store, home, 'embedder')!.meta;
      expect(activeModel(engine.store, home, 'embedder')!.id).toBe(model);
      expect(meta).toMatchObject({ temperature: 0.1, titleFraction: 0, hardNegatives: 2, lexicalResidual: 0.5 });
    } finally {
      engine.close();
    }
    // The next version continues this one's recipe unless told otherwise.
    const next = await sieve('train', 'embedder', '--data', data, '--steps', '1', '--batch', '8', '--seed', '4', '--temperature', '0.07', '--json');
    expect(next.code, next.stderr).toBe(0);
    const again = await openEngine({ home, llm: null });
    try {
      expect(activeModel(again.store, home, 'embedder')!.meta).toMatchObject({ temperature: 0.07, titleFraction: 0, hardNegatives: 2, lexicalResidual: 0.5 });
    } finally {
      again.close();
    }
  }, 180_000);

  it('--epochs sets the steps from the training pairs; --steps and --epochs together are refused', async () => {
    const both = await sieve('train', 'embedder', '--data', data, '--steps', '3', '--epochs', '1');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/\[CONFIG_INVALID\] train embedder: give steps or epochs, not both/);

    const r = await sieve('train', 'embedder', '--data', data, '--epochs', '2', '--batch', '8', '--supervised-fraction', '0.5', '--seed', '6', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { model: string; metrics: Record<string, number> };
    const engine = await openEngine({ home, llm: null });
    try {
      const meta = activeModel(engine.store, home, 'embedder')!.meta as { steps: number; epochs: number; data: { supervisedPairs: number } };
      // 20 train questions less the held-out slice, in batches of 8 that get half the batches: two passes.
      expect(meta.data.supervisedPairs).toBeGreaterThan(10);
      expect(meta.epochs).toBe(2);
      expect(meta.steps).toBe(Math.ceil((2 * meta.data.supervisedPairs) / (8 * 0.5)));
      expect(out.metrics['steps']).toBe(meta.steps);
    } finally {
      engine.close();
    }
  }, 120_000);

  it('eval --mode picks the retrievers: BM25 only, HNSW only, or both fused', async () => {
    const reports: Array<{ mode: string; retrievers: string; queries: number; 'ndcg@10': number }> = [];
    for (const mode of ['lexical', 'dense', 'hybrid'] as const) {
      const r = await sieve('eval', '--data', data, '--split', 'test', '--mode', mode, '--json');
      expect(r.code, r.stderr).toBe(0);
      reports.push(JSON.parse(r.stdout) as (typeof reports)[number]);
    }
    expect(reports.map((r) => [r.mode, r.retrievers])).toEqual([
      ['lexical', 'bm25+history'],
      ['dense', 'dense+history'],
      ['hybrid', 'bm25+dense+history'],
    ]);
    for (const r of reports) {
      expect(r.queries).toBe(20);
      expect(r['ndcg@10']).toBeGreaterThan(0);
    }
    expect((await sieve('eval', '--data', data, '--mode', 'both')).code).not.toBe(0);
  }, 120_000);

  it('--fresh starts from new weights with the parent’s architecture and tokenizer', async () => {
    const engine = await openEngine({ home, llm: null });
    try {
      const parent = activeModel(engine.store, home, 'embedder')!;
      const r = await engine.trainEmbedder({ steps: 2, batchSize: 8, seed: 5, fresh: true, log: false });
      expect(r.parent).toBe(parent.id);
      expect(r.model.meta['continuedFrom']).toBeNull();
      expect(r.model.meta['parent']).toBeNull(); // the trainer's own record: no weights were continued
      expect(r.model.meta['architecture']).toEqual(parent.meta['architecture']);
      expect(r.index).toEqual({ embedder: r.model.id, points: chunkCount });
    } finally {
      engine.close();
    }
  }, 120_000);
});
