// The past-query index: which earlier questions resemble this one, and what they cited.
// A similar question asked before is the strongest evidence there is; lexical and dense retrieval miss many of
// the chunks it found useful. Built from the store's history and rebuilt when its generation moves.
import { citedHistory, shownChunkVotes, generations, hasHistory, historySince, maxHistoryId } from '../store/history.js';
import type { Store } from '../store/store.js';
import { analyze, isStopword, type TermStats } from './term-stats.js';

interface PastQuery {
  key: string;
  /** term → tf-idf weight, L2-normalised. */
  vector: Map<string, number>;
  chunkIds: Set<number>;
  docIds: Set<string>;
  /** The document of each cited chunk (a document's evidence is as consistent as its best cited chunk). */
  chunkDocs: Map<number, string>;
  /** Indexes of the past queries with this question's text, first asked first (one array shared by all of them). */
  asks: number[];
  weight: number;
}

export interface SimilarQuery {
  key: string;
  similarity: number;
  chunkIds: ReadonlySet<number>;
  docIds: ReadonlySet<string>;
  /**
   * How consistently the question's asks used each cited chunk / document when shown (see citationConsistency):
   * 1 for a question asked once; an entry missing means 1.
   */
  chunkConsistency: ReadonlyMap<number, number>;
  docConsistency: ReadonlyMap<string, number>;
}

export interface HistoryEvidence {
  /** Highest similarity of a similar past query that cited this chunk. */
  chunkSimilarity: Map<number, number>;
  /** Highest similarity of a similar past query that cited this document. */
  docSimilarity: Map<string, number>;
  /** Sum of similarities of similar past queries citing this document. */
  docSimilaritySum: Map<string, number>;
}

const NONE: ReadonlySet<string> = new Set();
interface ChunkVotes {
  shown: number;
  cited: number;
}
const NO_VOTES: ReadonlyMap<number, ChunkVotes> = new Map();

/** The share of a question's asks shown the chunk that used it; 1 when none voted on it. */
function consistencyOf(votes: ReadonlyMap<number, ChunkVotes>, chunkId: number): number {
  const v = votes.get(chunkId);
  return v === undefined || v.shown === 0 ? 1 : v.cited / v.shown;
}

/** Case- and spacing-insensitive identity of a question. */
export function normalizeQuestion(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

/** How many similar past queries a request looks at. */
export const SIMILAR_QUERIES = 50;

export class HistoryIndex {
  private readonly queries: PastQuery[] = [];
  /** term → the past queries holding it, with the term's weight in each (parallel arrays). */
  private readonly postings = new Map<string, { ids: number[]; weights: number[] }>();
  /** Scratch accumulators for similar(), one per past query, zeroed after each call. */
  private scratch = new Float64Array(0);
  /** Distinct past queries citing each document (a popularity prior that needs no similarity). */
  private readonly docCitingKeys = new Map<string, Set<string>>();
  /** docCitations() before exclusions, per document; an entry goes when its document's citing asks change. */
  private readonly docCitationCache = new Map<string, number>();
  /** Question texts whose terms are in each document's past-questions field (each text once). */
  private readonly docFieldTexts = new Map<string, Set<string>>();
  /** Per chunk, per question (normalised text) shown it: how many of its asks were shown it and how many cited it. */
  private readonly votesByChunk = new Map<number, Map<string, { shown: number; cited: number }>>();
  /** chunkPrior()'s shown and cited tallies before exclusions, per chunk; an entry goes when its voters' shares change. */
  private readonly priorCache = new Map<number, { shown: number; cited: number }>();
  /** Asks by normalised question text (the same question asked again has another key). */
  private readonly keysByText = new Map<string, Set<string>>();
  private readonly textByKey = new Map<string, string>();
  /** The past queries (indexes into `queries`) of each question text, first asked first. */
  private readonly queriesByText = new Map<string, number[]>();
  /** similar()'s view of each question (by its first ask's index); cleared whenever history is added. */
  private readonly questionViews = new Map<number, Omit<SimilarQuery, 'similarity'>>();
  /** Each ask's own votes, so leave-one-out can take them back out of the prior. */
  private readonly votesByKey = new Map<string, Map<number, boolean>>();
  /** Raw term counts of each past question (for the documents' past-question field and leave-one-out). */
  private readonly queryTerms = new Map<string, Map<string, number>>();
  /**
   * Each cited document's "past questions" field: the terms of every question that cited it, like anchor text
   * or a query log. A new question phrased like the earlier ones matches it even where the document's own words
   * differ (doc2query, Nogueira et al. 2019, without the generator).
   */
  private readonly docField = new Map<string, { tf: Map<string, number>; length: number }>();
  private avgFieldLength = 1;

  private readonly keyIndex = new Map<string, number>();
  private fieldTotal = 0;
  /** The highest history row id folded in (later rows are applied incrementally). */
  private lastId = 0;

  private constructor(public generation: number) {}

  /** An index with no past queries (a home without history): no term statistics needed. */
  static empty(generation: number): HistoryIndex {
    return new HistoryIndex(generation);
  }

  static build(store: Store, stats: TermStats): HistoryIndex {
    const index = new HistoryIndex(generations(store).history);
    index.lastId = maxHistoryId(store);
    for (const row of citedHistory(store)) index.addCitation(row.queryKey, row.query, row.chunkId, row.docId, row.weight, stats);
    for (const v of shownChunkVotes(store)) {
      index.noteKey(v.queryKey, v.query);
      index.addVote(v.queryKey, v.chunkId, v.cited === 1);
    }
    return index;
  }

  /**
   * Folds in history rows written since the last build or extend (every ask appends some, so rebuilding per
   * ask would be quadratic). Returns false when a row needs a full rebuild (explicit feedback overrides earlier
   * rows; deletions lower the count).
   */
  extend(store: Store, stats: TermStats): boolean {
    const rows = historySince(store, this.lastId);
    if (rows.some((r) => r.source === 'explicit')) return false;
    for (const r of rows) {
      this.noteKey(r.queryKey, r.query);
      if (r.chunkId !== null && r.shown) this.addVote(r.queryKey, r.chunkId, r.cited === 1);
      if (r.cited) this.addCitation(r.queryKey, r.query, r.chunkId, r.docId, r.weight, stats);
      this.lastId = Math.max(this.lastId, r.id);
    }
    this.generation = generations(store).history;
    return true;
  }

  private noteKey(key: string, query: string): void {
    const norm = normalizeQuestion(query);
    this.textByKey.set(key, norm);
    let keys = this.keysByText.get(norm);
    if (!keys) this.keysByText.set(norm, (keys = new Set()));
    if (keys.has(key)) return;
    keys.add(key);
    // Another ask of a question changes its asks' shares, so the counts of what its asks cited and were shown.
    for (const i of this.queriesByText.get(norm) ?? []) for (const docId of this.queries[i]!.docIds) this.docCitationCache.delete(docId);
    for (const k of keys) for (const chunkId of this.votesByKey.get(k)?.keys() ?? []) this.priorCache.delete(chunkId);
  }

  private addVote(key: string, chunkId: number, cited: boolean): void {
    this.questionViews.clear();
    let votes = this.votesByKey.get(key);
    if (!votes) this.votesByKey.set(key, (votes = new Map()));
    const previous = votes.get(chunkId);
    if (previous === cited) return;
    votes.set(chunkId, cited);
    const text = this.textByKey.get(key) ?? key;
    let byText = this.votesByChunk.get(chunkId);
    if (!byText) this.votesByChunk.set(chunkId, (byText = new Map()));
    const v = byText.get(text) ?? { shown: 0, cited: 0 };
    // One vote per ask and chunk: a second one for the same ask replaces the first.
    if (previous === undefined) v.shown++;
    v.cited += (cited ? 1 : 0) - (previous ? 1 : 0);
    byText.set(text, v);
    this.priorCache.delete(chunkId);
  }

  private addCitation(key: string, query: string, chunkId: number | null, docId: string, weight: number, stats: TermStats): void {
    this.questionViews.clear();
    this.noteKey(key, query);
    let i = this.keyIndex.get(key);
    if (i === undefined) {
      const tf = new Map<string, number>();
      for (const t of analyze(query)) if (!isStopword(t)) tf.set(t, (tf.get(t) ?? 0) + 1);
      this.queryTerms.set(key, tf);
      const vector = tfidfVector(query, stats);
      i = this.queries.length;
      this.keyIndex.set(key, i);
      const text = this.textByKey.get(key)!;
      let asks = this.queriesByText.get(text);
      if (asks) asks.push(i);
      else this.queriesByText.set(text, (asks = [i]));
      this.queries.push({ key, vector, chunkIds: new Set(), docIds: new Set(), chunkDocs: new Map(), asks, weight });
      for (const [term, w] of vector) {
        let list = this.postings.get(term);
        if (!list) this.postings.set(term, (list = { ids: [], weights: [] }));
        list.ids.push(i);
        list.weights.push(w);
      }
    }
    const q = this.queries[i]!;
    q.weight = Math.max(q.weight, weight);
    if (chunkId !== null) {
      q.chunkIds.add(chunkId);
      q.chunkDocs.set(chunkId, docId);
    }
    if (!q.docIds.has(docId)) {
      q.docIds.add(docId);
      let citing = this.docCitingKeys.get(docId);
      if (!citing) this.docCitingKeys.set(docId, (citing = new Set()));
      citing.add(key);
      this.docCitationCache.delete(docId);
      const text = this.textByKey.get(key)!;
      // The document's past-questions field gains this question's terms once per question text: asked again in a
      // later round, the same words are no new evidence, and counting them per ask would shift the field's BM25
      // under a model that stays fixed.
      let texts = this.docFieldTexts.get(docId);
      if (!texts) this.docFieldTexts.set(docId, (texts = new Set()));
      if (!texts.has(text)) {
        texts.add(text);
        const tf = this.queryTerms.get(key)!;
        let field = this.docField.get(docId);
        if (!field) this.docField.set(docId, (field = { tf: new Map(), length: 0 }));
        for (const [t, c] of tf) {
          field.tf.set(t, (field.tf.get(t) ?? 0) + c);
          field.length += c;
          this.fieldTotal += c;
        }
        this.avgFieldLength = Math.max(1, this.fieldTotal / Math.max(1, this.docField.size));
      }
    }
  }

  /**
   * BM25 of the question against a document's past-questions field, divided by the question's IDF mass (so it is
   * comparable across questions). `exclude`'s own terms are taken out first (leave-one-out).
   */
  docFieldBm25(docId: string, terms: ReadonlyArray<{ term: string; idf: number }>, excluded: ReadonlySet<string> = NONE): number {
    const field = this.docField.get(docId);
    if (!field || terms.length === 0) return 0;
    // The field holds each question text once, so an excluded question's terms come out once, whichever of its
    // asks put them there.
    const texts = this.docFieldTexts.get(docId);
    const own: Array<Map<string, number>> = [];
    const taken = new Set<string>();
    for (const key of excluded) {
      const text = this.textByKey.get(key);
      if (text === undefined || taken.has(text) || !texts?.has(text) || !this.docCitingKeys.get(docId)?.has(key)) continue;
      taken.add(text);
      own.push(this.queryTerms.get(key)!);
    }
    let length = field.length;
    for (const tf of own) for (const c of tf.values()) length -= c;
    if (length <= 0) return 0;
    const norm = 1.2 * (1 - 0.75 + (0.75 * length) / this.avgFieldLength);
    let score = 0;
    let mass = 0;
    for (const { term, idf } of terms) {
      mass += idf;
      let tf = field.tf.get(term) ?? 0;
      for (const o of own) tf -= o.get(term) ?? 0;
      if (tf > 0) score += (idf * tf * 2.2) / (tf + norm);
    }
    return mass > 0 ? score / mass : 0;
  }

  get size(): number {
    return this.queries.length;
  }

  /** Past queries most similar to `text` (cosine of tf-idf vectors), excluding one query key (leave-one-out). */
  similar(text: string, stats: TermStats, k = SIMILAR_QUERIES, excluded: ReadonlySet<string> = NONE): SimilarQuery[] {
    const n = this.queries.length;
    if (n === 0) return [];
    if (this.scratch.length < n) this.scratch = new Float64Array(Math.max(n, this.scratch.length * 2));
    const scores = this.scratch;
    const touched: number[] = [];
    // Sparse dot products over the postings: on the ask path, and once per list when a training job builds
    // thousands of lists against tens of thousands of past questions.
    for (const [term, w] of tfidfVector(text, stats)) {
      const list = this.postings.get(term);
      if (!list) continue;
      for (let j = 0; j < list.ids.length; j++) {
        const i = list.ids[j]!;
        if (scores[i] === 0) touched.push(i);
        scores[i]! += w * list.weights[j]!;
      }
    }
    // Best k by similarity (ties: earlier question first), excluded keys skipped: a bounded selection, not a sort.
    const better = (a: number, b: number) => scores[a]! > scores[b]! || (scores[a] === scores[b] && a < b);
    const top: number[] = [];
    for (const i of touched) {
      if (top.length === k && !better(i, top[top.length - 1]!)) continue;
      // A question asked several times is one similar question (its asks share one text, hence one score): the
      // first ask stands for all of them, so the k places go to k different questions.
      const asks = this.queries[i]!.asks;
      if (asks[0] !== i) continue;
      if (excluded.size > 0 && asks.every((j) => excluded.has(this.queries[j]!.key))) continue;
      let at = top.length === k ? k - 1 : top.length;
      if (top.length < k) top.push(i);
      while (at > 0 && better(i, top[at - 1]!)) {
        top[at] = top[at - 1]!;
        at--;
      }
      top[at] = i;
    }
    const out = top.map((i): SimilarQuery => {
      const all = this.queries[i]!.asks;
      const partly = excluded.size > 0 && all.some((j) => excluded.has(this.queries[j]!.key));
      // Cached per question: a training job asks this for thousands of lists against one snapshot.
      let view = partly ? undefined : this.questionViews.get(i);
      if (!view) {
        view = this.questionView(partly ? all.filter((j) => !excluded.has(this.queries[j]!.key)) : all);
        if (!partly) this.questionViews.set(i, view);
      }
      return { ...view, similarity: scores[i]! };
    });
    for (const i of touched) scores[i] = 0;
    return out;
  }

  /** One question's asks as one similar question: their citations together, each weighted by consistency. */
  private questionView(asks: readonly number[]): Omit<SimilarQuery, 'similarity'> {
    const q = this.queries[asks[0]!]!;
    const merged = asks.length === 1 ? q : mergeAsks(asks.map((j) => this.queries[j]!));
    const votes = this.questionVotes(q.key);
    const chunkConsistency = new Map<number, number>();
    const docConsistency = new Map<string, number>();
    // A document is as consistent as its most consistently used chunk.
    const docBest = new Map<string, number>();
    for (const [chunkId, docId] of merged.chunkDocs) {
      const c = consistencyOf(votes, chunkId);
      if (c < 1) chunkConsistency.set(chunkId, c);
      docBest.set(docId, Math.max(docBest.get(docId) ?? 0, c));
    }
    for (const [docId, c] of docBest) if (c < 1) docConsistency.set(docId, c);
    return { key: q.key, chunkIds: merged.chunkIds, docIds: merged.docIds, chunkConsistency, docConsistency };
  }

  evidence(similar: readonly SimilarQuery[]): HistoryEvidence {
    const chunkSimilarity = new Map<number, number>();
    const docSimilarity = new Map<string, number>();
    const docSimilaritySum = new Map<string, number>();
    for (const q of similar) {
      for (const c of q.chunkIds) chunkSimilarity.set(c, Math.max(chunkSimilarity.get(c) ?? 0, q.similarity * (q.chunkConsistency.get(c) ?? 1)));
      for (const d of q.docIds) {
        const s = q.similarity * (q.docConsistency.get(d) ?? 1);
        docSimilarity.set(d, Math.max(docSimilarity.get(d) ?? 0, s));
        docSimilaritySum.set(d, (docSimilaritySum.get(d) ?? 0) + s);
      }
    }
    return { chunkSimilarity, docSimilarity, docSimilaritySum };
  }

  /**
   * Past questions that cited the document, each weighted by the share of its asks that cited it, not counting
   * excluded asks. A question asked once counts 1. Asked every round, it still counts at most 1, so the figure
   * does not climb under a fixed model as questions are re-asked, and it keeps how consistently the document was
   * used: cited by every ask 1, by one ask in five 0.2 (counting asks drifted; counting questions lost that).
   */
  docCitations(docId: string, excluded: ReadonlySet<string> = NONE): number {
    const keys = this.docCitingKeys.get(docId);
    if (!keys) return 0;
    let n = this.docCitationCache.get(docId);
    if (n === undefined) {
      n = 0;
      for (const key of keys) n += this.askShare(key);
      this.docCitationCache.set(docId, n);
    }
    for (const key of excluded) if (keys.has(key)) n -= this.askShare(key);
    return Math.max(0, n);
  }

  /** One ask's share of its question: 1 / how many asks the question (normalised text) has had. */
  private askShare(key: string): number {
    const text = this.textByKey.get(key);
    return text === undefined ? 1 : 1 / this.asksOf(text);
  }

  /**
   * The history keys a leave-one-out view must not see: the ask's own key and every other ask of the same
   * question (asked again in a later round, its citations would hand the label straight back).
   */
  excludedKeys(key: string | undefined, text: string): ReadonlySet<string> {
    if (key === undefined) return NONE;
    const same = this.keysByText.get(normalizeQuestion(text));
    return new Set([key, ...(same ?? [])]);
  }

  /**
   * Of the asks of this key's question (same text) that were shown the chunk, the share that used it; 1 when no
   * ask voted on it (qrels history, feedback on a document). A question asked once scores 1 for what it cited. Asked
   * again and again, what it used every time outweighs a chunk it cited once and passed over since — one reader's
   * slip, which would otherwise count as much as its steady evidence for every similar question after.
   */
  citationConsistency(key: string, chunkId: number): number {
    return consistencyOf(this.questionVotes(key), chunkId);
  }

  /**
   * Chunks that earlier asks of this same question were shown and never used (no ask of it used them), with how
   * many asks passed each over: the context that did not help last time. Votes exist only for answers attribution
   * could read (an LLM's, or a person's feedback), so an extractive answer never marks anything unused.
   */
  unusedBefore(text: string): ReadonlyMap<number, number> {
    const unused = new Map<number, number>();
    for (const [chunkId, v] of this.votesOfText(normalizeQuestion(text))) if (v.cited === 0) unused.set(chunkId, v.shown);
    return unused;
  }

  /** The votes of every ask of this key's question, per chunk; none when the question was asked only once. */
  private questionVotes(key: string): ReadonlyMap<number, ChunkVotes> {
    const text = this.textByKey.get(key);
    if (text === undefined || (this.keysByText.get(text)?.size ?? 0) < 2) return NO_VOTES;
    return this.votesOfText(text);
  }

  /** Per chunk, how many asks of the question (normalised text) were shown it and how many used it. */
  private votesOfText(text: string): ReadonlyMap<number, ChunkVotes> {
    const keys = this.keysByText.get(text);
    if (!keys) return NO_VOTES;
    const tally = new Map<number, ChunkVotes>();
    for (const key of keys) {
      for (const [chunkId, cited] of this.votesByKey.get(key) ?? []) {
        const v = tally.get(chunkId) ?? { shown: 0, cited: 0 };
        v.shown++;
        if (cited) v.cited++;
        tally.set(chunkId, v);
      }
    }
    return tally;
  }

  /**
   * Smoothed rate at which the chunk was cited when shown; 0 with no history. A question counts once, each of its
   * asks by its share (as in docCitations): counted per ask, the rate of a chunk that re-asked questions cite
   * climbed every round (1/3, 2/4, 3/5 …) under a model that stayed fixed. `exclude`'s own votes are taken out:
   * an ask must not see its own label in its features (that leak once taught a model to trust the prior alone).
   */
  chunkPrior(chunkId: number, excluded: ReadonlySet<string> = NONE): number {
    const byText = this.votesByChunk.get(chunkId);
    if (!byText) return 0;
    let tally = this.priorCache.get(chunkId);
    if (!tally) {
      tally = { shown: 0, cited: 0 };
      for (const [text, v] of byText) {
        const asks = this.asksOf(text);
        tally.shown += v.shown / asks;
        tally.cited += v.cited / asks;
      }
      this.priorCache.set(chunkId, tally);
    }
    let { shown, cited } = tally;
    const left = new Set<string>();
    for (const key of excluded) {
      const text = this.textByKey.get(key) ?? key;
      const v = byText.get(text);
      if (v === undefined || left.has(text)) continue;
      left.add(text);
      const asks = this.asksOf(text);
      shown -= v.shown / asks;
      cited -= v.cited / asks;
    }
    // Float sums of shares: a question taken back out can leave a hair above 0.
    return shown <= 1e-9 ? 0 : Math.max(0, cited) / (shown + 2);
  }

  /** How many asks a question (normalised text) has had. */
  private asksOf(text: string): number {
    return Math.max(1, this.keysByText.get(text)?.size ?? 1);
  }
}

/** The union of several asks' citations (asks of one question). */
function mergeAsks(asks: readonly PastQuery[]): Pick<PastQuery, 'chunkIds' | 'docIds' | 'chunkDocs'> {
  const chunkIds = new Set<number>();
  const docIds = new Set<string>();
  const chunkDocs = new Map<number, string>();
  for (const a of asks) {
    for (const c of a.chunkIds) chunkIds.add(c);
    for (const d of a.docIds) docIds.add(d);
    for (const [c, d] of a.chunkDocs) chunkDocs.set(c, d);
  }
  return { chunkIds, docIds, chunkDocs };
}

/** Sublinear tf × corpus IDF over non-stopword stems, L2-normalised. */
export function tfidfVector(text: string, stats: TermStats): Map<string, number> {
  const tf = new Map<string, number>();
  for (const t of analyze(text)) if (!isStopword(t)) tf.set(t, (tf.get(t) ?? 0) + 1);
  const v = new Map<string, number>();
  let norm = 0;
  for (const [term, count] of tf) {
    const w = (1 + Math.log(count)) * stats.idfOfTerm(term);
    v.set(term, w);
    norm += w * w;
  }
  norm = Math.sqrt(norm);
  if (norm > 0) for (const [term, w] of v) v.set(term, w / norm);
  return v;
}

/** Keeps a HistoryIndex current with the store's history (and the term statistics its IDF comes from). */
export class HistoryIndexCache {
  private current: HistoryIndex | null = null;
  private statsGeneration = -1;
  private knownDeletions = -1;

  constructor(private readonly store: Store) {}

  /** `stats` is a thunk: with no history at all, the term statistics (a full pass over the corpus) are never built. */
  get(stats: () => TermStats): HistoryIndex {
    // One read transaction: the generations and the rows folded in come from one snapshot. Read separately (as
    // row counts once were), a row another process (a second `serve` worker) committed in between was counted
    // twice, the counts disagreed, and the whole index was rebuilt — hundreds of ms on some request, every few writes.
    if (this.store.db.inTransaction) return this.refresh(stats);
    return this.store.db.transaction(() => this.refresh(stats))();
  }

  private refresh(stats: () => TermStats): HistoryIndex {
    const { history: gen, historyDeletions } = generations(this.store);
    if (this.current && this.current.generation === gen && (this.current.size === 0 || this.statsGeneration === stats().generation)) {
      return this.current;
    }
    // Only rows appended since the last look (nothing deleted): fold them in rather than rebuild.
    if (this.current && this.current.size > 0 && this.statsGeneration === stats().generation && historyDeletions === this.knownDeletions) {
      if (this.current.extend(this.store, stats())) return this.current;
    }
    this.knownDeletions = historyDeletions;
    if (!hasHistory(this.store)) {
      this.current = HistoryIndex.empty(gen);
      return this.current;
    }
    const built = stats();
    this.current = HistoryIndex.build(this.store, built);
    this.statsGeneration = built.generation;
    return this.current;
  }
}
