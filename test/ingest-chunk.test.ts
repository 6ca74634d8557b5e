import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chunkDocument } from '../src/ingest/chunk.js';
import { loadFile } from '../src/ingest/loaders/index.js';
import { splitSentences } from '../src/ingest/sentences.js';
import { estimateTokens, estimateTokensInRange } from '../src/ingest/tokens.js';
import type { Block, ChunkDraft, LoadedDocument } from '../src/types.js';

const testDir = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.join(testDir, 'fixtures', 'ingest');
const repoRoot = path.resolve(testDir, '..');
const sharedData = path.resolve(repoRoot, '../shared/data');

function loadOne(name: string): LoadedDocument {
  const file = path.join(fixtures, name);
  const result = loadFile(file, readFileSync(file));
  return result.documents[0] as LoadedDocument;
}

function textDoc(text: string, blocks: Block[], kind: LoadedDocument['kind'] = 'text'): LoadedDocument {
  return { uri: '/virtual/doc', externalId: null, title: 'doc', text, kind, language: null, metadata: {}, blocks };
}

function paragraphDoc(text: string): LoadedDocument {
  return textDoc(text, [{ start: 0, end: text.length, headingPath: ['Only'], type: 'paragraph' }]);
}

/** Invariants every chunking must keep. */
function expectHonestChunks(doc: LoadedDocument, chunks: ChunkDraft[], maxTokens: number): void {
  chunks.forEach((chunk, i) => {
    expect(chunk.ordinal).toBe(i);
    expect(chunk.text).toBe(doc.text.slice(chunk.charStart, chunk.charEnd));
    expect(chunk.tokenCount).toBe(estimateTokens(chunk.text));
    expect(chunk.text.trimEnd()).toBe(chunk.text);
    // Code keeps its first line's indentation; everything else starts at a visible character.
    if (doc.kind !== 'code') expect(chunk.text.trimStart()).toBe(chunk.text);
    expect(chunk.tokenCount).toBeLessThanOrEqual(maxTokens);
  });
}

/** Deterministic prose: numbered sentences of varying length. */
function prose(sentences: number): string {
  const words = ['retrieval', 'models', 'learn', 'from', 'answers', 'which', 'context', 'was', 'useful', 'and', 'rank', 'chunks'];
  const out: string[] = [];
  for (let s = 0; s < sentences; s++) {
    const length = 6 + ((s * 7) % 11);
    const sentence = Array.from({ length }, (_, w) => words[(s + w * 5) % words.length]).join(' ');
    out.push(`Sentence ${s} says ${sentence}.`);
  }
  return out.join(' ');
}

describe('estimateTokens', () => {
  it('counts words, long words, digits, punctuation and CJK by its documented rule', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('The cat sat on the mat.')).toBe(7);
    expect(estimateTokens('internationalization')).toBe(4); // 20 letters → ceil(18 / 5)
    expect(estimateTokens('1234567')).toBe(3);
    expect(estimateTokens('日本語のテキスト')).toBe(8);
    expect(estimateTokens('a\n\n    b')).toBe(4); // a, newline run, indentation, b
    expect(estimateTokens('x => y')).toBe(3);
  });

  it('is deterministic, additive across whitespace and agrees with the range form', () => {
    const text = prose(40);
    expect(estimateTokens(text)).toBe(estimateTokens(text));
    const cut = text.indexOf(' ', 500);
    expect(estimateTokens(text)).toBe(estimateTokens(text.slice(0, cut)) + estimateTokens(text.slice(cut)));
    expect(estimateTokensInRange(text, 100, 900)).toBe(estimateTokens(text.slice(100, 900)));
    expect(estimateTokensInRange(text, 0, text.length, 10)).toBeGreaterThan(10);
  });

  it('lands near the usual ~4 characters per token on English prose', () => {
    const english =
      'Retrieval-augmented generation combines a search step with a language model. The search step finds passages ' +
      'that are likely to contain the answer, and the model writes a response grounded in those passages.';
    const ratio = english.length / estimateTokens(english);
    expect(ratio).toBeGreaterThan(3.5);
    expect(ratio).toBeLessThan(5.5);
  });
});

describe('splitSentences', () => {
  const sentences = (text: string): string[] => splitSentences(text).map((s) => text.slice(s.start, s.end));

  it('splits on stops followed by a capital and keeps abbreviations, decimals and initials inside', () => {
    expect(sentences('Dose was 3.5 mg, e.g. in mice. Results (Fig. 2) held. Smith et al. reported it. J. R. Tolkien wrote.')).toEqual([
      'Dose was 3.5 mg, e.g. in mice.',
      'Results (Fig. 2) held.',
      'Smith et al. reported it.',
      'J. R. Tolkien wrote.',
    ]);
    expect(sentences('Dr. Who arrived at 5 p.m. The show began. It was i.e. fine.')).toEqual([
      'Dr. Who arrived at 5 p.m. The show began.',
      'It was i.e. fine.',
    ]);
  });

  it('keeps closing quotes and brackets with their sentence and handles ellipses, ? and !', () => {
    expect(sentences('He said "stop." Then left. (It rained.) Wait... Really? Yes! Done')).toEqual([
      'He said "stop."',
      'Then left.',
      '(It rained.)',
      'Wait...',
      'Really?',
      'Yes!',
      'Done',
    ]);
    expect(sentences('It trailed off... and resumed.')).toEqual(['It trailed off... and resumed.']);
  });

  it('splits CJK full stops without needing spaces', () => {
    expect(sentences('今日は晴れです。明日は雨！本当？はい')).toEqual(['今日は晴れです。', '明日は雨！', '本当？', 'はい']);
  });

  it('treats list items, headings and paragraph breaks as boundaries but joins wrapped lines', () => {
    const text = 'Steps:\n- install it\n- run it\n1. first\n2. second\n\nA wrapped\nsentence here. Next one.';
    expect(sentences(text)).toEqual(['Steps:', '- install it', '- run it', '1. first', '2. second', 'A wrapped\nsentence here.', 'Next one.']);
  });

  it('returns honest spans: no surrounding whitespace, in order, covering every non-space character', () => {
    const text = '  Leading space.   Trailing space.  \n\n  Indented para.  ';
    const spans = splitSentences(text);
    let covered = '';
    let previousEnd = 0;
    for (const span of spans) {
      const s = text.slice(span.start, span.end);
      expect(s.trim()).toBe(s);
      expect(span.start).toBeGreaterThanOrEqual(previousEnd);
      previousEnd = span.end;
      covered += s;
    }
    expect(covered.replace(/\s/g, '')).toBe(text.replace(/\s/g, ''));
    expect(splitSentences('   ')).toEqual([]);
  });
});

describe('chunkDocument', () => {
  it('packs a structured markdown file by section, headings attached to the content after them', () => {
    const doc = loadOne('guide.md');
    const chunks = chunkDocument(doc, { maxTokens: 64 });
    expectHonestChunks(doc, chunks, 64);
    expect(chunks.map((c) => c.headingPath)).toEqual([
      ['Operating sieve'],
      ['Operating sieve', 'Installation'],
      ['Operating sieve', 'Installation', 'Requirements'],
      ['Operating sieve', 'Configuration'],
      ['Operating sieve', 'Recovery'],
    ]);
    expect(chunks[2]?.text.startsWith('### Requirements\n\n- Node 20')).toBe(true);
    // The trailing empty section heading joins the last chunk instead of standing alone.
    expect(chunks[chunks.length - 1]?.text.endsWith('## Empty section')).toBe(true);
    // No chunk is only headings.
    const headingOnly = chunks.filter((c) => c.text.split('\n').every((line) => line.trim() === '' || line.startsWith('#')));
    expect(headingOnly).toEqual([]);
    // Unsplit blocks never overlap.
    for (let i = 1; i < chunks.length; i++) expect(chunks[i]?.charStart).toBeGreaterThanOrEqual(chunks[i - 1]?.charEnd ?? 0);
  });

  it('lets a small chunk absorb the subsections below it within the budget', () => {
    const doc = loadOne('guide.md');
    const chunks = chunkDocument(doc, { maxTokens: 256 });
    expectHonestChunks(doc, chunks, 256);
    expect(chunks[0]?.headingPath).toEqual(['Operating sieve']);
    expect(chunks[0]?.text).toContain('## Installation\n\nInstall the package');
    // Once a chunk is past a quarter of the budget, the next section starts its own chunk.
    expect(chunks[0]?.tokenCount).toBeGreaterThanOrEqual(64);
    expect(chunks[1]?.text.startsWith('### Requirements')).toBe(true);
    expect(chunks).toHaveLength(4);
  });

  it('splits an oversized paragraph at sentences with overlap only between its pieces', () => {
    const long = prose(60);
    const text = `Short intro paragraph.\n\n${long}\n\nShort closing paragraph.`;
    const longStart = text.indexOf(long);
    const doc = textDoc(text, [
      { start: 0, end: 22, headingPath: ['A'], type: 'paragraph' },
      { start: longStart, end: longStart + long.length, headingPath: ['B'], type: 'paragraph' },
      { start: longStart + long.length + 2, end: text.length, headingPath: ['C'], type: 'paragraph' },
    ]);
    const maxTokens = 64;
    const chunks = chunkDocument(doc, { maxTokens, overlapTokens: 12 });
    expectHonestChunks(doc, chunks, maxTokens);
    const pieces = chunks.filter((c) => c.headingPath[0] === 'B');
    expect(pieces.length).toBeGreaterThan(3);
    expect(chunks[0]?.text).toBe('Short intro paragraph.');
    expect(chunks[chunks.length - 1]?.text).toBe('Short closing paragraph.');
    // Pieces of the split block overlap their predecessor; the first piece and the neighbours do not.
    expect(pieces[0]?.charStart).toBe(longStart);
    for (let i = 1; i < pieces.length; i++) {
      const previous = pieces[i - 1] as ChunkDraft;
      const piece = pieces[i] as ChunkDraft;
      expect(piece.charStart).toBeLessThan(previous.charEnd);
      expect(piece.charStart).toBeGreaterThan(previous.charStart);
      const overlap = estimateTokens(text.slice(piece.charStart, previous.charEnd));
      expect(overlap).toBeGreaterThan(0);
      expect(overlap).toBeLessThanOrEqual(12);
    }
    expect(pieces[pieces.length - 1]?.charEnd).toBe(longStart + long.length);
    // Every word of the long block lands in some piece.
    const coveredEnd = pieces.reduce((end, p) => (p.charStart <= end ? Math.max(end, p.charEnd) : end), longStart);
    expect(coveredEnd).toBe(longStart + long.length);
  });

  it('keeps no overlap when overlapTokens is 0, and no tiny trailing piece', () => {
    const doc = paragraphDoc(prose(45));
    const chunks = chunkDocument(doc, { maxTokens: 80, overlapTokens: 0 });
    expectHonestChunks(doc, chunks, 80);
    for (let i = 1; i < chunks.length; i++) expect(chunks[i]?.charStart).toBeGreaterThan(chunks[i - 1]?.charEnd ?? 0);
    const last = chunks[chunks.length - 1] as ChunkDraft;
    expect(last.tokenCount).toBeGreaterThanOrEqual(80 / 8);
  });

  it('falls back to word boundaries for a sentence longer than the budget, and cuts a word longer than a chunk into pieces that fit', () => {
    const runOn = Array.from({ length: 300 }, (_, i) => `word${i % 17}`).join(' ');
    const giant = 'x'.repeat(2000);
    const text = `${runOn} ${giant} tail words here.`;
    const doc = paragraphDoc(text);
    const chunks = chunkDocument(doc, { maxTokens: 50, overlapTokens: 8 });
    expectHonestChunks(doc, chunks, 50); // every chunk within the cap, the giant word's pieces too
    expect(chunks.length).toBeGreaterThan(6);
    const giantStart = text.indexOf(giant);
    const giantEnd = giantStart + giant.length;
    const pieces = chunks.filter((c) => c.charEnd > giantStart && c.charStart < giantEnd);
    expect(pieces.length).toBeGreaterThan(1);
    // Together the pieces hold every character of the word.
    let covered = giantStart;
    for (const c of pieces) if (c.charStart <= covered) covered = Math.max(covered, c.charEnd);
    expect(covered).toBeGreaterThanOrEqual(giantEnd);
    // Everywhere else, word-level pieces never cut a word in half.
    for (const c of chunks.filter((chunk) => !pieces.includes(chunk))) {
      expect(/\S/.test(text[c.charStart - 1] ?? ' ')).toBe(false);
      expect(/\S/.test(text[c.charEnd] ?? ' ')).toBe(false);
    }
  });

  it('stores no chunk without a letter or a digit, and numbers the rest without gaps', () => {
    const rule = '.'.repeat(3000);
    const text = `Intro words here.\n\n${rule}\n\nClosing words here.`;
    const doc = textDoc(text, [
      { start: 0, end: 17, headingPath: ['A'], type: 'paragraph' },
      { start: 19, end: 19 + rule.length, headingPath: ['B'], type: 'paragraph' },
      { start: 21 + rule.length, end: text.length, headingPath: ['C'], type: 'paragraph' },
    ]);
    const chunks = chunkDocument(doc, { maxTokens: 64, overlapTokens: 0 });
    expectHonestChunks(doc, chunks, 64);
    expect(chunks.map((c) => c.text)).toEqual(['Intro words here.', 'Closing words here.']);
    expect(chunkDocument(paragraphDoc(rule), { maxTokens: 64 })).toEqual([]);
  });

  it('splits oversized code at line boundaries and keeps the definition name', () => {
    const body = Array.from({ length: 80 }, (_, i) => `  const value${i} = compute(${i}, "item-${i}");`).join('\n');
    const text = `export function big() {\n${body}\n}\n`;
    const file = '/virtual/big.ts';
    const doc = loadFile(file, Buffer.from(text)).documents[0] as LoadedDocument;
    const chunks = chunkDocument(doc, { maxTokens: 100 });
    expectHonestChunks(doc, chunks, 100);
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      expect(c.headingPath).toEqual(['big']);
      // Pieces start at a line start (indentation kept) and end at a line end.
      expect(c.charStart === 0 || text[c.charStart - 1] === '\n').toBe(true);
      expect(text[c.charEnd] === '\n').toBe(true);
    }
  });

  it('counts the indentation of a block whose first line must be split into words', () => {
    const comment = `  // ${Array.from({ length: 120 }, (_, i) => `note${i % 9}`).join(' ')}`;
    const text = `function f() {\n  return 1;\n}\n\n${comment}\n  more();\n`;
    const start = text.indexOf(comment);
    const doc = textDoc(text, [{ start, end: text.length - 1, headingPath: ['f'], type: 'code' }], 'code');
    // Many budgets, so that some piece boundary lands exactly on the limit.
    for (let maxTokens = 16; maxTokens <= 80; maxTokens++) {
      const chunks = chunkDocument(doc, { maxTokens, overlapTokens: 6 });
      expectHonestChunks(doc, chunks, maxTokens);
      expect(chunks[0]?.text.startsWith('  // note0')).toBe(true);
    }
  });

  it('merges many small code definitions instead of making tiny chunks', () => {
    const text = Array.from({ length: 12 }, (_, i) => `export const limit${i} = ${i};`).join('\n') + '\n';
    const doc = loadFile('/virtual/limits.ts', Buffer.from(text)).documents[0] as LoadedDocument;
    expect(doc.blocks).toHaveLength(12);
    const chunks = chunkDocument(doc, { maxTokens: 256 });
    expectHonestChunks(doc, chunks, 256);
    expect(chunks.length).toBeLessThanOrEqual(3);
    expect(chunks[0]?.headingPath).toEqual(['limit0']);
  });

  it('names a chunk that starts with a section comment by the definition that starts in it', () => {
    const body = Array.from({ length: 30 }, (_, i) => `  const value${i} = compute(${i});`).join('\n');
    const text = `export function train() {\n${body}\n}\n\n// ---- single flight ----\n\nfunction processAlive(pid: number): boolean {\n  return pid > 0;\n}\n`;
    const doc = loadFile('/virtual/job.ts', Buffer.from(text)).documents[0] as LoadedDocument;
    const chunks = chunkDocument(doc, { maxTokens: 200 });
    expectHonestChunks(doc, chunks, 200);
    const alive = chunks.find((c) => c.text.includes('function processAlive'));
    expect(alive?.text.startsWith('// ---- single flight')).toBe(true);
    expect(alive?.headingPath).toEqual(['processAlive']);
    expect(chunks[0]?.headingPath).toEqual(['train']);
  });

  it('chunks a heading-only document and returns nothing for a document without blocks', () => {
    const text = '# One\n\n## Two';
    const doc = textDoc(text, [
      { start: 0, end: 5, headingPath: ['One'], type: 'heading' },
      { start: 7, end: 13, headingPath: ['One', 'Two'], type: 'heading' },
    ], 'markdown');
    const chunks = chunkDocument(doc);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.text).toBe(text);
    expect(chunkDocument(textDoc('', []))).toEqual([]);
  });

  it('rejects nonsensical options', () => {
    const doc = paragraphDoc('Some text.');
    expect(() => chunkDocument(doc, { maxTokens: 0 })).toThrow(/maxTokens/);
    expect(() => chunkDocument(doc, { overlapTokens: -1 })).toThrow(/overlapTokens/);
  });

  it('chunks the whole SciFact corpus within the budget', () => {
    const corpus = path.join(sharedData, 'scifact', 'corpus.jsonl');
    expect(existsSync(corpus)).toBe(true);
    const { documents, problems } = loadFile(corpus, readFileSync(corpus));
    expect(problems).toEqual([]);
    expect(documents).toHaveLength(5183);
    let chunkCount = 0;
    for (const doc of documents) {
      const chunks = chunkDocument(doc, { maxTokens: 256 });
      expect(chunks.length).toBeGreaterThan(0);
      for (const chunk of chunks) {
        if (chunk.tokenCount > 256) expect(/\s/.test(chunk.text)).toBe(false);
      }
      chunkCount += chunks.length;
    }
    expect(chunkCount).toBeGreaterThanOrEqual(5183);
  });
});
