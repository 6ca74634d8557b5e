// Training pairs for the embedder and the batches built from them.
//
// Sources: (a) inverse cloze on the store's chunks — a sentence against the rest of its chunk (with the chunk's
// heading), and a document's title against its first chunk's body; (b) supervised (query, relevant document)
// pairs from a BEIR split. Everything is tokenized once into indices of a WordVocab (distinct words of the
// training texts with their hashed bags), so an inverse-cloze pair is cut from a chunk's sentences without
// re-tokenizing, and a batch only has to gather its distinct words.
//
// Held out: 5% of documents (their inverse-cloze pairs, with one fixed sentence each) and 5% of the supervised
// queries never enter a training batch; evaluation ranks the held-out queries against the held-out passages.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { SieveError } from '../../errors.js';
import { splitSentences } from '../../ingest/sentences.js';
import { meanBagInto, splitWords, wordBag, type TokenizerConfig } from '../../embed/tokenizer.js';
import type { Store } from '../../store/store.js';
import { SeededRandom } from '../../util/random.js';
import { readBeirDataset } from '../beir.js';

/** Distinct words seen in training texts, each with its bag of table rows. Index = position in `words`. */
export class WordVocab {
  readonly words: string[] = [];
  readonly bags: Int32Array[] = [];
  private readonly index = new Map<string, number>();
  constructor(readonly cfg: TokenizerConfig) {}

  idOf(word: string): number {
    let id = this.index.get(word);
    if (id === undefined) {
      id = this.words.length;
      this.index.set(word, id);
      this.words.push(word);
      this.bags.push(wordBag(word, this.cfg));
    }
    return id;
  }

  /** A text's word ids (at most `limit`). */
  encode(text: string, limit = Infinity): Int32Array {
    return Int32Array.from(splitWords(text, limit), (w) => this.idOf(w));
  }

  get size(): number {
    return this.words.length;
  }
}

/** One (query, passage) training example as word-id sequences. `group` keeps duplicates out of one batch. */
export interface WordPair {
  query: Int32Array;
  passage: Int32Array;
  source: 'ict' | 'title' | 'supervised' | 'trace';
  group: string;
  /** Hard negatives: lexically close passages judged not relevant (mined with BM25), each with its group. */
  negatives?: Array<{ passage: Int32Array; group: string }>;
  /** The BEIR query id of a supervised pair (LexicalScores knows its BM25 list by it). */
  queryId?: string;
}

/** A chunk cut into sentences of word ids, for inverse cloze. */
export interface ClozeChunk {
  chunkId: number;
  documentId: number;
  heading: Int32Array;
  sentences: Int32Array[];
}

export interface TitleBody {
  documentId: number;
  title: Int32Array;
  body: Int32Array;
}

export interface StoreCorpus {
  chunks: ClozeChunk[];
  titles: TitleBody[];
}

const chunkRowSchema = z.object({
  id: z.number().int(),
  document_id: z.number().int(),
  ordinal: z.number().int(),
  heading: z.string(),
  text: z.string(),
  title: z.string(),
});

/** Sentences shorter than this many words make poor cloze queries ("Results.", figure labels). */
const MIN_CLOZE_SENTENCE_WORDS = 4;

/**
 * Reads up to `maxChunks` chunks (a seeded sample when the store holds more) and cuts them into sentences of
 * word ids. Chunks with two or more usable sentences serve inverse cloze; a document's first chunk, with a
 * title, also gives a title→body pair.
 */
export function readStoreCorpus(store: Store, vocab: WordVocab, opts: { maxChunks: number; maxPassageWords: number; seed: number }): StoreCorpus {
  const total = (store.db.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n;
  const keepProbability = total > opts.maxChunks ? opts.maxChunks / total : 1;
  const rng = new SeededRandom(opts.seed ^ 0x5eed);
  const rows = store.db.prepare(
    `SELECT c.id, c.document_id, c.ordinal, c.heading, c.text, d.title FROM chunks c JOIN documents d ON d.id = c.document_id ORDER BY c.id`,
  );
  const chunks: ClozeChunk[] = [];
  const titles: TitleBody[] = [];
  for (const raw of rows.iterate()) {
    if (keepProbability < 1 && rng.nextFloat() >= keepProbability) continue;
    const row = chunkRowSchema.parse(raw);
    const sentences = splitSentences(row.text)
      .map((s) => vocab.encode(row.text.slice(s.start, s.end), opts.maxPassageWords))
      .filter((s) => s.length > 0);
    const heading = vocab.encode(row.heading, 32);
    if (sentences.filter((s) => s.length >= MIN_CLOZE_SENTENCE_WORDS).length >= 2) {
      chunks.push({ chunkId: row.id, documentId: row.document_id, heading, sentences });
    }
    if (row.ordinal === 0 && row.title.trim().length > 0) {
      const title = vocab.encode(row.title, 64);
      const body = concatWords(sentences, opts.maxPassageWords);
      if (title.length >= 2 && body.length >= MIN_CLOZE_SENTENCE_WORDS) titles.push({ documentId: row.document_id, title, body });
    }
  }
  return { chunks, titles };
}

export function concatWords(parts: readonly Int32Array[], limit: number): Int32Array {
  const total = Math.min(limit, parts.reduce((a, p) => a + p.length, 0));
  const out = new Int32Array(total);
  let at = 0;
  for (const p of parts) {
    if (at >= total) break;
    const take = Math.min(p.length, total - at);
    out.set(p.subarray(0, take), at);
    at += take;
  }
  return out;
}

/**
 * An inverse-cloze pair from a chunk: a random usable sentence as the query; as the passage the heading and the
 * other sentences — the query sentence stays in with probability `keepProbability` (so the model also learns
 * that a passage containing the words is a match, as in Lee et al. 2019).
 */
export function clozePair(chunk: ClozeChunk, rng: SeededRandom, opts: { maxQueryWords: number; maxPassageWords: number; keepProbability: number }): WordPair {
  const usable = chunk.sentences.map((s, i) => (s.length >= MIN_CLOZE_SENTENCE_WORDS ? i : -1)).filter((i) => i >= 0);
  const pick = usable[rng.nextInt(usable.length)]!;
  const keep = rng.nextFloat() < opts.keepProbability;
  const rest = chunk.sentences.filter((_, i) => keep || i !== pick);
  return {
    query: chunk.sentences[pick]!.subarray(0, opts.maxQueryWords),
    passage: concatWords([chunk.heading, ...rest], opts.maxPassageWords),
    source: 'ict',
    group: `d${chunk.documentId}`,
  };
}

const corpusLineSchema = z.object({
  _id: z.union([z.string().min(1), z.number()]).transform(String),
  title: z.string().nullish(),
  text: z.string(),
});

/** Words of a corpus document kept for BM25 mining (passages use their first maxPassageWords). */
const MINING_WORDS = 512;

/**
 * Supervised pairs (query, title + text of each document judged relevant > 0) of a BEIR split. With
 * `hardNegatives` > 0, each pair also carries up to that many of the query's top BM25 documents that are not
 * judged relevant (mined over the whole corpus, up to `maxCorpusDocuments` of it): in-batch negatives are mostly
 * easy, and the documents a lexical ranker confuses with the answer are the ones a dense model must learn to tell
 * apart — which is also what makes it add to BM25 in a hybrid.
 */
export async function readSupervisedPairs(
  dir: string,
  split: string,
  vocab: WordVocab,
  opts: SupervisedOptions,
): Promise<Array<WordPair & { queryId: string }>> {
  return (await readSupervisedData(dir, split, vocab, opts)).pairs;
}

export interface SupervisedOptions {
  maxQueryWords: number;
  maxPassageWords: number;
  hardNegatives?: number;
  maxCorpusDocuments?: number;
  /** Also return every query's BM25 evidence (LexicalScores), for training against the served fusion. */
  lexicalScores?: boolean;
}

/** readSupervisedPairs, and with `lexicalScores` the BM25 evidence of each query over the same corpus. */
export async function readSupervisedData(
  dir: string,
  split: string,
  vocab: WordVocab,
  opts: SupervisedOptions,
): Promise<{ pairs: Array<WordPair & { queryId: string }>; lexical: LexicalScores | null }> {
  const dataset = await readBeirDataset(dir, split);
  const hardNegatives = opts.hardNegatives ?? 0;
  const mining = hardNegatives > 0 || opts.lexicalScores === true;
  const maxCorpus = opts.maxCorpusDocuments ?? 200_000;
  const wanted = new Set<string>();
  for (const judged of dataset.qrels.values()) for (const [docId, rel] of judged) if (rel > 0) wanted.add(docId);
  const docIds: string[] = [];
  const docWords: Int32Array[] = [];
  const docIndex = new Map<string, number>();
  const lines = createInterface({ input: createReadStream(dataset.corpusPath, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new SieveError('DATASET_INVALID', `${dataset.corpusPath}:${lineNumber}: not valid JSON`, { file: dataset.corpusPath, line: lineNumber });
    }
    const parsed = corpusLineSchema.safeParse(json);
    if (!parsed.success) throw new SieveError('DATASET_INVALID', `${dataset.corpusPath}:${lineNumber}: expected {"_id", "title"?, "text"}`, { file: dataset.corpusPath, line: lineNumber });
    const keep = wanted.has(parsed.data._id) || (mining && docIds.length < maxCorpus);
    if (!keep || docIndex.has(parsed.data._id)) continue;
    docIndex.set(parsed.data._id, docIds.length);
    docIds.push(parsed.data._id);
    docWords.push(vocab.encode(`${parsed.data.title ?? ''}\n${parsed.data.text}`, mining ? MINING_WORDS : opts.maxPassageWords));
  }
  const passageOf = (i: number): Int32Array => docWords[i]!.subarray(0, opts.maxPassageWords);
  const bm25 = mining ? new Bm25Index(docWords) : null;
  const lexical = bm25 && opts.lexicalScores ? new LexicalScores(bm25, docIndex) : null;
  const pairs: Array<WordPair & { queryId: string }> = [];
  for (const [queryId, judged] of dataset.qrels) {
    const query = dataset.queries.get(queryId);
    if (!query) continue;
    const words = vocab.encode(query.text, opts.maxQueryWords);
    if (words.length === 0) continue;
    lexical?.addQuery(queryId, words);
    let negatives: WordPair['negatives'];
    if (bm25 && hardNegatives > 0) {
      negatives = bm25
        .search(words, hardNegatives + judged.size)
        .filter((i) => !((judged.get(docIds[i]!) ?? 0) > 0))
        .slice(0, hardNegatives)
        .map((i) => ({ passage: passageOf(i), group: `doc:${docIds[i]!}` }));
    }
    for (const [docId, rel] of judged) {
      const index = docIndex.get(docId);
      if (rel <= 0 || index === undefined || docWords[index]!.length === 0) continue;
      pairs.push({ query: words, passage: passageOf(index), source: 'supervised', group: `doc:${docId}`, queryId, ...(negatives ? { negatives } : {}) });
    }
  }
  return { pairs, lexical };
}

/** Okapi BM25 (k1 = 0.9, b = 0.4, Anserini's defaults) over word-id documents, for hard-negative mining. */
export class Bm25Index {
  private static readonly k1 = 0.9;
  private static readonly b = 0.4;
  /** Per word: [document, term frequency] in document order (so one document's entry is found by bisection). */
  private readonly postings = new Map<number, Array<[number, number]>>();
  private readonly lengths: Float64Array;
  private readonly averageLength: number;
  constructor(docs: readonly Int32Array[]) {
    this.lengths = Float64Array.from(docs, (d) => d.length);
    this.averageLength = docs.length > 0 ? this.lengths.reduce((a, b) => a + b, 0) / docs.length : 1;
    docs.forEach((doc, d) => {
      const tf = new Map<number, number>();
      for (const w of doc) tf.set(w, (tf.get(w) ?? 0) + 1);
      for (const [w, n] of tf) {
        let list = this.postings.get(w);
        if (!list) this.postings.set(w, (list = []));
        list.push([d, n]);
      }
    });
  }

  private idf(documentFrequency: number): number {
    const n = this.lengths.length;
    return Math.log(1 + (n - documentFrequency + 0.5) / (documentFrequency + 0.5));
  }

  private termScore(idf: number, tf: number, d: number): number {
    const { k1, b } = Bm25Index;
    return (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * this.lengths[d]!) / this.averageLength));
  }

  /** The top `k` documents for a query with their scores, best first (ties by index). */
  searchScored(query: Int32Array, k: number): Array<{ doc: number; score: number }> {
    const scores = new Map<number, number>();
    for (const w of new Set(query)) {
      const list = this.postings.get(w);
      if (!list) continue;
      const idf = this.idf(list.length);
      for (const [d, tf] of list) scores.set(d, (scores.get(d) ?? 0) + this.termScore(idf, tf, d));
    }
    return [...scores.entries()]
      .sort((x, y) => y[1] - x[1] || x[0] - y[0])
      .slice(0, k)
      .map(([doc, score]) => ({ doc, score }));
  }

  /** Indices of the top `k` documents for a query, best first (ties by index). */
  search(query: Int32Array, k: number): number[] {
    return this.searchScored(query, k).map((h) => h.doc);
  }

  /** One document's score for a query (the same sum searchScored makes), by bisecting each term's postings. */
  score(query: Int32Array, d: number): number {
    return this.scoreDistinct(Int32Array.from(new Set(query)), d);
  }

  /** score() for a query already reduced to its distinct words (a caller scoring it against many documents does that once). */
  scoreDistinct(words: Int32Array, d: number): number {
    let s = 0;
    for (const w of words) {
      const list = this.postings.get(w);
      if (!list) continue;
      let lo = 0;
      let hi = list.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const at = list[mid]![0];
        if (at === d) {
          s += this.termScore(this.idf(list.length), list[mid]![1], d);
          break;
        }
        if (at < d) lo = mid + 1;
        else hi = mid - 1;
      }
    }
    return s;
  }
}

/**
 * Depth of the BM25 list a query's scores are scaled over: the served retrieval depth (config retrieval.bm25K's
 * default), so a training score means what the served fusion's min-max BM25 means.
 */
export const LEXICAL_SCORE_DEPTH = 200;

/**
 * The lexical half of the served fusion (rank/fusion.ts), for training a dense model that adds to it: each
 * supervised query's BM25 score of any corpus document, min-max scaled over the query's top LEXICAL_SCORE_DEPTH
 * documents (1 = BM25's best, 0 = the last one in the list or anything below it, as for a candidate BM25 did not
 * return).
 */
export class LexicalScores {
  /** Per query: its distinct words and the range of its top-`depth` BM25 scores. */
  private readonly queries = new Map<string, { words: Int32Array; min: number; max: number }>();
  constructor(
    private readonly index: Bm25Index,
    private readonly docIndex: ReadonlyMap<string, number>,
    private readonly depth = LEXICAL_SCORE_DEPTH,
  ) {}

  addQuery(queryId: string, words: Int32Array): void {
    const top = this.index.searchScored(words, this.depth);
    if (top.length === 0) return; // no word in the corpus: every document scales to 0
    this.queries.set(queryId, { words: Int32Array.from(new Set(words)), max: top[0]!.score, min: top[top.length - 1]!.score });
  }

  /** The scaled score of a document (a `doc:<id>` group, as pairs and negatives name theirs) for a query; 0 if either is unknown. */
  scaled(queryId: string | undefined, group: string): number {
    const q = queryId === undefined ? undefined : this.queries.get(queryId);
    const d = group.startsWith('doc:') ? this.docIndex.get(group.slice(4)) : undefined;
    if (!q || d === undefined) return 0;
    const s = this.index.scoreDistinct(q.words, d);
    if (s <= 0 || s < q.min) return 0;
    return q.max > q.min ? Math.min(1, (s - q.min) / (q.max - q.min)) : 1;
  }

  /** [queries × passages] row-major scaled scores of a batch, or null when no query of it is known. */
  matrix(queryIds: ReadonlyArray<string | undefined>, groups: readonly string[]): Float32Array | null {
    if (!queryIds.some((id) => id !== undefined && this.queries.has(id))) return null;
    const out = new Float32Array(queryIds.length * groups.length);
    queryIds.forEach((id, i) => groups.forEach((g, j) => (out[i * groups.length + j] = this.scaled(id, g))));
    return out;
  }
}

/** Splits keys into (train, held-out) deterministically for a seed; at least one held out when there are ≥ 2 keys. */
export function splitKeys<T>(keys: readonly T[], fraction: number, seed: number): { train: Set<T>; heldOut: Set<T> } {
  const shuffled = new SeededRandom(seed).shuffle([...keys]);
  const count = keys.length >= 2 ? Math.max(1, Math.round(keys.length * fraction)) : 0;
  return { heldOut: new Set(shuffled.slice(0, count)), train: new Set(shuffled.slice(count)) };
}

// ---- batches ----

/** A batch as the mlx step consumes it: distinct words, and positions into them (padding → the last, zero row). */
export interface BatchLayout {
  /** Vocab ids of the batch's distinct words; row words.length of the word-vector matrix is the zero padding row. */
  words: Int32Array;
  /** Passage rows beyond `size` are hard negatives. */
  queries: { positions: Int32Array; mask: Float32Array; length: number };
  passages: { positions: Int32Array; mask: Float32Array; length: number };
  size: number;
  passageCount: number;
}

function layoutSide(seqs: readonly Int32Array[], local: Map<number, number>, words: number[]): { positions: Int32Array; mask: Float32Array; length: number } {
  // Lengths padded to a multiple of 8: fewer distinct shapes for the allocator, at most 7 wasted positions.
  const longest = Math.max(1, ...seqs.map((s) => s.length));
  const length = Math.ceil(longest / 8) * 8;
  const positions = new Int32Array(seqs.length * length);
  const mask = new Float32Array(seqs.length * length);
  seqs.forEach((seq, b) => {
    for (let l = 0; l < seq.length; l++) {
      const w = seq[l]!;
      let slot = local.get(w);
      if (slot === undefined) {
        slot = words.length;
        local.set(w, slot);
        words.push(w);
      }
      positions[b * length + l] = slot;
      mask[b * length + l] = 1;
    }
  });
  return { positions, mask, length };
}

/** Lays out a batch; `extraPassages` (hard negatives) follow the pairs' passages, with no query of their own. */
export function layoutBatch(pairs: readonly WordPair[], extraPassages: readonly Int32Array[] = []): BatchLayout {
  const local = new Map<number, number>();
  const words: number[] = [];
  const queries = layoutSide(
    pairs.map((p) => p.query),
    local,
    words,
  );
  const passages = layoutSide(
    [...pairs.map((p) => p.passage), ...extraPassages],
    local,
    words,
  );
  // Padding positions were written as 0; point them at the zero row (index words.length).
  const pad = words.length;
  for (const side of [queries, passages]) for (let i = 0; i < side.mask.length; i++) if (side.mask[i] === 0) side.positions[i] = pad;
  return { words: Int32Array.from(words), queries, passages, size: pairs.length, passageCount: pairs.length + extraPassages.length };
}

/** Word vectors [W + 1, E] of a batch's words (mean of each bag's rows), the last row zero. */
export function batchWordVectors(words: Int32Array, vocab: WordVocab, table: Float32Array, dim: number): Float32Array {
  const out = new Float32Array((words.length + 1) * dim);
  for (let w = 0; w < words.length; w++) meanBagInto(table, dim, vocab.bags[words[w]!]!, out, w * dim, 1);
  return out;
}

/**
 * Pushes the gradient of the word vectors back onto table rows: row r gets Σ over the batch's words whose bag
 * holds r (once per occurrence) of grad(word) / |bag|. Returns the distinct rows and their gradients.
 */
export function scatterWordGradients(words: Int32Array, vocab: WordVocab, wordGrad: Float32Array, dim: number): { rows: Int32Array; grad: Float32Array } {
  const slotOf = new Map<number, number>();
  let rows: number[] = [];
  for (let w = 0; w < words.length; w++) {
    for (const r of vocab.bags[words[w]!]!) {
      if (!slotOf.has(r)) {
        slotOf.set(r, rows.length);
        rows.push(r);
      }
    }
  }
  const grad = new Float32Array(rows.length * dim);
  for (let w = 0; w < words.length; w++) {
    const bag = vocab.bags[words[w]!]!;
    const scale = 1 / bag.length;
    const src = w * dim;
    for (const r of bag) {
      const dst = slotOf.get(r)! * dim;
      for (let c = 0; c < dim; c++) grad[dst + c] = grad[dst + c]! + wordGrad[src + c]! * scale;
    }
  }
  const out = Int32Array.from(rows);
  rows = [];
  return { rows: out, grad };
}

/**
 * Draws `size` pairs with distinct groups (a document never appears twice in one batch, which would make its
 * second copy a false negative). Cycles through a seeded permutation so every pair is seen once per epoch.
 */
export class PairSampler<T extends { group: string }> {
  private order: number[] = [];
  private at = 0;
  constructor(
    private readonly items: readonly T[],
    private readonly rng: SeededRandom,
  ) {}

  get length(): number {
    return this.items.length;
  }

  next(size: number): T[] {
    const out: T[] = [];
    const groups = new Set<string>();
    let misses = 0;
    while (out.length < size && misses < this.items.length * 2) {
      if (this.at >= this.order.length) {
        this.order = this.rng.shuffle(Array.from({ length: this.items.length }, (_, i) => i));
        this.at = 0;
      }
      const item = this.items[this.order[this.at++]!]!;
      if (groups.has(item.group)) {
        misses++;
        continue;
      }
      groups.add(item.group);
      out.push(item);
    }
    return out;
  }
}

/**
 * One hard negative per pair (drawn from its list) whose document is not in the batch already — a negative that
 * is another pair's positive would be a false negative.
 */
export function pickHardNegatives(pairs: readonly WordPair[], rng: SeededRandom): Array<{ passage: Int32Array; group: string }> {
  const used = new Set(pairs.map((p) => p.group));
  const out: Array<{ passage: Int32Array; group: string }> = [];
  for (const p of pairs) {
    const options = (p.negatives ?? []).filter((n) => !used.has(n.group));
    if (options.length === 0) continue;
    const pick = options[rng.nextInt(options.length)]!;
    used.add(pick.group);
    out.push(pick);
  }
  return out;
}
