// Context quality: the share of questions whose gold answer string appears in the context selected at a budget.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEngine } from '../src/engine.js';
import { readBeirDataset } from '../src/train/beir.js';
import { latencySummary } from '../src/train/metrics.js';

export async function benchContext(o: { data: string; split: string; home?: string; budget: number }) {
  const dataset = await readBeirDataset(o.data, o.split);
  const home = o.home ?? mkdtempSync(join(tmpdir(), 'sieve-bench-context-'));
  const engine = await openEngine({ home, llm: null });
  await engine.ingest([dataset.corpusPath]);
  let withAnswers = 0;
  let hit = 0;
  let tokens = 0;
  const ms: number[] = [];
  for (const q of dataset.queries.values()) {
    if (!q.answers || q.answers.length === 0) continue;
    withAnswers++;
    const t0 = performance.now();
    const context = await engine.context(q.text, { budgetTokens: o.budget });
    ms.push(performance.now() - t0);
    tokens += context.reduce((s, c) => s + c.tokenCount, 0);
    const text = context.map((c) => c.text).join('\n').toLowerCase();
    if (q.answers.some((a) => text.includes(a.toLowerCase()))) hit++;
  }
  const ranker = engine.stats().ranker;
  engine.close();
  return {
    bench: 'context',
    data: o.data,
    split: o.split,
    budget_tokens: o.budget,
    ranker,
    questions: withAnswers,
    answer_in_context: withAnswers === 0 ? 0 : hit / withAnswers,
    mean_context_tokens: withAnswers === 0 ? 0 : tokens / withAnswers,
    context_ms: latencySummary(ms),
  };
}
