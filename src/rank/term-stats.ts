// In-memory term statistics over every chunk: what the relevance features read (per-field BM25, query-term
// coverage, matched IDF mass, bigram matches). Built once from the store and rebuilt when its chunk
// generation moves, so features cost microseconds per candidate instead of re-tokenising text per request.
import { chunkTextPages, generations, type ChunkText } from '../store/history.js';
import type { Store } from '../store/store.js';
import { LUCENE_ENGLISH_STOPWORDS } from './stopwords.js';

const WORD = /[\p{L}\p{M}\p{N}]+/gu;

/** A light English suffix stripper: enough to match plural/verb forms without a stemmer dependency. */
export function lightStem(word: string): string {
  if (word.length <= 4) return word;
  for (const suffix of ['ingly', 'edly', 'ing', 'ies', 'ied', 'ed', 'es', 'ly', 's']) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3) return word.slice(0, -suffix.length);
  }
  return word;
}

/** Lower-cased, NFKC, stemmed word tokens, stopwords kept (bigrams need them; callers filter). */
export function analyze(text: string): string[] {
  return (text.normalize('NFKC').toLowerCase().match(WORD) ?? []).map(lightStem);
}

export function isStopword(term: string): boolean {
  return LUCENE_ENGLISH_STOPWORDS.has(term);
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

export class TermStats {
  readonly generation: number;
  private readonly vocab = new Map<string, number>();
  private df: Int32Array = new Int32Array(0);
  private readonly chunks = new Map<number, ChunkTerms>();
  private readonly docChunks = new Map<string, number[]>();
  private avgHeading = 1;
  private avgBody = 1;

  private constructor(generation: number) {
    this.generation = generation;
  }

  static build(store: Store): TermStats {
    const stats = new TermStats(generations(store).chunks);
    const df: number[] = [];
    let headingTotal = 0;
    let bodyTotal = 0;
    const stemCache = new Map<string, number>();
    // Scratch space reused across chunks: per-term counts and the chunk that last touched a term.
    let scratch = new Int32Array(1 << 16);
    let lastSeen = new Int32Array(1 << 16).fill(-1);
    const termIdsOf = (text: string): number[] => {
      const words = text.normalize('NFKC').toLowerCase().match(WORD) ?? [];
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
    const fieldOf = (ids: number[]): FieldTerms => {
      const distinct: number[] = [];
      for (const id of ids) if (scratch[id]!++ === 0) distinct.push(id);
      distinct.sort((a, b) => a - b);
      const counts = new Uint16Array(distinct.length);
      distinct.forEach((id, j) => {
        counts[j] = Math.min(65535, scratch[id]!);
        scratch[id] = 0;
      });
      return { ids: Int32Array.from(distinct), counts, length: ids.length };
    };
    let index = 0;
    for (const row of chunkRows(store)) {
      const headingIds = termIdsOf(row.heading);
      const bodyIds = termIdsOf(row.text);
      const keys = new Uint32Array(Math.max(0, bodyIds.length - 1));
      for (let i = 0; i + 1 < bodyIds.length; i++) keys[i] = bigramKey(bodyIds[i]!, bodyIds[i + 1]!);
      keys.sort();
      let unique = 0;
      for (let i = 0; i < keys.length; i++) if (i === 0 || keys[i] !== keys[i - 1]) keys[unique++] = keys[i]!;
      const entry: ChunkTerms = {
        heading: fieldOf(headingIds),
        body: fieldOf(bodyIds),
        bigrams: keys.slice(0, unique),
        sequence: Int32Array.from(bodyIds),
        docId: row.docId,
        ordinal: row.ordinal,
        tokenCount: row.tokenCount,
      };
      // Document frequency counts a chunk once whichever field holds the term.
      for (const field of [entry.heading, entry.body]) {
        for (const id of field.ids) {
          if (lastSeen[id] !== index) {
            lastSeen[id] = index;
            df[id]! += 1;
          }
        }
      }
      index++;
      headingTotal += entry.heading.length;
      bodyTotal += entry.body.length;
      stats.chunks.set(row.id, entry);
      const siblings = stats.docChunks.get(row.docId);
      if (siblings) siblings.push(row.id);
      else stats.docChunks.set(row.docId, [row.id]);
    }
    for (const ids of stats.docChunks.values()) ids.sort((a, b) => stats.chunks.get(a)!.ordinal - stats.chunks.get(b)!.ordinal);
    stats.df = Int32Array.from(df);
    const n = Math.max(1, stats.chunks.size);
    stats.avgHeading = Math.max(1, headingTotal / n);
    stats.avgBody = Math.max(1, bodyTotal / n);
    return stats;
  }

  get size(): number {
    return this.chunks.size;
  }

  chunk(id: number): ChunkTerms | undefined {
    return this.chunks.get(id);
  }

  /** BM25's IDF (Lucene form, never negative). */
  idf(termId: number): number {
    const n = this.chunks.size;
    const df = this.df[termId] ?? 0;
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  }

  /** IDF of a term by its text; a term the corpus never saw weighs as the rarest. */
  idfOfTerm(term: string): number {
    const id = this.vocab.get(term);
    return id === undefined ? Math.log(1 + (this.chunks.size + 0.5) / 0.5) : this.idf(id);
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

/** Keeps a TermStats current: rebuilt when the store's chunk generation moves (any process's ingest). */
export class TermStatsCache {
  private current: TermStats | null = null;

  constructor(private readonly store: Store) {}

  get(): TermStats {
    const gen = generations(this.store).chunks;
    if (!this.current || this.current.generation !== gen) this.current = TermStats.build(this.store);
    return this.current;
  }
}

/** Every chunk's text, read a page at a time (the corpus's text is never all in memory at once). */
function* chunkRows(store: Store): Generator<ChunkText> {
  for (const page of chunkTextPages(store)) yield* page;
}
