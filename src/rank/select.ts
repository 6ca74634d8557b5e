// Context selection: which ranked chunks the LLM reads, within a token budget, numbered in reading order.
import { languageForFile } from '../ingest/loaders/code.js';
import { estimateTokens } from '../ingest/tokens.js';
import type { ContextItem, PageSpan, Query, ScoredCandidate, Selector } from '../types.js';
import { headingsAfterTitle, joinPages } from '../util/pages.js';

export interface BudgetSelectorOptions {
  /** Candidates scoring below this fraction of the best are not worth their tokens. */
  minRelativeScore: number;
  /** Two chunks whose word-trigram sets overlap at least this much (Jaccard) are near-duplicates. */
  duplicateJaccard: number;
  /** How many ranked candidates to consider at most. */
  maxConsidered: number;
}

export const DEFAULT_SELECTOR_OPTIONS: BudgetSelectorOptions = {
  minRelativeScore: 0.25,
  duplicateJaccard: 0.7,
  maxConsidered: 60,
};

/** Tokens a code passage's fence costs in the prompt (an opening line naming the language, a closing line). */
const CODE_FENCE_TOKENS = 4;

/** Tokens the prompt spends around an item's text: its header line ("[n] title — heading path (p. 3)"), and a fence around code. */
export function headerTokens(item: { title: string; headingPath: string[]; pages?: PageSpan; source?: string }): number {
  const fence = item.source !== undefined && languageForFile(item.source) !== null ? CODE_FENCE_TOKENS : 0;
  return 4 + estimateTokens(item.title) + estimateTokens(headingsAfterTitle(item.title, item.headingPath).join(' ')) + (item.pages ? 3 : 0) + fence;
}

const NON_ASCII = /[^\x00-\x7f]/;

/** FNV-1a of a string, continuing from `h`. */
function fnv(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h;
}

/**
 * Word trigrams of a text as 32-bit hashes (near-duplicate detection; a collision only blurs the overlap a
 * little): numbers in a Set, not concatenated strings, because selection builds these for every candidate it
 * weighs on every ask.
 */
export function wordTrigrams(text: string): Set<number> {
  const lower = text.toLowerCase();
  const words = (NON_ASCII.test(lower) ? lower.match(/[\p{L}\p{M}\p{N}]+/gu) : lower.match(/[a-z0-9]+/g)) ?? [];
  const grams = new Set<number>();
  if (words.length < 3) {
    if (words.length > 0) grams.add(fnv(0x811c9dc5, words.join(' ')) >>> 0);
    return grams;
  }
  const hashes = words.map((w) => fnv(0x811c9dc5, w));
  for (let i = 0; i + 2 < hashes.length; i++) {
    let h = Math.imul(hashes[i]! ^ 0x9e3779b9, 16777619);
    h = Math.imul(h ^ hashes[i + 1]!, 16777619);
    h = Math.imul(h ^ hashes[i + 2]!, 16777619);
    grams.add(h >>> 0);
  }
  return grams;
}

export function jaccard<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): number {
  if (a.size === 0 && b.size === 0) return 1;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  let inter = 0;
  for (const g of small) if (large.has(g)) inter++;
  return inter / (a.size + b.size - inter);
}

/** With calibrated scores, candidates below this fraction of the best probability are not considered. */
export const CALIBRATED_RELATIVE_FLOOR = 0.02;

export type ReadingOrder = 'strongest-first' | 'edges';

/**
 * Expected-value packing. Each candidate's value is its relevance expressed as a probability (a calibrated
 * ranker's P(referenced) as is; otherwise score / best score), discounted by its overlap with what is already
 * chosen (diversity), and candidates are taken greedily by value per √token, so a long chunk must be worth its
 * length but short fragments do not crowd out a strong passage. Near-duplicates are skipped; a candidate that
 * no longer fits is skipped, not a stop. Chosen chunks adjacent in one document merge into one item.
 * Reading order: strongest first, or 'edges' — strongest first and second-strongest last, the weakest in the
 * middle, where long-context models attend least (Liu et al., "Lost in the Middle", 2023).
 */
export class BudgetSelector implements Selector {
  private readonly opts: BudgetSelectorOptions & { order: ReadingOrder; diversity: number; calibrated: boolean };

  constructor(opts: Partial<BudgetSelectorOptions> & { order?: ReadingOrder; diversity?: number; calibrated?: boolean } = {}) {
    this.opts = { ...DEFAULT_SELECTOR_OPTIONS, order: 'strongest-first', diversity: 0.5, calibrated: false, ...opts };
  }

  select(_query: Query, ranked: readonly ScoredCandidate[], budgetTokens: number, opts: { calibrated?: boolean } = {}): ContextItem[] {
    const calibrated = opts.calibrated ?? this.opts.calibrated;
    const pool = ranked.slice(0, this.opts.maxConsidered);
    const best = pool[0]?.score ?? 0;
    const probability = (c: ScoredCandidate) => (calibrated ? c.score : best > 0 ? Math.max(0, c.score) / best : 0);
    // Calibrated probabilities are comparable across candidates, so only the near-hopeless are cut; raw scores
    // say less, so far weaker candidates are not worth their tokens.
    const floor = (calibrated ? CALIBRATED_RELATIVE_FLOOR : this.opts.minRelativeScore) * (pool[0] ? probability(pool[0]) : 0);
    const open = pool.filter((c) => probability(c) >= floor);
    const grams = new Map<number, Set<number>>();
    const gramsOf = (c: ScoredCandidate) => {
      let g = grams.get(c.chunkId);
      if (!g) grams.set(c.chunkId, (g = wordTrigrams(c.chunk.text)));
      return g;
    };
    const chosen: ScoredCandidate[] = [];
    let remaining = budgetTokens;
    // Each candidate's value before the diversity discount, which can only lower it: scanning in this order, a
    // candidate whose undiscounted value cannot beat the best discounted one so far ends the scan, so overlaps
    // (and word trigrams) are computed for a handful of candidates, not the whole pool.
    const cost = (c: ScoredCandidate) => c.chunk.tokenCount + headerTokens(c.chunk);
    const ceiling = new Map(open.map((c) => [c.chunkId, probability(c) / Math.sqrt(cost(c))]));
    open.sort((a, b) => ceiling.get(b.chunkId)! - ceiling.get(a.chunkId)!);
    while (remaining > 0 && open.length > 0) {
      let pick = -1;
      let pickValue = 0;
      for (let i = 0; i < open.length; i++) {
        const c = open[i]!;
        if (ceiling.get(c.chunkId)! <= pickValue) break;
        if (cost(c) > remaining) continue;
        let overlap = 0;
        for (const d of chosen) overlap = Math.max(overlap, jaccard(gramsOf(d), gramsOf(c)));
        if (overlap >= this.opts.duplicateJaccard) continue;
        const value = ceiling.get(c.chunkId)! * (1 - this.opts.diversity * overlap);
        if (value > pickValue) {
          pick = i;
          pickValue = value;
        }
      }
      if (pick < 0) break;
      const [c] = open.splice(pick, 1);
      chosen.push(c!);
      remaining -= cost(c!);
    }
    const items = mergeAdjacent(chosen);
    return readingOrder(items, this.opts.order).map((item, i) => ({ ...item, n: i + 1 }));
  }
}

/** Items sorted strongest first, or arranged strongest-at-the-edges. */
export function readingOrder<T extends { score: number }>(items: T[], order: ReadingOrder): T[] {
  const sorted = [...items].sort((a, b) => b.score - a.score);
  if (order === 'strongest-first' || sorted.length < 3) return sorted;
  const front: T[] = [];
  const back: T[] = [];
  sorted.forEach((item, i) => (i % 2 === 0 ? front : back).push(item));
  return [...front, ...back.reverse()];
}

/** Groups chosen chunks into runs of consecutive ordinals per document; a run scores as its best chunk. */
export function mergeAdjacent(chosen: readonly ScoredCandidate[]): Array<Omit<ContextItem, 'n'>> {
  const byDoc = new Map<number, ScoredCandidate[]>();
  for (const c of chosen) {
    const list = byDoc.get(c.chunk.documentId) ?? [];
    list.push(c);
    byDoc.set(c.chunk.documentId, list);
  }
  const items: Array<Omit<ContextItem, 'n'>> = [];
  for (const list of byDoc.values()) {
    list.sort((a, b) => a.chunk.ordinal - b.chunk.ordinal);
    let run: ScoredCandidate[] = [];
    const flush = () => {
      if (run.length > 0) items.push(contextItemOf(run));
      run = [];
    };
    for (const c of list) {
      const last = run[run.length - 1];
      if (last && c.chunk.ordinal !== last.chunk.ordinal + 1) flush();
      run.push(c);
    }
    flush();
  }
  return items.sort((a, b) => b.score - a.score || a.chunkId - b.chunkId);
}

/** One context item from a run of adjacent chunks of a document (one chunk, or several merged), unnumbered. */
export function contextItemOf(run: readonly ScoredCandidate[]): Omit<ContextItem, 'n'> {
  const first = run[0]!;
  let text = first.chunk.text;
  let end = first.chunk.charEnd;
  for (const c of run.slice(1)) {
    // Chunks split out of one long block overlap; keep the overlapping text once.
    text += c.chunk.charStart < end ? c.chunk.text.slice(end - c.chunk.charStart) : `\n\n${c.chunk.text}`;
    end = Math.max(end, c.chunk.charEnd);
  }
  const bestInRun = run.reduce((a, b) => (b.score > a.score ? b : a));
  const pages = run.reduce<PageSpan | undefined>((span, c) => joinPages(span, c.chunk.pages), undefined);
  return {
    chunkId: first.chunkId,
    chunkIds: run.map((c) => c.chunkId),
    docId: first.chunk.docId,
    source: first.chunk.source,
    title: first.chunk.title,
    headingPath: first.chunk.headingPath,
    ...(pages ? { pages } : {}),
    text,
    score: bestInRun.score,
    tokenCount: run.length === 1 ? first.chunk.tokenCount : estimateTokens(text),
  };
}
