// Training data from traces: each ask whose answer used something becomes one labelled list of the candidates
// its ranker saw. Used → positive; shown but unused → negative, weighted by how likely its position was read
// (an unread chunk says little about relevance); unshown → weak negative; explicit feedback replaces inferred
// labels. Exploration is how lower-ranked chunks get shown and properly labelled.
import type { Engine } from '../engine.js';
import { isSieveError } from '../errors.js';
import { traceHistoryKey } from '../feedback/traces.js';
import { ChunkFeatureCache, extractFeatures } from '../rank/features.js';
import { fusedScores } from '../rank/fusion.js';
import { normalizeQuestion } from '../rank/history-index.js';
import { HistoryRetriever } from '../rank/history.js';
import { parseQuery } from '../rank/query.js';
import type { Candidate, Query, Scope } from '../types.js';
import type { DenseEvidence } from './dense-evidence.js';
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
  scope: string | null;
}

export interface TraceList extends RelevanceList {
  traceId: string;
  /** The list's candidates, in the order of its rows. */
  chunkIds: Int32Array;
  /** The normalised question: every ask of one question shares it (the gate partitions by it). */
  question: string;
  createdAt: string;
  /** The serving ranker's scores for the same candidates, as stored at ask time. */
  servingScores: Float32Array;
  /** Fused retriever scores under the same leave-one-out evidence as the features (a fair no-model baseline). */
  fusionScores: Float32Array;
}

export interface TraceDatasetOptions {
  /** Only traces created after this ISO time (the parent version's training window end). */
  since?: string;
  /** Weight of candidates that were not shown (weak negatives). */
  unshownWeight?: number;
  /**
   * Dense lists under another embedder (a candidate the job is judging), by question text: they replace the
   * stored dense evidence, and chunks they add join the list as unshown candidates, as they would have at ask time.
   */
  dense?: DenseEvidence;
}

/** Question texts of the traces after `since` (what a DenseEvidence for buildTraceLists must cover). */
export function traceQuestions(engine: Engine, since = ''): string[] {
  const rows = engine.store.db.prepare(`SELECT DISTINCT question FROM traces WHERE created_at > ?`).all(since) as Array<{ question: string }>;
  return rows.map((r) => r.question);
}

/** Per chunk of one ask's list: relevant (1) or not (0), and how much that label counts. */
type ChunkLabels = Map<number, { label: number; weight: number }>;

/** Unshown candidates count this much as negatives: enough to anchor the bottom of the list, not to dominate. */
export const UNSHOWN_WEIGHT = 0.1;

/**
 * One list per attributed ask over every candidate its ranker saw, labelled by what that question's asks used,
 * with features recomputed under leave-one-out (see inside).
 */
export function buildTraceLists(engine: Engine, opts: TraceDatasetOptions = {}): TraceList[] {
  const rows = engine.store.db
    .prepare(
      `SELECT id, created_at, question, context, candidates, attribution, features, feature_names, scope
       FROM traces WHERE created_at > ? ORDER BY created_at, rowid`,
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
  // What every ask of the same question used: a chunk used once for this question is a positive in each of its
  // lists (later rounds and exploration keep finding more of what a question needs).
  const usedByQuestion = new Map<string, Set<number>>();
  // A person's "down" for a question keeps that chunk negative in all of its lists.
  const downByQuestion = new Set<string>();
  const labelled = rows.map((row) => {
    const context = JSON.parse(row.context) as Array<{ n: number; chunkIds: number[] }>;
    const attribution = new Map((JSON.parse(row.attribution) as Array<{ n: number; used: boolean }>).map((a) => [a.n, a.used]));
    const overrides = explicit.get(row.id);
    const labels: ChunkLabels = new Map();
    for (const item of context) {
      const override = overrides?.get(item.n);
      // No attribution entry (an extractive answer: nothing inferred) and no person's label: no label at all.
      if (override === undefined && !attribution.has(item.n)) continue;
      const used = override !== undefined ? override === 'up' : attribution.get(item.n)!;
      // A person's label is certain whatever the position; an inferred negative counts as much as it was read.
      const weight = used || override !== undefined ? 1 : readPropensity(item.n);
      for (const chunkId of item.chunkIds) labels.set(chunkId, { label: used ? 1 : 0, weight });
    }
    const q = normalizeQuestion(row.question);
    const used = usedByQuestion.get(q) ?? new Set<number>();
    for (const [id, l] of labels) if (l.label > 0) used.add(id);
    usedByQuestion.set(q, used);
    for (const item of context) if (overrides?.get(item.n) === 'down') for (const id of item.chunkIds) downByQuestion.add(`${q}\u0000${id}`);
    return { row, labels };
  });
  // The asks of one question (in one scope) share their leave-one-out history view — every ask of the question is
  // left out of each — so they share the query, its history candidates and each chunk's query-local features.
  // Built group by group, so only one question's cache is alive at a time; the lists keep the traces' order.
  const groups = new Map<string, Array<{ order: number; row: TraceRow; labels: ChunkLabels }>>();
  labelled.forEach((item, order) => {
    const key = `${item.row.question}\u0000${item.row.scope ?? ''}`;
    const group = groups.get(key);
    if (group) group.push({ order, ...item });
    else groups.set(key, [{ order, ...item }]);
  });
  const built: Array<{ order: number; list: TraceList }> = [];
  for (const group of groups.values()) {
    const first = group[0]!.row;
    // An ask in a scope is rebuilt in it: what other evidence adds outside it could not have been shown.
    let allowed: ReadonlySet<number> | undefined;
    try {
      allowed = first.scope ? engine.resolveScope(JSON.parse(first.scope) as Scope) : undefined;
    } catch (err) {
      if (isSieveError(err) && err.code === 'SCOPE_EMPTY') continue; // everything it was asked over is gone
      throw err;
    }
    let shared: { query: Query; fresh: Map<number, Candidate>; cache: ChunkFeatureCache };
    try {
      // Recomputed, never taken from the trace: at ask time the history evidence of an earlier ask of the same
      // question was visible, and in training it would hand the label back. History evidence is recomputed with
      // every ask of this question left out.
      const query = parseQuery(first.question);
      query.historyExclude = traceHistoryKey(first.id);
      if (allowed) query.allowedChunks = allowed;
      const fresh = new Map(new HistoryRetriever(engine.resources).retrieve(query, engine.config.retrieval.historyK).map((c) => [c.chunkId, c]));
      shared = { query, fresh, cache: new ChunkFeatureCache(query) };
    } catch (err) {
      if (isSieveError(err) && err.code === 'QUESTION_EMPTY') continue;
      throw err;
    }
    for (const { order, row, labels } of group) {
      const list = traceList(engine, row, labels, usedByQuestion, downByQuestion, allowed, shared, opts);
      if (list) built.push({ order, list });
    }
  }
  return built.sort((x, y) => x.order - y.order).map((b) => b.list);
}

/** One ask's list, or null when nothing in it was used (or a candidate was deleted since). */
function traceList(
  engine: Engine,
  row: TraceRow,
  labelsByChunk: ChunkLabels,
  usedByQuestion: ReadonlyMap<string, ReadonlySet<number>>,
  downByQuestion: ReadonlySet<string>,
  allowed: ReadonlySet<number> | undefined,
  shared: { query: Query; fresh: ReadonlyMap<number, Candidate>; cache: ChunkFeatureCache },
  opts: TraceDatasetOptions,
): TraceList | null {
  const candidates = JSON.parse(row.candidates) as Array<{ chunkId: number; score: number; scores: Record<string, number>; ranks: Record<string, number> }>;
  const q = normalizeQuestion(row.question);
  for (const id of usedByQuestion.get(q) ?? []) {
    if (downByQuestion.has(`${q}\u0000${id}`)) continue;
    const own = labelsByChunk.get(id);
    if (!own || own.label === 0) labelsByChunk.set(id, { label: 1, weight: 1 });
  }
  if (![...labelsByChunk.values()].some((l) => l.label > 0)) return null;

  // The list is every candidate the ranker saw, not only the shown ones: trained on shown items alone, a model
  // learns contrasts that only hold near the top (among shown chunks, a lower BM25 can mean "cited") and then
  // promotes junk from deep in the list. Unshown candidates are weak negatives (mostly irrelevant, sometimes
  // a relevant chunk nobody saw — hence the small weight).
  // Stored candidates first, then chunks other evidence adds, each once and in order of arrival (a set beside
  // the array: lists run to a few hundred ids, and a linear search per id made building them quadratic).
  const ids = candidates.map((c) => c.chunkId);
  const listed = new Set(ids);
  const addIds = (more: Iterable<number>) => {
    for (const id of more) {
      if (listed.has(id) || (allowed && !allowed.has(id))) continue;
      listed.add(id);
      ids.push(id);
    }
  };
  addIds(labelsByChunk.keys());
  const index = new Map(candidates.map((c, i) => [c.chunkId, i]));
  const dense = opts.dense ? new Map((opts.dense.get(row.question) ?? []).map((c) => [c.chunkId, c])) : null;
  if (dense) addIds(dense.keys());
  const { query, fresh, cache } = shared;
  addIds(fresh.keys());
  const chunks = engine.store.getChunks(ids);
  if (ids.some((id) => !chunks.has(id))) return null; // a candidate was deleted since: skip rather than guess
  // Lexical and dense evidence is the stored one (dense: `opts.dense` when given); history evidence is the
  // leave-one-out one.
  const listCandidates = ids.map((id) => {
    const stored = candidates[index.get(id) ?? -1];
    // Copied without the evidence that is replaced (a loop, not spread-and-delete: deleting keys drops the object
    // into V8's slow dictionary mode, and this runs for every candidate of every list).
    const scores: Record<string, number> = {};
    const ranks: Record<string, number> = {};
    if (stored) {
      for (const k in stored.scores) if (k !== 'history' && k !== 'historyMax' && !(dense && k === 'dense')) scores[k] = stored.scores[k]!;
      for (const k in stored.ranks) if (k !== 'history' && !(dense && k === 'dense')) ranks[k] = stored.ranks[k]!;
    }
    if (dense) {
      const d = dense.get(id);
      if (d) {
        scores.dense = d.scores.dense!;
        ranks.dense = d.ranks.dense!;
      }
    }
    const h = fresh.get(id);
    if (h) {
      scores.history = h.scores.history!;
      scores.historyMax = h.scores.historyMax!;
      ranks.history = h.ranks.history!;
    }
    return { chunkId: id, scores, ranks };
  });
  return {
    queryId: row.id,
    traceId: row.id,
    chunkIds: Int32Array.from(ids),
    question: q,
    createdAt: row.created_at,
    n: ids.length,
    features: extractFeatures(engine.resources, query, listCandidates, chunks, cache),
    labels: Float32Array.from(ids, (id) => labelsByChunk.get(id)?.label ?? 0),
    weights: Float32Array.from(ids, (id) => labelsByChunk.get(id)?.weight ?? opts.unshownWeight ?? UNSHOWN_WEIGHT),
    servingScores: Float32Array.from(ids, (id) => candidates[index.get(id) ?? -1]?.score ?? -Infinity),
    fusionScores: Float32Array.from(fusedScores(listCandidates)),
  };
}
