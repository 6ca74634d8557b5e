import { describe, expect, it } from 'vitest';
import { EXTRACTIVE_DEFAULTS, extractAnswer, isSectionTitle } from '../src/llm/extractive.js';
import type { ContextItem } from '../src/types.js';

function item(n: number, text: string, headingPath: string[] = []): ContextItem {
  return { n, chunkId: n, chunkIds: [n], docId: `d${n}`, source: `/docs/d${n}.md`, title: `Doc ${n}`, headingPath, text, score: 1 / n, tokenCount: text.split(' ').length };
}

describe('extractive answer', () => {
  it('quotes the sentence that covers the question with its [n], and not one that adds a single stray word', () => {
    const answer = extractAnswer(
      'How long is the database copy kept, and who gets the errors?',
      [item(1, 'Backups run every night at three. A full copy of the database is kept for thirty days.'), item(2, 'Monitoring sends errors by e-mail to the operations team.')],
      EXTRACTIVE_DEFAULTS,
    );
    expect(answer).toBe('A full copy of the database is kept for thirty days. [1]');
  });

  it('never answers with a Markdown heading line, even one that holds the question words', () => {
    const text = '# Backups\n\n## How long backups are kept\n\nThe nightly copy stays for thirty days.';
    const answer = extractAnswer('How long are backups kept?', [item(1, text, ['Backups', 'How long backups are kept'])], EXTRACTIVE_DEFAULTS);
    expect(answer).not.toMatch(/#/);
    expect(answer).toBe('The nightly copy stays for thirty days. [1]');
  });

  it('offers the lead sentence of the best passage, not its heading, when no sentence shares a word', () => {
    const text = '# Betriebshandbuch\n\n## Datensicherung\n\nDie Datensicherung läuft jede Nacht um drei Uhr.';
    expect(extractAnswer('retention period', [item(1, text)], EXTRACTIVE_DEFAULTS)).toBe('Die Datensicherung läuft jede Nacht um drei Uhr. [1]');
    expect(extractAnswer('retention period', [item(1, '# Only a heading')], EXTRACTIVE_DEFAULTS)).toBe('No indexed document matches this question.');
  });

  it('never reads an HTML comment in a passage as text (Markdown docs keep metadata in them)', () => {
    const text = '## Class: zlib.Unzip\n\n<!-- YAML\nadded: v0.5.8\n-->\n\nDecompress either a Gzip- or Deflate-compressed stream.';
    const answer = extractAnswer('When was zlib.Unzip added, and what does it decompress?', [item(1, text)], EXTRACTIVE_DEFAULTS);
    expect(answer).toBe('Decompress either a Gzip- or Deflate-compressed stream. [1]');
  });

  it('passes over the numbered title of a section in plain text for the sentence under it', () => {
    const text =
      '3. Grant of Patent License. Subject to the terms and conditions of this License, each Contributor hereby grants to You a perpetual patent license to make and use the Work.';
    expect(extractAnswer('what does the license say about patents', [item(1, text)], EXTRACTIVE_DEFAULTS)).toBe(
      'Subject to the terms and conditions of this License, each Contributor hereby grants to You a perpetual patent license to make and use the Work. [1]',
    );
    expect(isSectionTitle('3. Grant of Patent License.')).toBe(true);
    expect(isSectionTitle('4.2 Scope')).toBe(true);
    expect(isSectionTitle('§ 7 Definitions')).toBe(true);
    // Numbered steps and statements are sentences.
    expect(isSectionTitle('1. Install the package.')).toBe(false);
    expect(isSectionTitle('2. The default is 16 KiB.')).toBe(false);
    expect(isSectionTitle('Grant of Patent License.')).toBe(false);
  });
});
