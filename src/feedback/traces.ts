// Traces: the record every ask leaves (question, ranked candidates with features, what was shown where, the
// answer, what attribution decided, model versions, timings), and the history events it implies.
// Trace and history are written in one transaction: the loop never learns from half an ask.
import { randomUUID } from 'node:crypto';
import { SieveError } from '../errors.js';
import { recordHistory, type HistoryEvent } from '../store/history.js';
import type { Store } from '../store/store.js';
import type { AskResult, Scope, ScoredCandidate } from '../types.js';
import type { ChunkAttribution } from './attribution.js';

/** How many ranked candidates a trace keeps (what the ranker saw beyond what was shown is training signal). */
export const TRACE_CANDIDATES = 100;

export function newTraceId(): string {
  return randomUUID();
}

export function traceHistoryKey(traceId: string): string {
  return `trace:${traceId}`;
}

export interface TraceInput {
  result: AskResult;
  /** The model's reasoning, kept for inspection but never shown or attributed. */
  reasoning: string;
  ranked: readonly ScoredCandidate[];
  budgetTokens: number;
  /** One entry per shown item whose use was inferred; an item without one (an extractive answer) implies no history. */
  attribution: readonly ChunkAttribution[];
  featureNames: readonly string[] | null;
  /** The part of the corpus the question was asked in, as the engine applied it; none: all of it. */
  scope?: Scope | undefined;
  /**
   * What retrieval searched for, when it was not the question alone (a question in a conversation also carries the
   * earlier questions). The trace and its history events store this: training rebuilds the candidates from it.
   */
  searchedFor?: string;
}

/** The ranked candidates' feature rows as one float32 blob (null when the ranker computed none). */
function featureBlob(ranked: readonly ScoredCandidate[]): Buffer | null {
  const rows = ranked.slice(0, TRACE_CANDIDATES);
  const first = rows[0]?.features;
  if (!first || rows.some((c) => !c.features)) return null;
  const out = new Float32Array(rows.length * first.length);
  rows.forEach((c, i) => out.set(c.features!, i * first.length));
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

// Prepared once per store: every ask writes a trace.
const insertTrace = new WeakMap<Store, ReturnType<Store['db']['prepare']>>();

export function recordTrace(store: Store, input: TraceInput): void {
  const { result, reasoning, ranked, budgetTokens, attribution, featureNames, scope } = input;
  const question = input.searchedFor ?? result.question;
  const byN = new Map(attribution.map((a) => [a.n, a]));
  const features = featureBlob(ranked);
  const events: HistoryEvent[] = [];
  for (const item of result.context) {
    const a = byN.get(item.n);
    if (!a) continue; // nothing inferred about this item (the rule the training dataset applies too)
    for (const chunkId of item.chunkIds) {
      events.push({
        query: question,
        queryKey: traceHistoryKey(result.traceId),
        chunkId,
        docId: item.docId,
        shown: true,
        cited: a.used,
        source: 'trace',
      });
    }
  }
  let insert = insertTrace.get(store);
  if (!insert) {
    insert = store.db.prepare(
      `INSERT INTO traces (id, created_at, question, answer, reasoning, answered_by, context, candidates, citations, models,
                           timings, budget_tokens, features, feature_names, attribution, explored, scope)
       VALUES (@id, @createdAt, @question, @answer, @reasoning, @answeredBy, @context, @candidates, @citations, @models,
               @timings, @budgetTokens, @features, @featureNames, @attribution, @explored, @scope)`,
    );
    insertTrace.set(store, insert);
  }
  const statement = insert;
  store.db.transaction(() => {
    statement.run({
        id: result.traceId,
        createdAt: new Date().toISOString(),
        question,
        answer: result.answer,
        reasoning,
        answeredBy: result.answeredBy,
        context: JSON.stringify(
          result.context.map((c) => ({ n: c.n, chunkIds: c.chunkIds, docId: c.docId, score: c.score, tokenCount: c.tokenCount, explored: c.explored ?? false })),
        ),
        candidates: JSON.stringify(
          ranked.slice(0, TRACE_CANDIDATES).map((c) => ({ chunkId: c.chunkId, docId: c.chunk.docId, score: c.score, scores: c.scores, ranks: c.ranks })),
        ),
        citations: JSON.stringify(result.citations),
        models: JSON.stringify(result.models),
        timings: JSON.stringify(result.timings),
        budgetTokens,
        features,
        featureNames: features && featureNames ? JSON.stringify(featureNames) : null,
        attribution: JSON.stringify(attribution),
        explored: result.context.some((c) => c.explored) ? 1 : 0,
        scope: scope ? JSON.stringify(scope) : null,
      });
    // Answers that used nothing still teach: every shown chunk is a (weighted) negative.
    recordHistory(store, events);
  }).immediate();
}

export interface TraceRow {
  id: string;
  createdAt: string;
  question: string;
  answer: string;
  answeredBy: string;
  citations: string;
  /** JSON of the scope the question was asked in, null for the whole corpus. */
  scope: string | null;
}

export function listTraces(store: Store, limit: number): TraceRow[] {
  return store.db
    .prepare(
      `SELECT id, created_at AS createdAt, question, answer, answered_by AS answeredBy, citations, scope
       FROM traces ORDER BY created_at DESC, rowid DESC LIMIT ?`,
    )
    .all(limit) as TraceRow[];
}

export interface ExplicitFeedback {
  /** Was the answer helpful as a whole? */
  helpful?: boolean;
  /** Per shown item number: 'up' (it was useful) or 'down' (it was not). */
  chunks?: Record<number, 'up' | 'down'>;
}

/**
 * Records a person's feedback on a trace. Chunk labels become explicit history events, which outrank what
 * attribution inferred for the same trace and chunk (see citedHistory and the training dataset).
 */
export function recordFeedback(store: Store, traceId: string, feedback: ExplicitFeedback): { recorded: number } {
  const trace = store.db.prepare(`SELECT question, context FROM traces WHERE id = ?`).get(traceId) as { question: string; context: string } | undefined;
  if (!trace) throw new SieveError('TRACE_NOT_FOUND', `no trace ${JSON.stringify(traceId)}; list recent ones with \`sieve traces\``);
  const context = JSON.parse(trace.context) as Array<{ n: number; chunkIds: number[]; docId?: string }>;
  const byN = new Map(context.map((c) => [c.n, c]));
  for (const n of Object.keys(feedback.chunks ?? {}).map(Number)) {
    if (!byN.has(n)) throw new SieveError('FEEDBACK_INVALID', `trace ${traceId} showed items 1..${context.length}; there is no [${n}]`);
  }
  const now = new Date().toISOString();
  let recorded = 0;
  store.db.transaction(() => {
    const insert = store.db.prepare(`INSERT INTO feedback (trace_id, n, label, helpful, created_at) VALUES (?, ?, ?, ?, ?)`);
    if (feedback.helpful !== undefined) {
      insert.run(traceId, null, null, feedback.helpful ? 1 : 0, now);
      recorded++;
    }
    const events: HistoryEvent[] = [];
    for (const [nText, label] of Object.entries(feedback.chunks ?? {})) {
      const item = byN.get(Number(nText))!;
      insert.run(traceId, Number(nText), label, null, now);
      recorded++;
      for (const chunkId of item.chunkIds) {
        events.push({
          query: trace.question,
          queryKey: traceHistoryKey(traceId),
          chunkId,
          docId: item.docId ?? '',
          shown: true,
          cited: label === 'up',
          source: 'explicit',
        });
      }
    }
    recordHistory(store, events);
  }).immediate();
  return { recorded };
}

/** Deletes traces older than `days` and beyond the newest `count`. History they produced is kept. */
export function pruneTraces(store: Store, opts: { days: number; count: number }): number {
  const cutoff = new Date(Date.now() - opts.days * 86_400_000).toISOString();
  return store.db.transaction(() => {
    const old = store.db.prepare(`DELETE FROM traces WHERE created_at < ?`).run(cutoff).changes;
    const extra = store.db
      .prepare(`DELETE FROM traces WHERE id NOT IN (SELECT id FROM traces ORDER BY created_at DESC, rowid DESC LIMIT ?)`)
      .run(opts.count).changes;
    return old + extra;
  }).immediate();
}
