// Exploration: now and then show one lower-ranked candidate in the last slot, logged as such, so the model gets
// labels for chunks it would not show on its own (without it, the loop only ever confirms its own ranking).
import type { SeededRandom } from '../util/random.js';
import type { ContextItem, ScoredCandidate } from '../types.js';
import { contextItemOf, headerTokens } from './select.js';

export interface ExploreOptions {
  rate: number;
  /** Ranked positions considered, 1-based, below those already shown. */
  depth: number;
  budgetTokens: number;
}

const cost = (item: { tokenCount: number; title: string; headingPath: string[]; source: string }) => item.tokenCount + headerTokens(item);

/**
 * The context with one explored item in the last slot, or the context unchanged (no draw, or no candidate).
 * When the budget is full, the weakest shown items (never the first) make room for it.
 */
export function maybeExplore(context: ContextItem[], ranked: readonly ScoredCandidate[], opts: ExploreOptions, random: SeededRandom): ContextItem[] {
  if (opts.rate <= 0 || random.nextFloat() >= opts.rate) return context;
  const shown = new Set(context.flatMap((c) => c.chunkIds));
  const pool = ranked.slice(0, opts.depth).filter((c) => !shown.has(c.chunkId) && cost(c.chunk) <= opts.budgetTokens);
  if (pool.length === 0) return context;
  const pick = pool[random.nextInt(pool.length)]!;
  const kept = [...context];
  let used = kept.reduce((s, c) => s + cost(c), 0);
  while (used + cost(pick.chunk) > opts.budgetTokens && kept.length > 1) {
    const weakest = kept.slice(1).reduce((a, b) => (b.score < a.score ? b : a));
    kept.splice(kept.indexOf(weakest), 1);
    used -= cost(weakest);
  }
  if (used + cost(pick.chunk) > opts.budgetTokens) return context;
  return [
    ...kept.map((c, i) => ({ ...c, n: i + 1 })),
    { n: kept.length + 1, ...contextItemOf([pick]), explored: true },
  ];
}

/**
 * The candidates an ask selects from when the same question was asked before: the ranking without the chunks
 * shown then and not used (`unused`: chunk → asks that passed it over), except the best-ranked one passed over
 * only once — a reader overlooks some of what it is given, and the strongest candidate is the likeliest to have
 * been overlooked. Asked again, a question gets the next-best context rather than the one that did not help, and
 * the loop gets labels for chunks its ranking kept just below the budget, which it would otherwise never learn
 * about. Chunks that were used stay where they were; with nothing else left, the ranking is returned whole.
 */
export function withoutUnused<T extends { chunkId: number }>(ranked: readonly T[], unused: ReadonlyMap<number, number>): readonly T[] {
  if (unused.size === 0) return ranked;
  let secondLook = true;
  const fresh = ranked.filter((c) => {
    const passedOver = unused.get(c.chunkId);
    if (passedOver === undefined) return true;
    if (secondLook && passedOver === 1) {
      secondLook = false;
      return true;
    }
    return false;
  });
  return fresh.length === 0 || fresh.length === ranked.length ? ranked : fresh;
}
