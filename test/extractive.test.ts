import { describe, expect, it } from 'vitest';
import { answerSpans, codeSpans } from '../src/llm/code-units.js';
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

describe('extractive answer from code', () => {
  const codeItem = (n: number, source: string, text: string): ContextItem => ({ ...item(n, text), source });

  it('quotes a whole line of code, never a fragment cut at a period inside an expression', () => {
    const text = [
      "    const promoted = outcome.status === 'promoted' ? outcome.modelId : null;",
      '    if (promoted) activateModel(engine.store, engine.config.home, promoted);',
      '  } finally {',
      '    release();',
      '  }',
    ].join('\n');
    const answer = extractAnswer('when is activateModel called?', [codeItem(1, '/src/train/job.ts', text)], EXTRACTIVE_DEFAULTS);
    expect(answer).toBe('`if (promoted) activateModel(engine.store, engine.config.home, promoted);` [1]');
  });

  it("prefers the author's comment to the line it explains, and reads a doc comment as prose", () => {
    const text = [
      '/**',
      ' * Hard cap on a chunk\'s estimated tokens. Default 256.',
      ' */',
      'export const DEFAULT_MAX_CHUNK_TOKENS = 256;',
    ].join('\n');
    const answer = extractAnswer('what is the hard cap on chunk tokens?', [codeItem(1, '/src/chunk.ts', text)], EXTRACTIVE_DEFAULTS);
    expect(answer).toBe("Hard cap on a chunk's estimated tokens. [1]");
  });

  it('keeps a trailing comment with its line, and fences a line that holds backticks', () => {
    const text = 'const limit = 20; // files over this many megabytes are skipped\nconst label = `${limit} MB`;';
    expect(extractAnswer('which files are skipped?', [codeItem(1, '/src/walk.js', text)], EXTRACTIVE_DEFAULTS)).toBe(
      '`const limit = 20;` — files over this many megabytes are skipped [1]',
    );
    expect(extractAnswer('what is the label?', [codeItem(1, '/src/walk.js', text)], EXTRACTIVE_DEFAULTS)).toBe('``const label = `${limit} MB`;`` [1]');
  });

  it('quotes a comment with the line right below it, which is what the comment describes', () => {
    const yaml = 'retries: 3\n# how long to wait between retries, in seconds\nbackoff: 2.5\n';
    expect(extractAnswer('how long to wait between retries?', [codeItem(1, '/etc/app.yaml', yaml)], EXTRACTIVE_DEFAULTS)).toBe(
      'how long to wait between retries, in seconds — `backoff: 2.5` [1]',
    );
  });

  it('reads a fenced block in Markdown as code, also when the chunk begins inside the block', () => {
    const fenced = 'Open the engine first.\n\n```ts\nconst engine = await openEngine({ home: ".sieve" });\n```\n';
    expect(extractAnswer('how do I open the engine?', [item(1, fenced)], EXTRACTIVE_DEFAULTS)).toBe('Open the engine first. [1]');
    // The second half of a split block: no opening fence, a closing one at the end.
    const tail = "const docs = await engine.searchDocuments('budget', 100);\nengine.close();\n```";
    expect(extractAnswer('how are documents searched?', [item(1, tail)], EXTRACTIVE_DEFAULTS)).toBe(
      "`const docs = await engine.searchDocuments('budget', 100);` [1]",
    );
  });
});

describe('code spans', () => {
  it('splits comments from code by the language of the file', () => {
    expect(codeSpans('# the retry count\nretries = 3\n"""Docstring about\nretries."""\n', 'python')).toEqual([
      { kind: 'prose', text: 'the retry count', describes: 'retries = 3' },
      { kind: 'code', text: 'retries = 3' },
      { kind: 'prose', text: 'Docstring about\nretries.' },
    ]);
    // In C, `#include` is code and `//` starts a comment.
    expect(codeSpans('#include <stdio.h>\n// print it\nprintf("%s // not a comment", s);', 'c')).toEqual([
      { kind: 'code', text: '#include <stdio.h>' },
      { kind: 'prose', text: 'print it', describes: 'printf("%s // not a comment", s);' },
      { kind: 'code', text: 'printf("%s // not a comment", s);' },
    ]);
    // Lone brackets, keywords and minified lines are not quotable.
    expect(codeSpans(`} else {\n  });\n${'x'.repeat(200)}`, 'javascript')).toEqual([]);
    expect(codeSpans('-- the users table\nSELECT name FROM users;', 'sql')).toEqual([
      { kind: 'prose', text: 'the users table', describes: 'SELECT name FROM users;' },
      { kind: 'code', text: 'SELECT name FROM users;' },
    ]);
  });

  it('takes a source file as code and other passages as prose with their fences', () => {
    expect(answerSpans('// a comment\n\nrun();', '/x/a.ts')).toEqual([
      { kind: 'prose', text: 'a comment' },
      { kind: 'code', text: 'run();' },
    ]);
    expect(answerSpans('Text first.\n```\nrun();\n```\nText after.', '/x/a.md')).toEqual([
      { kind: 'prose', text: 'Text first.' },
      { kind: 'code', text: 'run();' },
      { kind: 'prose', text: 'Text after.' },
    ]);
    // An opening fence at the end (the chunk ends inside the block): the text before it stays prose.
    expect(answerSpans('Run this:\n```\nnpm ci', '/x/a.md')).toEqual([
      { kind: 'prose', text: 'Run this:' },
      { kind: 'code', text: 'npm ci' },
    ]);
  });
});

describe('extractive answer from a table', () => {
  it('quotes a row without the bullet that lays it out', () => {
    const rows = '- name: Ada Lovelace · born: 1815\n- name: Grace Hopper · born: 1906';
    expect(extractAnswer('when was Grace Hopper born?', [item(1, rows)], EXTRACTIVE_DEFAULTS)).toBe('name: Grace Hopper · born: 1906 [1]');
  });
});

describe('extractive answer and addresses', () => {
  it('does not take a word inside an e-mail address or URL as the sentence covering it', () => {
    const changelog = 'Fix the build on armel.\n\n -- Luk Claes <luk@debian.org>  Wed, 22 Jul 2009 17:23:20 +0200';
    const shells = 'The default shell on this system is dash, a small POSIX shell.';
    const answer = extractAnswer('what is debian using as its default shell', [item(1, changelog), item(2, shells)], EXTRACTIVE_DEFAULTS);
    expect(answer).toBe('The default shell on this system is dash, a small POSIX shell. [2]');
    // The address is still quoted when its sentence is picked for its other words.
    expect(extractAnswer('who is Luk Claes', [item(1, changelog)], EXTRACTIVE_DEFAULTS)).toContain('<luk@debian.org>');
  });
});

describe('extractive answer and names', () => {
  it("never quotes a line that is only the document's title or a section's name (a PDF's title page, a running head)", () => {
    const spec = { ...item(2, 'Shared MIME-info Database\n\nIt was last updated in October 2018.'), title: 'Shared MIME-info Database' };
    const answer = extractAnswer('what is the magic element in shared-mime-info', [item(1, 'Magic elements match a file by its first bytes.'), spec], EXTRACTIVE_DEFAULTS);
    expect(answer).toBe('Magic elements match a file by its first bytes. [1]');
  });
});
