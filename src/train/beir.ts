// Reads a BEIR dataset folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) for evaluation and training.
// The corpus itself is only located here (ingest streams it); queries and qrels are small and read whole.
// Everything read from disk is validated; any problem is a DATASET_INVALID naming the file and line.

import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { SieveError } from '../errors.js';
import { readLines } from '../util/lines.js';

export interface BeirQuery {
  text: string;
  /** Gold answer strings, when the query's metadata.answers is an array of strings (e.g. SQuAD-derived sets). */
  answers?: string[];
}

export interface BeirDataset {
  /** Absolute path of the dataset folder. */
  dir: string;
  /** Absolute path of corpus.jsonl. */
  corpusPath: string;
  /** The split's queries, in qrels file order. */
  queries: Map<string, BeirQuery>;
  /** query id → doc id → integer relevance, in qrels file order. */
  qrels: Map<string, Map<string, number>>;
}

const queryLineSchema = z.object({
  _id: z.union([z.string().min(1), z.number()]).transform(String),
  text: z.string(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
});

const answersSchema = z.array(z.string());

const integerScore = /^[+-]?\d+$/;

async function isFile(filePath: string): Promise<boolean> {
  try {
    return (await stat(filePath)).isFile();
  } catch {
    return false;
  }
}

/** The split names with a qrels/<split>.tsv file, sorted; empty when there is no qrels folder. */
export async function listSplits(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(path.join(dir, 'qrels'));
  } catch {
    return [];
  }
  return names
    .filter((name) => name.endsWith('.tsv'))
    .map((name) => name.slice(0, -'.tsv'.length))
    .sort();
}

function invalid(message: string, details: Record<string, unknown>): SieveError {
  return new SieveError('DATASET_INVALID', message, details);
}

async function readQrels(qrelsPath: string): Promise<Map<string, Map<string, number>>> {
  const qrels = new Map<string, Map<string, number>>();
  let pastFirstLine = false;
  for await (const [lineNumber, rawLine] of readLines(qrelsPath)) {
    const line = rawLine.replace(/^\uFEFF/, '');
    if (line.trim() === '') continue;
    const fields = line.split('\t').map((field) => field.trim());
    const [queryId, docId, score] = fields;
    // The header is optional: the first non-blank line is one when its score column is not an integer.
    // (BEIR writes `query-id\tcorpus-id\tscore`; other column names are tolerated.)
    if (!pastFirstLine && fields.length === 3 && !integerScore.test(score ?? '')) {
      pastFirstLine = true;
      continue;
    }
    pastFirstLine = true;
    if (fields.length !== 3 || !queryId || !docId || score === undefined || !integerScore.test(score)) {
      throw invalid(
        `${qrelsPath}:${lineNumber}: expected "query-id<TAB>corpus-id<TAB>integer score", got ${JSON.stringify(rawLine)}`,
        { file: qrelsPath, line: lineNumber },
      );
    }
    let judgements = qrels.get(queryId);
    if (!judgements) {
      judgements = new Map();
      qrels.set(queryId, judgements);
    }
    judgements.set(docId, Number.parseInt(score, 10)); // a repeated pair keeps the last score, as trec_eval does
  }
  return qrels;
}

async function readQueries(queriesPath: string, wanted: ReadonlySet<string>): Promise<Map<string, BeirQuery>> {
  const found = new Map<string, BeirQuery>();
  for await (const [lineNumber, line] of readLines(queriesPath)) {
    if (line.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      throw invalid(`${queriesPath}:${lineNumber}: not valid JSON (${(err as Error).message})`, {
        file: queriesPath,
        line: lineNumber,
      });
    }
    const parsed = queryLineSchema.safeParse(json);
    if (!parsed.success) {
      throw invalid(`${queriesPath}:${lineNumber}: expected {"_id", "text", "metadata"?}: ${z.prettifyError(parsed.error)}`, {
        file: queriesPath,
        line: lineNumber,
      });
    }
    const { _id: queryId, text, metadata } = parsed.data;
    if (!wanted.has(queryId)) continue;
    if (found.has(queryId)) {
      throw invalid(`${queriesPath}:${lineNumber}: query id ${JSON.stringify(queryId)} appears twice`, {
        file: queriesPath,
        line: lineNumber,
      });
    }
    const answers = answersSchema.safeParse(metadata?.['answers']);
    found.set(queryId, answers.success ? { text, answers: answers.data } : { text });
  }
  return found;
}

/**
 * Reads the queries and qrels of one split of a BEIR folder. Only the split's queries are returned, in qrels
 * order. Throws DATASET_INVALID when a file or the split is missing (listing the splits there are), when a
 * line is malformed, or when the qrels name a query that queries.jsonl lacks.
 */
export async function readBeirDataset(dir: string, split: string): Promise<BeirDataset> {
  const datasetDir = path.resolve(dir);
  const corpusPath = path.join(datasetDir, 'corpus.jsonl');
  const queriesPath = path.join(datasetDir, 'queries.jsonl');
  const qrelsPath = path.join(datasetDir, 'qrels', `${split}.tsv`);

  for (const required of [corpusPath, queriesPath]) {
    if (!(await isFile(required))) {
      throw invalid(`${required} does not exist: ${datasetDir} is not a BEIR dataset folder`, { file: required });
    }
  }
  if (!/^[\w.-]+$/.test(split) || !(await isFile(qrelsPath))) {
    const splits = await listSplits(datasetDir);
    const available = splits.length > 0 ? `splits there: ${splits.join(', ')}` : 'no qrels/<split>.tsv files exist';
    throw invalid(`${qrelsPath} does not exist: no split "${split}" in ${datasetDir} (${available})`, {
      file: qrelsPath,
      split,
      splits,
    });
  }

  const qrels = await readQrels(qrelsPath);
  const found = await readQueries(queriesPath, new Set(qrels.keys()));
  const queries = new Map<string, BeirQuery>();
  const missing: string[] = [];
  for (const queryId of qrels.keys()) {
    const query = found.get(queryId);
    if (query) queries.set(queryId, query);
    else missing.push(queryId);
  }
  if (missing.length > 0) {
    throw invalid(
      `${qrelsPath} names ${missing.length} quer${missing.length === 1 ? 'y' : 'ies'} missing from ${queriesPath}: ` +
        missing.slice(0, 5).join(', ') +
        (missing.length > 5 ? ', …' : ''),
      { file: qrelsPath, missing: missing.slice(0, 20) },
    );
  }
  return { dir: datasetDir, corpusPath, queries, qrels };
}
