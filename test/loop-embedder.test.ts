import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine.js';
import { indexDir } from '../src/embed/hnsw.js';
import { putVectors, storedEmbedders, toUnitVector } from '../src/embed/vectors.js';
import { FEATURE_NAMES } from '../src/rank/features.js';
import { activeModel, getModel, listModels } from '../src/train/registry.js';
import { buildTraceLists } from '../src/train/traces-dataset.js';
import { openLoopEngine, type SyntheticSet } from './helpers/synthetic.js';
import { tempDir } from './helpers/tmp.js';

// The training job with dense retrieval on: it tunes the embedder from the traces' (question, used chunk) pairs
// too, gates it on held-out questions, and the engine swaps in the new embedder with its own index.
const tmp = tempDir('loop-embedder');
let set: SyntheticSet;
let engine: Engine;
const home = join(tmp.dir, 'home');

beforeAll(async () => {
  ({ set, engine } = await openLoopEngine(tmp.dir, { set: { topics: 10, docsPerTopic: 5, questionsPerTopic: 8, seed: 4 }, rounds: 2, embed: true }));
}, 180_000);
afterAll(() => {
  engine.close();
  tmp.cleanup();
});

/** Embedder versions with stored vectors that the registry does not know (what a dropped candidate must not leave). */
const unregisteredVectors = () => storedEmbedders(engine.store).filter((e) => !getModel(engine.store, home, e.embedder));
const unregisteredIndexes = () => {
  const registered = new Set(listModels(engine.store, home, 'embedder').map((m) => basename(indexDir(home, m.id))));
  return readdirSync(join(home, 'indexes')).filter((d) => !registered.has(d));
};
const feature = (l: { features: Float32Array }, row: number, name: (typeof FEATURE_NAMES)[number]) => l.features[row * FEATURE_NAMES.length + FEATURE_NAMES.indexOf(name)]!;

const chunkCount = () => (engine.store.db.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n;

describe('trace lists under another embedder', () => {
  it('replaces the stored dense evidence with the given lists and drops it for questions they lack', () => {
    const plain = buildTraceLists(engine);
    const first = plain[0]!;
    const inDense = (l: typeof first) => Array.from({ length: l.n }, (_, i) => feature(l, i, 'in_dense')).filter((v) => v === 1).length;
    expect(inDense(first)).toBeGreaterThan(1); // served with dense on: the stored lists carry dense evidence
    const { question, candidates } = engine.store.db.prepare('SELECT question, candidates FROM traces WHERE id = ?').get(first.traceId) as { question: string; candidates: string };
    const chunkId = (JSON.parse(candidates) as Array<{ chunkId: number }>).at(-1)!.chunkId;
    const dense = new Map([[question, [{ chunkId, scores: { dense: 0.9 }, ranks: { dense: 1 } }]]]);
    const rebuilt = buildTraceLists(engine, { dense });
    const same = rebuilt.find((l) => l.traceId === first.traceId)!;
    expect(same.n).toBe(first.n);
    expect(inDense(same)).toBe(1);
    const row = Array.from({ length: same.n }, (_, i) => i).find((i) => feature(same, i, 'in_dense') === 1)!;
    expect(feature(same, row, 'dense_cos')).toBeCloseTo(0.9, 6);
    expect(feature(same, row, 'dense_rrank')).toBe(1);
    // Labels and weights do not depend on the embedder.
    expect(Array.from(same.labels)).toEqual(Array.from(first.labels));
    const other = rebuilt.find((l) => l.question !== first.question)!;
    expect(inDense(other)).toBe(0);
  });
});

describe('the training job tunes the embedder when dense retrieval is on', () => {
  it('says when there are too few new pairs and leaves the embedder alone', async () => {
    const before = activeModel(engine.store, home, 'embedder')!.id;
    const outcome = await engine.train({ minLists: 5, embedder: { minPairs: 100_000 } });
    expect(outcome.embedder?.status).toBe('insufficient-signal');
    expect(outcome.embedder?.message).toMatch(/need 100000/);
    expect(activeModel(engine.store, home, 'embedder')!.id).toBe(before);
  }, 120_000);

  it('keeps nothing of a candidate its gate rejects', async () => {
    const before = listModels(engine.store, home, 'embedder').map((m) => m.id);
    const outcome = await engine.train({ minLists: 5, embedder: { minPairs: 1, steps: 2, margin: 2 } }); // recall cannot rise by 2
    expect(outcome.embedder?.status).toBe('rejected');
    expect(outcome.embedder?.message).toMatch(/does not beat the serving embedder/);
    expect(outcome.embedder?.metrics['heldOutRecallAt10BySource.trace']).toBeGreaterThanOrEqual(0);
    expect(listModels(engine.store, home, 'embedder').map((m) => m.id)).toEqual(before);
    expect(existsSync(join(home, 'models'))).toBe(true);
    // No version folder of the rejected candidate is left behind.
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(join(home, 'models')).filter((d) => d.startsWith('embedder-'))).toEqual([]);
  }, 240_000);

  it('removes what a job killed while judging a candidate left: its folder, vectors and index', async () => {
    const orphan = 'embedder-20990101000000-s9';
    mkdirSync(join(home, 'models', `${orphan}.tmp`), { recursive: true });
    mkdirSync(indexDir(home, orphan), { recursive: true });
    const [one] = engine.store.db.prepare('SELECT id FROM chunks LIMIT 1').all() as Array<{ id: number }>;
    putVectors(engine.store, orphan, [{ chunkId: one!.id, vector: toUnitVector(Float32Array.of(1, 2, 3, 4)) }]);
    expect(unregisteredVectors().map((e) => e.embedder)).toEqual([orphan]);
    const outcome = await engine.train({ minLists: 100_000, embedder: { minPairs: 100_000 } });
    expect(outcome.status).toBe('insufficient-signal');
    expect(unregisteredVectors()).toEqual([]);
    expect(unregisteredIndexes()).toEqual([]);
    expect(existsSync(join(home, 'models', `${orphan}.tmp`))).toBe(false);
  }, 120_000);

  it('drops a candidate that passed its own gate when ranking beside it does worse, and trains the ranker on the serving embedder', async () => {
    const before = listModels(engine.store, home, 'embedder').map((m) => m.id);
    const serving = activeModel(engine.store, home, 'embedder')!.id;
    for (const q of set.questions) await engine.ask(q, { budgetTokens: 400 }); // new asks for the relevance part
    // rankingTolerance −1: ranking beside the candidate would have to gain a whole point of nDCG@10 to keep it.
    const outcome = await engine.train({ minLists: 5, margin: -1, embedder: { minPairs: 1, steps: 2, margin: -1, rankingTolerance: -1 } });
    expect(outcome.embedder?.status).toBe('rejected');
    expect(outcome.embedder?.message).toMatch(/ranking beside it does worse on \d+ held-out asks/);
    expect(listModels(engine.store, home, 'embedder').map((m) => m.id)).toEqual(before);
    expect(activeModel(engine.store, home, 'embedder')!.id).toBe(serving);
    expect(unregisteredVectors()).toEqual([]);
    expect(unregisteredIndexes()).toEqual([]);
    expect(readdirSync(join(home, 'models')).filter((d) => d.startsWith('embedder-'))).toEqual([]);
    // The ranker was trained again on the serving embedder's evidence (no pairing metric), and promoted (margin −1).
    expect(outcome.status).toBe('promoted');
    expect(outcome.metrics['servingWithCandidateEmbedderNdcg10']).toBeUndefined();
    expect(activeModel(engine.store, home, 'relevance')!.meta['embedder']).toBeUndefined();
  }, 240_000);

  it('promotes a candidate past its gate: the new embedder serves with an index of every chunk, the previous one stays registered', async () => {
    const parent = activeModel(engine.store, home, 'embedder')!.id;
    for (const q of set.questions) await engine.ask(q, { budgetTokens: 400 }); // new asks for the relevance part
    // Negative margins and a tolerance of a whole point force promotion.
    const outcome = await engine.train({ minLists: 5, margin: -1, embedder: { minPairs: 1, steps: 3, margin: -1, rankingTolerance: 1 } });
    expect(outcome.embedder?.status).toBe('promoted');
    const id = outcome.embedder!.modelId!;
    const model = activeModel(engine.store, home, 'embedder')!;
    expect(model.id).toBe(id);
    expect(model.parent).toBe(parent);
    expect(model.meta['trainedOn']).toMatchObject({ traces: { embedderShare: 0.4, embedderHoldout: 0.2 } });
    expect(outcome.embedder!.pairs).toBeGreaterThan(0);
    // The relevance model learned from the other questions only: its lists are fewer than the answered asks.
    expect(outcome.status).toBe('promoted');
    expect(outcome.metrics['trainLists']! + outcome.metrics['heldOutLists']!).toBeLessThan(outcome.lists);
    expect(outcome.metrics['trainLists']).toBeGreaterThan(0);
    expect(engine.denseIndex()).toMatchObject({ embedder: id, points: chunkCount() });
    // The job built the candidate's index to judge it beside the ranker; the reload loaded it rather than re-embedding.
    expect(engine.denseIndex()!.opened.action).toBe('loaded');
    // The ranker was trained and judged on the new embedder's dense evidence, and says so.
    expect(outcome.metrics['servingWithCandidateEmbedderNdcg10']).toBeGreaterThanOrEqual(0);
    expect(activeModel(engine.store, home, 'relevance')!.meta['embedder']).toBe(id);
    expect(outcome.message).toContain(`with embedder ${id} `);
    expect(outcome.message).toMatch(/\(\d\.\d{4} with the serving embedder\)/);
    expect(listModels(engine.store, home, 'embedder').map((m) => m.id)).toContain(parent);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(join(home, 'models')).filter((d) => d.startsWith('embedder-'))).toEqual([id]); // no .tmp left
    // Asks go on, served by the new embedder.
    const answer = await engine.ask(set.questions[0]!, { budgetTokens: 400 });
    expect(answer.models.embedder).toBe(id);
  }, 240_000);
});
