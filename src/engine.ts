// The engine composes the pipeline behind one object: store, retrievers, ranker, selector, answerer, traces.
// Serving state that a new model version replaces (retrievers + ranker) sits behind one reference, so a swap
// is a single assignment and a request in flight keeps the pipeline it started with.
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { databasePath, resolveConfig, type SieveConfig, type SieveConfigInput } from './config.js';
import { isSieveError, SieveError } from './errors.js';
import { citationsFromMarkers } from './feedback/markers.js';
import { attribute } from './feedback/attribution.js';
import { newTraceId, pruneTraces, recordFeedback, recordTrace, type ExplicitFeedback } from './feedback/traces.js';
import { maybeExplore, withoutUnused } from './rank/explore.js';
import { FEATURE_NAMES } from './rank/features.js';
import { SeededRandom } from './util/random.js';
import { ingestPaths, type IngestProgress, type IngestSummary } from './ingest/ingest.js';
import { forgetPaths, type ForgetSummary } from './ingest/forget.js';
import { llmConfigFromEnv, type LlmConfig } from './llm/config.js';
import { ExtractiveAnswerer } from './llm/extractive.js';
import { rankDocuments } from './rank/documents.js';
import { FusionRanker, mergeCandidates } from './rank/fusion.js';
import { Bm25Retriever } from './rank/lexical.js';
import { lexicalTerms, parseQuery } from './rank/query.js';
import { snippet } from './rank/snippet.js';
import { canonicalPath } from './util/paths.js';
import { conversationalQuery } from './rank/conversation.js';
import { BudgetSelector } from './rank/select.js';
import { generations } from './store/history.js';
import { Store, type StoreStats } from './store/store.js';
import { HistoryRetriever } from './rank/history.js';
import { RelevanceRanker } from './rank/relevance.js';
import { RankingResources } from './rank/resources.js';
import type { RunTrainingJobOptions, TrainOutcome } from './train/job.js';
import type { AdaptOptions, AdaptResult } from './train/embedder/adapt.js';
import type { OpenOutcome, VectorIndexer } from './embed/indexer.js';
import type { OnnxEmbedder } from './embed/onnx-embedder.js';
import { DenseRetriever } from './rank/dense.js';
import { activateModel, activeModel, getModel, registerModel } from './train/registry.js';
import { readableText } from './util/readable.js';
import type {
  Embedder,
  Answerer,
  AskResult,
  Candidate,
  ChunkRecord,
  ContextItem,
  ConversationTurn,
  DocumentHit,
  Query,
  Ranker,
  Retriever,
  Scope,
  ScoredCandidate,
  SearchHit,
  Selector,
} from './types.js';

export interface OpenEngineOptions extends Partial<SieveConfigInput> {
  home?: string;
  /** An LLM to answer with; `null` forces extractive answers; omitted reads SIEVE_LLM_* from the environment. */
  llm?: LlmConfig | null;
  /** Replace the answerer entirely (tests, custom providers). */
  answerer?: Answerer;
  selector?: Selector;
}

/** Scopes kept resolved (see Engine.resolveScope). */
const SCOPE_CACHE_SIZE = 16;

/** A scope with its paths resolved against the working directory and its empty lists dropped; undefined if nothing is left. */
export function normalizeScope(scope: Scope | undefined): Scope | undefined {
  const sources = (scope?.sources ?? []).map((source) => canonicalPath(source));
  const docIds = scope?.docIds ?? [];
  if (sources.length === 0 && docIds.length === 0) return undefined;
  return { ...(sources.length > 0 ? { sources } : {}), ...(docIds.length > 0 ? { docIds } : {}) };
}

export interface AskOptions {
  budgetTokens?: number;
  /** Receives visible answer text as it streams. */
  onToken?: (text: string) => void;
  signal?: AbortSignal;
  /** Earlier turns of a chat conversation, passed to the LLM before the question (the OpenAI-compatible facade). */
  history?: ConversationTurn[];
  /** Answer from this part of the corpus only. */
  scope?: Scope;
}

export interface SearchOptions {
  k?: number;
  /** Search this part of the corpus only. */
  scope?: Scope;
}

/** What serves a query: swapped as one unit when a new model version is activated. */
export interface RankingPipeline {
  retrievers: Retriever[];
  ranker: Ranker;
  /** The embedder the dense retriever's index was built with (queries must be embedded by the same one). */
  embedder?: Embedder;
}

/** The serving embedder, its index, and the model folder both were loaded from. */
interface DenseState {
  embedder: OnnxEmbedder;
  indexer: VectorIndexer;
  dir: string;
}

/** Fewer chunks to embed than this are not worth starting worker threads for (each loads the model, ~1 s). */
const POOL_MIN_CHUNKS = 2048;

export interface CandidateSet {
  query: Query;
  candidates: Candidate[];
  chunks: Map<number, ChunkRecord>;
}

interface RankedQuery {
  query: Query;
  ranked: ScoredCandidate[];
  retrieveMs: number;
  rankMs: number;
  pipeline: RankingPipeline;
}

export class Engine {
  readonly config: SieveConfig;
  readonly store: Store;
  private pipeline: RankingPipeline;
  private readonly selector: Selector;
  private readonly answerer: Answerer;

  /** Term statistics and the past-query index, shared by the history retriever and the features. */
  readonly resources: RankingResources;
  private readonly random: SeededRandom;
  private embedding: DenseState | null = null;
  /** Resolved scopes by their resolved paths and ids, each valid for one chunk generation of the store. */
  private readonly scopeCache = new Map<string, { generation: number; allowed: ReadonlySet<number> }>();
  /** Warnings the engine cannot return to a caller (model loading at open); stderr unless replaced. */
  log: (line: string) => void = (line) => process.stderr.write(`sieve: ${line}\n`);

  constructor(config: SieveConfig, store: Store, answerer: Answerer, selector: Selector) {
    this.config = config;
    this.store = store;
    this.answerer = answerer;
    this.selector = selector;
    this.resources = new RankingResources(store);
    this.random = new SeededRandom(config.feedback.seed ?? (Date.now() ^ process.pid));
    this.pipeline = { retrievers: this.retrievers(null), ranker: new FusionRanker() };
  }

  private retrievers(dense: VectorIndexer | null): Retriever[] {
    const { headingWeight, bodyWeight } = this.config.retrieval;
    return [
      new Bm25Retriever(this.store, () => this.resources.bm25Index(), { heading: headingWeight, body: bodyWeight }),
      ...(dense ? [new DenseRetriever(dense)] : []),
      new HistoryRetriever(this.resources),
    ];
  }

  /**
   * The active embedder (registry, else the one shipped in models/embedder), its sessions and its HNSW index,
   * caught up with the store. Reused when the version did not change.
   */
  private async loadEmbedding(): Promise<DenseState | null> {
    if (!this.config.embed.enabled) return null;
    let active = activeModel(this.store, this.config.home, 'embedder');
    if (!active) {
      const shipped = shippedEmbedderDir();
      if (!shipped) return null;
      const { readEmbedderConfig } = await import('./embed/onnx-embedder.js');
      const config = await readEmbedderConfig(shipped);
      const existing = getModel(this.store, this.config.home, config.id);
      active = existing
        ? activateModel(this.store, this.config.home, config.id)
        : registerModel(this.store, this.config.home, { id: config.id, kind: 'embedder', dir: shipped, files: { config: 'embedder.json' }, meta: { shipped: true }, activate: true });
    }
    if (this.embedding && this.embedding.embedder.version === active.id) return this.embedding;
    const { OnnxEmbedder } = await import('./embed/onnx-embedder.js');
    const { VectorIndexer } = await import('./embed/indexer.js');
    const embedder = await OnnxEmbedder.load(active.dir, { cacheDir: join(this.config.home, 'cache', 'coreml') });
    const indexer = await VectorIndexer.open(this.store, this.config.home, embedder, {
      logger: { info: (m: string) => this.log(m), warn: (m: string) => this.log(m) },
    });
    const state = { embedder, indexer, dir: active.dir };
    await this.syncIndex(state);
    return state;
  }

  /**
   * Embeds the chunks the index lacks. Enough of them (a first index of a corpus, a new embedder version) are
   * embedded across cores by an EmbedderPool, started for this sync only; a few go through the serving embedder.
   */
  private async syncIndex(state: DenseState): Promise<void> {
    const workers = this.config.embed.bulkWorkers || os.availableParallelism();
    if (workers < 2 || state.indexer.pending < POOL_MIN_CHUNKS) {
      await state.indexer.sync();
      return;
    }
    const { EmbedderPool } = await import('./embed/pool.js');
    let pool: Awaited<ReturnType<typeof EmbedderPool.open>>;
    try {
      pool = await EmbedderPool.open({ dir: state.dir, cacheDir: join(this.config.home, 'cache', 'coreml'), size: workers });
    } catch (err) {
      // Slower, not broken: embed on this thread and say why.
      this.log(`embedding on one thread: the embedding workers did not start (${err instanceof Error ? err.message : String(err)})`);
      await state.indexer.sync();
      return;
    }
    try {
      await state.indexer.sync({ embedWith: pool, batchSize: 1024 });
    } finally {
      await pool.close();
    }
  }

  /**
   * Loads the active model versions from the registry into a new pipeline and swaps it in. Sessions are created
   * (and, for a relevance model, warmed with one scoring call) before the swap, so no request waits on loading.
   */
  async reloadModels(): Promise<Record<string, string>> {
    const active = activeModel(this.store, this.config.home, 'relevance');
    let ranker: Ranker = new FusionRanker();
    if (active) {
      try {
        const { OnnxRelevanceScorer } = await import('./rank/relevance-scorer.js');
        const scorer = await OnnxRelevanceScorer.load(active.dir, { cacheDir: join(this.config.home, 'cache', 'coreml') });
        ranker = new RelevanceRanker(scorer, this.resources);
        await scorer.score(new Float32Array(scorer.featureNames.length), 1);
      } catch (err) {
        // A model this sieve cannot serve (older feature set, missing files) must not take search down with it:
        // rank by fused scores, say why, and keep the version registered for `sieve models activate`.
        if (!isSieveError(err)) throw err;
        this.log(`relevance model ${active.id} not served (${err.message}); ranking by fused retriever scores`);
        ranker = new FusionRanker();
      }
    }
    const previous = this.embedding;
    this.embedding = await this.loadEmbedding();
    this.swapPipeline({
      retrievers: this.retrievers(this.embedding?.indexer ?? null),
      ranker,
      ...(this.embedding ? { embedder: this.embedding.embedder } : {}),
    });
    if (previous && previous !== this.embedding) previous.indexer.close();
    return { ranker: ranker.version, ...(this.embedding ? { embedder: this.embedding.embedder.version } : {}) };
  }

  /**
   * Serves only the named retrievers from now on (evaluation of one retriever's list, e.g. dense only); the ranker
   * and the embedder stay. A name that is not serving (dense without an embedder) is a CONFIG_INVALID error.
   */
  useRetrievers(names: readonly string[]): void {
    const current = this.pipeline;
    const serving = current.retrievers.map((r) => r.name);
    const missing = names.filter((n) => !serving.includes(n));
    if (missing.length > 0) {
      throw new SieveError('CONFIG_INVALID', `retriever ${missing.join(', ')} is not serving (serving: ${serving.join(', ')})${missing.includes('dense') ? '; dense retrieval needs embed.enabled and an embedder' : ''}`);
    }
    this.swapPipeline({ ...current, retrievers: current.retrievers.filter((r) => names.includes(r.name)) });
  }

  /**
   * The serving dense index: its embedder version, the execution provider and precision it runs at, searchable
   * points against the store's chunks, and what opening it did; null when dense is off.
   */
  denseIndex(): { embedder: string; provider: string; precision: string; points: number; chunks: number; opened: OpenOutcome } | null {
    if (!this.embedding) return null;
    const { embedder, indexer } = this.embedding;
    return { embedder: embedder.version, provider: embedder.provider, precision: embedder.precision, points: indexer.count, chunks: this.store.stats().chunks, opened: indexer.opened };
  }

  get answererKind(): Answerer['kind'] {
    return this.answerer.kind;
  }

  /** Replaces the serving pipeline atomically; requests already running finish on the old one. */
  swapPipeline(next: RankingPipeline): RankingPipeline {
    const previous = this.pipeline;
    this.pipeline = next;
    return previous;
  }

  async ingest(
    paths: string[],
    opts: { prune?: boolean; onProgress?: (p: IngestProgress) => void; /** Folders no file may resolve outside of. */ confineTo?: readonly string[] } = {},
  ): Promise<IngestSummary> {
    if (paths.length === 0) throw new SieveError('PATH_NOT_FOUND', 'no paths given to ingest');
    const summary = await ingestPaths(this.store, paths, {
      prune: opts.prune ?? false,
      maxFileBytes: Math.round(this.config.ingest.maxFileMb * 1024 * 1024),
      exclude: this.config.ingest.exclude,
      chunking: this.config.chunking,
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.confineTo ? { confineTo: opts.confineTo } : {}),
    });
    // New chunks get vectors (and removed ones leave the index) before the next query.
    if (this.embedding && (summary.chunks > 0 || summary.removed > 0)) await this.syncIndex(this.embedding);
    return summary;
  }

  /**
   * Takes what was ingested from these files or folders out of the index (the files stay on disk); their vectors
   * leave the vector index before this returns. Nothing is removed when any path matches no ingested file.
   */
  async forget(paths: readonly string[]): Promise<ForgetSummary> {
    const summary = forgetPaths(this.store, paths);
    if (this.embedding && summary.documents > 0) await this.syncIndex(this.embedding);
    return summary;
  }

  /**
   * Every retriever's candidates for a question, merged, with their chunks. Public for training, which ranks the
   * same candidates the engine would (with the question's own history left out).
   */
  async candidatesFor(text: string, k: number, opts: { historyExclude?: string; pipeline?: RankingPipeline; scope?: Scope } = {}): Promise<CandidateSet> {
    const pipeline = opts.pipeline ?? this.pipeline;
    const query = parseQuery(text);
    if (opts.historyExclude !== undefined) query.historyExclude = opts.historyExclude;
    const allowed = this.resolveScope(opts.scope);
    if (allowed) query.allowedChunks = allowed;
    // The query is embedded once, here, so every retriever stays synchronous.
    if (pipeline.embedder) query.embedding = (await pipeline.embedder.embed([text], 'query'))[0];
    const { historyK, denseK } = this.config.retrieval;
    const depth = (name: string) => (name === 'history' ? Math.min(k, historyK) : name === 'dense' ? Math.min(k, denseK) : k);
    const candidates = mergeCandidates(pipeline.retrievers.map((r) => r.retrieve(query, depth(r.name))));
    const chunks = this.store.getChunks(candidates.map((c) => c.chunkId));
    return { query, candidates, chunks };
  }

  /**
   * The chunks a scope admits, or undefined for no scope (none given, or both lists empty). Throws SCOPE_EMPTY
   * when it admits none: an answer from nothing would look like an answer from everything.
   */
  resolveScope(scope: Scope | undefined): ReadonlySet<number> | undefined {
    const normal = normalizeScope(scope);
    if (!normal) return undefined;
    // A user tends to keep asking in one scope: resolved sets are kept until the corpus changes.
    const key = JSON.stringify(normal);
    const generation = generations(this.store).chunks;
    const cached = this.scopeCache.get(key);
    if (cached && cached.generation === generation) return cached.allowed;
    const allowed = this.chunksInScope(normal);
    if (this.scopeCache.size >= SCOPE_CACHE_SIZE) this.scopeCache.delete(this.scopeCache.keys().next().value!);
    this.scopeCache.set(key, { generation, allowed });
    return allowed;
  }

  private chunksInScope({ sources, docIds }: Scope): ReadonlySet<number> {
    if (this.store.isEmpty()) throw new SieveError('STORE_EMPTY', `nothing is indexed in ${this.config.home} yet`);
    let allowed: Set<number> | undefined;
    if (sources) allowed = new Set(sources.flatMap((source) => this.store.chunkIdsUnder(source)));
    if (docIds) {
      const stats = this.resources.freshTermStats();
      const inDocs = new Set<number>();
      for (const docId of docIds) for (const id of stats.chunksOfDoc(docId)) if (!allowed || allowed.has(id)) inDocs.add(id);
      allowed = inDocs;
    }
    if (!allowed || allowed.size === 0) {
      throw new SieveError('SCOPE_EMPTY', `no ingested chunk lies in the scope ${JSON.stringify({ sources: sources ?? [], docIds: docIds ?? [] })}`, { sources: sources ?? [], docIds: docIds ?? [] });
    }
    return allowed;
  }

  private async rankQuery(text: string, k: number, scope?: Scope): Promise<RankedQuery> {
    const pipeline = this.pipeline; // one read: a swap mid-request does not mix versions
    const t0 = performance.now();
    const { query, candidates, chunks } = await this.candidatesFor(text, k, { pipeline, ...(scope ? { scope } : {}) });
    const t1 = performance.now();
    const ranked = await pipeline.ranker.rank(query, candidates, chunks);
    const t2 = performance.now();
    return { query, ranked, retrieveMs: t1 - t0, rankMs: t2 - t1, pipeline };
  }

  /** Ranked chunks for a query. */
  async search(text: string, opts: SearchOptions = {}): Promise<SearchHit[]> {
    const k = opts.k ?? 10;
    const { query, ranked } = await this.rankQuery(text, Math.max(k, this.config.retrieval.bm25K), opts.scope);
    const terms = lexicalTerms(query);
    return ranked.slice(0, k).map((c, i) => ({
      rank: i + 1,
      chunkId: c.chunkId,
      docId: c.chunk.docId,
      source: c.chunk.source,
      title: c.chunk.title,
      headingPath: c.chunk.headingPath,
      ...(c.chunk.pages ? { pages: c.chunk.pages } : {}),
      text: c.chunk.text,
      snippet: snippet(readableText(c.chunk.text), terms),
      score: c.score,
    }));
  }

  /** Ranked documents (each scored by its best chunk): what BEIR evaluation compares with qrels. */
  async searchDocuments(text: string, k: number): Promise<DocumentHit[]> {
    // Several chunks of one document can rank high, so fetch more chunks than documents wanted.
    const { ranked } = await this.rankQuery(text, Math.max(k * 2, this.config.retrieval.bm25K));
    return rankDocuments(ranked, k);
  }

  /**
   * The context an ask would give the LLM, without answering or leaving a trace (evaluation of context quality;
   * it must not feed the loop). No exploration.
   */
  async context(question: string, opts: { budgetTokens?: number; scope?: Scope } = {}): Promise<ContextItem[]> {
    const budgetTokens = opts.budgetTokens ?? this.config.ask.budgetTokens;
    const { query, ranked, pipeline } = await this.rankQuery(question, this.config.retrieval.bm25K, opts.scope);
    return this.selector.select(query, ranked, budgetTokens, { calibrated: pipeline.ranker.calibrated });
  }

  async ask(question: string, opts: AskOptions = {}): Promise<AskResult> {
    const started = performance.now();
    const budgetTokens = opts.budgetTokens ?? this.config.ask.budgetTokens;
    if (!Number.isInteger(budgetTokens) || budgetTokens < 16) {
      throw new SieveError('CONFIG_INVALID', `budgetTokens must be an integer ≥ 16, got ${budgetTokens}`);
    }
    // Within a conversation, retrieval also reads the earlier questions (a follow-up seldom names its subject).
    const searchedFor = conversationalQuery(question, opts.history);
    const { query, ranked, retrieveMs, rankMs, pipeline } = await this.rankQuery(searchedFor, this.config.retrieval.bm25K, opts.scope);
    if (ranked.length === 0 && this.store.isEmpty()) {
      throw new SieveError('STORE_EMPTY', `nothing is indexed in ${this.config.home} yet`);
    }
    const t0 = performance.now();
    const fb = this.config.feedback;
    const offered = fb.rotateUnused ? withoutUnused(ranked, this.resources.history().unusedBefore(searchedFor)) : ranked;
    const selected = this.selector.select(query, offered, budgetTokens, { calibrated: pipeline.ranker.calibrated });
    const context = maybeExplore(selected, offered, { rate: fb.exploreRate, depth: fb.exploreDepth, budgetTokens }, this.random);
    const t1 = performance.now();
    const answer = await this.answerer.answer({
      question,
      context,
      ...(opts.onToken ? { onToken: opts.onToken } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.history && opts.history.length > 0 ? { history: opts.history } : {}),
    });
    const t2 = performance.now();
    const result: AskResult = {
      question,
      answer: answer.text,
      context,
      citations: citationsFromMarkers(answer.text, context),
      traceId: newTraceId(),
      answeredBy: this.answerer.kind,
      models: {
        retrievers: pipeline.retrievers.map((r) => r.name).join('+'),
        ranker: pipeline.ranker.version,
        // The embedder is swapped by the loop too: an answer names the one its dense candidates came from.
        ...(pipeline.embedder ? { embedder: pipeline.embedder.version } : {}),
        answerer: answer.model,
      },
      timings: { retrieveMs, rankMs, selectMs: t1 - t0, answerMs: t2 - t1, totalMs: 0 },
    };
    // Attribution reads only the visible answer; the trace and the history it implies commit together. An
    // extractive answer is sieve's own pick of sentences, not a reader's use of the context: inferring labels from
    // it would train the ranker on its own output. Its trace is kept (a person's feedback on it is real signal),
    // with nothing inferred.
    const shown = context.map((c) => ({ n: c.n, chunkId: c.chunkId, text: c.text }));
    const attribution = this.answerer.kind === 'extractive' ? [] : attribute(answer.text, shown);
    result.timings.totalMs = performance.now() - started;
    recordTrace(this.store, {
      result,
      searchedFor,
      reasoning: answer.reasoning,
      ranked,
      budgetTokens,
      attribution,
      featureNames: pipeline.ranker.calibrated ? FEATURE_NAMES : null,
      // As the engine applied it (paths resolved), so training rebuilds the list in the same scope from any directory.
      ...(query.allowedChunks ? { scope: normalizeScope(opts.scope) } : {}),
    });
    // What the caller waited for includes writing the trace (the stored timings stop just before it).
    result.timings.totalMs = performance.now() - started;
    return result;
  }

  /** A person's feedback on an answer: explicit labels outrank what attribution inferred. */
  feedback(traceId: string, feedback: ExplicitFeedback): { recorded: number } {
    return recordFeedback(this.store, traceId, feedback);
  }

  /** Runs the training job now (single-flight; off the main thread); a promoted model is hot-swapped in. */
  async train(opts: RunTrainingJobOptions = {}): Promise<TrainOutcome> {
    const { runTrainingJob } = await import('./train/job.js');
    return runTrainingJob(this, opts);
  }

  /**
   * Adapts the embedder to this home's corpus (`sieve train embedder`): continues the active or shipped embedder,
   * registers and activates the new version and rebuilds its vector index. Training runs in a worker thread.
   */
  async trainEmbedder(opts: Omit<AdaptOptions, 'accept'> = {}): Promise<AdaptResult> {
    const { adaptEmbedder } = await import('./train/embedder/adapt.js');
    return adaptEmbedder(this, opts);
  }

  /** Applies the trace retention policy (days and count). */
  pruneTraces(): number {
    return pruneTraces(this.store, { days: this.config.feedback.retentionDays, count: this.config.feedback.retentionCount });
  }

  /**
   * Builds the in-memory ranking indexes now rather than on the queries that need them: call before serving
   * traffic so the first requests do not pay for it.
   */
  warm(): void {
    this.resources.warm();
  }

  stats(): StoreStats & { home: string; answerer: Answerer['kind']; ranker: string; retrievers: string } {
    return {
      ...this.store.stats(),
      home: this.config.home,
      answerer: this.answerer.kind,
      ranker: this.pipeline.ranker.version,
      retrievers: this.pipeline.retrievers.map((r) => r.name).join('+'),
    };
  }

  close(): void {
    this.embedding?.indexer.close();
    this.store.close();
  }
}

/** models/embedder in the package (the shipped base embedder), if it is there. */
export function shippedEmbedderDir(): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [resolve(here, '../models/embedder'), resolve(here, '../../models/embedder')]) {
    if (existsSync(join(candidate, 'embedder.json'))) return candidate;
  }
  return null;
}

export async function openEngine(opts: OpenEngineOptions = {}): Promise<Engine> {
  const { llm, answerer, selector, ...configInput } = opts;
  const config = resolveConfig(configInput);
  mkdirSync(config.home, { recursive: true });
  const store = new Store(databasePath(config));
  const llmConfig = llm === undefined ? llmConfigFromEnv(process.env) : llm;
  // The OpenAI SDK is loaded only when an LLM is configured: it is most of the CLI's start-up time otherwise.
  const chosen =
    answerer ?? (llmConfig ? new (await import('./llm/client.js')).OpenAiCompatibleAnswerer(llmConfig) : new ExtractiveAnswerer());
  const engine = new Engine(config, store, chosen, selector ?? new BudgetSelector({ order: config.ask.order }));
  try {
    await engine.reloadModels();
  } catch (err) {
    engine.close();
    throw err;
  }
  return engine;
}
