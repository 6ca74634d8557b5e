// Builds a code-search BEIR folder from JavaScript/TypeScript sources, the way CodeSearchNet pairs documentation
// with code: each doc comment's first sentence becomes a query, and the code it documents becomes the query's one
// relevant document, with every comment stripped from it (so the query's words are not simply in the document).
// What it measures: natural-language search over identifiers (`chooseExecutionProviders` for "execution providers").
//
// Usage: npm run -s code-to-beir -- <out-dir> <folder…>   (e.g. node_modules/commander/lib node_modules/jszip/lib)

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { SieveError } from '../src/errors.js';
import { runAsScript } from './script.js';
import { writeBeirFolder, type BeirCorpusDoc, type BeirQrel } from './squad-to-beir.js';

const SOURCE = /\.(?:[cm]?js|tsx?)$/;
const DOC_COMMENT = /\/\*\*([\s\S]*?)\*\//g;
/** Lines of code after a doc comment taken as the documented unit (up to the next doc comment). */
const MAX_CODE_LINES = 40;
/** A query needs this many words: "Constructor." or "@private" documents nothing. */
const MIN_QUERY_WORDS = 4;
/** And the code this many identifier-like tokens. */
const MIN_CODE_TOKENS = 5;

export interface CodeSearchPair {
  id: string;
  query: string;
  code: string;
}

/** The first sentence of a doc comment's prose (tags and markup left out), or null when it has none worth a query. */
export function docSentence(comment: string): string | null {
  const prose: string[] = [];
  for (const raw of comment.split('\n')) {
    const line = raw.replace(/^\s*\*?\s?/, '').trim();
    if (line.startsWith('@')) break; // the tags start: no more prose
    if (line === '' && prose.length > 0) break;
    if (line !== '') prose.push(line);
  }
  const text = prose.join(' ').replace(/\{@\w+\s+([^}]*)\}/g, '$1').replace(/<[^>]+>/g, '').replace(/`/g, '');
  const sentence = (text.match(/^.*?[.!?](?=\s|$)/)?.[0] ?? text).trim();
  return sentence.split(/\s+/).filter((w) => /[\p{L}]/u.test(w)).length >= MIN_QUERY_WORDS ? sentence : null;
}

/** Code with its comments removed (strings are not parsed: a `//` inside a string cuts the rest of that line). */
export function stripComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:\\])\/\/.*$/gm, '$1');
}

/** Each documented unit of one source file: its doc sentence and the code that follows, comments stripped. */
export function codeSearchPairs(relativePath: string, source: string): CodeSearchPair[] {
  const pairs: CodeSearchPair[] = [];
  const comments = [...source.matchAll(DOC_COMMENT)];
  comments.forEach((m, i) => {
    const query = docSentence(m[1]!);
    if (query === null) return;
    const start = m.index + m[0].length;
    const end = comments[i + 1]?.index ?? source.length;
    const code = stripComments(source.slice(start, end).split('\n').slice(0, MAX_CODE_LINES + 1).join('\n')).replace(/\s+/g, ' ').trim();
    if ((code.match(/[\p{L}_$][\p{L}\p{N}_$]*/gu) ?? []).length < MIN_CODE_TOKENS) return;
    const line = source.slice(0, m.index).split('\n').length;
    pairs.push({ id: `${relativePath}:${line}`, query, code });
  });
  return pairs;
}

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new SieveError('PATH_NOT_FOUND', `cannot read the source folder ${dir}: ${(err as Error).message}`, { path: dir });
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(full)));
    else if (entry.isFile() && SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out.sort();
}

/** Pairs from every folder; a query text documenting two units is ambiguous and dropped with both. */
export async function buildCodeSearchSet(folders: readonly string[]): Promise<{ corpus: BeirCorpusDoc[]; queries: Array<{ _id: string; text: string; metadata: { answers: string[] } }>; qrels: BeirQrel[] }> {
  const pairs: CodeSearchPair[] = [];
  for (const folder of folders) {
    const base = path.resolve(folder);
    for (const file of await sourceFiles(base)) {
      // Ids name the file as given on the command line, so folders of different packages never collide.
      const rel = path.join(folder, path.relative(base, file));
      pairs.push(...codeSearchPairs(rel, await readFile(file, 'utf8')));
    }
  }
  const count = new Map<string, number>();
  for (const p of pairs) count.set(p.query.toLowerCase(), (count.get(p.query.toLowerCase()) ?? 0) + 1);
  const kept = pairs.filter((p) => count.get(p.query.toLowerCase()) === 1);
  return {
    corpus: pairs.map((p) => ({ _id: p.id, title: '', text: p.code })),
    queries: kept.map((p) => ({ _id: `q:${p.id}`, text: p.query, metadata: { answers: [] } })),
    qrels: kept.map((p) => ({ queryId: `q:${p.id}`, corpusId: p.id, score: 1 })),
  };
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command()
    .name('code-to-beir')
    .description('Build a code-search BEIR folder: doc-comment sentences as queries, the documented code (comments stripped) as their answers.')
    .argument('<out-dir>', 'folder to write corpus.jsonl, queries.jsonl and qrels/test.tsv into')
    .argument('<folders...>', 'source folders to read (.js, .mjs, .cjs, .ts, .tsx; .d.ts skipped)')
    .showHelpAfterError();
  program.parse([...argv], { from: 'user' });
  const [outDir, ...folders] = program.args as [string, ...string[]];
  const set = await buildCodeSearchSet(folders);
  if (set.queries.length === 0) throw new SieveError('DATASET_INVALID', `no documented code found under ${folders.join(', ')}`);
  await writeBeirFolder(outDir, { corpus: set.corpus, queries: set.queries, qrels: { test: set.qrels } });
  process.stderr.write(`code-to-beir: ${set.corpus.length} code units, ${set.queries.length} queries → ${path.resolve(outDir)}\n`);
}

runAsScript(import.meta.url, 'code-to-beir', main);
