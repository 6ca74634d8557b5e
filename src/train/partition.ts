// Which learner may see which question. Every question has a fixed place in [0, 1) (a hash of its normalised
// text), so the same question plays the same role in every run:
//   [0, holdout)                       → the gate: held out from every model, so candidates are judged on
//                                         questions neither the serving model nor the candidate trained on;
//   [holdout, holdout + embedderShare) → the embedder's training pairs (when the loop tunes it);
//   the rest                           → the relevance model's training lists.
// Why the embedder and the ranker learn from different questions: an embedder tuned on a question finds that
// question's chunk far more often than it finds a new question's (measured on SQuAD: 97% against 45%), so a ranker
// trained on the same questions learns to trust a dense score that does not hold up on new ones.
import { fmix32, fnv1a32 } from '../embed/tokenizer.js';
import { normalizeQuestion } from '../rank/history-index.js';

export type QuestionRole = 'gate' | 'embedder' | 'ranker';

export interface QuestionPartition {
  /** Share of questions held out for the gates. */
  holdout: number;
  /** Share of questions whose pairs tune the embedder (0 when the loop does not tune it). */
  embedderShare: number;
}

/** A question's place in [0, 1): a stable hash of its normalised text, independent of the run and the order. */
export function questionFraction(question: string): number {
  return fmix32(fnv1a32(normalizeQuestion(question))) / 2 ** 32;
}

export function questionRole(question: string, partition: QuestionPartition): QuestionRole {
  const f = questionFraction(question);
  if (f < partition.holdout) return 'gate';
  return f < partition.holdout + partition.embedderShare ? 'embedder' : 'ranker';
}

/** Lists split into the gate's held-out questions and the relevance model's training questions. */
export function partitionByQuestion<L extends { question: string }>(lists: readonly L[], partition: QuestionPartition): { train: L[]; heldOut: L[] } {
  const train: L[] = [];
  const heldOut: L[] = [];
  for (const l of lists) {
    const role = questionRole(l.question, partition);
    if (role === 'gate') heldOut.push(l);
    else if (role === 'ranker') train.push(l);
  }
  return { train, heldOut };
}
