// Attribution: which of the shown chunks did the answer use? Citation markers first (the model said so);
// without markers, sentence-level text overlap (long shared word runs, containment of the sentence's content
// words in the chunk) above a threshold chosen on a labelled set (test/fixtures/attribution-labelled.json), and
// near the best score any shown chunk reaches for that sentence: retrieved chunks share the question's subject, so
// a sentence drawn from one overlaps the others too, and words every shown chunk holds count for nothing.
// Only the visible answer is read: thinking was stripped before it got here.
import { splitSentences } from '../ingest/sentences.js';
import { analyze, isStopword, lightStem } from '../rank/term-stats.js';
import { cjkTerms } from '../util/cjk.js';
import { findMarkers } from './markers.js';

export interface ShownChunk {
  n: number;
  chunkId: number;
  text: string;
}

export type AttributionMethod = 'marker' | 'overlap' | 'none';

export interface ChunkAttribution {
  n: number;
  chunkId: number;
  used: boolean;
  method: AttributionMethod;
  /** The overlap score of the best-matching answer sentence (0 when none matched). */
  score: number;
  /** Character span in the chunk's text of the evidence (the longest shared word run), if any. */
  evidence: { start: number; end: number } | null;
}

export interface AttributionOptions {
  /** Overlap score at or above which a sentence counts as using a chunk. */
  threshold: number;
  /**
   * A sentence uses a chunk only when the chunk scores at least this share of the sentence's best-scoring chunk:
   * retrieved chunks share the question's subject, and a sentence drawn from one of them also overlaps the others.
   */
  relative: number;
}

/**
 * Chosen on the labelled set by `calibrateAttribution` (best F1; among ties the most competitive relative share and
 * the lowest threshold; the test recomputes both).
 */
export const DEFAULT_ATTRIBUTION_THRESHOLD = 0.35;
export const DEFAULT_ATTRIBUTION_RELATIVE = 0.6;
export const DEFAULT_ATTRIBUTION: AttributionOptions = { threshold: DEFAULT_ATTRIBUTION_THRESHOLD, relative: DEFAULT_ATTRIBUTION_RELATIVE };

/** Content words at which a sentence is specific enough for its containment to count in full. */
const SPECIFIC_SENTENCE_WORDS = 6;

interface Token {
  term: string;
  /** The term as a small integer (interned per attribution call): the shared-run search compares these. */
  id: number;
  start: number;
  end: number;
}

const WORD = /[\p{L}\p{M}\p{N}]+/gu;
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * Attribution matches words by their first five letters (truncation stemming): answers paraphrase with other
 * inflections ("memories"/"memory", "consolidated"/"consolidation") more than a suffix stripper catches.
 */
const TRUNCATE = 5;

/** Interns terms to ids; one per attribution call (or per tokenizer user), so ids compare across texts. */
type TermIds = Map<string, number>;

function tokens(text: string, ids: TermIds = new Map()): Token[] {
  const out: Token[] = [];
  const push = (key: string, start: number, end: number): void => {
    let id = ids.get(key);
    if (id === undefined) ids.set(key, (id = ids.size));
    out.push({ term: key, id, start, end });
  };
  const pushWord = (word: string, start: number): void => {
    // analyze() normalises and re-splits; plain ASCII words (nearly all of them) need only folding and stemming.
    const term = NON_ASCII.test(word) ? analyze(word)[0] : lightStem(word.toLowerCase());
    if (term === undefined) return;
    push(isStopword(term) ? term : term.slice(0, TRUNCATE), start, start + word.length);
  };
  for (const m of text.matchAll(WORD)) {
    const word = m[0];
    if (!NON_ASCII.test(word)) {
      pushWord(word, m.index);
      continue;
    }
    // Chinese, Japanese and Korean are written without spaces: a whole clause is one "word". Their terms are
    // character bigrams, as in the search index, each pointing at its own two characters.
    for (const piece of cjkTerms(word)) {
      if (piece.cjk) push(piece.text.normalize('NFKC'), m.index + piece.start, m.index + piece.end);
      else pushWord(piece.text, m.index + piece.start);
    }
  }
  return out;
}

/** Longest run of consecutive equal terms shared by a and b (dynamic programming over the two sequences). */
function longestSharedRun(a: readonly Token[], b: readonly Token[]): { length: number; bEnd: number } {
  let best = 0;
  let bestEnd = -1;
  let prev = new Uint16Array(b.length + 1);
  let cur = new Uint16Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    const ai = a[i - 1]!.id;
    for (let j = 1; j <= b.length; j++) {
      const v = ai === b[j - 1]!.id ? prev[j - 1]! + 1 : 0;
      cur[j] = v;
      if (v > best) {
        best = v;
        bestEnd = j;
      }
    }
    [prev, cur] = [cur, prev];
  }
  return { length: best, bEnd: bestEnd };
}

/**
 * How strongly one answer sentence draws on one chunk, in [0, 1]: the larger of (a) containment — the share of
 * the sentence's content words found in the chunk — scaled by how specific the sentence is, and (b) the longest
 * shared word run relative to the sentence (quotes score 1).
 */
export function overlapScore(
  sentence: readonly Token[],
  chunk: readonly Token[],
  chunkTerms: ReadonlySet<string>,
  weight: (term: string) => number,
  informative: (term: string) => boolean = () => true,
): { score: number; run: { length: number; bEnd: number } } {
  const content = sentence.filter((t) => !isStopword(t.term));
  if (content.length === 0) return { score: 0, run: { length: 0, bEnd: -1 } };
  let found = 0;
  let total = 0;
  for (const t of content) {
    const w = weight(t.term);
    total += w;
    if (chunkTerms.has(t.term)) found += w;
  }
  // A short sentence fully contained says little ("the risk is lower"); confidence grows with its content words.
  const containment = total > 0 ? (found / total) * Math.min(1, content.length / SPECIFIC_SENTENCE_WORDS) : 0;
  const run = longestSharedRun(sentence, chunk);
  // A run counts by its words that tell the shown chunks apart: "sudden infant death syndrome" in every one of
  // them is the question's subject, not a quote.
  let telling = 0;
  for (let j = run.bEnd - run.length; j < run.bEnd; j++) if (informative(chunk[j]!.term)) telling++;
  const runScore = run.length >= 3 ? Math.min(1, telling / Math.min(sentence.length, 8)) : 0;
  return { score: Math.max(containment, runScore), run };
}

export function attribute(answer: string, shown: readonly ShownChunk[], opts: AttributionOptions = DEFAULT_ATTRIBUTION): ChunkAttribution[] {
  const byN = new Map(shown.map((c) => [c.n, c]));
  const cited = new Set(findMarkers(answer).map((m) => m.n).filter((n) => byN.has(n)));
  const ids: TermIds = new Map();
  const chunkTokens = new Map(shown.map((c) => [c.n, tokens(c.text, ids)]));
  const chunkTermSets = new Map(shown.map((c) => [c.n, new Set(chunkTokens.get(c.n)!.map((t) => t.term))]));
  // Markers are not part of a sentence's words: "[2]" must not match a "2" in a chunk.
  const prose = answer.replace(/(?:\[\^?|【)\s*\d[\d\s,;–\-and^]*(?:\]|】)/g, ' ');
  const sentences = splitSentences(prose).map((s) => tokens(prose.slice(s.start, s.end), ids));
  // Words shared by many shown chunks ("risk", "patients") say little about which one was used: weight each word
  // by its rarity among the shown chunks; a word in none of them weighs most.
  const df = new Map<string, number>();
  for (const set of chunkTermSets.values()) for (const t of set) df.set(t, (df.get(t) ?? 0) + 1);
  // A word in every shown chunk (with two or more shown) tells none of them apart: it counts for nothing.
  const informative = (term: string) => shown.length < 2 || (df.get(term) ?? 0) < shown.length;
  const weight = (term: string) => (informative(term) ? Math.log(1 + (shown.length + 1) / ((df.get(term) ?? 0) + 1)) : 0);

  // Every sentence against every chunk; a sentence uses the chunks that score near its best one.
  const scores = shown.map((c) => sentences.map((s) => overlapScore(s, chunkTokens.get(c.n)!, chunkTermSets.get(c.n)!, weight, informative)));
  const sentenceBest = sentences.map((_, j) => Math.max(0, ...scores.map((row) => row[j]!.score)));

  return shown.map((c, i) => {
    const ct = chunkTokens.get(c.n)!;
    let best = 0;
    let used = false;
    let bestRun = { length: 0, bEnd: -1 };
    scores[i]!.forEach(({ score, run }, j) => {
      if (score > best) best = score;
      if (score >= opts.threshold && score >= opts.relative * sentenceBest[j]!) used = true;
      if (run.length > bestRun.length) bestRun = run;
    });
    const evidence =
      bestRun.length >= 3 ? { start: ct[bestRun.bEnd - bestRun.length]!.start, end: ct[bestRun.bEnd - 1]!.end } : null;
    if (cited.size > 0) {
      // The answer cites: trust its markers, and keep the overlap score and span as evidence.
      return { n: c.n, chunkId: c.chunkId, used: cited.has(c.n), method: cited.has(c.n) ? 'marker' : 'none', score: best, evidence };
    }
    return { n: c.n, chunkId: c.chunkId, used, method: used ? 'overlap' : 'none', score: best, evidence };
  });
}

export interface LabelledAttribution {
  answer: string;
  shown: ShownChunk[];
  /** The numbers of the chunks the answer really used. */
  used: number[];
}

/** Precision, recall and F1 of overlap-only attribution (markers stripped) at a threshold, over a labelled set. */
export function overlapF1(cases: readonly LabelledAttribution[], threshold: number, relative = DEFAULT_ATTRIBUTION_RELATIVE): { precision: number; recall: number; f1: number } {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const c of cases) {
    const plain = c.answer.replace(/(?:\[\^?|【)\s*\d[\d\s,;–\-and^]*(?:\]|】)/g, '');
    const truth = new Set(c.used);
    for (const a of attribute(plain, c.shown, { threshold, relative })) {
      if (a.used && truth.has(a.n)) tp++;
      else if (a.used) fp++;
      else if (truth.has(a.n)) fn++;
    }
  }
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 1 : tp / (tp + fn);
  return { precision, recall, f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall) };
}

/**
 * The threshold and relative share with the best F1 on the labelled set (threshold over [0.05, 0.95], relative over
 * [0, 0.9]). Among ties: the highest relative share (a sentence credits as few chunks as the labels allow), then
 * the lowest threshold.
 */
export function calibrateAttribution(cases: readonly LabelledAttribution[]): { threshold: number; relative: number; f1: number } {
  let best = { threshold: 0.5, relative: 0, f1: -1 };
  for (let r = 0; r <= 0.901; r += 0.1) {
    for (let t = 0.05; t <= 0.951; t += 0.05) {
      const { f1 } = overlapF1(cases, t, r);
      const better = f1 > best.f1 + 1e-9 || (Math.abs(f1 - best.f1) <= 1e-9 && Math.round(r * 100) / 100 > best.relative);
      if (better) best = { threshold: Math.round(t * 100) / 100, relative: Math.round(r * 100) / 100, f1 };
    }
  }
  return best;
}
