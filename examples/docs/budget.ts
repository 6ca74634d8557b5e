// Packing context into a token budget: a greedy knapsack over ranked chunks.

export interface RankedChunk {
  id: number;
  tokens: number;
  score: number;
}

/** Takes chunks in rank order while they fit, skipping one that does not so a smaller one can use the room. */
export function packBudget(ranked: RankedChunk[], budgetTokens: number): RankedChunk[] {
  const chosen: RankedChunk[] = [];
  let remaining = budgetTokens;
  for (const chunk of ranked) {
    if (chunk.tokens > remaining) continue;
    chosen.push(chunk);
    remaining -= chunk.tokens;
  }
  return chosen;
}

/** Orders chosen chunks so the strongest stand first and last, where long-context models read best. */
export function edgesFirst(chosen: RankedChunk[]): RankedChunk[] {
  const front: RankedChunk[] = [];
  const back: RankedChunk[] = [];
  chosen.forEach((chunk, i) => (i % 2 === 0 ? front : back).push(chunk));
  return [...front, ...back.reverse()];
}
