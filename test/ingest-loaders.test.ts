import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chunkDocument } from '../src/ingest/chunk.js';
import { beirCorpusDocuments } from '../src/ingest/loaders/beir.js';
import { parseDelimited } from '../src/ingest/loaders/csv.js';
import { loadFile } from '../src/ingest/loaders/index.js';
import type { IngestProblem } from '../src/ingest/walk.js';
import type { Block, LoadedDocument } from '../src/types.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'ingest');

function loadFixture(name: string): ReturnType<typeof loadFile> {
  const file = path.join(fixtures, name);
  return loadFile(file, readFileSync(file));
}

function onlyDocument(name: string): LoadedDocument {
  const result = loadFixture(name);
  expect(result.problems).toEqual([]);
  expect(result.documents).toHaveLength(1);
  return result.documents[0] as LoadedDocument;
}

function blockText(doc: LoadedDocument, block: Block): string {
  return doc.text.slice(block.start, block.end);
}

/** Every loader must produce ordered, non-overlapping, trimmed spans inside its text. */
function expectHonestBlocks(doc: LoadedDocument): void {
  let previousEnd = 0;
  for (const block of doc.blocks) {
    expect(block.start).toBeGreaterThanOrEqual(previousEnd);
    expect(block.end).toBeGreaterThan(block.start);
    expect(block.end).toBeLessThanOrEqual(doc.text.length);
    const text = blockText(doc, block);
    expect(text.trimEnd()).toBe(text);
    if (block.type !== 'code' && block.type !== 'definition') expect(text.trimStart()).toBe(text);
    previousEnd = block.end;
  }
}

function inline(name: string, content: string): ReturnType<typeof loadFile> {
  return loadFile(path.join('/virtual', name), Buffer.from(content, 'utf8'));
}

describe('markdown loader', () => {
  const doc = onlyDocument('guide.md');

  it('reads front matter into metadata and keeps it out of every block', () => {
    expect(doc.kind).toBe('markdown');
    expect(doc.title).toBe('Sieve Operator Guide');
    expect(doc.metadata).toEqual({ title: 'Sieve Operator Guide', tags: ['retrieval', 'ops'], version: 3, authors: ['Ada', 'Lin'] });
    const frontMatterEnd = doc.text.indexOf('---', 3) + 3;
    for (const block of doc.blocks) expect(block.start).toBeGreaterThanOrEqual(frontMatterEnd);
    expect(doc.blocks.some((b) => blockText(doc, b).includes('tags:'))).toBe(false);
  });

  it('builds heading paths from ATX and setext headings, outermost first', () => {
    expectHonestBlocks(doc);
    const headings = doc.blocks.filter((b) => b.type === 'heading').map((b) => b.headingPath);
    expect(headings).toEqual([
      ['Operating sieve'],
      ['Operating sieve', 'Installation'],
      ['Operating sieve', 'Installation', 'Requirements'],
      ['Operating sieve', 'Configuration'],
      ['Operating sieve', 'Recovery'],
      ['Operating sieve', 'Empty section'],
    ]);
    const list = doc.blocks.find((b) => b.type === 'list');
    expect(list?.headingPath).toEqual(['Operating sieve', 'Installation', 'Requirements']);
    expect(blockText(doc, list as Block)).toBe('- Node 20 or newer\n- 2 GB of free disk space\n- A C compiler for the native addons');
    const recovery = doc.blocks.find((b) => blockText(doc, b).startsWith('If the database'));
    expect(recovery?.headingPath).toEqual(['Operating sieve', 'Recovery']);
  });

  it('treats fenced code (``` and ~~~) as code blocks, never as headings', () => {
    const fences = doc.blocks.filter((b) => b.type === 'code').map((b) => blockText(doc, b));
    expect(fences).toHaveLength(2);
    expect(fences[0]).toMatch(/^```sh\nnpm install sieve\n# not a heading/);
    expect(fences[0]?.endsWith('```')).toBe(true);
    expect(fences[1]).toBe('~~~\n## also not a heading\n~~~');
    const allPathNames = doc.blocks.flatMap((b) => b.headingPath);
    expect(allPathNames.some((name) => name.includes('not a heading'))).toBe(false);
  });

  it('keeps a table as one table block', () => {
    const table = doc.blocks.find((b) => b.type === 'table');
    expect(table?.headingPath).toEqual(['Operating sieve', 'Configuration']);
    expect(blockText(doc, table as Block).split('\n')).toHaveLength(4);
  });

  it('falls back to the first H1, then to the file name, for the title', () => {
    const withH1 = inline('notes.md', 'Intro line.\n\n# Real Title\n\nBody.\n').documents[0];
    expect(withH1?.title).toBe('Real Title');
    const withoutHeadings = inline('notes.md', 'Just a paragraph.\n').documents[0];
    expect(withoutHeadings?.title).toBe('notes.md');
  });

  it('cleans inline markup out of heading names and closes deeper levels on a shallower heading', () => {
    const result = inline('api.md', '# The `sieve` [API](http://x)\n\n### Deep\n\ntext a\n\n## **Shallow**\n\ntext b\n');
    const md = result.documents[0] as LoadedDocument;
    const paragraphs = md.blocks.filter((b) => b.type === 'paragraph').map((b) => b.headingPath);
    expect(paragraphs).toEqual([
      ['The sieve API', 'Deep'],
      ['The sieve API', 'Shallow'],
    ]);
  });
});

  it('leaves badges out of heading names, linked or by reference, and keeps link text', () => {
    const md = inline(
      'readme.md',
      '# better-sqlite3 [![Build Status](https://ci/badge.svg)](https://ci/actions?query=branch%3Amaster)\n\n' +
        '## Usage ![npm][npm-badge] see [the docs][docs]\n\nBody.\n\n[npm-badge]: https://img/npm.svg\n[docs]: https://docs\n',
    ).documents[0] as LoadedDocument;
    expect(md.title).toBe('better-sqlite3');
    const body = md.blocks.find((b) => blockText(md, b) === 'Body.');
    expect(body?.headingPath).toEqual(['better-sqlite3', 'Usage see the docs']);
  });

  it('drops blocks of markup alone (badge rows, a logo, a closing </details>) and keeps the ones with words', () => {
    const md = inline(
      'readme.md',
      '<p align="center"><img src="logo.svg" width="200"></p>\n\n' +
        '[![NPM version](https://img/v.svg)](https://npm) [![downloads](https://img/d.svg)](https://npm)\n\n' +
        '<details>\n<summary>Cloudflare workers</summary>\n\nUse the worker entry point.\n\n</details>\n\n' +
        '<!-- a comment -->\n\n[Read the docs](https://zod.dev/api)\n\n```\n</details>\n```\n\n' +
        '- [Installation](#installation)\n- [Rate limits](#rate-limits)\n  - [Options](#options)\n\n<hr>\n\n' +
        '- [Installation](#installation), with npm\n- [Options](#options)\n\n' +
        '[`skipFailedRequests`]: https://docs/configuration#skipfailedrequests\n[limit]: https://docs/limit "Limit"\n[`windowMs`]:\n\thttps://docs/configuration#windowms\n\n' +
        '![Architecture of the ingest pipeline, from files to chunks](arch.png)\n\n![npm version](https://img/v.svg)\n',
    ).documents[0] as LoadedDocument;
    expectHonestBlocks(md);
    expect(md.blocks.map((b) => blockText(md, b))).toEqual([
      '<details>\n<summary>Cloudflare workers</summary>',
      'Use the worker entry point.',
      '[Read the docs](https://zod.dev/api)',
      '```\n</details>\n```',
      // Not only anchors: a list with words of its own stays.
      '- [Installation](#installation), with npm\n- [Options](#options)',
      // A figure described in a sentence is content; a badge's alt text is not.
      '![Architecture of the ingest pipeline, from files to chunks](arch.png)',
    ]);
  });

  it('reads an HTML heading on a line of its own as a heading (a centred README title)', () => {
    const md = inline('readme.md', '<h1 align="center"> <code>express-rate-limit</code> </h1>\n\nLimits requests.\n\n<H2>Usage</H2>\n\nCall it.\n').documents[0] as LoadedDocument;
    expect(md.title).toBe('express-rate-limit');
    const usage = md.blocks.find((b) => blockText(md, b) === 'Call it.');
    expect(usage?.headingPath).toEqual(['express-rate-limit', 'Usage']);
  });

describe('html loader', () => {
  const doc = onlyDocument('page.html');

  it('takes the <title>, decodes entities and keeps meta description', () => {
    expect(doc.kind).toBe('html');
    expect(doc.title).toBe('Sieve & Friends — Release Notes');
    expect(doc.metadata['description']).toBe('What changed in sieve 0.2');
  });

  it('keeps only visible text: no script, style, nav, noscript, svg or hidden elements', () => {
    for (const hidden of ['tracking code', 'font-family', 'Home', 'Docs', 'Please enable', 'icon tooltip', 'svg text', 'Secret']) {
      expect(doc.text).not.toContain(hidden);
    }
    expect(doc.text).toContain('Sieve 0.2 adds "learned ranking" & a faster chunker.');
    expect(doc.text).toContain('Small chunks < big chunks.');
  });

  it('makes blocks of block elements with h1–h6 heading paths, separated by blank lines in text', () => {
    expectHonestBlocks(doc);
    const view = doc.blocks.map((b) => [b.type, blockText(doc, b), b.headingPath.join(' > ')]);
    expect(view).toEqual([
      ['heading', 'Release notes', 'Release notes'],
      ['paragraph', 'Sieve 0.2 adds "learned ranking" & a faster chunker.', 'Release notes'],
      ['heading', 'Ranking', 'Release notes > Ranking'],
      ['paragraph', 'The relevance model is trained from answers.\nIt never blocks a query.', 'Release notes > Ranking'],
      ['list', 'Listwise loss', 'Release notes > Ranking'],
      ['list', 'Position-debiased labels', 'Release notes > Ranking'],
      ['heading', 'Benchmarks', 'Release notes > Ranking > Benchmarks'],
      ['table', 'Dataset | nDCG@10', 'Release notes > Ranking > Benchmarks'],
      ['table', 'SciFact | 0.70', 'Release notes > Ranking > Benchmarks'],
      ['heading', 'Chunking', 'Release notes > Chunking'],
      ['code', 'function chunk(doc) {\n  return pack(doc.blocks);\n}', 'Release notes > Chunking'],
      ['other', 'Small chunks < big chunks.', 'Release notes > Chunking'],
    ]);
    for (let i = 1; i < doc.blocks.length; i++) {
      const gap = doc.text.slice((doc.blocks[i - 1] as Block).end, (doc.blocks[i] as Block).start);
      expect(gap).toBe('\n\n');
    }
  });

  it("leaves headings' permalink anchors (Sphinx ¶, Docusaurus #) out of heading names and text", () => {
    const page = inline(
      'policy.html',
      '<h1>Python Policy<a class="headerlink" href="#policy" title="Permalink to this heading">¶</a></h1>' +
        '<h2 id="names"><span class="section-number">4.3. </span>Module Package Names<a href="#names" class="hash-link">#</a></h2>' +
        '<p>Packages are named after <a href="#import">the import name</a>.</p>' +
        // Node's docs: a self-link whose text is '#', with a class no list would know; a heading that is a link; C#.
        '<h3>Readline<span><a class="mark" href="#readline" id="readline">#</a></span></h3><p>Lines.</p>' +
        '<h3><a href="#csharp">Calling from C#</a></h3><p>Interop.</p>',
    ).documents[0] as LoadedDocument;
    expect(page.text).not.toMatch(/¶|Names#|Readline#/);
    expect(page.text).toContain('Calling from C#');
    const paths = page.blocks.filter((b) => b.type === 'paragraph').map((b) => [blockText(page, b), b.headingPath.join(' > ')]);
    expect(paths).toEqual([
      ['Packages are named after the import name.', 'Python Policy > 4.3. Module Package Names'],
      ['Lines.', 'Python Policy > 4.3. Module Package Names > Readline'],
      ['Interop.', 'Python Policy > 4.3. Module Package Names > Calling from C#'],
    ]);
  });

  it("leaves a definition's permalink out too (Texinfo ends every function signature with one), but keeps in-page links with words", () => {
    const page = inline(
      'basics.html',
      '<dl><dt id="index-ffi_call"><span class="category">Function: </span><strong>void</strong> <em>ffi_call (ffi_cif *cif)</em>' +
        "<a href='#index-ffi_call' class='copiable-anchor'> &para;</a></dt><dd><p>Calls the function. See <a href=\"#cif\">the CIF</a>.</p></dd></dl>",
    ).documents[0] as LoadedDocument;
    expect(page.text).not.toContain('¶');
    expect(page.text).toContain('Function: void ffi_call (ffi_cif *cif)');
    expect(page.text).toContain('See the CIF.');
  });
});

describe('code loader', () => {
  it('splits TypeScript at blank lines and top-level definitions, naming them', () => {
    const doc = onlyDocument('sample.ts');
    expect(doc.kind).toBe('code');
    expect(doc.language).toBe('typescript');
    expect(doc.title).toBe('sample.ts');
    expectHonestBlocks(doc);
    const definitions = doc.blocks.filter((b) => b.type === 'definition').map((b) => b.headingPath[0]);
    expect(definitions).toEqual(['DEFAULT_LIMIT', 'loadConfig', 'Cache', 'Options']);
    const loadConfig = doc.blocks.find((b) => b.headingPath[0] === 'loadConfig' && b.type === 'definition') as Block;
    // The doc comment travels with its function.
    expect(blockText(doc, loadConfig).startsWith('/** Reads a config file')).toBe(true);
    // A blank line inside a function starts a new block that still belongs to the function.
    const tail = doc.blocks.find((b) => blockText(doc, b).includes('return JSON.parse(raw);'));
    expect(tail?.headingPath).toEqual(['loadConfig']);
    expect(tail?.type).toBe('code');
    expect(doc.blocks[0]?.headingPath).toEqual([]);
  });

  it('handles Python decorators, indented methods and top-level statements', () => {
    const doc = onlyDocument('sample.py');
    expect(doc.language).toBe('python');
    expectHonestBlocks(doc);
    const scorer = doc.blocks.find((b) => b.type === 'definition' && b.headingPath[0] === 'Scorer') as Block;
    expect(blockText(doc, scorer).startsWith('@dataclass\nclass Scorer:')).toBe(true);
    const method = doc.blocks.find((b) => blockText(doc, b).includes('def score'));
    expect(method?.headingPath).toEqual(['Scorer']);
    // Method blocks keep their indentation (it is meaningful in Python).
    expect(blockText(doc, method as Block).startsWith('    def score')).toBe(true);
    const main = doc.blocks.find((b) => blockText(doc, b).startsWith('if __name__'));
    expect(main?.headingPath).toEqual([]);
  });

  it('recognises code by file name and shebang', () => {
    expect(inline('Makefile', 'all:\n\tcc main.c\n').documents[0]?.language).toBe('makefile');
    const script = inline('deploy', '#!/usr/bin/env bash\nset -e\n\ndeploy() {\n  echo hi\n}\n').documents[0] as LoadedDocument;
    expect(script.kind).toBe('code');
    expect(script.language).toBe('shell');
    expect(script.blocks.find((b) => b.type === 'definition')?.headingPath).toEqual(['deploy']);
  });
});

describe('BEIR corpus loader', () => {
  const file = path.join(fixtures, 'corpus.jsonl');
  const result = loadFixture('corpus.jsonl');

  it('makes one document per valid line, with the title kept out of the text', () => {
    expect(result.documents.map((d) => d.externalId)).toEqual(['d1', 'd2', '5']);
    const d1 = result.documents[0] as LoadedDocument;
    expect(d1).toMatchObject({
      uri: `${file}#d1`,
      externalId: 'd1',
      title: 'Aspirin and heart attacks',
      kind: 'beir',
      language: null,
      metadata: { year: 2019 },
    });
    expect(d1.text).toBe('Low-dose aspirin reduces the risk of a first heart attack.\n\nThe effect is small in people under 50.');
    expect(d1.text).not.toContain('Aspirin and heart attacks');
    expect(d1.blocks.map((b) => blockText(d1, b))).toEqual([
      'Low-dose aspirin reduces the risk of a first heart attack.',
      'The effect is small in people under 50.',
    ]);
    expect(d1.blocks.every((b) => b.headingPath.length === 0)).toBe(true);
  });

  it('streams the same documents and problems from the file (beirCorpusDocuments)', async () => {
    const problems: IngestProblem[] = [];
    const streamed: LoadedDocument[] = [];
    for await (const doc of beirCorpusDocuments(file, problems)) streamed.push(doc);
    expect(streamed).toEqual(result.documents);
    expect(problems).toEqual(result.problems);
  });

  it('reports malformed, incomplete and duplicate lines with their line numbers and loads the rest', () => {
    expect(result.problems.map((p) => [p.line, p.code])).toEqual([
      [3, 'JSONL_MALFORMED'],
      [5, 'JSONL_MALFORMED'],
      [6, 'JSONL_MALFORMED'],
    ]);
    expect(result.problems[1]?.message).toContain('missing "text"');
    expect(result.problems[2]?.message).toContain('duplicate _id "d1"');
    expect(result.problems.every((p) => p.path === file)).toBe(true);
  });

  it('loads a .jsonl that is not a BEIR corpus as a plain document', () => {
    const other = inline('events.jsonl', '{"event":"start","at":1}\n{"event":"stop","at":2}\n');
    expect(other.problems).toEqual([]);
    expect(other.documents).toHaveLength(1);
    expect(other.documents[0]?.kind).not.toBe('beir');
  });
});

describe('table loader (CSV, TSV)', () => {
  it('parses RFC 4180 fields: quoted delimiters, doubled quotes, newlines inside quotes, CRLF, blank lines', () => {
    expect(parseDelimited('a,b\r\n"x, y","say ""hi"""\n\n"two\nlines",z\n', ',')).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"'],
      ['two\nlines', 'z'],
    ]);
  });

  it('makes one line per row that names its columns, one block per row, empty values left out', () => {
    const doc = inline('people.csv', 'Name,Born,Field\nAda Lovelace,1815,Mathematics\n"Hopper, Grace",1906,\n').documents[0]!;
    expect(doc.kind).toBe('table');
    expect(doc.text).toBe('- Name: Ada Lovelace · Born: 1815 · Field: Mathematics\n- Name: Hopper, Grace · Born: 1906');
    expect(doc.blocks.map((b) => blockText(doc, b))).toEqual(doc.text.split('\n'));
    expect(doc.metadata).toEqual({ columns: ['Name', 'Born', 'Field'], rows: 2 });
    expectHonestBlocks(doc);
  });

  it('reads semicolon-separated exports and TSV files', () => {
    expect(inline('prices.csv', 'Item;Price\nTea;2,50\n').documents[0]!.text).toBe('- Item: Tea · Price: 2,50');
    expect(inline('prices.tsv', 'Item\tPrice\nTea\t2.50\n').documents[0]!.text).toBe('- Item: Tea · Price: 2.50');
  });

  it('reads a .csv that is not a table as plain text', () => {
    const notes = inline('notes.csv', 'Just a note, with a comma.\nAnd another line without one\n').documents[0]!;
    expect(notes.kind).toBe('text');
  });

  it('keeps rows whole when a large table is chunked', () => {
    const rows = Array.from({ length: 400 }, (_, i) => `item ${i},${i * 3},warehouse ${i % 7}`);
    const doc = inline('stock.csv', ['Item,Count,Location', ...rows].join('\n')).documents[0]!;
    const chunks = chunkDocument(doc, { maxTokens: 128, overlapTokens: 0 });
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) for (const line of chunk.text.split('\n')) expect(line).toMatch(/^- Item: item \d+ · Count: \d+ · Location: warehouse \d$/);
    expect(chunks.reduce((n, c) => n + c.text.split('\n').length, 0)).toBe(400);
  });
});

describe('file checks', () => {
  it('rejects binary content', () => {
    const result = loadFixture('blob.data');
    expect(result.documents).toEqual([]);
    expect(result.problems.map((p) => p.code)).toEqual(['FILE_BINARY']);
  });

  it('reads Latin-1 / Windows-1252 text, and says which encoding it was converted from', () => {
    const doc = onlyDocument('latin1.txt');
    expect(doc.text.trim()).toBe('café crème brûlée');
    expect(doc.metadata.encoding).toBe('windows-1252');
    // Windows-1252's own characters in 0x80–0x9F: curly quotes, en dash, euro sign.
    const quoted = loadFile('quote.txt', Buffer.concat([Buffer.from('She said '), Buffer.from([0x93, 0x48, 0x69, 0x94, 0x20, 0x96, 0x20, 0x35, 0x80, 0x0a])]));
    expect(quoted.documents[0]?.text.trim()).toBe('She said \u201cHi\u201d \u2013 5\u20ac');
  });

  it('reads UTF-16 with a byte-order mark (either byte order) and without one, as Windows tools write it', () => {
    const text = 'Grüße aus Köln: the kettle needs descaling.\n';
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
    const bare = Buffer.from(text, 'utf16le');
    for (const [bytes, encoding] of [[le, 'utf-16le'], [be, 'utf-16be'], [bare, 'utf-16le']] as const) {
      const result = loadFile('notes.txt', bytes);
      expect(result.problems).toEqual([]);
      expect(result.documents[0]?.text.trim()).toBe(text.trim());
      expect(result.documents[0]?.metadata.encoding).toBe(encoding);
    }
    // A UTF-8 byte-order mark is dropped and the document stays plain UTF-8.
    const utf8 = loadFile('bom.md', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('# Title\n\nBody.\n')]));
    expect(utf8.documents[0]?.title).toBe('Title');
    expect(utf8.documents[0]?.metadata.encoding).toBeUndefined();
  });

  it('refuses text it cannot decode with confidence rather than guess, and says so', () => {
    // "中文文本" in GBK: runs of high bytes, which Windows-1252 would turn into mojibake.
    const gbk = loadFile('gbk.txt', Buffer.from([0xd6, 0xd0, 0xce, 0xc4, 0xce, 0xc4, 0xb1, 0xbe, 0x0a]));
    expect(gbk.documents).toEqual([]);
    expect(gbk.problems[0]?.code).toBe('FILE_UNREADABLE');
    expect(gbk.problems[0]?.message).toMatch(/not valid UTF-8 or UTF-16.*re-save it as UTF-8.*skipped/);
    // Control bytes are not text either; nor is UTF-16 with an unpaired surrogate.
    expect(loadFile('ctl.txt', Buffer.from([0x61, 0x01, 0x02, 0xe9, 0x62])).problems[0]?.code).toBe('FILE_UNREADABLE');
    expect(loadFile('bad16.txt', Buffer.from([0xff, 0xfe, 0x00, 0xd8, 0x61, 0x00])).problems[0]?.code).toBe('FILE_UNREADABLE');
  });

  it('rejects empty and whitespace-only files', () => {
    expect(loadFixture('empty.txt').problems.map((p) => p.code)).toEqual(['FILE_EMPTY']);
    expect(inline('zero.md', '').problems.map((p) => p.code)).toEqual(['FILE_EMPTY']);
  });

  it('strips a byte order mark and loads plain text as paragraphs', () => {
    const doc = onlyDocument('bom.txt');
    expect(doc.kind).toBe('text');
    expect(doc.text.startsWith('Hello')).toBe(true);
    expect(doc.title).toBe('bom.txt');
    expect(doc.externalId).toBeNull();
    const text = inline('notes.rst', 'First paragraph\nwraps here.\n\n\n\nSecond one.\n').documents[0] as LoadedDocument;
    expect(text.blocks.map((b) => blockText(text, b))).toEqual(['First paragraph\nwraps here.', 'Second one.']);
  });
});
