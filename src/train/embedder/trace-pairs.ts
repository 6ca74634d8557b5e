// The feedback loop's pairs for the embedder: (question, chunk its answers used). Read from the history table,
// one vote per ask and shown chunk (a person's label replaces the inferred one). A chunk is a positive for a
// question when the question's asks used it in at least `minConsistency` of the asks that showed it — a reader's
// one-off wrong citation should not teach the embedder — and the chunks a question was shown and never used are
// its hard negatives: exactly the passages a reader looked at and passed over. A chunk used now and then is
// neither (too uncertain either way).
import { passageTexts } from '../../embed/vectors.js';
import { shownChunkVotes } from '../../store/history.js';
import type { Store } from '../../store/store.js';
import { normalizeQuestion } from '../../rank/history-index.js';
import { questionRole, type QuestionPartition } from '../partition.js';
import type { WordPair, WordVocab } from './data.js';

export interface TracePairOptions {
  maxQueryWords: number;
  maxPassageWords: number;
  partition: QuestionPartition;
  /** Hard negatives kept per question. */
  hardNegatives: number;
  /** Share of the asks showing a chunk that used it, for the chunk to count as a positive. Default 0.5. */
  minConsistency?: number;
}

export interface TracePairs {
  /** Pairs of the embedder's questions. */
  train: WordPair[];
  /** Pairs of the embedder's held-out questions (it never trains on them). */
  heldOut: WordPair[];
  questions: { train: number; heldOut: number };
}

interface Vote {
  question: string;
  chunkId: number;
  docId: string;
  /** What the runtime embeds for the chunk (passageTexts): what the pair must teach. */
  passage: string;
  shown: number;
  cited: number;
}

/** Votes per (question, chunk): how many asks of the question showed the chunk and how many of those used it. */
function votes(store: Store): Vote[] {
  const perAsk = shownChunkVotes(store);
  const ids = [...new Set(perAsk.map((v) => v.chunkId))];
  const chunks = store.getChunks(ids);
  const passages = new Map(passageTexts(store, ids).map((p) => [p.chunkId, p.text]));
  const byKey = new Map<string, Vote>();
  for (const r of perAsk) {
    const chunk = chunks.get(r.chunkId);
    const passage = passages.get(r.chunkId);
    if (!chunk || passage === undefined) continue; // deleted since the ask
    const question = normalizeQuestion(r.query);
    const key = `${question}\u0000${r.chunkId}`;
    const v = byKey.get(key) ?? { question, chunkId: r.chunkId, docId: chunk.docId, passage, shown: 0, cited: 0 };
    v.shown++;
    v.cited += r.cited > 0 ? 1 : 0;
    byKey.set(key, v);
  }
  return [...byKey.values()];
}

export function readTracePairs(store: Store, vocab: WordVocab, opts: TracePairOptions): TracePairs {
  const minConsistency = opts.minConsistency ?? 0.5;
  const byQuestion = new Map<string, Vote[]>();
  for (const v of votes(store)) {
    const list = byQuestion.get(v.question);
    if (list) list.push(v);
    else byQuestion.set(v.question, [v]);
  }
  const out: TracePairs = { train: [], heldOut: [], questions: { train: 0, heldOut: 0 } };
  const passage = (v: Vote) => vocab.encode(v.passage, opts.maxPassageWords);
  for (const [question, vs] of byQuestion) {
    const role = questionRole(question, opts.partition);
    if (role === 'ranker') continue; // the embedder neither trains nor is judged on these
    const positives = vs.filter((v) => v.cited > 0 && v.cited / v.shown >= minConsistency);
    if (positives.length === 0) continue;
    const query = vocab.encode(question, opts.maxQueryWords);
    if (query.length === 0) continue;
    const positiveDocs = new Set(positives.map((v) => v.docId));
    const negatives = vs
      .filter((v) => v.cited === 0 && !positiveDocs.has(v.docId))
      .sort((a, b) => b.shown - a.shown || a.chunkId - b.chunkId)
      .slice(0, opts.hardNegatives)
      .map((v) => ({ passage: passage(v), group: `doc:${v.docId}` }));
    const target = role === 'embedder-held-out' ? out.heldOut : out.train;
    for (const v of positives) {
      const words = passage(v);
      if (words.length === 0) continue;
      target.push({ query, passage: words, source: 'trace', group: `doc:${v.docId}`, ...(negatives.length > 0 && role === 'embedder' ? { negatives } : {}) });
    }
    out.questions[role === 'embedder-held-out' ? 'heldOut' : 'train']++;
  }
  return out;
}
