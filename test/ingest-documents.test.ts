// Documents in binary containers: PDF (text layer rebuilt into headings and paragraphs by layout) and Word .docx
// (through HTML). The fixtures are written by test/helpers/pdf.ts and docx.ts, so every case states its layout.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { openEngine, type Engine, type OpenEngineOptions } from '../src/engine.js';
import { loadAny } from '../src/ingest/loaders/index.js';
import { documentWords, joinLines, layoutPdf, type PdfPageText, type PdfTextRun } from '../src/ingest/loaders/pdf.js';
import { chunkDocument, pageAt } from '../src/ingest/chunk.js';
import { formatContextItem } from '../src/llm/prompt.js';
import type { ContextItem, LoadedDocument } from '../src/types.js';
import { runSieve } from './helpers/cli.js';
import { buildDocx, storedZip } from './helpers/docx.js';
import { buildPdf, type PdfLine } from './helpers/pdf.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('documents');

/** Writes `files` into a fresh folder, opens an engine on a fresh home beside it, runs `fn`, and closes the engine. */
async function withFolder(
  name: string,
  files: Record<string, string | Buffer>,
  fn: (engine: Engine, dir: string) => Promise<void>,
  config: Omit<OpenEngineOptions, 'home' | 'llm'> = {},
): Promise<void> {
  const dir = join(tmp.dir, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content);
  const engine = await openEngine({ home: join(tmp.dir, `${name}-home`), llm: null, ...config });
  try {
    await fn(engine, dir);
  } finally {
    engine.close();
  }
}
afterAll(() => tmp.cleanup());

/** A page of runs, one per line, as pdfjs reports simple text: each line's run ends the line. */
function page(lines: Array<Partial<PdfTextRun> & { text: string; y: number }>, height = 792): PdfPageText {
  return {
    height,
    runs: lines.map((l) => ({ x: 72, width: l.text.length * 5, size: 11, endOfLine: true, ...l })),
  };
}

function blockTexts(layout: { text: string; blocks: Array<{ start: number; end: number; type: string }> }): string[] {
  return layout.blocks.map((b) => `${b.type}: ${layout.text.slice(b.start, b.end)}`);
}

/** Body lines 13.2 pt apart starting at `top`, as a typeset paragraph sets them. */
function paragraphLines(texts: string[], top: number): Array<{ text: string; y: number }> {
  return texts.map((text, i) => ({ text, y: top - i * 13.2 }));
}

describe('PDF layout', () => {
  it('rejoins words hyphenated across a line break unless the document says the hyphen is its own', () => {
    expect(joinLines(['the con-', 'ference was well-', 'known'])).toBe('the conference was wellknown');
    const vocabulary = documentWords(['a well-known fact about the con-', 'ference', 'large and scale', 'the Anglo-Saxon']);
    expect([...vocabulary.compounds]).toEqual(['well-known', 'anglo-saxon']);
    // Fragments around a line-end hyphen are not words of the document.
    expect(vocabulary.words.has('con')).toBe(false);
    expect(vocabulary.words.has('ference')).toBe(false);
    expect(vocabulary.words.has('large')).toBe(true);
    expect(joinLines(['the con-', 'ference was well-', 'known'], vocabulary)).toBe('the conference was well-known');
    // The joined word written elsewhere wins over the halves.
    expect(joinLines(['a here-', 'after clause'], documentWords(['hereafter', 'here and after']))).toBe('a hereafter clause');
    // A suspended hyphen keeps its space; "and" that merely continues a word does not.
    expect(joinLines(['pro- and anti-inflammatory, drug-', 'or siRNA-induced'])).toBe('pro- and anti-inflammatory, drug- or siRNA-induced');
    expect(joinLines(['a lig-', 'and binding site'])).toBe('a ligand binding site');
    expect(joinLines(['see pages 12-', '14 of the report'])).toBe('see pages 12-14 of the report');
    expect(joinLines(['the Anglo-', 'Saxon Chronicle'])).toBe('the Anglo-Saxon Chronicle');
    expect(joinLines(['a pause -', 'then more'])).toBe('a pause - then more');
  });

  it('builds a heading path from type sizes and splits paragraphs at vertical gaps', () => {
    const layout = layoutPdf([
      page([
        { text: 'Field Guide to Herons', y: 740, size: 20 },
        { text: 'Habitat', y: 700, size: 14 },
        ...paragraphLines(['Herons wade in shallow water at the edges', 'of lakes and rivers.'], 680),
        // A gap of two lines: a new paragraph.
        ...paragraphLines(['They nest in colonies called heronries.'], 640),
        { text: 'Diet', y: 600, size: 14 },
        ...paragraphLines(['Fish, frogs and insects.'], 580),
      ]),
    ]);
    expect(blockTexts(layout)).toEqual([
      'heading: Field Guide to Herons',
      'heading: Habitat',
      'paragraph: Herons wade in shallow water at the edges of lakes and rivers.',
      'paragraph: They nest in colonies called heronries.',
      'heading: Diet',
      'paragraph: Fish, frogs and insects.',
    ]);
    expect(layout.blocks.map((b) => b.headingPath)).toEqual([
      ['Field Guide to Herons'],
      ['Field Guide to Herons', 'Habitat'],
      ['Field Guide to Herons', 'Habitat'],
      ['Field Guide to Herons', 'Habitat'],
      ['Field Guide to Herons', 'Diet'],
      ['Field Guide to Herons', 'Diet'],
    ]);
    expect(layout.firstHeading).toBe('Field Guide to Herons');
  });

  it('joins a heading set over two lines, and runs in one line into one line with word breaks', () => {
    const layout = layoutPdf([
      {
        height: 792,
        runs: [
          { text: 'A Very Long Title That', x: 72, y: 740, width: 200, size: 18, endOfLine: true },
          { text: 'Needs Two Lines', x: 72, y: 718, width: 150, size: 18, endOfLine: true },
          // Two runs on one baseline with a gap between them and no space glyph.
          { text: 'Body text', x: 72, y: 690, width: 45, size: 11, endOfLine: false },
          { text: 'continues here.', x: 120, y: 690, width: 70, size: 11, endOfLine: true },
          { text: 'More body text on the next line.', x: 72, y: 676.8, width: 150, size: 11, endOfLine: true },
        ],
      },
    ]);
    expect(blockTexts(layout)).toEqual([
      'heading: A Very Long Title That Needs Two Lines',
      'paragraph: Body text continues here. More body text on the next line.',
    ]);
  });

  it('drops running headers, footers and page numbers, and carries a paragraph over a page break', () => {
    const pages = [1, 2, 3, 4].map((n) =>
      page([
        { text: `Annual Report ${2020 + (n % 2)}`, y: 770, size: 9 }, // running header (digits differ)
        ...paragraphLines(
          n === 2 ? ['continued from the page before and ends here.'] : [`Page ${n} body text about budgets and`, 'spending that runs over onto the next'],
          700,
        ),
        // On page 2, a paragraph set off by a blank line's gap.
        ...(n === 2 ? paragraphLines(['A new paragraph starts on page two.'], 660) : []),
        { text: String(n), y: 30, size: 9 }, // page number
      ]),
    );
    const layout = layoutPdf(pages);
    expect(layout.text).not.toMatch(/Annual Report/);
    expect(layout.text).not.toMatch(/\n\n\d\n\n|\n\d$/);
    expect(blockTexts(layout).slice(0, 2)).toEqual([
      'paragraph: Page 1 body text about budgets and spending that runs over onto the next continued from the page before and ends here.',
      'paragraph: A new paragraph starts on page two.',
    ]);
    // Each page's start offset points at the first text of that page.
    expect(layout.pageStarts).toHaveLength(4);
    expect(layout.text.slice(layout.pageStarts[0])).toMatch(/^Page 1 body/);
    expect(layout.text.slice(layout.pageStarts[1])).toMatch(/^continued from/);
    expect(layout.text.slice(layout.pageStarts[2])).toMatch(/^Page 3 body/);
    expect(layout.text.slice(layout.pageStarts[3])).toMatch(/^Page 4 body/);
  });

  it('shortens a table of contents\' dot leaders and keeps each entry on its own, never as a heading', () => {
    const layout = layoutPdf([
      page([
        { text: 'Contents', y: 740, size: 16 },
        { text: '1 Introduction . . . . . . . . . . . 1', y: 710, size: 12 },
        { text: '2 Methods ........................ 4', y: 696, size: 12 },
        ...paragraphLines(['Body text in the usual size, wait... it goes on', 'for a while so that it sets the body size.'], 600),
      ]),
    ]);
    expect(blockTexts(layout)).toEqual([
      'heading: Contents',
      'paragraph: 1 Introduction … 1',
      'paragraph: 2 Methods … 4',
      'paragraph: Body text in the usual size, wait... it goes on for a while so that it sets the body size.',
    ]);
  });

  it('drops a header that heads both pages of a two-page document', () => {
    const pages = [1, 2].map((n) =>
      page([{ text: 'Smith et al. - Draft', y: 770, size: 8 }, ...paragraphLines([`Findings on page ${n} of the draft.`], 700)]),
    );
    expect(layoutPdf(pages).text).toBe('Findings on page 1 of the draft.\n\nFindings on page 2 of the draft.');
  });

  it('carries a paragraph from the foot of one column to the top of the next, and starts one after a full stop', () => {
    const column = (x: number, texts: string[]) => texts.map((text, i) => ({ text, x, y: 700 - i * 13.2 }));
    const layout = layoutPdf([
      page([
        ...column(72, ['Herons wade in shallow water', 'and the results were']),
        ...column(320, ['confirmed by later surveys.', 'Egrets feed the same way.']),
        ...column(72, []),
      ]),
      page([...column(72, ['They nest in colonies.']), ...column(320, ['Colonies can hold hundreds of nests.'])]),
    ]);
    expect(blockTexts(layout)).toEqual([
      'paragraph: Herons wade in shallow water and the results were confirmed by later surveys. Egrets feed the same way.',
      'paragraph: They nest in colonies.',
      'paragraph: Colonies can hold hundreds of nests.',
    ]);
  });

  it('keeps a line that repeats in the body rather than at the page edge', () => {
    const pages = [1, 2, 3].map(() => page(paragraphLines(['Wash your hands.', 'Then dry them.'], 500)));
    expect(layoutPdf(pages).text.match(/Wash your hands\./g)).toHaveLength(3);
  });
});

describe('PDF loader', () => {
  const lines = (texts: string[], top: number): PdfLine[] => texts.map((text, i) => ({ text, y: top - i * 13.2 }));

  it('reads the text layer, the title from the document info, and page offsets', async () => {
    const bytes = buildPdf({
      title: 'Heron Notes',
      pages: [
        [{ text: 'Wading Birds', size: 18, y: 720 }, ...lines(['Herons stand motionless in (shallow) water,', 'waiting for fish.'], 690)],
        [...lines(['Egrets are herons with white plumage.'], 720)],
      ],
    });
    const { documents, problems } = await loadAny('/notes/herons.pdf', bytes);
    expect(problems).toEqual([]);
    const doc = documents[0] as LoadedDocument;
    expect(doc.kind).toBe('pdf');
    expect(doc.title).toBe('Heron Notes');
    // Page 1 ends a sentence and page 2 starts one: a new paragraph, not a run-on.
    expect(doc.text).toBe('Wading Birds\n\nHerons stand motionless in (shallow) water, waiting for fish.\n\nEgrets are herons with white plumage.');
    expect(doc.metadata).toEqual({ pages: 2 });
    expect(doc.pageStarts).toEqual([0, doc.text.indexOf('Egrets')]);
    // The buffer handed in is left intact (ingest hashes it).
    expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
  });

  it('falls back to the first large heading, then the file name, for the title', async () => {
    const headed = await loadAny('/x/a.pdf', buildPdf({ pages: [[{ text: 'Quarterly Plan', size: 20, y: 720 }, ...lines(['The plan covers hiring and the budget.'], 690)]] }));
    expect(headed.documents[0]?.title).toBe('Quarterly Plan');
    const plain = await loadAny('/x/b.pdf', buildPdf({ pages: [lines(['Only body text here.'], 720)] }));
    expect(plain.documents[0]?.title).toBe('b.pdf');
  });

  it('reports a PDF without text as FILE_EMPTY with what to do, and a damaged one as FILE_UNREADABLE', async () => {
    const scanned = await loadAny('/x/scan.pdf', buildPdf({ pages: [[], []] }));
    expect(scanned.documents).toEqual([]);
    expect(scanned.problems).toEqual([
      expect.objectContaining({ code: 'FILE_EMPTY', message: expect.stringMatching(/no text layer \(2 pages.*OCR/) }),
    ]);
    const damaged = await loadAny('/x/broken.pdf', Buffer.from('%PDF-1.4\nthis is not a pdf body'));
    expect(damaged.documents).toEqual([]);
    expect(damaged.problems).toEqual([
      expect.objectContaining({ code: 'FILE_UNREADABLE', message: expect.stringMatching(/could not be read as a PDF/) }),
    ]);
  });
});

describe('pages of a PDF passage', () => {
  it('finds the page of a character offset', () => {
    const starts = [0, 100, 250];
    expect([0, 99, 100, 249, 250, 9999].map((o) => pageAt(starts, o))).toEqual([1, 1, 2, 2, 3, 3]);
    expect(pageAt([0], 5)).toBe(1);
  });

  it('gives each chunk the pages its text lies on, and none to documents without pages', () => {
    const text = 'Alpha paragraph.\n\nBeta paragraph that runs on.\n\nGamma paragraph.';
    const blocks = [0, 18, 48].map((start, i) => ({
      start,
      end: [16, 46, text.length][i] as number,
      headingPath: [],
      type: 'paragraph' as const,
    }));
    const doc: LoadedDocument = { uri: '/x.pdf', externalId: null, title: 'x', text, kind: 'pdf', language: null, metadata: {}, blocks };
    // Small chunks: one per paragraph. Page 2 starts inside the second paragraph.
    const chunks = chunkDocument({ ...doc, pageStarts: [0, 30, 48] }, { maxTokens: 8, overlapTokens: 0 });
    expect(chunks.map((c) => [c.text, c.pages])).toEqual([
      ['Alpha paragraph.', { first: 1, last: 1 }],
      ['Beta paragraph that runs on.', { first: 1, last: 2 }],
      ['Gamma paragraph.', { first: 3, last: 3 }],
    ]);
    expect(chunkDocument(doc, { maxTokens: 8, overlapTokens: 0 }).every((c) => c.pages === undefined)).toBe(true);
  });

  it('carries the pages from the store to search hits, the context, the prompt and the CLI', async () => {
    const docs = join(tmp.dir, 'paged');
    mkdirSync(docs, { recursive: true });
    const filler = (topic: string) => Array.from({ length: 6 }, (_, i) => ({ text: `${topic} note ${i + 1} about the survey.`, y: 700 - i * 40 }));
    writeFileSync(
      join(docs, 'survey.pdf'),
      buildPdf({
        pages: [
          filler('Budget'),
          [{ text: 'The heron colony nested on the north island in April.', y: 720 }, ...filler('Staffing').slice(1)],
          filler('Weather'),
        ],
      }),
    );
    const home = join(tmp.dir, 'home-paged');
    const engine = await openEngine({ home, llm: null, chunking: { maxTokens: 32, overlapTokens: 0 } });
    try {
      await engine.ingest([docs]);
      const [hit] = await engine.search('heron colony north island', { k: 1 });
      expect(hit?.text).toMatch(/heron colony/);
      expect(hit?.pages).toEqual({ first: 2, last: 2 });
      const result = await engine.ask('Where did the heron colony nest?', { budgetTokens: 60 });
      const item = result.context.find((c) => c.text.includes('heron colony'));
      expect(item?.pages).toEqual({ first: 2, last: 2 });
      expect(formatContextItem({ ...(item as ContextItem), n: 1 }).split('\n')[0]).toMatch(/\(p\. 2\)$/);
    } finally {
      engine.close();
    }
    const cli = await runSieve(home, 'search', 'heron colony north island', '-k', '1');
    expect(cli.stdout).toMatch(/survey\.pdf, p\. 2/);
  });
});

describe('Word loader', () => {
  it('maps heading styles to the heading path and paragraphs to blocks', async () => {
    const bytes = buildDocx([
      { text: 'Field Guide', heading: 1 },
      { text: 'Herons & egrets wade.' },
      { text: 'Nesting', heading: 2 },
      { text: 'Herons nest in colonies.' },
    ]);
    const { documents, problems } = await loadAny('/notes/guide.docx', bytes);
    expect(problems).toEqual([]);
    const doc = documents[0] as LoadedDocument;
    expect(doc.kind).toBe('docx');
    expect(doc.title).toBe('Field Guide');
    expect(doc.text).toBe('Field Guide\n\nHerons & egrets wade.\n\nNesting\n\nHerons nest in colonies.');
    expect(doc.blocks.map((b) => [b.type, b.headingPath])).toEqual([
      ['heading', ['Field Guide']],
      ['paragraph', ['Field Guide']],
      ['heading', ['Field Guide', 'Nesting']],
      ['paragraph', ['Field Guide', 'Nesting']],
    ]);
  });

  it('reports a file that is not a Word document as FILE_UNREADABLE', async () => {
    const { documents, problems } = await loadAny('/x/fake.docx', Buffer.from('plain text, not a zip'));
    expect(documents).toEqual([]);
    expect(problems).toEqual([expect.objectContaining({ code: 'FILE_UNREADABLE', message: expect.stringMatching(/re-save it as \.docx/) })]);
  });
});

describe('Jupyter notebook loader', () => {
  const notebook = (cells: Array<{ cell_type: string; source: string | string[] }>, language = 'python') =>
    Buffer.from(JSON.stringify({ cells: cells.map((c) => ({ ...c, metadata: {}, outputs: [] })), metadata: { language_info: { name: language } }, nbformat: 4 }));

  it("keeps Markdown cells as notes and code cells as fenced code, under the notes' headings", async () => {
    const tricky = 'doc = "```not a fence```"\nprint(doc)';
    const bytes = notebook([
      { cell_type: 'markdown', source: ['# Heron counts\n', '\n', 'Counts per colony, 2024.'] },
      { cell_type: 'code', source: ['import pandas as pd\n', "counts = pd.read_csv('herons.csv')"] },
      { cell_type: 'code', source: '' },
      { cell_type: 'markdown', source: '## Cleaning' },
      { cell_type: 'code', source: tricky },
    ]);
    const { documents, problems } = await loadAny('/nb/herons.ipynb', bytes);
    expect(problems).toEqual([]);
    const doc = documents[0] as LoadedDocument;
    expect(doc).toMatchObject({ kind: 'notebook', language: 'python', title: 'Heron counts', metadata: { cells: 5 } });
    const blocks = doc.blocks.map((b) => [b.type, b.headingPath, doc.text.slice(b.start, b.end)]);
    expect(blocks).toContainEqual(['code', ['Heron counts'], "```python\nimport pandas as pd\ncounts = pd.read_csv('herons.csv')\n```"]);
    // A cell holding backticks gets a longer fence, so its text stays one code block.
    expect(blocks).toContainEqual(['code', ['Heron counts', 'Cleaning'], `\`\`\`\`python\n${tricky}\n\`\`\`\``]);
  });

  it('reports a file that is not a notebook as FILE_UNREADABLE', async () => {
    const { documents, problems } = await loadAny('/nb/broken.ipynb', Buffer.from('{"cells": 3}'));
    expect(documents).toEqual([]);
    expect(problems).toEqual([expect.objectContaining({ code: 'FILE_UNREADABLE', message: expect.stringMatching(/not a readable Jupyter notebook/) })]);
  });
});

describe('EPUB loader', () => {
  const xhtml = (title: string, body: string) =>
    `<?xml version="1.0" encoding="UTF-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>${title}</title></head><body>${body}</body></html>`;
  const epub = (spine: string[]) =>
    storedZip([
      { name: 'mimetype', data: 'application/epub+zip' },
      {
        name: 'META-INF/container.xml',
        data: '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>',
      },
      {
        name: 'OEBPS/content.opf',
        data:
          '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Birds of the Marsh</dc:title></metadata>' +
          '<manifest><item id="c1" href="text/one.xhtml" media-type="application/xhtml+xml"/><item id="c2" href="text/two%20b.xhtml" media-type="application/xhtml+xml"/><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml"/></manifest>' +
          `<spine>${spine.map((id) => `<itemref idref="${id}"${id === 'nav' ? ' linear="no"' : ''}/>`).join('')}</spine></package>`,
      },
      { name: 'OEBPS/text/one.xhtml', data: xhtml('One', '<h1>Herons</h1><p>Herons stand still in shallow water.</p>') },
      { name: 'OEBPS/text/two b.xhtml', data: xhtml('Two', '<h1>Egrets</h1><h2>Plumage</h2><p>Egrets grow long plumes when breeding.</p>') },
      { name: 'OEBPS/nav.xhtml', data: xhtml('Contents', '<nav><ol><li>Herons</li><li>Egrets</li></ol></nav>') },
    ]);

  it('reads the chapters in spine order, each under its own headings, with the book title', async () => {
    const { documents, problems } = await loadAny('/books/marsh.epub', epub(['nav', 'c2', 'c1']));
    expect(problems).toEqual([]);
    const doc = documents[0] as LoadedDocument;
    expect(doc).toMatchObject({ kind: 'epub', title: 'Birds of the Marsh', metadata: { chapters: 2 } });
    expect(doc.text).toBe('Egrets\n\nPlumage\n\nEgrets grow long plumes when breeding.\n\nHerons\n\nHerons stand still in shallow water.');
    expect(doc.blocks.map((b) => [doc.text.slice(b.start, b.end), b.headingPath])).toEqual([
      ['Egrets', ['Egrets']],
      ['Plumage', ['Egrets', 'Plumage']],
      ['Egrets grow long plumes when breeding.', ['Egrets', 'Plumage']],
      ['Herons', ['Herons']],
      ['Herons stand still in shallow water.', ['Herons']],
    ]);
  });

  it('reports a file that is not an EPUB as FILE_UNREADABLE', async () => {
    const notZip = await loadAny('/books/fake.epub', Buffer.from('not a zip at all'));
    expect(notZip.problems).toEqual([expect.objectContaining({ code: 'FILE_UNREADABLE', message: expect.stringMatching(/could not be read as an EPUB/) })]);
    const noContainer = await loadAny('/books/bare.epub', storedZip([{ name: 'mimetype', data: 'application/epub+zip' }]));
    expect(noContainer.problems).toEqual([expect.objectContaining({ code: 'FILE_UNREADABLE', message: expect.stringMatching(/container\.xml/) })]);
  });
});

describe('e-mail loader', () => {
  const eml = (lines: string[]) => Buffer.from(lines.join('\r\n'), 'utf8');
  const load = async (name: string, bytes: Buffer) => loadAny(join('/virtual', name), bytes);

  it('reads headers with encoded words and a quoted-printable UTF-8 body into a header block and paragraphs', async () => {
    const result = await load('note.eml', eml([
      'From: =?UTF-8?B?QWRhIEzDtnZlbGFjZQ==?= <ada@example.org>',
      'To: Charles Babbage <charles@example.org>',
      'Date: Mon, 2 Dec 2024 10:00:00 +0000',
      'Subject: =?UTF-8?Q?The_Analytical_Engine_=E2=80=94_notes?=',
      'Message-ID: <n1@example.org>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'The engine weaves algebraic patterns just as the Jacquard loom weaves flowers =',
      'and leaves. Na=C3=AFve readers miss it.',
      '',
      'Second paragraph.',
    ]));
    expect(result.problems).toEqual([]);
    const doc = result.documents[0]!;
    expect(doc).toMatchObject({ kind: 'email', title: 'The Analytical Engine — notes', externalId: null });
    expect(doc.metadata).toMatchObject({ from: 'Ada Lövelace <ada@example.org>', messageId: '<n1@example.org>' });
    const blocks = doc.blocks.map((b) => doc.text.slice(b.start, b.end));
    expect(blocks[0]).toBe('From: Ada Lövelace <ada@example.org>\nTo: Charles Babbage <charles@example.org>\nDate: 2024-12-02T10:00:00.000Z\nSubject: The Analytical Engine — notes');
    expect(blocks.slice(1)).toEqual(['The engine weaves algebraic patterns just as the Jacquard loom weaves flowers and leaves. Naïve readers miss it.', 'Second paragraph.']);
  });

  it('takes the plain part of an alternative, the HTML when there is no plain one, and lists attachments', async () => {
    const alternative = await load('alt.eml', eml([
      'From: ops@example.org', 'Subject: Kettle', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="mix"', '',
      '--mix', 'Content-Type: multipart/alternative; boundary="alt"', '',
      '--alt', 'Content-Type: text/plain; charset=iso-8859-1', 'Content-Transfer-Encoding: quoted-printable', '', 'Descale the kettle with vinegar, caf=E9 style.', '',
      '--alt', 'Content-Type: text/html', '', '<p>HTML <b>version</b></p>', '--alt--',
      '--mix', 'Content-Type: application/pdf; name="invoice.pdf"', 'Content-Disposition: attachment; filename="invoice.pdf"', 'Content-Transfer-Encoding: base64', '', 'JVBERi0xLjQK', '--mix--',
    ]));
    const doc = alternative.documents[0]!;
    expect(doc.text).toContain('Descale the kettle with vinegar, café style.');
    expect(doc.text).not.toContain('HTML version');
    expect(doc.metadata['attachments']).toEqual(['invoice.pdf']);
    const htmlOnly = await load('html.eml', eml(['From: a@example.org', 'Subject: Printer', 'Content-Type: text/html; charset=utf-8', '', '<html><body><h1>Printer</h1><p>The printer jams when the paper is damp.</p><script>x()</script></body></html>']));
    expect(htmlOnly.documents[0]!.text).toMatch(/Subject: Printer\n\nPrinter\n*The printer jams when the paper is damp\.$/);
    expect(htmlOnly.documents[0]!.text).not.toContain('x()');
  });

  it('skips a message without text, saying so', async () => {
    const empty = await load('empty.eml', eml(['From: a@example.org', 'Subject: (none)', '', '']));
    expect(empty.documents).toEqual([]);
    expect(empty.problems.map((p) => p.code)).toEqual(['FILE_EMPTY']);
  });

  it('is found by its sender and its words once ingested', async () => {
    const message = eml(['From: Ada Lovelace <ada@example.org>', 'Subject: Bernoulli numbers', '', 'Note G computes the Bernoulli numbers.']);
    await withFolder('mail', { 'ada.eml': message }, async (engine, dir) => {
      expect(await engine.ingest([dir])).toMatchObject({ documents: 1, problems: [] });
      const hits = await engine.search('email from Lovelace about Bernoulli', { k: 1 });
      expect(hits[0]).toMatchObject({ title: 'Bernoulli numbers', source: join(dir, 'ada.eml') });
    });
  });
});

describe('gzip-compressed files', () => {
  it('reads README.gz and changelog.gz as what is inside; leaves .tar.gz to the walk, and refuses bombs and broken files', async () => {
    const files = {
      'README.md.gz': gzipSync('# Heron survey\n\nThe heron colony on the north island grew to forty nests.\n'),
      'changelog.Debian.gz': gzipSync('pkg (1.2-1) unstable; urgency=low\n\n  * Fix the kettle descaling timer.\n'),
      'bundle.tar.gz': gzipSync(Buffer.alloc(2048, 0)),
      'broken.txt.gz': Buffer.from('not gzip at all'),
      'bomb.txt.gz': gzipSync(Buffer.alloc(3 * 1024 * 1024, 97)),
    };
    await withFolder(
      'gz-docs',
      files,
      async (engine, dir) => {
        const summary = await engine.ingest([dir]);
        expect(summary.documents).toBe(2);
        expect(summary.problems.map((p) => [p.code, p.path]).sort()).toEqual([
          ['FILE_TOO_LARGE', join(dir, 'bomb.txt.gz')],
          ['FILE_UNREADABLE', join(dir, 'broken.txt.gz')],
        ]);
        const [heron] = await engine.search('heron nests north island', { k: 1 });
        expect(heron).toMatchObject({ source: join(dir, 'README.md.gz'), title: 'Heron survey' });
        const [kettle] = await engine.search('kettle descaling timer', { k: 1 });
        expect(kettle?.source).toBe(join(dir, 'changelog.Debian.gz'));
        expect(kettle?.text).toContain('Fix the kettle descaling timer.');
      },
      { ingest: { maxFileMb: 2 } },
    );
  });
});

describe('Markdown with metadata in HTML comments', () => {
  it('keeps the comment in the stored chunk (spans point into the file) and out of the search snippet', async () => {
    const zlib = '# Zlib\n\n## Class: zlib.Unzip\n\n<!-- YAML\nadded: v0.5.8\n-->\n\nDecompress either a Gzip- or Deflate-compressed stream.\n';
    await withFolder('api-docs', { 'zlib.md': zlib }, async (engine, dir) => {
      await engine.ingest([dir]);
      const [hit] = await engine.search('decompress gzip stream', { k: 1 });
      expect(hit?.text).toContain('<!-- YAML');
      expect(hit?.snippet.text).not.toContain('YAML');
      expect(hit?.snippet.text).toContain('Decompress either a Gzip');
    });
  });
});

describe('ingesting PDF and Word files', () => {
  it('indexes them beside text files, skips them unchanged, and keeps what was stored when one turns bad', async () => {
    const docs = join(tmp.dir, 'docs');
    const home = join(tmp.dir, 'home');
    mkdirSync(docs, { recursive: true });
    const pdfPath = join(docs, 'kettle.pdf');
    writeFileSync(
      pdfPath,
      buildPdf({ pages: [[{ text: 'Descaling', size: 16, y: 720 }, { text: 'Descale the kettle with citric acid monthly.', y: 690 }]] }),
    );
    writeFileSync(join(docs, 'printer.docx'), buildDocx([{ text: 'Printer', heading: 1 }, { text: 'The printer jams when the paper is damp.' }]));
    writeFileSync(join(docs, 'tea.md'), '# Tea\n\nGreen tea turns bitter in boiling water.\n');
    const engine = await openEngine({ home, llm: null });
    try {
      const first = await engine.ingest([docs]);
      expect(first).toMatchObject({ files: 3, documents: 3, problems: [] });
      const kettle = await engine.search('citric acid kettle', { k: 1 });
      expect(kettle[0]).toMatchObject({ source: pdfPath, title: 'Descaling' });
      expect(kettle[0]?.headingPath).toEqual(['Descaling']);
      const printer = await engine.search('printer paper damp', { k: 1 });
      expect(printer[0]?.source).toBe(join(docs, 'printer.docx'));

      const again = await engine.ingest([docs]);
      expect(again).toMatchObject({ documents: 0, skipped: 3 });

      // A damaged PDF is a problem; the version stored before stays searchable.
      writeFileSync(pdfPath, '%PDF-1.4\ntruncated');
      const bad = await engine.ingest([docs]);
      expect(bad.problems).toEqual([expect.objectContaining({ path: pdfPath, code: 'FILE_UNREADABLE' })]);
      expect((await engine.search('citric acid kettle', { k: 1 }))[0]?.source).toBe(pdfPath);
    } finally {
      engine.close();
    }
  });

  // A PDF's parse awaits, so two ingests of one folder interleave; the document-hash check keeps one copy.
  it('stores each file once when two ingests of one folder run at the same time', async () => {
    const docs = join(tmp.dir, 'concurrent');
    mkdirSync(docs, { recursive: true });
    for (const n of [1, 2, 3]) {
      writeFileSync(join(docs, `report-${n}.pdf`), buildPdf({ pages: [[{ text: `Report ${n} covers the heron survey.`, y: 720 }]] }));
    }
    const engine = await openEngine({ home: join(tmp.dir, 'home-concurrent'), llm: null });
    try {
      const [first, second] = await Promise.all([engine.ingest([docs]), engine.ingest([docs])]);
      // Whichever gets to a file first writes it; the other finds it unchanged.
      expect(first.documents + second.documents).toBe(3);
      expect(first.skipped + second.skipped).toBe(3);
      expect(engine.stats()).toMatchObject({ documents: 3 });
      await expect(engine.ingest([])).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    } finally {
      engine.close();
    }
  });
});
