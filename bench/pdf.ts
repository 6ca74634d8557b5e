// `npm run -s bench -- pdf --data <beir-dir> [--split test] [--limit N]`: what reading PDFs costs and loses.
// Every corpus document is typeset into its own PDF (title in larger type, the text wrapped into 10-pt lines with
// words hyphenated at line ends, a running header and page numbers on every page), then
// 1. fidelity: each PDF is loaded back and its words compared with the document's (exact sequence, and the share
//    of documents whose words all come back in order);
// 2. retrieval: the PDF folder and the same text as corpus.jsonl are ingested into two fresh homes and the split's
//    queries are run through both; the nDCG@10 difference is what PDF extraction costs retrieval;
// 3. speed: ingest seconds for the PDF folder (pages/s, files/s) against the JSONL.
// PDFs carry WinAnsi Helvetica here, so both sides use the text folded to ASCII: the comparison isolates layout.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { openEngine, type Engine } from '../src/engine.js';
import { beirCorpusDocuments } from '../src/ingest/loaders/beir.js';
import { loadAny } from '../src/ingest/loaders/index.js';
import { readBeirDataset } from '../src/train/beir.js';
import { evaluateRun } from '../src/train/metrics.js';
import { buildPdf, type PdfLine } from '../test/helpers/pdf.js';

export interface PdfBenchOptions {
  data: string;
  split: string;
  limit?: number;
  home?: string;
}

/** Letters with their accents dropped, anything else outside printable ASCII a space. */
function ascii(text: string): string {
  return text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/[^\x20-\x7e]/g, ' ').replace(/ +/g, ' ').trim();
}

// Short pages (420 × 420 pt), so a longer abstract runs over two or three pages: the running header, page numbers
// and paragraphs carried over page breaks get exercised. Wide enough that a line in capitals stays on the page.
const PAGE_SIZE: [number, number] = [420, 420];
const PAGE_TOP = 372;
const PAGE_BOTTOM = 48;
const BODY_SIZE = 9;
const LEADING = 11;
const LINE_CHARS = 52;

/** Greedy line breaking; a long word that does not fit is hyphenated when both halves keep 3+ letters. */
export function wrap(text: string, width = LINE_CHARS): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (word === '') continue;
    const room = width - line.length - (line === '' ? 0 : 1);
    if (word.length <= room) {
      line = line === '' ? word : `${line} ${word}`;
      continue;
    }
    const cut = room - 1; // letters that fit before the hyphen
    if (/^[a-z]+$/.test(word) && cut >= 3 && word.length - cut >= 3) {
      lines.push(`${line === '' ? '' : `${line} `}${word.slice(0, cut)}-`);
      line = word.slice(cut);
      continue;
    }
    if (line !== '') lines.push(line);
    line = word;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/**
 * Pages of positioned lines: the title, then the body. A document of two pages or more gets a running header and
 * a page number on each page (on one page nothing can tell a header from the text, so a one-pager has none).
 */
function typeset(title: string, body: string): PdfLine[][] {
  const pages: PdfLine[][] = [];
  let page: PdfLine[] = [];
  let y = PAGE_TOP;
  for (const line of wrap(title, 34)) {
    page.push({ text: line, size: 14, x: 36, y });
    y -= 17;
  }
  y -= 6;
  for (const line of wrap(body)) {
    if (y < PAGE_BOTTOM) {
      pages.push(page);
      page = [];
      y = PAGE_TOP;
    }
    page.push({ text: line, size: BODY_SIZE, x: 36, y });
    y -= LEADING;
  }
  pages.push(page);
  if (pages.length === 1) return pages;
  return pages.map((lines, i) => [
    { text: 'Abstracts - typeset by the sieve PDF benchmark', size: 7, x: 36, y: 400 },
    ...lines,
    { text: String(i + 1), size: 7, x: 205, y: 20 },
  ]);
}

interface CorpusDoc {
  id: string;
  title: string;
  text: string;
}

async function readCorpus(path: string, limit: number): Promise<CorpusDoc[]> {
  const docs: CorpusDoc[] = [];
  for await (const doc of beirCorpusDocuments(path)) {
    docs.push({ id: doc.externalId!, title: ascii(doc.title), text: ascii(doc.text) });
    if (docs.length >= limit) break;
  }
  return docs;
}

const words = (text: string): string[] => text.toLowerCase().match(/[a-z0-9]+/g) ?? [];

async function runQueries(engine: Engine, queries: Map<string, { text: string }>, docIdOf: (id: string) => string) {
  const run = new Map<string, string[]>();
  for (const [id, q] of queries) run.set(id, (await engine.searchDocuments(q.text, 100)).map((h) => docIdOf(h.docId)));
  return run;
}

export async function benchPdf(o: PdfBenchOptions) {
  const dataset = await readBeirDataset(o.data, o.split);
  const corpus = await readCorpus(dataset.corpusPath, o.limit ?? Number.POSITIVE_INFINITY);
  const root = o.home ?? mkdtempSync(join(tmpdir(), 'sieve-bench-pdf-'));
  const pdfDir = join(root, 'pdf');
  mkdirSync(pdfDir, { recursive: true });
  let pages = 0;
  const t0 = performance.now();
  for (const doc of corpus) {
    const typeset_ = typeset(doc.title, doc.text);
    pages += typeset_.length;
    writeFileSync(join(pdfDir, `${encodeURIComponent(doc.id)}.pdf`), buildPdf({ pages: typeset_, pageSize: PAGE_SIZE }));
  }
  const writeS = (performance.now() - t0) / 1000;
  const jsonl = join(root, 'corpus.jsonl');
  writeFileSync(jsonl, corpus.map((d) => JSON.stringify({ _id: d.id, title: d.title, text: d.text })).join('\n'));

  // Fidelity: the words of title + text, in order, against what the loader returns.
  let exact = 0;
  let matchedWords = 0;
  let totalWords = 0;
  for (const doc of corpus) {
    const file = join(pdfDir, `${encodeURIComponent(doc.id)}.pdf`);
    const loaded = (await loadAny(file, readFileSync(file))).documents[0];
    const expected = words(`${doc.title} ${doc.text}`);
    const got = words(loaded?.text ?? '');
    let same = 0;
    while (same < expected.length && same < got.length && expected[same] === got[same]) same++;
    if (same === expected.length && got.length === expected.length) exact++;
    matchedWords += same;
    totalWords += expected.length;
  }

  const judged = new Set(corpus.map((d) => d.id));
  const queries = new Map([...dataset.queries].filter(([id]) => [...(dataset.qrels.get(id)?.keys() ?? [])].some((d) => judged.has(d))));
  const qrels = new Map([...dataset.qrels].filter(([id]) => queries.has(id)));

  const pdfEngine = await openEngine({ home: join(root, 'home-pdf'), llm: null });
  const pdfIngest = await pdfEngine.ingest([pdfDir]);
  const pdfRun = await runQueries(pdfEngine, queries, (uri) => decodeURIComponent(basename(uri, '.pdf')));
  pdfEngine.close();
  const textEngine = await openEngine({ home: join(root, 'home-jsonl'), llm: null });
  const textIngest = await textEngine.ingest([jsonl]);
  const textRun = await runQueries(textEngine, queries, (id) => id);
  textEngine.close();
  if (!o.home) rmSync(root, { recursive: true, force: true });

  const pdfMetrics = evaluateRun(pdfRun, qrels);
  const textMetrics = evaluateRun(textRun, qrels);
  return {
    bench: 'pdf',
    data: o.data,
    split: o.split,
    documents: corpus.length,
    pages,
    queries: pdfMetrics.queries,
    write_s: writeS,
    fidelity: { exact_documents: exact / corpus.length, words_in_order: matchedWords / totalWords },
    pdf: { ingest_s: pdfIngest.seconds, files_per_s: corpus.length / pdfIngest.seconds, pages_per_s: pages / pdfIngest.seconds, chunks: pdfIngest.chunks, problems: pdfIngest.problems.length, 'ndcg@10': pdfMetrics['ndcg@10'], 'recall@100': pdfMetrics['recall@100'] },
    jsonl: { ingest_s: textIngest.seconds, chunks: textIngest.chunks, 'ndcg@10': textMetrics['ndcg@10'], 'recall@100': textMetrics['recall@100'] },
  };
}
