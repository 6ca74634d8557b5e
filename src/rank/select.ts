// Context selection: which ranked chunks the LLM reads, within a token budget, numbered in reading order.
import { estimateTokens } from '../ingest/tokens.js';
import type { ContextItem, Query, ScoredCandidate, Selector } from '../types.js';

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

/** Tokens the prompt spends on an item's header line ("[n] title — heading path"). */
export function headerTokens(item: { title: string; headingPath: string[] }): number {
  return 4 + estimateTokens(item.title) + estimateTokens(item.headingPath.join(' '));
}

export function wordTrigrams(text: string): Set<string> {
  const words = text.toLowerCase().match(/[\p{L}\p{M}\p{N}]+/gu) ?? [];
  const grams = new Set<string>();
  if (words.length < 3) {
    if (words.length > 0) grams.add(words.join(' '));
    return grams;
  }
  for (let i = 0; i + 2 < words.length; i++) grams.add(`${words[i]} ${words[i + 1]} ${words[i + 2]}`);
  return grams;
}

export function jaccard(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  let inter = 0;
  for (const g of small) if (large.has(g)) inter++;
  return inter / (a.size + b.size - inter);
}

/**
 * Greedy packing in rank order: take each candidate that still fits and is not a near-duplicate of one taken,
 * skipping (not stopping at) one that does not fit so a smaller, still-relevant chunk can use the room.
 * Chosen chunks that are adjacent in one document merge into one item (the reader gets continuous text and
 * one number to cite). Items are numbered strongest first, the order the LLM reads them.
 */
export class BudgetSelector implements Selector {
  private readonly opts: BudgetSelectorOptions;

  constructor(opts: Partial<BudgetSelectorOptions> = {}) {
    this.opts = { ...DEFAULT_SELECTOR_OPTIONS, ...opts };
  }

  select(_query: Query, ranked: ScoredCandidate[], budgetTokens: number): ContextItem[] {
    const chosen: ScoredCandidate[] = [];
    const chosenGrams: Array<Set<string>> = [];
    const best = ranked[0]?.score ?? 0;
    let remaining = budgetTokens;
    for (const c of ranked.slice(0, this.opts.maxConsidered)) {
      if (remaining <= 0) break;
      if (best > 0 && c.score < best * this.opts.minRelativeScore) break;
      const cost = c.chunk.tokenCount + headerTokens(c.chunk);
      if (cost > remaining) continue;
      const grams = wordTrigrams(c.chunk.text);
      if (chosenGrams.some((g) => jaccard(g, grams) >= this.opts.duplicateJaccard)) continue;
      chosen.push(c);
      chosenGrams.push(grams);
      remaining -= cost;
    }
    return mergeAdjacent(chosen).map((item, i) => ({ ...item, n: i + 1 }));
  }
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
      if (run.length > 0) items.push(itemFromRun(run));
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

function itemFromRun(run: ScoredCandidate[]): Omit<ContextItem, 'n'> {
  const first = run[0]!;
  let text = first.chunk.text;
  let end = first.chunk.charEnd;
  for (const c of run.slice(1)) {
    // Chunks split out of one long block overlap; keep the overlapping text once.
    text += c.chunk.charStart < end ? c.chunk.text.slice(end - c.chunk.charStart) : `\n\n${c.chunk.text}`;
    end = Math.max(end, c.chunk.charEnd);
  }
  const bestInRun = run.reduce((a, b) => (b.score > a.score ? b : a));
  return {
    chunkId: first.chunkId,
    chunkIds: run.map((c) => c.chunkId),
    docId: first.chunk.docId,
    source: first.chunk.source,
    title: first.chunk.title,
    headingPath: first.chunk.headingPath,
    text,
    score: bestInRun.score,
    tokenCount: run.length === 1 ? first.chunk.tokenCount : estimateTokens(text),
  };
}
