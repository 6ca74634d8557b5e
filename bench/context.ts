// Context quality: the share of questions whose gold answer string appears in the context selected at a budget,
// and in the extractive answer made from that context (what a user without an LLM reads), with its length.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEngine } from '../src/engine.js';
import { extractAnswer, EXTRACTIVE_DEFAULTS } from '../src/llm/extractive.js';
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
  let inAnswer = 0;
  let inFirstSentence = 0;
  let answerWords = 0;
  const ms: number[] = [];
  for (const q of dataset.queries.values()) {
    if (!q.answers || q.answers.length === 0) continue;
    withAnswers++;
    const t0 = performance.now();
    const context = await engine.context(q.text, { budgetTokens: o.budget });
    ms.push(performance.now() - t0);
    tokens += context.reduce((s, c) => s + c.tokenCount, 0);
    const text = context.map((c) => c.text).join('\n').toLowerCase();
    const holds = (t: string) => q.answers!.some((a) => t.toLowerCase().includes(a.toLowerCase()));
    if (holds(text)) hit++;
    const answer = extractAnswer(q.text, context, EXTRACTIVE_DEFAULTS);
    if (holds(answer)) inAnswer++;
    // The answer's first cited sentence: what a reader takes in first.
    if (holds(answer.split(/ \[\d+\]/)[0] ?? '')) inFirstSentence++;
    answerWords += answer.split(/\s+/).length;
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
    answer_in_extractive_answer: withAnswers === 0 ? 0 : inAnswer / withAnswers,
    answer_in_first_sentence: withAnswers === 0 ? 0 : inFirstSentence / withAnswers,
    mean_extractive_words: withAnswers === 0 ? 0 : answerWords / withAnswers,
    context_ms: latencySummary(ms),
  };
}
