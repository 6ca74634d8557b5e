// In-memory term statistics over every chunk: what the relevance features read (per-field BM25, query-term
// coverage, matched IDF mass, bigram matches). Built once from the store and rebuilt when its chunk
// generation moves, so features cost microseconds per candidate instead of re-tokenising text per request.
import { generations, type ChunkText } from '../store/history.js';
import type { Store } from '../store/store.js';
import { searchText } from '../util/search-text.js';
import { Growable } from '../util/growable.js';
import { BackgroundBuild, buildFromChunks, buildFromChunksInSlices, SYNC_BUILD_MAX_CHUNKS, type ChunkIndexBuilder } from './index-build.js';
import { QUERY_STOPWORDS } from './stopwords.js';

const WORD = /[\p{L}\p{M}\p{N}]+/gu;

/** A light English suffix stripper: enough to match plural/verb forms without a stemmer dependency. */
export function lightStem(word: string): string {
  if (word.length <= 4) return word;
  for (const suffix of ['ingly', 'edly', 'ing', 'ies', 'ied', 'ed', 'es', 'ly', 's']) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3) return word.slice(0, -suffix.length);
  }
  return word;
}

/**
 * Lower-cased, NFKC, stemmed word tokens (identifiers with their parts, CJK runs as bigrams: search-text.ts),
 * stopwords kept (bigrams need them; callers filter).
 */
export function analyze(text: string): string[] {
  return (searchText(text.normalize('NFKC')).toLowerCase().match(WORD) ?? []).map(lightStem);
}

// Terms here are stemmed ("these" → "thes"), so the set holds each stopword as written and as stemmed.
const STEMMED_STOPWORDS: ReadonlySet<string> = new Set([...QUERY_STOPWORDS].flatMap((w) => [w, lightStem(w)]));

export function isStopword(term: string): boolean {
  return STEMMED_STOPWORDS.has(term);
}

/** FNV-1a over two term ids: a bigram's key. Collisions only blur a feature, never break anything. */
function bigramKey(a: number, b: number): number {
  let h = 0x811c9dc5;
  h = Math.imul(h ^ (a & 0xffff), 16777619);
  h = Math.imul(h ^ (a >>> 16), 16777619);
  h = Math.imul(h ^ (b & 0xffff), 16777619);
  h = Math.imul(h ^ (b >>> 16), 16777619);
  return h >>> 0;
}

interface FieldTerms {
  /** Sorted distinct term ids. */
  ids: Int32Array;
  counts: Uint16Array;
  length: number;
}

export interface ChunkTerms {
  heading: FieldTerms;
  body: FieldTerms;
  /** Sorted distinct bigram keys of the body. */
  bigrams: Uint32Array;
  /** The body's term ids in text order (proximity features slide windows over it). */
  sequence: Int32Array;
  docId: string;
  ordinal: number;
  tokenCount: number;
}

export function countOf(field: FieldTerms, termId: number): number {
  let lo = 0;
  let hi = field.ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = field.ids[mid]!;
    if (v === termId) return field.counts[mid]!;
    if (v < termId) lo = mid + 1;
    else hi = mid - 1;
  }
  return 0;
}

function hasKey(sorted: Uint32Array, key: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid]!;
    if (v === key) return true;
    if (v < key) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

export interface AnalyzedQuery {
  /** Distinct non-stopword term ids known to the corpus, with their IDF. */
  terms: Array<{ id: number; idf: number }>;
  /** Query terms unknown to the corpus still count in coverage denominators. */
  unknownTerms: number;
  /** Bigram keys of adjacent query words (stopwords included). */
  bigrams: number[];
  idfMass: number;
}

/** BM25 parameters (Robertson/Lucene defaults). */
const K1 = 1.2;
const B = 0.75;

/**
 * Every chunk's terms in flat typed arrays, one row per chunk: row r's part of a field is [start[r], start[r+1]).
 * One object per chunk (with six small typed arrays each) took 1.6 GB at 360k chunks; this takes a fraction.
 */
interface ChunkTable {
  rowOf: Map<number, number>;
  headingStart: Int32Array;
  headingIds: Int32Array;
  headingCounts: Uint16Array;
  headingLength: Int32Array;
  bodyStart: Int32Array;
  bodyIds: Int32Array;
  bodyCounts: Uint16Array;
  bodyLength: Int32Array;
  bigramStart: Int32Array;
  bigrams: Uint32Array;
  sequenceStart: Int32Array;
  sequence: Int32Array;
  docIndex: Int32Array;
  docNames: string[];
  ordinal: Int32Array;
  tokenCount: Int32Array;
}

const EMPTY_TABLE: ChunkTable = {
  rowOf: new Map(),
  headingStart: new Int32Array(1),
  headingIds: new Int32Array(0),
  headingCounts: new Uint16Array(0),
  headingLength: new Int32Array(0),
  bodyStart: new Int32Array(1),
  bodyIds: new Int32Array(0),
  bodyCounts: new Uint16Array(0),
  bodyLength: new Int32Array(0),
  bigramStart: new Int32Array(1),
  bigrams: new Uint32Array(0),
  sequenceStart: new Int32Array(1),
  sequence: new Int32Array(0),
  docIndex: new Int32Array(0),
  docNames: [],
  ordinal: new Int32Array(0),
  tokenCount: new Int32Array(0),
};

export class TermStats {
  readonly generation: number;
  private readonly vocab = new Map<string, number>();
  private df: Int32Array = new Int32Array(0);
  private table: ChunkTable = EMPTY_TABLE;
  private readonly docChunks = new Map<string, number[]>();
  private avgHeading = 1;
  private avgBody = 1;

  private constructor(generation: number) {
    this.generation = generation;
  }

  /** Reads every chunk of the store, a page at a time, and builds the statistics in one go (blocking). */
  static build(store: Store): TermStats {
    return buildFromChunks(store, TermStats.builder);
  }

  /** Takes a generation's chunks one by one; `finish` makes the statistics (see index-build.ts). */
  static builder(this: void, generation: number): ChunkIndexBuilder<TermStats> {
    const stats = new TermStats(generation);
    const df: number[] = [];
    let headingTotal = 0;
    let bodyTotal = 0;
    const stemCache = new Map<string, number>();
    // Scratch space reused across chunks: per-term counts and the chunk that last touched a term.
    let scratch = new Int32Array(1 << 16);
    let lastSeen = new Int32Array(1 << 16).fill(-1);
    const termIdsOf = (text: string): number[] => {
      const words = searchText(text.normalize('NFKC')).toLowerCase().match(WORD) ?? [];
      const ids = new Array<number>(words.length);
      for (let i = 0; i < words.length; i++) {
        const w = words[i]!;
        let id = stemCache.get(w);
        if (id === undefined) {
          const stem = lightStem(w);
          id = stats.vocab.get(stem);
          if (id === undefined) {
            id = stats.vocab.size;
            stats.vocab.set(stem, id);
            df.push(0);
            if (id >= scratch.length) {
              const grownCounts = new Int32Array(scratch.length * 2);
              grownCounts.set(scratch);
              scratch = grownCounts;
              const grownSeen = new Int32Array(lastSeen.length * 2).fill(-1);
              grownSeen.set(lastSeen);
              lastSeen = grownSeen;
            }
          }
          stemCache.set(w, id);
        }
        ids[i] = id;
      }
      return ids;
    };
    const int32 = (capacity?: number) => new Growable((n) => new Int32Array(n), capacity);
    const uint16 = () => new Growable((n) => new Uint16Array(n), 1 << 16);
    const starts = () => {
      const g = int32();
      g.push(0);
      return g;
    };
    const t = {
      headingStart: starts(), headingIds: int32(1 << 16), headingCounts: uint16(), headingLength: int32(),
      bodyStart: starts(), bodyIds: int32(1 << 16), bodyCounts: uint16(), bodyLength: int32(),
      bigramStart: starts(), bigrams: new Growable((n) => new Uint32Array(n), 1 << 16),
      sequenceStart: starts(), sequence: int32(1 << 16),
      docIndex: int32(), ordinal: int32(), tokenCount: int32(),
    };
    const docNames: string[] = [];
    const docIndexOf = new Map<string, number>();
    const rowOf = new Map<number, number>();
    /** Appends a field's sorted distinct term ids with their counts, and counts each new term's document frequency. */
    const appendField = (ids: number[], into: { ids: Growable<Int32Array>; counts: Growable<Uint16Array> }, row: number): void => {
      const distinct: number[] = [];
      for (const id of ids) if (scratch[id]!++ === 0) distinct.push(id);
      distinct.sort((a, b) => a - b);
      for (const id of distinct) {
        into.ids.push(id);
        into.counts.push(Math.min(65535, scratch[id]!));
        scratch[id] = 0;
        // Document frequency counts a chunk once whichever field holds the term.
        if (lastSeen[id] !== row) {
          lastSeen[id] = row;
          df[id]! += 1;
        }
      }
    };
    let row = 0;
    const add = (chunk: ChunkText): void => {
      const headingIds = termIdsOf(chunk.heading);
      const bodyIds = termIdsOf(chunk.text);
      appendField(headingIds, { ids: t.headingIds, counts: t.headingCounts }, row);
      t.headingStart.push(t.headingIds.length);
      t.headingLength.push(headingIds.length);
      appendField(bodyIds, { ids: t.bodyIds, counts: t.bodyCounts }, row);
      t.bodyStart.push(t.bodyIds.length);
      t.bodyLength.push(bodyIds.length);
      const keys = new Uint32Array(Math.max(0, bodyIds.length - 1));
      for (let i = 0; i + 1 < bodyIds.length; i++) keys[i] = bigramKey(bodyIds[i]!, bodyIds[i + 1]!);
      keys.sort();
      for (let i = 0; i < keys.length; i++) if (i === 0 || keys[i] !== keys[i - 1]) t.bigrams.push(keys[i]!);
      t.bigramStart.push(t.bigrams.length);
      for (const id of bodyIds) t.sequence.push(id);
      t.sequenceStart.push(t.sequence.length);
      let doc = docIndexOf.get(chunk.docId);
      if (doc === undefined) {
        doc = docNames.length;
        docNames.push(chunk.docId);
        docIndexOf.set(chunk.docId, doc);
      }
      t.docIndex.push(doc);
      t.ordinal.push(chunk.ordinal);
      t.tokenCount.push(chunk.tokenCount);
      rowOf.set(chunk.id, row);
      headingTotal += headingIds.length;
      bodyTotal += bodyIds.length;
      const siblings = stats.docChunks.get(chunk.docId);
      if (siblings) siblings.push(chunk.id);
      else stats.docChunks.set(chunk.docId, [chunk.id]);
      row++;
    };
    const finish = (): TermStats => {
      stats.table = {
        rowOf,
        headingStart: t.headingStart.take(),
        headingIds: t.headingIds.take(),
        headingCounts: t.headingCounts.take(),
        headingLength: t.headingLength.take(),
        bodyStart: t.bodyStart.take(),
        bodyIds: t.bodyIds.take(),
        bodyCounts: t.bodyCounts.take(),
        bodyLength: t.bodyLength.take(),
        bigramStart: t.bigramStart.take(),
        bigrams: t.bigrams.take(),
        sequenceStart: t.sequenceStart.take(),
        sequence: t.sequence.take(),
        docIndex: t.docIndex.take(),
        docNames,
        ordinal: t.ordinal.take(),
        tokenCount: t.tokenCount.take(),
      };
      const ordinal = stats.table.ordinal;
      for (const ids of stats.docChunks.values()) ids.sort((a, b) => ordinal[rowOf.get(a)!]! - ordinal[rowOf.get(b)!]!);
      stats.df = Int32Array.from(df);
      const n = Math.max(1, row);
      stats.avgHeading = Math.max(1, headingTotal / n);
      stats.avgBody = Math.max(1, bodyTotal / n);
      return stats;
    };
    return { add, finish };
  }

  get size(): number {
    return this.table.rowOf.size;
  }

  /** A chunk's terms: views into the flat table, made per call (a ranking reads a few hundred). */
  chunk(id: number): ChunkTerms | undefined {
    const r = this.table.rowOf.get(id);
    if (r === undefined) return undefined;
    const t = this.table;
    const span = (start: Int32Array) => [start[r]!, start[r + 1]!] as const;
    const [h0, h1] = span(t.headingStart);
    const [b0, b1] = span(t.bodyStart);
    const [g0, g1] = span(t.bigramStart);
    const [s0, s1] = span(t.sequenceStart);
    return {
      heading: { ids: t.headingIds.subarray(h0, h1), counts: t.headingCounts.subarray(h0, h1), length: t.headingLength[r]! },
      body: { ids: t.bodyIds.subarray(b0, b1), counts: t.bodyCounts.subarray(b0, b1), length: t.bodyLength[r]! },
      bigrams: t.bigrams.subarray(g0, g1),
      sequence: t.sequence.subarray(s0, s1),
      docId: t.docNames[t.docIndex[r]!]!,
      ordinal: t.ordinal[r]!,
      tokenCount: t.tokenCount[r]!,
    };
  }

  /** BM25's IDF (Lucene form, never negative). */
  idf(termId: number): number {
    const n = this.size;
    const df = this.df[termId] ?? 0;
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  }

  /** IDF of a term by its text; a term the corpus never saw weighs as the rarest. */
  idfOfTerm(term: string): number {
    const id = this.vocab.get(term);
    return id === undefined ? Math.log(1 + (this.size + 0.5) / 0.5) : this.idf(id);
  }

  /** Distinct non-stopword stems of a text with their IDF (unknown terms weigh as the rarest). */
  queryTermsWithIdf(text: string): Array<{ term: string; idf: number }> {
    const seen = new Set<string>();
    const out: Array<{ term: string; idf: number }> = [];
    for (const t of analyze(text)) {
      if (isStopword(t) || seen.has(t)) continue;
      seen.add(t);
      out.push({ term: t, idf: this.idfOfTerm(t) });
    }
    return out;
  }

  /** Chunk ids of a document, in ordinal order (for evidence recorded at document level). */
  chunksOfDoc(docId: string): readonly number[] {
    return this.docChunks.get(docId) ?? [];
  }

  analyzeQuery(text: string): AnalyzedQuery {
    const words = analyze(text);
    const ids: number[] = [];
    let unknownTerms = 0;
    const seen = new Set<string>();
    for (const w of words) {
      if (isStopword(w) || seen.has(w)) continue;
      seen.add(w);
      const id = this.vocab.get(w);
      if (id === undefined) unknownTerms++;
      else ids.push(id);
    }
    const bigrams: number[] = [];
    for (let i = 0; i + 1 < words.length; i++) {
      const a = this.vocab.get(words[i]!);
      const b = this.vocab.get(words[i + 1]!);
      if (a !== undefined && b !== undefined && !(isStopword(words[i]!) && isStopword(words[i + 1]!))) bigrams.push(bigramKey(a, b));
    }
    const terms = ids.map((id) => ({ id, idf: this.idf(id) }));
    return { terms, unknownTerms, bigrams, idfMass: terms.reduce((s, t) => s + t.idf, 0) };
  }

  /**
   * The most query-term IDF mass that any window of `width` consecutive body tokens holds, over the query's
   * IDF mass: a question is usually answered by one sentence, so its terms cluster; scattered matches across a
   * long chunk score lower here than in whole-chunk coverage.
   */
  bestWindowCoverage(c: ChunkTerms, q: AnalyzedQuery, width: number): number {
    if (q.terms.length === 0 || q.idfMass <= 0) return 0;
    // Term id → slot in q.terms (+1; 0 = not a query term): a vocabulary-sized array set for this call only,
    // because this runs for every candidate of every list and a Map lookup per token was its whole cost.
    if (this.slots.length < this.vocab.size) this.slots = new Int32Array(this.vocab.size);
    const slots = this.slots;
    q.terms.forEach((t, i) => (slots[t.id] = i + 1));
    const counts = new Int32Array(q.terms.length);
    const seq = c.sequence;
    let mass = 0;
    let best = 0;
    for (let i = 0; i < seq.length; i++) {
      const enter = slots[seq[i]!]! - 1;
      if (enter >= 0 && counts[enter]!++ === 0) mass += q.terms[enter]!.idf;
      if (i >= width) {
        const leave = slots[seq[i - width]!]! - 1;
        if (leave >= 0 && --counts[leave]! === 0) mass -= q.terms[leave]!.idf;
      }
      if (mass > best) best = mass;
    }
    for (const t of q.terms) slots[t.id] = 0;
    return Math.min(1, best / q.idfMass);
  }

  private slots = new Int32Array(0);

  /**
   * Per-field BM25 and term coverage of one chunk in a single pass over the query terms (each term's counts are
   * looked up once per field): what the features need, computed for every candidate of every ask.
   */
  lexicalMatch(c: ChunkTerms, q: AnalyzedQuery): { heading: number; body: number; matched: number; matchedIdf: number; inHeading: number } {
    const headingNorm = K1 * (1 - B + (B * c.heading.length) / this.avgHeading);
    const bodyNorm = K1 * (1 - B + (B * c.body.length) / this.avgBody);
    let heading = 0;
    let body = 0;
    let matched = 0;
    let matchedIdf = 0;
    let inHeading = 0;
    for (const t of q.terms) {
      const h = countOf(c.heading, t.id);
      const b = countOf(c.body, t.id);
      if (h > 0) {
        heading += (t.idf * h * (K1 + 1)) / (h + headingNorm);
        inHeading++;
      }
      if (b > 0) body += (t.idf * b * (K1 + 1)) / (b + bodyNorm);
      if (h > 0 || b > 0) {
        matched++;
        matchedIdf += t.idf;
      }
    }
    return { heading, body, matched, matchedIdf, inHeading };
  }

  /** Fraction of query bigrams that occur in the chunk body. */
  bigramMatch(c: ChunkTerms, q: AnalyzedQuery): number {
    if (q.bigrams.length === 0) return 0;
    let hit = 0;
    for (const k of q.bigrams) if (hasKey(c.bigrams, k)) hit++;
    return hit / q.bigrams.length;
  }
}

/**
 * Keeps the statistics current with the store's chunk generation (any process's ingest). A small corpus is
 * rebuilt in the request that finds them stale (about a second at 10k chunks); a large one (over
 * `syncBuildMaxChunks`) keeps serving the statistics it has while new ones are built between requests (26 s at 360k
 * chunks must not stall a service), so chunks added meanwhile rank on their retrievers' scores until the build lands.
 */
export class TermStatsCache {
  private current: TermStats | null = null;
  private readonly rebuild = new BackgroundBuild<TermStats>();

  constructor(
    private readonly store: Store,
    private readonly syncBuildMaxChunks = SYNC_BUILD_MAX_CHUNKS,
  ) {}

  /** Statistics for serving: current, or (large corpus, rebuild under way) the previous generation's. */
  get(): TermStats {
    const gen = generations(this.store).chunks;
    if (this.current && this.current.generation === gen) return this.current;
    if (!this.current || (!this.rebuild.busy && this.store.chunkCount() <= this.syncBuildMaxChunks)) return this.fresh();
    this.rebuild.start(
      () => buildFromChunksInSlices(this.store, TermStats.builder),
      (stats) => (this.current = stats),
    );
    return this.current;
  }

  /** Statistics of the store as it is now, built here if need be (training, scopes, warming). */
  fresh(): TermStats {
    const gen = generations(this.store).chunks;
    if (!this.current || this.current.generation !== gen) this.current = TermStats.build(this.store);
    return this.current;
  }

  /** Resolves when no background build is running. */
  settled(): Promise<void> {
    return this.rebuild.settled();
  }
}
