// Edit distance for spelling correction: Damerau–Levenshtein with adjacent transpositions (optimal string
// alignment), given up as soon as it exceeds a bound, so scanning a vocabulary stays cheap.

/** The distance between a and b if it is at most `max`, else max + 1. */
export function boundedEditDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  if (a === b) return 0;
  const n = b.length;
  let prevPrev = new Int32Array(n + 1);
  let prev = new Int32Array(n + 1);
  let cur = new Int32Array(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = cur[0]!;
    for (let j = 1; j <= n; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) d = Math.min(d, prevPrev[j - 2]! + 1);
      cur[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > max) return max + 1;
    [prevPrev, prev, cur] = [prev, cur, prevPrev];
  }
  return Math.min(prev[n]!, max + 1);
}

/** Words shorter than this, and words with digits (codes, numbers, versions), are never corrected. */
const MIN_CORRECTABLE = 4;
const HAS_DIGIT = /\d/;

export function isCorrectable(word: string): boolean {
  return word.length >= MIN_CORRECTABLE && !HAS_DIGIT.test(word);
}

/**
 * The candidate closest to `word` within one edit (two from eight letters), the most frequent on ties; null when
 * none is that close. Candidates are [spelling, value, frequency].
 */
export function closestSpelling<T>(word: string, candidates: Iterable<readonly [string, T, number]>): T | null {
  const max = word.length >= 8 ? 2 : 1;
  let best: T | null = null;
  let bestDistance = max + 1;
  let bestFrequency = -1;
  for (const [spelling, value, frequency] of candidates) {
    const d = boundedEditDistance(word, spelling, max);
    if (d > max) continue;
    if (d < bestDistance || (d === bestDistance && frequency > bestFrequency)) {
      best = value;
      bestDistance = d;
      bestFrequency = frequency;
    }
  }
  return best;
}
