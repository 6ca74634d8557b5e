// Citation markers in an answer: which context numbers the answer cites, wherever and however it wrote them.
import type { Citation, ContextItem } from '../types.js';

// [1]  [1, 2]  [1,2,3]  [1-3]  [^1]  【1】  [1][3] (adjacent brackets match one by one).
const MARKER = /(?:\[\^?|【)\s*(\d{1,4}(?:\s*(?:[,;–-]|and)\s*\^?\d{1,4})*)\s*(?:\]|】)/g;

export interface MarkerHit {
  n: number;
  /** Character offset of the marker in the answer. */
  index: number;
}

/** Every cited number in order of appearance (ranges expanded, at most 50 numbers per range). */
export function findMarkers(answer: string): MarkerHit[] {
  const hits: MarkerHit[] = [];
  for (const m of answer.matchAll(MARKER)) {
    const body = m[1] ?? '';
    for (const part of body.split(/\s*(?:[,;]|and)\s*/)) {
      const range = /^\^?(\d+)\s*[–-]\s*\^?(\d+)$/.exec(part);
      if (range) {
        const lo = Number(range[1]);
        const hi = Number(range[2]);
        if (hi >= lo && hi - lo < 50) for (let n = lo; n <= hi; n++) hits.push({ n, index: m.index });
        continue;
      }
      const n = Number(part.replace('^', ''));
      if (Number.isInteger(n)) hits.push({ n, index: m.index });
    }
  }
  return hits;
}

/** The context items the answer cites, once each, in order of first citation; numbers pointing at nothing are dropped. */
export function citationsFromMarkers(answer: string, context: readonly ContextItem[]): Citation[] {
  const byN = new Map(context.map((c) => [c.n, c]));
  const seen = new Set<number>();
  const out: Citation[] = [];
  for (const { n } of findMarkers(answer)) {
    const item = byN.get(n);
    if (!item || seen.has(n)) continue;
    seen.add(n);
    out.push({ n, chunkId: item.chunkId, docId: item.docId });
  }
  return out;
}
