import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine.js';
import { FEATURE_COUNT, FEATURE_NAMES } from '../src/rank/features.js';
import { listModels } from '../src/train/registry.js';
import { buildTraceLists } from '../src/train/traces-dataset.js';
import { TRAINING_NICE, trainingChildEnv } from '../src/train/job.js';
import { getPriority } from 'node:os';
import { openLoopEngine, type SyntheticSet } from './helpers/synthetic.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('loop');
let set: SyntheticSet;
let engine: Engine;
const home = join(tmp.dir, 'home');
/** Features that depend on the rest of the candidate list, not only on (question, chunk). */
const LIST_RELATIVE = new Set<string>(['bm25_norm', 'bm25_rrank', 'dense_cos', 'dense_rrank', 'history_norm', 'history_rrank', 'in_bm25', 'in_dense', 'in_history', 'doc_best_bm25', 'is_doc_best']);

beforeAll(async () => {
  ({ set, engine } = await openLoopEngine(tmp.dir, { set: { topics: 12, docsPerTopic: 6, questionsPerTopic: 8, seed: 3 }, rounds: 1, embed: false }));
}, 120_000);
afterAll(() => {
  engine.close();
  tmp.cleanup();
});

/** On a fast machine the child can finish before the timer fires; killing a gone pid is not an error here. */
function killIfAlive(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

describe('the training child environment', () => {
  it('caps BLAS and OpenMP pools at one thread unless the user chose', () => {
    expect(trainingChildEnv({ PATH: '/bin' })).toEqual({ PATH: '/bin', OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' });
    expect(trainingChildEnv({ OPENBLAS_NUM_THREADS: '4' })).toMatchObject({ OPENBLAS_NUM_THREADS: '4', OMP_NUM_THREADS: '1' });
  });
});

describe('the training job', () => {
  it('builds one list per used ask, in the order of the traces, however the questions repeat', async () => {
    const [a, b] = [set.questions[0]!, set.questions[1]!];
    const asked: string[] = [];
    for (const q of [a, b, a, b, a]) asked.push((await engine.ask(q, { budgetTokens: 400 })).traceId);
    const lists = await engine.resources.withSnapshot(() => buildTraceLists(engine));
    const times = lists.map((l) => l.createdAt);
    expect(times).toEqual([...times].sort());
    const ours = lists.filter((l) => asked.includes(l.traceId)).map((l) => l.traceId);
    expect(ours.length).toBeGreaterThanOrEqual(3);
    expect(ours).toEqual(asked.filter((id) => ours.includes(id)));
    // Asks within one millisecond keep the order they were written in (not their random ids'), so a job over the
    // same traces trains on the same lists in the same order and holds out the same ones.
    const setTime = engine.store.db.prepare(`UPDATE traces SET created_at = ? WHERE id = ?`);
    const original = new Map(lists.filter((l) => ours.includes(l.traceId)).map((l) => [l.traceId, l.createdAt]));
    for (const id of ours) setTime.run(original.get(ours[0]!)!, id);
    const tied = (await engine.resources.withSnapshot(() => buildTraceLists(engine))).filter((l) => ours.includes(l.traceId)).map((l) => l.traceId);
    expect(tied).toEqual(ours);
    for (const [id, at] of original) setTime.run(at, id);
    // Asks of one question share its leave-one-out view: a chunk in two of its lists has the same query-local row.
    const ofA = lists.filter((l) => l.traceId === asked[0] || l.traceId === asked[2] || l.traceId === asked[4]);
    expect(ofA.length).toBeGreaterThanOrEqual(2);
    const row = (l: (typeof lists)[number], chunkId: number) => {
      const i = l.chunkIds.indexOf(chunkId);
      return [...l.features.slice(i * FEATURE_COUNT, (i + 1) * FEATURE_COUNT)].filter((_, k) => !LIST_RELATIVE.has(FEATURE_NAMES[k]!));
    };
    const common = [...ofA[0]!.chunkIds].filter((id) => ofA[1]!.chunkIds.includes(id));
    expect(common.length).toBeGreaterThan(0);
    for (const id of common) expect(row(ofA[1]!, id)).toEqual(row(ofA[0]!, id));
  }, 60_000);

  it('says when there is too little signal and changes nothing', async () => {
    const outcome = await engine.train({ minLists: 10_000 });
    expect(outcome.status).toBe('insufficient-signal');
    expect(outcome.message).toMatch(/need 10000/);
    expect(listModels(engine.store, engine.config.home, 'relevance')).toEqual([]);
  }, 60_000);

  it('survives kill -9 of the training child at any moment: registry, serving model and database intact', async () => {
    let killed = 0;
    const niceness: number[] = [];
    for (const delayMs of [50, 600, 1500]) {
      const before = listModels(engine.store, engine.config.home, 'relevance').map((m) => [m.id, m.active]);
      const servingBefore = engine.stats().ranker;
      const run = engine.train({ minLists: 5, onSpawn: (pid) => {
        niceness.push(getPriority(pid)); // the job yields the CPU to serving
        setTimeout(() => killIfAlive(pid), delayMs);
      } });
      // Either the kill landed (the child died) or the job finished first: both must leave a working engine.
      const outcome = await run.catch((err: Error) => err);
      if (outcome instanceof Error) {
        killed++;
        expect(outcome.message).toMatch(/SIGKILL.*serving model is unchanged/);
        expect(listModels(engine.store, engine.config.home, 'relevance').map((m) => [m.id, m.active])).toEqual(before);
        expect(engine.stats().ranker).toBe(servingBefore);
      }
      const db = new Database(join(home, 'sieve.db'), { readonly: true });
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.close();
      const r = await engine.ask(set.questions[0]!, { budgetTokens: 400 });
      expect(r.context.length).toBeGreaterThan(0);
    }
    expect(killed).toBeGreaterThan(0);
    expect(niceness).toEqual([TRAINING_NICE, TRAINING_NICE, TRAINING_NICE]);
    // The lock was released each time: a full run goes through. Fresh asks first, because a run
    // that finished before its kill may have promoted a model, and training reads traces since then.
    for (const q of set.questions) await engine.ask(q, { budgetTokens: 400 });
    const outcome = await engine.train({ minLists: 5 });
    expect(['promoted', 'rejected']).toContain(outcome.status);
  }, 240_000);

  it('promotes only past the gate, hot-swaps without failed requests, and every answer names its version', async () => {
    // New asks since whatever the previous test promoted: training reads traces since the serving version.
    for (const q of set.questions) await engine.ask(q, { budgetTokens: 400 });
    const outcome = await engine.train({ minLists: 5, margin: -1 }); // a negative margin forces promotion
    expect(outcome.status).toBe('promoted');
    const first = outcome.modelId!;
    expect(engine.stats().ranker).toBe(first);
    // Train a second version, then swap between them while asks are in flight.
    for (const q of set.questions.slice(0, 30)) await engine.ask(q, { budgetTokens: 400 });
    const second = await engine.train({ minLists: 5, margin: -1 });
    expect(second.status).toBe('promoted');
    const { activateModel } = await import('../src/train/registry.js');
    const asks = set.questions.slice(0, 60).map((q) => engine.ask(q, { budgetTokens: 400 }));
    activateModel(engine.store, engine.config.home, first);
    await engine.reloadModels(); // the first batch is still in flight on the old sessions
    const more = set.questions.slice(0, 60).map((q) => engine.ask(q, { budgetTokens: 400 }));
    const results = await Promise.allSettled([...asks, ...more]);
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const versions = new Set(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.models.ranker] : [])));
    expect([...versions].every((v) => v === first || v === second.modelId)).toBe(true);
    expect(versions.size).toBe(2);
    expect(engine.stats().ranker).toBe(first);
    const listed = listModels(engine.store, engine.config.home, 'relevance');
    expect(listed.filter((m) => m.active).map((m) => m.id)).toEqual([first]);
  }, 240_000);
});
