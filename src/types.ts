// Shared types: the one place the pipeline's stages agree on data shapes.
// Data flows ingest → store → embed/index → rank → answer → feedback → train; each stage imports from here,
// never from a stage downstream of itself.

/** What a loader makes of one file (or one line of a BEIR corpus): text plus where it came from. */
export interface LoadedDocument {
  /** Stable identity inside the store: the file's absolute path, or `<path>#<_id>` for a BEIR line. */
  uri: string;
  /** Caller-facing id: the BEIR `_id` where there is one, else the uri. Eval matches qrels on it. */
  externalId: string | null;
  title: string;
  /** The text that chunk spans index into. */
  text: string;
  kind: DocumentKind;
  /** Programming language for code files (by extension), else null. */
  language: string | null;
  metadata: Record<string, unknown>;
  /** Structural blocks of `text` found by the loader, in order; the chunker packs them. */
  blocks: Block[];
  /** For paged formats (PDF): where each page starts in `text`, page 1 first. Chunks then record their pages. */
  pageStarts?: number[];
}

/** The pages a passage spans in a paged document, 1-based and inclusive. */
export interface PageSpan {
  first: number;
  last: number;
}

export type DocumentKind = 'markdown' | 'text' | 'code' | 'html' | 'pdf' | 'docx' | 'epub' | 'notebook' | 'table' | 'email' | 'beir';

/** A structural unit of a document (paragraph, list, code block, definition…) with its heading path. */
export interface Block {
  /** Character span in LoadedDocument.text, end exclusive. */
  start: number;
  end: number;
  /** Headings above this block, outermost first. */
  headingPath: string[];
  /** A block type that must not be split mid-way when avoidable (e.g. a code fence or a function). */
  type: 'heading' | 'paragraph' | 'code' | 'list' | 'table' | 'definition' | 'other';
}

/** A chunk ready to store: text and span within its document. */
export interface ChunkDraft {
  ordinal: number;
  text: string;
  headingPath: string[];
  tokenCount: number;
  charStart: number;
  charEnd: number;
  /** Pages of a paged document (PDF) the chunk's text lies on; absent for other documents. */
  pages?: PageSpan;
}

/** A stored chunk with its document's identity, as rank and answer read it. */
export interface ChunkRecord extends ChunkDraft {
  chunkId: number;
  documentId: number;
  docId: string;
  source: string;
  title: string;
}

/** One retrieval hit: a chunk and the evidence each retriever gave for it. */
export interface Candidate {
  chunkId: number;
  /** Scores by retriever name (higher is better), e.g. { bm25: 12.3 }. */
  scores: Record<string, number>;
  /** 1-based rank by retriever name. */
  ranks: Record<string, number>;
}

export interface ScoredCandidate extends Candidate {
  chunk: ChunkRecord;
  /** The ranker's final score; higher is better. Comparable within one query only unless `calibrated`. */
  score: number;
  /** The feature row the learned ranker scored (absent for rankers that use no features). */
  features?: Float32Array;
}

/** A chunk as the LLM reads it: numbered [n] in reading order. */
export interface ContextItem {
  n: number;
  chunkId: number;
  /** Chunk ids merged into this item (adjacent chunks of one document), first is `chunkId`. */
  chunkIds: number[];
  docId: string;
  source: string;
  title: string;
  headingPath: string[];
  /** Pages of a paged document (PDF) the item's text lies on. */
  pages?: PageSpan;
  text: string;
  score: number;
  tokenCount: number;
  /** Shown as exploration (a lower-ranked candidate the model is learning about), not on merit. */
  explored?: boolean;
}

export interface Citation {
  n: number;
  chunkId: number;
  docId: string;
}

export interface AskTimings {
  retrieveMs: number;
  rankMs: number;
  selectMs: number;
  answerMs: number;
  totalMs: number;
}

export interface AskResult {
  question: string;
  answer: string;
  context: ContextItem[];
  citations: Citation[];
  traceId: string;
  /** Which answerer produced the answer: 'llm' or 'extractive'. */
  answeredBy: 'llm' | 'extractive';
  /** Versions of the models that served this ask. */
  models: Record<string, string>;
  timings: AskTimings;
}

export interface SearchHit {
  rank: number;
  chunkId: number;
  docId: string;
  source: string;
  title: string;
  headingPath: string[];
  /** Pages of a paged document (PDF) the chunk lies on. */
  pages?: PageSpan;
  text: string;
  /** The stretch of `text` that holds the most query words, with those words' offsets: why the chunk matched. */
  snippet: { text: string; highlights: Array<[number, number]> };
  score: number;
}

/** One document in a ranked document list (chunks aggregated by their best score). */
export interface DocumentHit {
  docId: string;
  score: number;
  bestChunkId: number;
}

/** The query as every ranking stage sees it. */
export interface Query {
  text: string;
  /** Normalised terms (lower-cased, Unicode word characters), in order, duplicates kept. */
  terms: string[];
  /** The query's embedding by the active embedder, computed once per request before retrieval. */
  embedding?: Float32Array;
  /** History events of this key are ignored (leave-one-out when training on a data set's own queries). */
  historyExclude?: string;
  /** When set, retrieval considers only these chunks (a scope resolved once per request; see Scope). */
  allowedChunks?: ReadonlySet<number>;
}

/**
 * The part of the corpus a question is about. `sources`: ingested files, or folders holding them (a prefix of
 * the stored path, compared whole segment by segment); `docIds`: document ids (a BEIR corpus's `_id`s). Given
 * both, a chunk must match both.
 */
export interface Scope {
  sources?: string[];
  docIds?: string[];
}

/** Turns text into unit vectors. The ONNX Conv1d embedder implements it; the index is tied to `version`. */
export interface Embedder {
  readonly version: string;
  readonly dim: number;
  embed(texts: readonly string[], kind: 'query' | 'passage'): Promise<Float32Array[]>;
}

// ---- seams: small interfaces each later issue plugs into ----

/** Produces candidates for a query. BM25 now; HNSW and history later. Synchronous: anything slow (the query
 * embedding) is computed once before retrieval and carried on the Query. */
export interface Retriever {
  readonly name: string;
  retrieve(query: Query, k: number): Candidate[];
}

/** Orders candidates. Fused scores now; the learned relevance model later (async: it runs an ONNX session). */
export interface Ranker {
  readonly name: string;
  readonly version: string;
  /** True when scores are calibrated probabilities (P(referenced)), comparable across candidates and queries. */
  readonly calibrated: boolean;
  rank(query: Query, candidates: Candidate[], chunks: Map<number, ChunkRecord>): Promise<ScoredCandidate[]>;
}

/** Packs ranked chunks into a token budget and numbers them in reading order. */
export interface Selector {
  select(query: Query, ranked: readonly ScoredCandidate[], budgetTokens: number, opts?: { calibrated?: boolean }): ContextItem[];
}

export interface AnswerRequest {
  question: string;
  context: ContextItem[];
  /** Earlier turns of a conversation, sent before the question (an LLM answerer uses them; extractive ignores them). */
  history?: ConversationTurn[];
  signal?: AbortSignal;
  /** Called with each piece of visible answer text as it arrives (thinking stripped). */
  onToken?: (text: string) => void;
}

export interface AnswerOutput {
  /** The visible answer, thinking removed. */
  text: string;
  /** Reasoning the model emitted (kept for the trace, never shown or attributed). */
  reasoning: string;
  model: string;
}

/** One earlier message of a chat conversation. */
export interface ConversationTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Writes the answer: an LLM, or the extractive fallback. */
export interface Answerer {
  readonly kind: 'llm' | 'extractive';
  answer(req: AnswerRequest): Promise<AnswerOutput>;
}
