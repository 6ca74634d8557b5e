// Builds a long-query BEIR folder out of another one's judgements, in the shape of ArguAna: each document that a
// query's qrels mark relevant beside others becomes a query (its title and text, often hundreds of words), and
// the documents judged relevant to the same queries become its relevant documents. The query keeps the document's
// id, so the evaluation drops the document itself from its ranking, as BEIR's does for ArguAna and Quora.
// What it measures: retrieval with whole passages as queries, where trimming or mishandling long queries shows.
//
// Usage: npm run -s corelevant-to-beir -- <beir-dir> <out-dir> [--splits train,test]

import path from 'node:path';
import { Command } from 'commander';
import { SieveError } from '../src/errors.js';
import { listSplits, readBeirDataset } from '../src/train/beir.js';
import { beirCorpusDocuments } from '../src/ingest/loaders/beir.js';
import type { IngestProblem } from '../src/ingest/walk.js';
import { runAsScript } from './script.js';
import { writeBeirFolder, type BeirCorpusDoc, type BeirQrel } from './squad-to-beir.js';

export interface CorelevantSet {
  corpus: BeirCorpusDoc[];
  queries: Array<{ _id: string; text: string }>;
  qrels: BeirQrel[];
}

/** Pure: documents judged relevant (> 0) to one query become each other's relevant documents. */
export function corelevantSet(corpus: readonly BeirCorpusDoc[], judgements: Iterable<ReadonlyMap<string, number>>): CorelevantSet {
  const byId = new Map(corpus.map((d) => [d._id, d]));
  const related = new Map<string, Set<string>>();
  for (const docs of judgements) {
    const relevant = [...docs].filter(([id, rel]) => rel > 0 && byId.has(id)).map(([id]) => id);
    for (const a of relevant) for (const b of relevant) if (a !== b) (related.get(a) ?? related.set(a, new Set()).get(a)!).add(b);
  }
  const ids = [...related.keys()].sort();
  const queries = ids.map((id) => {
    const d = byId.get(id)!;
    return { _id: id, text: d.title ? `${d.title}. ${d.text}` : d.text };
  });
  const qrels = ids.flatMap((id) => [...related.get(id)!].sort().map((corpusId) => ({ queryId: id, corpusId, score: 1 })));
  return { corpus: [...corpus], queries, qrels };
}

/** The corpus as sieve reads it (beirCorpusDocuments); a malformed line stops the build rather than go missing. */
async function readCorpus(corpusPath: string): Promise<BeirCorpusDoc[]> {
  const docs: BeirCorpusDoc[] = [];
  const problems: IngestProblem[] = [];
  for await (const doc of beirCorpusDocuments(corpusPath, problems)) docs.push({ _id: doc.externalId!, title: doc.title, text: doc.text });
  if (problems.length > 0) throw new SieveError('DATASET_INVALID', problems[0]!.message, { file: corpusPath });
  return docs;
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command()
    .name('corelevant-to-beir')
    .description('Build an ArguAna-shaped long-query BEIR folder: documents as queries, co-relevant documents as their answers.')
    .argument('<beir-dir>', 'a BEIR folder with corpus.jsonl, queries.jsonl and qrels/')
    .argument('<out-dir>', 'folder to write the new set into (its qrels/test.tsv)')
    .option('--splits <names>', 'comma-separated qrels splits whose judgements to use (default: all)')
    .showHelpAfterError();
  program.parse([...argv], { from: 'user' });
  const [dir, outDir] = program.args as [string, string];
  const { splits: given } = program.opts<{ splits?: string }>();
  const splits = given ? given.split(',').map((s) => s.trim()).filter((s) => s !== '') : await listSplits(dir);
  const judgements: Array<Map<string, number>> = [];
  let corpusPath = '';
  for (const split of splits) {
    const dataset = await readBeirDataset(dir, split);
    corpusPath = dataset.corpusPath;
    judgements.push(...dataset.qrels.values());
  }
  const set = corelevantSet(await readCorpus(corpusPath), judgements);
  await writeBeirFolder(outDir, { corpus: set.corpus, queries: set.queries.map((q) => ({ ...q, metadata: { answers: [] } })), qrels: { test: set.qrels } });
  process.stderr.write(`corelevant-to-beir: ${set.queries.length} documents as queries, ${set.qrels.length} judgements (splits ${splits.join(', ')}) → ${path.resolve(outDir)}\n`);
}

runAsScript(import.meta.url, 'corelevant-to-beir', main);
