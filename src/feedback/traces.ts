// Traces: the record every ask leaves, which attribution and training read later.
import { randomUUID } from 'node:crypto';
import type { Store } from '../store/store.js';
import type { AskResult, ScoredCandidate } from '../types.js';

/** How many ranked candidates a trace keeps (what the ranker saw beyond what was shown is training signal). */
export const TRACE_CANDIDATES = 100;

export function newTraceId(): string {
  return randomUUID();
}

const insertStatements = new WeakMap<Store, ReturnType<Store['db']['prepare']>>();

export interface TraceInput {
  result: AskResult;
  /** The model's reasoning, kept for inspection but never shown or attributed. */
  reasoning: string;
  ranked: readonly ScoredCandidate[];
  budgetTokens: number;
}

/** One INSERT (its own implicit transaction): the trace is stored whole or not at all. */
export function recordTrace(store: Store, { result, reasoning, ranked, budgetTokens }: TraceInput): void {
  let insert = insertStatements.get(store);
  if (!insert) {
    insert = store.db.prepare(
    `INSERT INTO traces (id, created_at, question, answer, reasoning, answered_by, context, candidates, citations, models,
                         timings, budget_tokens)
     VALUES (@id, @createdAt, @question, @answer, @reasoning, @answeredBy, @context, @candidates, @citations, @models,
             @timings, @budgetTokens)`,
    );
    insertStatements.set(store, insert);
  }
  insert.run({
    id: result.traceId,
    createdAt: new Date().toISOString(),
    question: result.question,
    answer: result.answer,
    reasoning,
    answeredBy: result.answeredBy,
    context: JSON.stringify(result.context.map((c) => ({ n: c.n, chunkIds: c.chunkIds, score: c.score, tokenCount: c.tokenCount }))),
    candidates: JSON.stringify(
      ranked.slice(0, TRACE_CANDIDATES).map((c) => ({ chunkId: c.chunkId, score: c.score, scores: c.scores, ranks: c.ranks })),
    ),
    citations: JSON.stringify(result.citations),
    models: JSON.stringify(result.models),
    timings: JSON.stringify(result.timings),
    budgetTokens,
  });
}

export interface TraceRow {
  id: string;
  createdAt: string;
  question: string;
  answer: string;
  answeredBy: string;
  citations: string;
}

export function listTraces(store: Store, limit: number): TraceRow[] {
  return store.db
    .prepare(
      `SELECT id, created_at AS createdAt, question, answer, answered_by AS answeredBy, citations
       FROM traces ORDER BY created_at DESC LIMIT ?`,
    )
    .all(limit) as TraceRow[];
}
