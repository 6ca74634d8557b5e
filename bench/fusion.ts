// Fits how dense candidates are fused with BM25's: retrieves every query of a split once (BM25 ∪ HNSW with the
// active or shipped embedder), then re-scores the same candidates under each fusion and weight on a grid and reports
// document-level nDCG@10 / Recall@1 / Recall@100 for each. Run it on TRAIN splits only: the weights it picks are
// shipped as defaults, and the test splits are what they are judged on.
//
//   npm run -s bench -- fusion --data ../shared/data/scifact --split train
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { openEngine, type Engine } from '../src/engine.js';
import { readEmbedderConfig } from '../src/embed/onnx-embedder.js';
import { WordVocab, readSupervisedPairs, splitKeys } from '../src/train/embedder/data.js';
import { activeModel } from '../src/train/registry.js';
import { SieveError, isSieveError } from '../src/errors.js';
import { fuseLexicalDense, type FusionSpec } from '../src/rank/fusion.js';
import { readBeirDataset } from '../src/train/beir.js';
import { evaluateRun } from '../src/train/metrics.js';
import type { Candidate } from '../src/types.js';

export interface FusionBenchOptions {
  data: string;
  split: string;
  home?: string;
  /**
   * Only the split's queries the serving embedder held out of its own training (reconstructed from its seed): on
   * the queries it trained on, a dense list looks far better than it is and any fitted weight would lean on it.
   */
  heldOutOnly?: boolean;
  /** Dense weights to try for each fusion kind. */
  weights?: number[];
  log?: (line: string) => void;
}

interface RetrievedQuery {
  queryId: string;
  candidates: Candidate[];
  docOf: Map<number, string>;
}

/** 'shift' adds weight × (cosine − the list's lowest cosine) to min-max BM25: a cosine gap of 0.1 is worth 0.1·w. */
const SHIFT_GRID = [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6];
const DEFAULT_GRID = [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1];

export async function benchFusion(o: FusionBenchOptions) {
  if (/test/i.test(o.split)) throw new SieveError('CONFIG_INVALID', `fit fusion weights on a train split, not "${o.split}"`);
  const log = o.log ?? (() => {});
  const dataset = await readBeirDataset(o.data, o.split);
  const home = o.home ?? mkdtempSync(join(tmpdir(), 'sieve-bench-fusion-'));
  const engine = await openEngine({ home, llm: null, embed: { enabled: true } });
  try {
    const t0 = performance.now();
    await engine.ingest([dataset.corpusPath]);
    const dense = engine.denseIndex();
    if (!dense) throw new SieveError('MODEL_INVALID', 'no embedder to fuse: none is registered and models/embedder is missing');
    log(`corpus ready in ${((performance.now() - t0) / 1000).toFixed(1)} s; embedder ${dense.embedder}, ${dense.points} points`);
    const keep = o.heldOutOnly ? await queriesHeldOutByEmbedder(engine, o.data, o.split) : null;
    if (keep) log(`${keep.size} queries of ${o.split} were held out of ${dense.embedder}'s training; fitting on those only`);
    const k = Math.max(200, engine.config.retrieval.bm25K);
    const retrieved: RetrievedQuery[] = [];
    for (const [queryId, query] of dataset.queries) {
      if (!dataset.qrels.has(queryId) || (keep && !keep.has(queryId))) continue;
      try {
        const set = await engine.candidatesFor(query.text, k);
        const docOf = new Map([...set.chunks].map(([id, chunk]) => [id, chunk.docId]));
        retrieved.push({ queryId, candidates: set.candidates.filter((c) => docOf.has(c.chunkId)), docOf });
      } catch (err) {
        if (!isSieveError(err) || err.code !== 'QUESTION_EMPTY') throw err;
        retrieved.push({ queryId, candidates: [], docOf: new Map() });
      }
    }
    // Scored over the retrieved queries only (a restricted set must not count the others as misses).
    const qrels = new Map(retrieved.map((q) => [q.queryId, dataset.qrels.get(q.queryId)!]));
    log(`retrieved ${retrieved.length} queries in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const runOf = (spec: FusionSpec | 'lexical' | 'dense') => {
      const run = new Map<string, string[]>();
      for (const q of retrieved) {
        const scored = q.candidates
          .map((c) => {
            if (spec === 'lexical') return { c, s: c.scores.bm25 ?? Number.NEGATIVE_INFINITY };
            if (spec === 'dense') return { c, s: c.scores.dense ?? Number.NEGATIVE_INFINITY };
            return { c, s: 0 };
          })
          .filter((x) => Number.isFinite(x.s));
        if (spec !== 'lexical' && spec !== 'dense') {
          const fused = fuseLexicalDense(q.candidates, spec);
          scored.splice(0, scored.length, ...q.candidates.map((c, i) => ({ c, s: fused[i]! })));
        }
        // Documents by their best chunk, as the engine ranks them.
        const best = new Map<string, number>();
        for (const { c, s } of scored) {
          const doc = q.docOf.get(c.chunkId)!;
          if (!best.has(doc) || s > best.get(doc)!) best.set(doc, s);
        }
        run.set(
          q.queryId,
          [...best.entries()]
            .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
            .slice(0, 100)
            .map(([d]) => d),
        );
      }
      const m = evaluateRun(run, qrels);
      return { 'ndcg@10': m['ndcg@10'], 'recall@1': m['recall@1'], 'recall@100': m['recall@100'] };
    };

    const rows: Array<{ fusion: string; denseWeight: number | null; 'ndcg@10': number; 'recall@1': number; 'recall@100': number }> = [];
    rows.push({ fusion: 'lexical', denseWeight: null, ...runOf('lexical') });
    rows.push({ fusion: 'dense', denseWeight: null, ...runOf('dense') });
    for (const kind of ['rrf', 'minmax'] as const) {
      for (const w of o.weights ?? DEFAULT_GRID) rows.push({ fusion: kind, denseWeight: w, ...runOf({ kind, denseWeight: w }) });
    }
    for (const w of SHIFT_GRID) rows.push({ fusion: 'shift', denseWeight: w, ...runOf({ kind: 'shift', denseWeight: w }) });
    for (const r of rows) log(`${r.fusion.padEnd(8)} ${String(r.denseWeight ?? '-').padEnd(5)} ndcg@10 ${r['ndcg@10'].toFixed(4)}  R@1 ${r['recall@1'].toFixed(4)}  R@100 ${r['recall@100'].toFixed(4)}`);
    return { bench: 'fusion', data: o.data, split: o.split, heldOutOnly: o.heldOutOnly ?? false, queries: retrieved.length, embedder: dense.embedder, rows };
  } finally {
    engine.close();
  }
}

/**
 * The supervised queries the serving embedder held out when it was trained on this split: its trainer splits the
 * split's pair queries with splitKeys(…, heldOutFraction, seed + 3) (train/embedder/train.ts, prepareData).
 */
async function queriesHeldOutByEmbedder(engine: Engine, data: string, split: string): Promise<Set<string>> {
  const active = activeModel(engine.store, engine.config.home, 'embedder');
  if (!active) throw new SieveError('MODEL_INVALID', 'no active embedder');
  const config = await readEmbedderConfig(active.dir);
  const meta = z
    .object({ seed: z.number().int(), data: z.object({ beir: z.object({ split: z.string() }).nullable() }).passthrough() })
    .passthrough()
    .parse(config.meta);
  if (meta.data.beir?.split !== split) throw new SieveError('CONFIG_INVALID', `${config.id} was not trained on split "${split}"`);
  const vocab = new WordVocab(config.tokenizer);
  const pairs = await readSupervisedPairs(data, split, vocab, { maxQueryWords: 64, maxPassageWords: 128 });
  return splitKeys([...new Set(pairs.map((p) => p.queryId))], 0.05, meta.seed + 3).heldOut;
}
