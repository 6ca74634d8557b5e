import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine.js';
import { activeModel, listModels } from '../src/train/registry.js';
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

const chunkCount = () => (engine.store.db.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n;

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

  it('promotes a candidate past its gate: the new embedder serves with an index of every chunk, the previous one stays registered', async () => {
    const parent = activeModel(engine.store, home, 'embedder')!.id;
    for (const q of set.questions) await engine.ask(q, { budgetTokens: 400 }); // new asks for the relevance part
    const outcome = await engine.train({ minLists: 5, margin: -1, embedder: { minPairs: 1, steps: 3, margin: -1 } }); // negative margins force promotion
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
    expect(listModels(engine.store, home, 'embedder').map((m) => m.id)).toContain(parent);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(join(home, 'models')).filter((d) => d.startsWith('embedder-'))).toEqual([id]); // no .tmp left
    // Asks go on, served by the new embedder.
    const answer = await engine.ask(set.questions[0]!, { budgetTokens: 400 });
    expect(answer.models.embedder).toBe(id);
  }, 240_000);
});
