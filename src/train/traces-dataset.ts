// Training data from traces: each ask whose answer used something becomes one labelled list of the candidates
// its ranker saw. Used → positive; shown but unused → negative, weighted by how likely its position was read
// (an unread chunk says little about relevance); unshown → weak negative; explicit feedback replaces inferred
// labels. Exploration is how lower-ranked chunks get shown and properly labelled.
import type { Engine } from '../engine.js';
import { isSieveError } from '../errors.js';
import { traceHistoryKey } from '../feedback/traces.js';
import { extractFeatures, FEATURE_COUNT, FEATURE_NAMES } from '../rank/features.js';
import { parseQuery } from '../rank/query.js';
import type { RelevanceList } from './relevance/model.js';

/** P(read | shown at position k): a position-based examination model, 1 at the top decaying as 1/√k. */
export function readPropensity(position: number): number {
  return 1 / Math.sqrt(Math.max(1, position));
}

interface TraceRow {
  id: string;
  created_at: string;
  question: string;
  context: string;
  candidates: string;
  attribution: string;
  features: Buffer | null;
  feature_names: string | null;
}

export interface TraceList extends RelevanceList {
  traceId: string;
  createdAt: string;
  /** The serving ranker's scores for the same candidates (the gate compares against them). */
  servingScores: Float32Array;
}

export interface TraceDatasetOptions {
  /** Only traces created after this ISO time (the parent version's training window end). */
  since?: string;
  /** Weight of candidates that were not shown (weak negatives). */
  unshownWeight?: number;
}

/** Unshown candidates count this much as negatives: enough to anchor the bottom of the list, not to dominate. */
export const UNSHOWN_WEIGHT = 0.1;

/**
 * Lists over each trace's shown chunks. Features come from the trace when the serving ranker stored them with
 * the current feature set; otherwise they are recomputed with the trace's own history left out — what the
 * ranker would have seen at ask time.
 */
export function buildTraceLists(engine: Engine, opts: TraceDatasetOptions = {}): TraceList[] {
  const rows = engine.store.db
    .prepare(
      `SELECT id, created_at, question, context, candidates, attribution, features, feature_names
       FROM traces WHERE created_at > ? ORDER BY created_at, id`,
    )
    .all(opts.since ?? '') as TraceRow[];
  const explicit = new Map<string, Map<number, 'up' | 'down'>>();
  for (const f of engine.store.db.prepare(`SELECT trace_id, n, label FROM feedback WHERE n IS NOT NULL AND label IS NOT NULL ORDER BY id`).all() as Array<{
    trace_id: string;
    n: number;
    label: 'up' | 'down';
  }>) {
    let m = explicit.get(f.trace_id);
    if (!m) explicit.set(f.trace_id, (m = new Map()));
    m.set(f.n, f.label);
  }
  const currentNames = FEATURE_NAMES.join(',');
  const lists: TraceList[] = [];
  for (const row of rows) {
    const context = JSON.parse(row.context) as Array<{ n: number; chunkIds: number[] }>;
    const attribution = new Map((JSON.parse(row.attribution) as Array<{ n: number; used: boolean }>).map((a) => [a.n, a.used]));
    const candidates = JSON.parse(row.candidates) as Array<{ chunkId: number; score: number; scores: Record<string, number>; ranks: Record<string, number> }>;
    const labelsByChunk = new Map<number, { label: number; weight: number }>();
    const overrides = explicit.get(row.id);
    for (const item of context) {
      const override = overrides?.get(item.n);
      const used = override !== undefined ? override === 'up' : (attribution.get(item.n) ?? false);
      // A person's label is certain whatever the position; an inferred negative counts as much as it was read.
      const weight = used || override !== undefined ? 1 : readPropensity(item.n);
      for (const chunkId of item.chunkIds) labelsByChunk.set(chunkId, { label: used ? 1 : 0, weight });
    }
    if (![...labelsByChunk.values()].some((l) => l.label > 0)) continue;

    // The list is every candidate the ranker saw, not only the shown ones: trained on shown items alone, a model
    // learns contrasts that only hold near the top (among shown chunks, a lower BM25 can mean "cited") and then
    // promotes junk from deep in the list. Unshown candidates are weak negatives (mostly irrelevant, sometimes
    // a relevant chunk nobody saw — hence the small weight).
    const ids = candidates.map((c) => c.chunkId);
    for (const id of labelsByChunk.keys()) if (!ids.includes(id)) ids.push(id);
    const index = new Map(candidates.map((c, i) => [c.chunkId, i]));
    let features: Float32Array | null = null;
    if (row.features && row.feature_names && JSON.parse(row.feature_names).join(',') === currentNames && ids.every((id) => index.has(id))) {
      const all = new Float32Array(row.features.buffer.slice(row.features.byteOffset, row.features.byteOffset + row.features.byteLength));
      features = all.subarray(0, ids.length * FEATURE_COUNT);
    } else {
      try {
        // Recompute with the stored retriever evidence for exactly these candidates, and this ask's own
        // history left out: what the ranker would have seen at ask time.
        const query = parseQuery(row.question);
        query.historyExclude = traceHistoryKey(row.id);
        const chunks = engine.store.getChunks(ids);
        const live = ids.filter((id) => chunks.has(id));
        if (live.length !== ids.length) continue; // a candidate was deleted since: skip rather than guess
        const listCandidates = ids.map((id) => {
          const c = candidates[index.get(id) ?? -1];
          return { chunkId: id, scores: c?.scores ?? {}, ranks: c?.ranks ?? {} };
        });
        features = extractFeatures(engine.resources, query, listCandidates, chunks);
      } catch (err) {
        if (isSieveError(err) && err.code === 'QUESTION_EMPTY') continue;
        throw err;
      }
    }
    lists.push({
      queryId: row.id,
      traceId: row.id,
      createdAt: row.created_at,
      n: ids.length,
      features,
      labels: Float32Array.from(ids, (id) => labelsByChunk.get(id)?.label ?? 0),
      weights: Float32Array.from(ids, (id) => labelsByChunk.get(id)?.weight ?? opts.unshownWeight ?? UNSHOWN_WEIGHT),
      servingScores: Float32Array.from(ids, (id) => candidates[index.get(id) ?? -1]?.score ?? -Infinity),
    });
  }
  return lists;
}
