import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEngine } from '../src/engine.js';
import { readBeirDataset } from '../src/train/beir.js';
import { latencySummary } from '../src/train/metrics.js';

export async function benchAsk(o: { data: string; split: string; home?: string; budget: number; scoped?: boolean }) {
  const dataset = await readBeirDataset(o.data, o.split);
  const home = o.home ?? mkdtempSync(join(tmpdir(), 'sieve-bench-ask-'));
  const engine = await openEngine({ home, llm: null });
  await engine.ingest([dataset.corpusPath]);
  engine.warm();
  const questions = [...dataset.queries.values()].map((q) => q.text);
  // --scoped: every ask scoped to the corpus file and the split's judged documents (resolved once, then kept), so
  // the figure includes scoped retrieval: the scope check in every retriever and the cached scope lookup.
  const scope = o.scoped ? { sources: [dataset.corpusPath], docIds: [...new Set([...dataset.qrels.values()].flatMap((rels) => [...rels.keys()]))] } : undefined;
  const opts = { budgetTokens: o.budget, ...(scope ? { scope } : {}) };
  // One warm-up pass (statement caches, JIT), then the measured pass.
  for (const q of questions.slice(0, 50)) await engine.ask(q, opts);
  const total: number[] = [];
  const retrieve: number[] = [];
  const rank: number[] = [];
  const wall0 = performance.now();
  for (const q of questions) {
    const r = await engine.ask(q, opts);
    total.push(r.timings.totalMs);
    retrieve.push(r.timings.retrieveMs);
    rank.push(r.timings.rankMs);
  }
  const wallS = (performance.now() - wall0) / 1000;
  const ranker = engine.stats().ranker;
  engine.close();
  return {
    bench: 'ask',
    data: o.data,
    split: o.split,
    queries: questions.length,
    budget_tokens: o.budget,
    ...(scope ? { scope_docs: scope.docIds.length } : {}),
    ranker,
    ask_ms: latencySummary(total),
    retrieve_ms: latencySummary(retrieve),
    rank_ms: latencySummary(rank),
    asks_per_s: questions.length / wallS,
  };
}
