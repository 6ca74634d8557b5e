// BM25 over an in-memory inverted index: the lexical retriever's hot path.
//
// Why not FTS5's bm25(): FTS5 scores every row that matches any query term and sorts them all; a 12-term
// scientific claim matches ~4,000 of SciFact's 9,900 chunks, which cost 7–8 ms of a 16 ms ask. Here the postings
// are typed arrays and scoring is one pass of float adds, ≈ 0.3 ms for the same query. The index is derived
// from the chunks table (FTS5 stays the stored index and the fallback), with FTS5's tokenizer (unicode61,
// diacritics removed, Porter stems — see porter.ts) and FTS5's bm25 formula, so scores and rankings are the
// same as `bm25(chunks_fts, wHeading, wBody)`; a test holds the two to 1e-9.
import { generations } from '../store/history.js';
import type { Store } from '../store/store.js';
import { closestSpelling, isCorrectable } from '../util/edit-distance.js';
import { Growable } from '../util/growable.js';
import { searchText } from '../util/search-text.js';
import { BackgroundBuild, buildFromChunks, buildFromChunksInSlices, SYNC_BUILD_MAX_CHUNKS, type ChunkIndexBuilder } from './index-build.js';
import { porterStem } from './porter.js';

const K1 = 1.2;
const B = 0.75;
const TOKEN = /[\p{L}\p{N}]+/gu;
const NON_ASCII = /[^\x00-\x7f]/;
const MARKS = /\p{M}+/gu;

/**
 * The words FTS5 indexes for a text: identifier parts and CJK bigrams added as the FTS triggers write them
 * (src/util/search-text.ts), then unicode61 with remove_diacritics: fold case, drop combining marks, split on
 * anything not a letter or digit.
 */
export function ftsWords(text: string): string[] {
  text = searchText(text);
  if (NON_ASCII.test(text)) text = text.normalize('NFKD').replace(MARKS, '');
  return text.toLowerCase().match(TOKEN) ?? [];
}

export interface Bm25Hit {
  chunkId: number;
  score: number;
}

export interface FieldWeights {
  heading: number;
  body: number;
}

/** One chunk's text, as the index reads it. */
export interface IndexRow {
  id: number;
  heading: string;
  text: string;
}

/**
 * Builds an index row by row: each row's distinct terms with their per-field counts go to a forward buffer of
 * typed arrays, which `finish` inverts into postings by counting (no per-term JS arrays, whose boxed numbers took
 * ~2 GB of heap at 360k chunks).
 */
class Bm25Builder implements ChunkIndexBuilder<Bm25Index> {
  readonly vocab = new Map<string, number>();
  readonly stemCache = new Map<string, string>();
  /** Surface word → term id: most tokens are repeats, so one map lookup instead of stem + vocabulary lookups. */
  private readonly wordIds = new Map<string, number>();
  private readonly ids = new Growable((n) => new Int32Array(n));
  private readonly lengths = new Growable((n) => new Float64Array(n));
  /** Forward entries: per row, its distinct terms and their counts; `rowEnds[r]` is one past row r's last entry. */
  private readonly entryTerms = new Growable((n) => new Int32Array(n), 1 << 16);
  private readonly entryHeading = new Growable((n) => new Uint16Array(n), 1 << 16);
  private readonly entryBody = new Growable((n) => new Uint16Array(n), 1 << 16);
  private readonly rowEnds = new Growable((n) => new Int32Array(n));
  private total = 0;
  // Per-row scratch counts indexed by term id (heading and body), with the row's distinct terms.
  private headingCounts = new Uint32Array(1 << 16);
  private bodyCounts = new Uint32Array(1 << 16);
  private readonly distinct: number[] = [];

  constructor(private readonly generation: number) {}

  private termId(word: string): number {
    let id = this.wordIds.get(word);
    if (id !== undefined) return id;
    const stem = cachedStem(this.stemCache, word);
    id = this.vocab.get(stem);
    if (id === undefined) {
      id = this.vocab.size;
      this.vocab.set(stem, id);
    }
    this.wordIds.set(word, id);
    return id;
  }

  private count(words: string[], heading: boolean): void {
    for (const w of words) {
      const id = this.termId(w);
      if (id >= this.headingCounts.length) {
        const grownHeading = new Uint32Array(this.headingCounts.length * 2);
        grownHeading.set(this.headingCounts);
        this.headingCounts = grownHeading;
        const grownBody = new Uint32Array(this.bodyCounts.length * 2);
        grownBody.set(this.bodyCounts);
        this.bodyCounts = grownBody;
      }
      if (this.headingCounts[id] === 0 && this.bodyCounts[id] === 0) this.distinct.push(id);
      if (heading) this.headingCounts[id]!++;
      else this.bodyCounts[id]!++;
    }
  }

  add(row: IndexRow): void {
    const headingWords = ftsWords(row.heading);
    const bodyWords = ftsWords(row.text);
    this.ids.push(row.id);
    this.lengths.push(headingWords.length + bodyWords.length);
    this.total += headingWords.length + bodyWords.length;
    this.distinct.length = 0;
    this.count(headingWords, true);
    this.count(bodyWords, false);
    for (const id of this.distinct) {
      this.entryTerms.push(id);
      this.entryHeading.push(Math.min(0xffff, this.headingCounts[id]!));
      this.entryBody.push(Math.min(0xffff, this.bodyCounts[id]!));
      this.headingCounts[id] = 0;
      this.bodyCounts[id] = 0;
    }
    this.rowEnds.push(this.entryTerms.length);
  }

  /** Inverts the forward buffer: postings of each term are its rows in ascending order (a counting sort). */
  finish(): Bm25Index {
    const terms = this.entryTerms.view();
    const heading = this.entryHeading.view();
    const body = this.entryBody.view();
    const rowEnds = this.rowEnds.view();
    const termCount = this.vocab.size;
    const start = new Int32Array(termCount + 1);
    for (let e = 0; e < terms.length; e++) start[terms[e]! + 1]!++;
    for (let t = 0; t < termCount; t++) start[t + 1]! += start[t]!;
    const cursor = start.slice(0, termCount);
    const postingRows = new Int32Array(terms.length);
    const postingHeading = new Uint16Array(terms.length);
    const postingBody = new Uint16Array(terms.length);
    let e = 0;
    for (let r = 0; r < rowEnds.length; r++) {
      for (; e < rowEnds[r]!; e++) {
        const at = cursor[terms[e]!]!++;
        postingRows[at] = r;
        postingHeading[at] = heading[e]!;
        postingBody[at] = body[e]!;
      }
    }
    const rows = rowEnds.length;
    return new Bm25Index(this.generation, {
      vocab: this.vocab,
      stemCache: this.stemCache,
      postings: { start, rows: postingRows, heading: postingHeading, body: postingBody },
      chunkIds: this.ids.take(),
      rowLength: this.lengths.take(),
      avgLength: rows > 0 ? Math.max(this.total / rows, 1e-9) : 1,
    });
  }
}

/** Every term's postings in one flat layout: term t's rows are rows[start[t] .. start[t+1]), ascending. */
interface FlatPostings {
  start: Int32Array;
  rows: Int32Array;
  heading: Uint16Array;
  body: Uint16Array;
}

interface IndexParts {
  vocab: Map<string, number>;
  stemCache: Map<string, string>;
  postings: FlatPostings;
  chunkIds: Int32Array;
  rowLength: Float64Array;
  avgLength: number;
}

/** Porter stems through a cache bounded to a corpus's vocabulary plus what queries bring (servers run for long). */
function cachedStem(cache: Map<string, string>, word: string): string {
  let s = cache.get(word);
  if (s === undefined) {
    s = porterStem(word);
    if (cache.size < 1_000_000) cache.set(word, s);
  }
  return s;
}

export interface SearchOptions {
  /**
   * A term the corpus does not hold is searched as the closest one it does (edit distance 1, or 2 for eight
   * letters or more; same first letter; the most frequent on ties), so a typo still finds what it meant. FTS5 has
   * no such step, so this is off where the two are compared.
   */
  correctSpelling?: boolean;
}

export class Bm25Index {
  readonly generation: number;
  private readonly vocab: Map<string, number>;
  private readonly postings: FlatPostings;
  private readonly chunkIds: Int32Array;
  /** Tokens per row over both fields (FTS5's document length). */
  private readonly rowLength: Float64Array;
  private readonly avgLength: number;
  private readonly stemCache: Map<string, string>;
  /** Scratch score accumulators, one per row, reused across queries (zeroed after each). */
  private readonly scores: Float64Array;
  /** Scratch marks per row: 0 untouched, 1 scored, 2 outside the query's scope. */
  private readonly matched: Uint8Array;
  /** The corpus's words with their vocabulary ids, by first character, for spelling correction (built on first use). */
  private wordsByInitial: Map<string, Array<[word: string, id: number]>> | null = null;
  /** Corrections found so far, by unknown word (null: none within reach). */
  private readonly corrections = new Map<string, number | null>();

  /** Made by `build`, `buildInSlices` or `fromRows` (through the builder). */
  constructor(generation: number, parts: IndexParts) {
    this.generation = generation;
    this.vocab = parts.vocab;
    this.stemCache = parts.stemCache;
    this.postings = parts.postings;
    this.chunkIds = parts.chunkIds;
    this.rowLength = parts.rowLength;
    this.avgLength = parts.avgLength;
    this.scores = new Float64Array(parts.chunkIds.length);
    this.matched = new Uint8Array(parts.chunkIds.length);
  }

  /** Reads every chunk of the store, a page at a time, and builds the index in one go (blocking). */
  static build(store: Store): Bm25Index {
    return buildFromChunks(store, (generation) => new Bm25Builder(generation));
  }

  /** The same build between requests (see buildFromChunksInSlices); null when the store changed or closed meanwhile. */
  static buildInSlices(store: Store, yieldNow?: () => Promise<void>): Promise<Bm25Index | null> {
    return buildFromChunksInSlices(store, (generation) => new Bm25Builder(generation), yieldNow);
  }

  /** Builds from rows directly (tests and callers that already hold the texts). */
  static fromRows(rows: ReadonlyArray<IndexRow>, generation = 0): Bm25Index {
    const builder = new Bm25Builder(generation);
    for (const row of rows) builder.add(row);
    return builder.finish();
  }

  get size(): number {
    return this.chunkIds.length;
  }

  /**
   * The vocabulary id of the corpus word closest to an unknown one (see SearchOptions), if any. Words are compared
   * as written, not as stems: a typo often changes the stem more than the word ("vinegr" → "vinegr", "vinegar" →
   * "vinegar"). The corpus's words are the stem cache the build filled.
   */
  private correction(word: string): number | undefined {
    if (!isCorrectable(word)) return undefined;
    const cached = this.corrections.get(word);
    if (cached !== undefined) return cached ?? undefined;
    if (!this.wordsByInitial) {
      this.wordsByInitial = new Map();
      for (const [known, stem] of this.stemCache) {
        const id = this.vocab.get(stem);
        if (id === undefined || known.length < 3) continue; // a query's own unknown word, or too short to matter
        const bucket = this.wordsByInitial.get(known[0]!);
        if (bucket) bucket.push([known, id]);
        else this.wordsByInitial.set(known[0]!, [[known, id]]);
      }
    }
    const postings = this.postings;
    const bucket = this.wordsByInitial.get(word[0]!) ?? [];
    const best = closestSpelling(word, bucket.map(([known, id]) => [known, id, postings.start[id + 1]! - postings.start[id]!] as const));
    if (this.corrections.size < 100_000) this.corrections.set(word, best);
    return best ?? undefined;
  }

  /**
   * The best `k` chunks for a query given as terms (each distinct term is one FTS5 phrase; two terms with one
   * stem count twice, as FTS5 does). Scores are FTS5's bm25 negated: higher is better. Ties by chunk id. With
   * `allowed`, only those chunks are scored and returned.
   */
  search(terms: readonly string[], k: number, weights: FieldWeights, allowed?: ReadonlySet<number>, opts: SearchOptions = {}): Bm25Hit[] {
    const n = this.chunkIds.length;
    if (n === 0 || k <= 0) return [];
    const touched: number[] = [];
    // Rows outside `allowed` are marked 2 on first sight and skipped after (IDF stays the whole corpus's).
    const outside: number[] = [];
    const scores = this.scores;
    const matched = this.matched;
    for (const term of terms) {
      for (const word of ftsWords(term)) {
        const stem = cachedStem(this.stemCache, word);
        const id = this.vocab.get(stem) ?? (opts.correctSpelling ? this.correction(word) : undefined);
        if (id === undefined) continue;
        const p = this.postings;
        const first = p.start[id]!;
        const end = p.start[id + 1]!;
        const hits = end - first;
        let idf = Math.log((n - hits + 0.5) / (hits + 0.5));
        if (idf <= 0) idf = 1e-6;
        for (let j = first; j < end; j++) {
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
 * A large corpus (over `syncBuildMaxChunks`) is built in slices between requests instead: about 60 µs a chunk,
 * 20 s at 360k chunks, which must not stall a service; FTS5 answers until the index is ready.
 */
export class Bm25IndexCache {
  private current: Bm25Index | null = null;
  private staleQueries = 0;
  private readonly rebuild = new BackgroundBuild<Bm25Index>();

  constructor(
    private readonly store: Store,
    private readonly syncBuildMaxChunks = SYNC_BUILD_MAX_CHUNKS,
  ) {}

  /** The index if it is current (or small enough to build now); null means "use FTS5 for this query". */
  get(): Bm25Index | null {
    const gen = generations(this.store).chunks;
    if (this.current && this.current.generation === gen) return this.current;
    if (++this.staleQueries < 2 || this.rebuild.busy) return null;
    if (this.store.chunkCount() <= this.syncBuildMaxChunks) return this.warm();
    this.rebuild.start(
      () => Bm25Index.buildInSlices(this.store),
      (index) => {
        this.current = index;
        this.staleQueries = 0;
      },
    );
    return null;
  }

  /** Resolves when no build is running (tests, and callers that want the index before they go on). */
  settled(): Promise<void> {
    return this.rebuild.settled();
  }

  /** Builds now, blocking, if the index is not current: for startup and batch jobs. */
  warm(): Bm25Index {
    const gen = generations(this.store).chunks;
    if (!this.current || this.current.generation !== gen) {
      this.current = Bm25Index.build(this.store);
      this.staleQueries = 0;
    }
    return this.current;
  }
}
