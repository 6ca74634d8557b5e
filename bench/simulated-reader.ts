// SIMULATION — a stand-in for a person reading sieve's context and an LLM writing the answer, for benchmarks only.
// It answers only from the context it is given; it uses the shown chunks that the qrels mark relevant (the only
// place qrels are read: sieve itself never sees them), misses some of them, now and then cites a wrong chunk,
// and writes some answers without any [n] markers, composing the answer from sentences of the chunks it uses so
// that attribution has to work on text.
import { splitSentences } from '../src/ingest/sentences.js';
import { analyze } from '../src/rank/term-stats.js';
import type { AnswerOutput, AnswerRequest, Answerer, ContextItem } from '../src/types.js';
import type { BeirDataset } from '../src/train/beir.js';
import { SeededRandom } from '../src/util/random.js';

/** The documents a data set's qrels mark relevant (grade > 0), by question text: what the simulated reader knows. */
export function relevantDocsByQuestion(dataset: Pick<BeirDataset, 'qrels' | 'queries'>): Map<string, Set<string>> {
  const relevant = new Map<string, Set<string>>();
  for (const [qid, rels] of dataset.qrels) {
    const text = dataset.queries.get(qid)?.text;
    if (!text) continue;
    const set = relevant.get(text) ?? new Set<string>();
    for (const [doc, grade] of rels) if (grade > 0) set.add(doc);
    relevant.set(text, set);
  }
  return relevant;
}

export interface SimulatedReaderOptions {
  /** Probability of missing each relevant shown chunk. */
  missRate: number;
  /** Probability that an answer also cites a wrong (non-relevant) shown chunk. */
  wrongCitationRate: number;
  /** Probability that an answer carries no [n] markers at all. */
  noMarkerRate: number;
  seed: number;
}

export const DEFAULT_SIMULATION: SimulatedReaderOptions = { missRate: 0.1, wrongCitationRate: 0.1, noMarkerRate: 0.3, seed: 1 };

export interface SimulationStats {
  answers: number;
  withRelevantShown: number;
  citedRelevant: number;
  wrongCitations: number;
  withoutMarkers: number;
}

export class SimulatedReader implements Answerer {
  readonly kind = 'llm' as const;
  private readonly random: SeededRandom;
  readonly stats: SimulationStats = { answers: 0, withRelevantShown: 0, citedRelevant: 0, wrongCitations: 0, withoutMarkers: 0 };

  /** @param relevantDocs question text → relevant document ids (from the qrels; never given to sieve). */
  constructor(
    private readonly relevantDocs: ReadonlyMap<string, ReadonlySet<string>>,
    private readonly opts: SimulatedReaderOptions = DEFAULT_SIMULATION,
  ) {
    this.random = new SeededRandom(opts.seed);
  }

  async answer(req: AnswerRequest): Promise<AnswerOutput> {
    this.stats.answers++;
    const relevant = this.relevantDocs.get(req.question) ?? new Set<string>();
    const shownRelevant = req.context.filter((c) => relevant.has(c.docId));
    if (shownRelevant.length > 0) this.stats.withRelevantShown++;
    const used = shownRelevant.filter(() => this.random.nextFloat() >= this.opts.missRate);
    const wrongPool = req.context.filter((c) => !relevant.has(c.docId));
    const wrong = wrongPool.length > 0 && this.random.nextFloat() < this.opts.wrongCitationRate ? wrongPool[this.random.nextInt(wrongPool.length)]! : null;
    const markers = this.random.nextFloat() >= this.opts.noMarkerRate;
    if (!markers) this.stats.withoutMarkers++;
    this.stats.citedRelevant += used.length;
    if (wrong) this.stats.wrongCitations++;
    const cited = [...used, ...(wrong ? [wrong] : [])].sort((a, b) => a.n - b.n);
    if (cited.length === 0) {
      const text = 'The provided context does not answer this question.';
      req.onToken?.(text);
      return { text, reasoning: '', model: 'simulated-reader' };
    }
    const parts = cited.map((item) => `${bestSentence(req.question, item)}${markers ? ` [${item.n}]` : ''}`);
    const text = parts.join(' ');
    req.onToken?.(text);
    return { text, reasoning: '', model: 'simulated-reader' };
  }
}

/** The chunk's sentence sharing the most words with the question (a reader quotes what answers it). */
function bestSentence(question: string, item: ContextItem): string {
  const q = new Set(analyze(question));
  let best = '';
  let bestScore = -1;
  for (const span of splitSentences(item.text)) {
    const sentence = item.text.slice(span.start, span.end).replace(/\s+/g, ' ').trim();
    if (sentence.length < 20) continue;
    const score = analyze(sentence).filter((t) => q.has(t)).length;
    if (score > bestScore) {
      best = sentence;
      bestScore = score;
    }
  }
  return best || item.text.replace(/\s+/g, ' ').slice(0, 300);
}
