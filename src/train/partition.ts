// Which learner may see which question, when the loop tunes the embedder as well as the relevance model. Every
// question has a fixed place in [0, 1) (a hash of its normalised text), so a question plays the same role in
// every run, whatever order users ask in:
//   [0, embedderShare)                            → the embedder's training pairs; the ranker never trains on them;
//   [embedderShare, embedderShare + embedderHoldout) → the embedder's gate: pairs it is judged on, never trained on;
//   everything but the embedder's own questions   → the relevance model's lists (its gate holds out the newest).
// Why the ranker stays off the embedder's questions: an embedder tuned on a question finds that question's chunk
// far more often than it finds a new question's (measured on SQuAD: 97% against 45%), so a ranker trained on the
// same questions learns to trust a dense score that does not hold up on new ones (Recall@1 0.60 against 0.82).
import { fmix32, fnv1a32 } from '../embed/tokenizer.js';
import { normalizeQuestion } from '../rank/history-index.js';

export type QuestionRole = 'embedder' | 'embedder-held-out' | 'ranker';

export interface QuestionPartition {
  /** Share of questions whose pairs tune the embedder (0 when the loop does not tune it). */
  embedderShare: number;
  /** Share of questions whose pairs judge the embedder. */
  embedderHoldout: number;
}

/** A question's place in [0, 1): a stable hash of its normalised text, independent of the run and the order. */
export function questionFraction(question: string): number {
  return fmix32(fnv1a32(normalizeQuestion(question))) / 2 ** 32;
}

export function questionRole(question: string, partition: QuestionPartition): QuestionRole {
  const f = questionFraction(question);
  if (f < partition.embedderShare) return 'embedder';
  return f < partition.embedderShare + partition.embedderHoldout ? 'embedder-held-out' : 'ranker';
}

/** The lists the relevance model may learn from and be judged on: all but the embedder's own questions'. */
export function rankerLists<L extends { question: string }>(lists: readonly L[], partition: QuestionPartition): L[] {
  return partition.embedderShare <= 0 ? [...lists] : lists.filter((l) => questionRole(l.question, partition) !== 'embedder');
}
