// BM25 over an in-memory inverted index: the lexical retriever's hot path.
//
// Why not FTS5's bm25(): FTS5 scores every row that matches any query term and sorts them all; a 12-term
// scientific claim matches ~4,000 of SciFact's 9,900 chunks, which cost 7–8 ms of a 16 ms ask. Here the postings
// are typed arrays and scoring is one pass of float adds, ≈ 0.3 ms for the same query. The index is derived
// from the chunks table (FTS5 stays the stored index and the fallback), with FTS5's tokenizer (unicode61,
// diacritics removed, Porter stems — see porter.ts) and FTS5's bm25 formula, so scores and rankings are the
// same as `bm25(chunks_fts, wHeading, wBody)`; a test holds the two to 1e-9.
import { allChunkTexts, generations } from '../store/history.js';
import type { Store } from '../store/store.js';
import { porterStem } from './porter.js';

const K1 = 1.2;
const B = 0.75;
const TOKEN = /[\p{L}\p{N}]+/gu;
const NON_ASCII = /[^\x00-\x7f]/;
const MARKS = /\p{M}+/gu;

/** unicode61 with remove_diacritics: fold case, drop combining marks, split on anything not a letter or digit. */
export function ftsWords(text: string): string[] {
  const folded = NON_ASCII.test(text) ? text.normalize('NFKD').replace(MARKS, '') : text;
  return folded.toLowerCase().match(TOKEN) ?? [];
}

export interface Bm25Hit {
  chunkId: number;
  score: number;
}

export interface FieldWeights {
  heading: number;
  body: number;
}

/** Postings of one term: rows in ascending order with the term's count in each field. */
interface Postings {
  rows: Int32Array;
  heading: Uint16Array;
  body: Uint16Array;
}

interface GrowingPostings {
  rows: number[];
  heading: number[];
  body: number[];
}

export class Bm25Index {
  readonly generation: number;
  private readonly vocab = new Map<string, number>();
  private readonly postings: Postings[] = [];
  private chunkIds = new Int32Array(0);
  /** Tokens per row over both fields (FTS5's document length). */
  private rowLength = new Float64Array(0);
  private avgLength = 1;
  private readonly stemCache = new Map<string, string>();
  /** Scratch score accumulators, one per row, reused across queries (zeroed after each). */
  private scores = new Float64Array(0);
  /** Which rows the current query matched: a row can match with score 0 (a term only in a zero-weight field). */
  private matched = new Uint8Array(0);

  private constructor(generation: number) {
    this.generation = generation;
  }

  static build(store: Store): Bm25Index {
    const index = new Bm25Index(generations(store).chunks);
    index.load(allChunkTexts(store));
    return index;
  }

  /** Builds from rows directly (tests and callers that already hold the texts). */
  static fromRows(rows: ReadonlyArray<{ id: number; heading: string; text: string }>, generation = 0): Bm25Index {
    const index = new Bm25Index(generation);
    index.load(rows);
    return index;
  }

  get size(): number {
    return this.chunkIds.length;
  }

  private stem(word: string): string {
    let s = this.stemCache.get(word);
    if (s === undefined) {
      s = porterStem(word);
      // Bounded: a corpus's vocabulary plus what queries bring; long-running servers must not grow forever.
      if (this.stemCache.size < 1_000_000) this.stemCache.set(word, s);
    }
    return s;
  }

  private load(rows: ReadonlyArray<{ id: number; heading: string; text: string }>): void {
    const growing: GrowingPostings[] = [];
    this.chunkIds = new Int32Array(rows.length);
    this.rowLength = new Float64Array(rows.length);
    this.scores = new Float64Array(rows.length);
    this.matched = new Uint8Array(rows.length);
    let total = 0;
    // Surface word → term id: most tokens are repeats, so one map lookup instead of stem + vocabulary lookups.
    const wordIds = new Map<string, number>();
    const termId = (word: string): number => {
      let id = wordIds.get(word);
      if (id !== undefined) return id;
      const stem = this.stem(word);
      id = this.vocab.get(stem);
      if (id === undefined) {
        id = growing.length;
        this.vocab.set(stem, id);
        growing.push({ rows: [], heading: [], body: [] });
      }
      wordIds.set(word, id);
      return id;
    };
    // Per-row counts in scratch arrays indexed by term id (heading and body), with the row's distinct terms.
    let headingCounts = new Uint32Array(1 << 16);
    let bodyCounts = new Uint32Array(1 << 16);
    const distinct: number[] = [];
    const count = (words: string[], heading: boolean) => {
      for (const w of words) {
        const id = termId(w);
        if (id >= headingCounts.length) {
          const grownHeading = new Uint32Array(headingCounts.length * 2);
          grownHeading.set(headingCounts);
          headingCounts = grownHeading;
          const grownBody = new Uint32Array(bodyCounts.length * 2);
          grownBody.set(bodyCounts);
          bodyCounts = grownBody;
        }
        if (headingCounts[id] === 0 && bodyCounts[id] === 0) distinct.push(id);
        if (heading) headingCounts[id]!++;
        else bodyCounts[id]!++;
      }
    };
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      this.chunkIds[r] = row.id;
      const headingWords = ftsWords(row.heading);
      const bodyWords = ftsWords(row.text);
      this.rowLength[r] = headingWords.length + bodyWords.length;
      total += headingWords.length + bodyWords.length;
      distinct.length = 0;
      count(headingWords, true);
      count(bodyWords, false);
      for (const id of distinct) {
        const p = growing[id]!;
        p.rows.push(r);
        p.heading.push(Math.min(0xffff, headingCounts[id]!));
        p.body.push(Math.min(0xffff, bodyCounts[id]!));
        headingCounts[id] = 0;
        bodyCounts[id] = 0;
      }
    }
    for (const p of growing) {
      this.postings.push({ rows: Int32Array.from(p.rows), heading: Uint16Array.from(p.heading), body: Uint16Array.from(p.body) });
    }
    this.avgLength = rows.length > 0 ? Math.max(total / rows.length, 1e-9) : 1;
  }

  /**
   * The best `k` chunks for a query given as terms (each distinct term is one FTS5 phrase; two terms with one
   * stem count twice, as FTS5 does). Scores are FTS5's bm25 negated: higher is better. Ties by chunk id. With
   * `allowed`, only those chunks are scored and returned.
   */
  search(terms: readonly string[], k: number, weights: FieldWeights, allowed?: ReadonlySet<number>): Bm25Hit[] {
    const n = this.chunkIds.length;
    if (n === 0 || k <= 0) return [];
    const touched: number[] = [];
    // Rows outside `allowed` are marked 2 on first sight and skipped after (IDF stays the whole corpus's).
    const outside: number[] = [];
    const scores = this.scores;
    const matched = this.matched;
    for (const term of terms) {
      for (const word of ftsWords(term)) {
        const id = this.vocab.get(this.stem(word));
        if (id === undefined) continue;
        const p = this.postings[id]!;
        const hits = p.rows.length;
        let idf = Math.log((n - hits + 0.5) / (hits + 0.5));
        if (idf <= 0) idf = 1e-6;
        for (let j = 0; j < hits; j++) {
          const r = p.rows[j]!;
          if (matched[r] === 0) {
            if (allowed && !allowed.has(this.chunkIds[r]!)) {
              matched[r] = 2;
              outside.push(r);
              continue;
            }
            matched[r] = 1;
            touched.push(r);
          } else if (matched[r] === 2) continue;
          const freq = weights.heading * p.heading[j]! + weights.body * p.body[j]!;
          const norm = K1 * (1 - B + (B * this.rowLength[r]!) / this.avgLength);
          scores[r]! += (idf * freq * (K1 + 1)) / (freq + norm);
        }
      }
    }
    const top = topK(touched, scores, this.chunkIds, k);
    for (const r of touched) {
      scores[r] = 0;
      matched[r] = 0;
    }
    for (const r of outside) matched[r] = 0;
    return top;
  }
}

/** The k best rows by score (ties: lower chunk id first), via a bounded min-heap: O(n log k). */
function topK(rows: number[], scores: Float64Array, chunkIds: Int32Array, k: number): Bm25Hit[] {
  // `worse(a, b)`: a ranks below b.
  const worse = (a: number, b: number) => scores[a]! < scores[b]! || (scores[a] === scores[b] && chunkIds[a]! > chunkIds[b]!);
  const heap: number[] = [];
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && worse(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && worse(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  };
  for (const row of rows) {
    if (heap.length < k) {
      heap.push(row);
      for (let i = heap.length - 1; i > 0; ) {
        const parent = (i - 1) >> 1;
        if (!worse(heap[i]!, heap[parent]!)) break;
        [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
        i = parent;
      }
    } else if (worse(heap[0]!, row)) {
      heap[0] = row;
      siftDown(0);
    }
  }
  heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
  return heap.map((r) => ({ chunkId: chunkIds[r]!, score: scores[r]! }));
}

/**
 * Keeps a Bm25Index current with the store's chunk generation (any process's ingest). Building costs about as
 * much as fifty FTS5 queries, so it is built on the second query against a generation, not the first: a one-shot
 * CLI ask (or the one query after an ingest) is served by FTS5, which ranks the same; `warm()` builds now.
 */
export class Bm25IndexCache {
  private current: Bm25Index | null = null;
  private staleQueries = 0;

  constructor(private readonly store: Store) {}

  /** The index if it is current or worth building now; null means "use FTS5 for this query". */
  get(): Bm25Index | null {
    const gen = generations(this.store).chunks;
    if (this.current && this.current.generation === gen) return this.current;
    if (++this.staleQueries < 2) return null;
    return this.warm();
  }

  warm(): Bm25Index {
    const gen = generations(this.store).chunks;
    if (!this.current || this.current.generation !== gen) {
      this.current = Bm25Index.build(this.store);
      this.staleQueries = 0;
    }
    return this.current;
  }
}
