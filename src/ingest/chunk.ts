// Packs a document's structural blocks into chunks of at most `maxTokens` estimated tokens.
// - Consecutive blocks of one section share a chunk while they fit; a heading always travels with the content after it.
// - A section change starts a new chunk, except that a small chunk (< 1/4 of the budget) absorbs the next section
//   when that section sits below it (its heading path extends the chunk's) or the document is code (many small
//   definitions would otherwise become many tiny chunks).
// - A block larger than the budget is split at sentence boundaries (line boundaries for code, lists and tables),
//   then at word boundaries; only these pieces overlap, each repeating ~overlapTokens of the piece before it.
// - Chunk text is always doc.text.slice(charStart, charEnd), so spans can be shown and highlighted honestly.
import type { Block, ChunkDraft, LoadedDocument } from '../types.js';
import { SieveError } from '../errors.js';
import { splitSentences } from './sentences.js';
import { estimateTokens, estimateTokensInRange } from './tokens.js';

export interface ChunkOptions {
  /** Hard cap on a chunk's estimated tokens (a word longer than a chunk is cut into pieces). Default 256. */
  maxTokens?: number;
  /** Tokens repeated at the start of each piece of a split block. Default 32; at most half of maxTokens. */
  overlapTokens?: number;
}

export const DEFAULT_MAX_CHUNK_TOKENS = 256;
export const DEFAULT_OVERLAP_TOKENS = 32;

/** A chunk span before its text and token count are filled in. */
interface ChunkSpan {
  start: number;
  end: number;
  headingPath: string[];
  /** estimateTokens of the span when already measured exactly, else null. */
  tokens: number | null;
}

/** Blocks gathered for the next chunk. */
interface PendingChunk {
  start: number;
  end: number;
  tokens: number;
  /** Heading path of the first non-heading block, or null while only headings have been gathered. */
  contentPath: string[] | null;
  firstPath: string[];
  lastPath: string[];
  /** End of the last non-heading block. */
  contentEnd: number;
  /** Start and path of the run of heading blocks at the end, which must move on with the content after them. */
  trailingHeadings: { start: number; path: string[] } | null;
  /** Whether a definition (code) starts in this chunk: until one does, the first one absorbed names the chunk. */
  hasDefinition: boolean;
}

const READABLE = /[\p{L}\p{N}]/u;

export function chunkDocument(doc: LoadedDocument, opts: ChunkOptions = {}): ChunkDraft[] {
  const maxTokens = opts.maxTokens ?? DEFAULT_MAX_CHUNK_TOKENS;
  if (!Number.isInteger(maxTokens) || maxTokens < 8) {
    throw new SieveError('CONFIG_INVALID', `maxTokens must be an integer of at least 8, got ${maxTokens}`, { maxTokens });
  }
  const requestedOverlap = opts.overlapTokens ?? DEFAULT_OVERLAP_TOKENS;
  if (!Number.isInteger(requestedOverlap) || requestedOverlap < 0) {
    throw new SieveError('CONFIG_INVALID', `overlapTokens must be a non-negative integer, got ${requestedOverlap}`, {
      overlapTokens: requestedOverlap,
    });
  }
  const overlapTokens = Math.min(requestedOverlap, Math.floor(maxTokens / 2));
  const text = doc.text;
  const smallChunkTokens = Math.floor(maxTokens / 4);
  const spans: ChunkSpan[] = [];
  let pending: PendingChunk | null = null;

  const tokensOf = (start: number, end: number): number => estimateTokensInRange(text, start, end);

  const startPending = (block: Block, tokens: number): PendingChunk => {
    const isHeading = block.type === 'heading';
    return {
      start: block.start,
      end: block.end,
      tokens,
      contentPath: isHeading ? null : block.headingPath,
      firstPath: block.headingPath,
      lastPath: block.headingPath,
      contentEnd: isHeading ? block.start : block.end,
      trailingHeadings: isHeading ? { start: block.start, path: block.headingPath } : null,
      hasDefinition: block.type === 'definition',
    };
  };

  const extendPending = (chunk: PendingChunk, block: Block, combinedTokens: number): void => {
    chunk.end = block.end;
    chunk.tokens = combinedTokens;
    chunk.lastPath = block.headingPath;
    if (block.type === 'heading') {
      chunk.trailingHeadings ??= { start: block.start, path: block.headingPath };
    } else {
      chunk.contentPath ??= block.headingPath;
      // A chunk that starts with loose code (a section comment, the tail of the definition before it) is named
      // by the first definition that starts in it, not by the one whose tail it carries.
      if (block.type === 'definition' && !chunk.hasDefinition) {
        chunk.contentPath = block.headingPath;
        chunk.hasDefinition = true;
      }
      chunk.contentEnd = block.end;
      chunk.trailingHeadings = null;
    }
  };

  /** Emits the pending chunk's content; returns what stays pending (its trailing headings, if any). */
  const emitContent = (chunk: PendingChunk): PendingChunk | null => {
    if (chunk.contentPath === null) return chunk;
    if (chunk.trailingHeadings === null) {
      spans.push({ start: chunk.start, end: chunk.end, headingPath: chunk.contentPath, tokens: chunk.tokens });
      return null;
    }
    spans.push({ start: chunk.start, end: chunk.contentEnd, headingPath: chunk.contentPath, tokens: null });
    const headings = chunk.trailingHeadings;
    return {
      start: headings.start,
      end: chunk.end,
      tokens: tokensOf(headings.start, chunk.end),
      contentPath: null,
      firstPath: headings.path,
      lastPath: chunk.lastPath,
      contentEnd: headings.start,
      trailingHeadings: headings,
      hasDefinition: false,
    };
  };

  const emitSplit = (block: Block, firstStart: number): void => {
    for (const piece of splitOversizedBlock(text, block, firstStart, maxTokens, overlapTokens)) {
      spans.push({ start: piece.start, end: piece.end, headingPath: block.headingPath, tokens: null });
    }
  };

  for (const block of doc.blocks) {
    if (block.end <= block.start) continue;
    // Exact up to the budget; past it only "too big" matters (a block that large is split and measured piecewise).
    const blockTokens = estimateTokensInRange(text, block.start, block.end, maxTokens);
    // An oversized "heading" is content in disguise (e.g. a setext heading over a long paragraph).
    const effective: Block = block.type === 'heading' && blockTokens > maxTokens ? { ...block, type: 'paragraph' } : block;
    const isHeading = effective.type === 'heading';

    if (pending !== null && pending.contentPath !== null) {
      const combined = tokensOf(pending.start, block.end);
      if (combined <= maxTokens) {
        const sameSection = pathsEqual(block.headingPath, pending.lastPath);
        const absorbsNextSection =
          pending.tokens < smallChunkTokens && (doc.kind === 'code' || isPrefix(pending.contentPath, block.headingPath));
        if (sameSection || absorbsNextSection) {
          extendPending(pending, effective, combined);
          continue;
        }
      }
      pending = emitContent(pending);
    }

    // Nothing pending, or only headings waiting for their content.
    if (pending === null) {
      if (blockTokens > maxTokens) emitSplit(effective, effective.start);
      else pending = startPending(effective, blockTokens);
      continue;
    }
    const combined = tokensOf(pending.start, block.end);
    if (combined <= maxTokens) {
      extendPending(pending, effective, combined);
    } else if (isHeading) {
      // Headings that cannot fit with the next heading: unavoidable heading-only chunk.
      spans.push({ start: pending.start, end: pending.end, headingPath: pending.firstPath, tokens: pending.tokens });
      pending = startPending(effective, blockTokens);
    } else {
      // The waiting headings open the first piece of the split block.
      emitSplit(effective, pending.start);
      pending = null;
    }
  }

  if (pending !== null) pending = emitContent(pending);
  if (pending !== null) {
    // Headings at the very end: join the previous chunk when they fit, else stand alone (or the doc is only headings).
    const previous = spans[spans.length - 1];
    const joined = previous === undefined ? Infinity : tokensOf(previous.start, pending.end);
    if (previous !== undefined && joined <= maxTokens) {
      previous.end = pending.end;
      previous.tokens = joined;
    } else {
      spans.push({ start: pending.start, end: pending.end, headingPath: pending.firstPath, tokens: pending.tokens });
    }
  }

  const pageStarts = doc.pageStarts;
  // A chunk without a letter or a digit (a run of dots or rules, a row of emoji) can match no search and tell a
  // reader nothing: it is not stored.
  return spans.filter((span) => READABLE.test(text.slice(span.start, span.end))).map((span, ordinal) => {
    const chunkText = text.slice(span.start, span.end);
    const chunk: ChunkDraft = {
      ordinal,
      text: chunkText,
      headingPath: span.headingPath,
      tokenCount: span.tokens ?? estimateTokens(chunkText),
      charStart: span.start,
      charEnd: span.end,
    };
    if (pageStarts !== undefined && pageStarts.length > 0) {
      chunk.pages = { first: pageAt(pageStarts, span.start), last: pageAt(pageStarts, span.end - 1) };
    }
    return chunk;
  });
}

/** The 1-based page holding character `offset`: the last page starting at or before it (binary search). */
export function pageAt(pageStarts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = pageStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((pageStarts[mid] as number) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** The smallest piece a split may produce: a sentence or line, or a word of one too long to keep whole. */
interface Atom {
  start: number;
  end: number;
  tokens: number;
  /** Tokens of the whitespace between the previous atom and this one. */
  gapTokens: number;
}

interface Piece {
  start: number;
  end: number;
  /** Where this piece's own text starts (after the overlap copied from the previous piece). */
  newStart: number;
}

/**
 * Splits one block into pieces of at most maxTokens. The first piece starts at `firstStart` (earlier than the
 * block when headings lead into it). Pieces are balanced in size so the last one is not a scrap, and every piece
 * after the first begins with about overlapTokens of the previous piece's end.
 */
function splitOversizedBlock(
  text: string,
  block: Block,
  firstStart: number,
  maxTokens: number,
  overlapTokens: number,
): Piece[] {
  const prefixTokens = firstStart < block.start ? estimateTokensInRange(text, firstStart, block.start) : 0;
  const atoms = blockAtoms(text, block, maxTokens, prefixTokens);
  if (atoms.length === 0) return [];

  let total = prefixTokens;
  for (const atom of atoms) total += atom.gapTokens + atom.tokens;
  const step = Math.max(1, maxTokens - overlapTokens);
  const pieceCount = total <= maxTokens ? 1 : 1 + Math.ceil((total - maxTokens) / step);
  const target = Math.ceil((total + (pieceCount - 1) * overlapTokens) / pieceCount);
  const softLimit = Math.min(maxTokens, target + Math.ceil(maxTokens / 16));

  const pieces: Piece[] = [];
  let index = 0;
  while (index < atoms.length) {
    const first = atoms[index] as Atom;
    let start = first.start;
    let tokens = first.tokens;
    const previous = pieces[pieces.length - 1];
    if (previous === undefined) {
      // Measured exactly: the span may open with headings or indentation that belong to no atom.
      start = firstStart;
      tokens = estimateTokensInRange(text, firstStart, first.end);
    } else if (overlapTokens > 0) {
      // Overlap must leave room for the first new atom; shrink it (or drop it) when that atom is large.
      const allowance = Math.min(overlapTokens, maxTokens - first.tokens - first.gapTokens);
      if (allowance >= Math.min(4, overlapTokens)) {
        const overlapStart = findOverlapStart(text, atoms, index, Math.max(previous.newStart, block.start), allowance);
        if (overlapStart < first.start) {
          start = overlapStart;
          tokens = estimateTokensInRange(text, overlapStart, first.start) + first.tokens;
        }
      }
    }
    let next = index + 1;
    while (next < atoms.length) {
      const atom = atoms[next] as Atom;
      const withAtom = tokens + atom.gapTokens + atom.tokens;
      if (withAtom > softLimit) break;
      tokens = withAtom;
      next++;
    }
    pieces.push({ start, end: (atoms[next - 1] as Atom).end, newStart: first.start });
    index = next;
  }

  // A scrap at the end (< 1/8 of the budget of new text) folds into the piece before when the result still fits.
  if (pieces.length >= 2) {
    const last = pieces[pieces.length - 1] as Piece;
    const beforeLast = pieces[pieces.length - 2] as Piece;
    const scrapTokens = estimateTokensInRange(text, last.newStart, last.end);
    if (scrapTokens < maxTokens / 8 && estimateTokensInRange(text, beforeLast.start, last.end) <= maxTokens) {
      beforeLast.end = last.end;
      pieces.pop();
    }
  }
  return pieces;
}

/**
 * The start of the overlap for the piece beginning at atoms[index]: whole atoms from the end of the previous piece
 * while they fit in `allowance` tokens, then words of the next atom back if that leaves the overlap under half full.
 */
function findOverlapStart(text: string, atoms: Atom[], index: number, floor: number, allowance: number): number {
  const first = atoms[index] as Atom;
  let start = first.start;
  let used = 0;
  let gapBefore = first.gapTokens;
  for (let k = index - 1; k >= 0; k--) {
    const atom = atoms[k] as Atom;
    if (atom.start < floor) break;
    const withAtom = used + gapBefore + atom.tokens;
    if (withAtom <= allowance) {
      used = withAtom;
      start = atom.start;
      gapBefore = atom.gapTokens;
      continue;
    }
    if (used < allowance / 2) {
      // Take the tail words of this atom, back to the earliest word whose tail still fits (summed word by word:
      // words are separated by whitespace, so their estimates add up).
      const words = wordSpans(text, atom.start, atom.end);
      let tailTokens = used;
      let tailStart = start;
      for (let w = words.length - 1; w >= 0; w--) {
        const word = words[w] as { start: number; end: number };
        tailTokens += estimateTokensInRange(text, word.start, word.end) + estimateTokensInRange(text, word.end, tailStart);
        if (tailTokens > allowance) break;
        start = word.start;
        tailStart = word.start;
      }
    }
    break;
  }
  return start;
}

function wordSpans(text: string, start: number, end: number): Array<{ start: number; end: number }> {
  const spans: Array<{ start: number; end: number }> = [];
  const word = /\S+/g;
  word.lastIndex = start;
  for (let m = word.exec(text); m !== null && m.index < end; m = word.exec(text)) {
    spans.push({ start: m.index, end: Math.min(end, m.index + m[0].length) });
  }
  return spans;
}

/** Sentences (or lines for code, lists and tables) of a block, with any too long to fit broken into words. */
function blockAtoms(text: string, block: Block, maxTokens: number, prefixTokens: number): Atom[] {
  const byLines = block.type === 'code' || block.type === 'definition' || block.type === 'table' || block.type === 'list';
  const units = byLines ? lineUnits(text, block.start, block.end) : sentenceUnits(text, block.start, block.end);
  const atoms: Atom[] = [];
  let previousEnd = -1;
  const push = (start: number, end: number, tokens: number): void => {
    const gapTokens = previousEnd === -1 ? 0 : estimateTokensInRange(text, previousEnd, start);
    atoms.push({ start, end, tokens, gapTokens });
    previousEnd = end;
  };
  for (const unit of units) {
    const tokens = estimateTokensInRange(text, unit.start, unit.end);
    const limit = atoms.length === 0 ? maxTokens - prefixTokens : maxTokens;
    if (tokens <= limit) {
      push(unit.start, unit.end, tokens);
      continue;
    }
    const word = /\S+/g;
    const slice = text.slice(unit.start, unit.end);
    for (let m = word.exec(slice); m !== null; m = word.exec(slice)) {
      const start = unit.start + m.index;
      const tokens = estimateTokens(m[0]);
      if (tokens <= maxTokens) push(start, start + m[0].length, tokens);
      else for (const piece of cutLongWord(text, start, start + m[0].length, maxTokens)) push(piece.start, piece.end, piece.tokens);
    }
  }
  return atoms;
}

/**
 * A "word" longer than a whole chunk (a base64 blob, a minified line without spaces, a row of dots) cut into pieces
 * that fit, so no chunk ever passes the cap that the selector, the embedder's length buckets and the prompt rely on.
 */
function cutLongWord(text: string, start: number, end: number, maxTokens: number): Array<{ start: number; end: number; tokens: number }> {
  const pieces: Array<{ start: number; end: number; tokens: number }> = [];
  let from = start;
  while (from < end) {
    // The longest prefix that fits, by binary search (token estimates grow with length); at least one character.
    let lo = from + 1;
    let hi = Math.min(end, from + maxTokens * 16);
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      if (estimateTokensInRange(text, from, mid, maxTokens) <= maxTokens) lo = mid;
      else hi = mid - 1;
    }
    pieces.push({ start: from, end: lo, tokens: estimateTokensInRange(text, from, lo) });
    from = lo;
  }
  return pieces;
}

function sentenceUnits(text: string, start: number, end: number): Array<{ start: number; end: number }> {
  return splitSentences(text.slice(start, end)).map((s) => ({ start: start + s.start, end: start + s.end }));
}

/** Non-blank lines, keeping their indentation (it is meaningful in code), without trailing whitespace. */
function lineUnits(text: string, start: number, end: number): Array<{ start: number; end: number }> {
  const units: Array<{ start: number; end: number }> = [];
  let lineStart = start;
  while (lineStart < end) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd === -1 || lineEnd > end) lineEnd = end;
    let contentEnd = lineEnd;
    while (contentEnd > lineStart && /\s/.test(text[contentEnd - 1] as string)) contentEnd--;
    if (contentEnd > lineStart) {
      // The first line of the block starts at the block start (already trimmed by the loader).
      units.push({ start: Math.max(lineStart, start), end: contentEnd });
    }
    lineStart = lineEnd + 1;
  }
  return units;
}

function pathsEqual(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isPrefix(prefix: string[], of: string[]): boolean {
  if (prefix.length > of.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== of[i]) return false;
  return true;
}
