// Converts the official SQuAD v1.1 JSON into a BEIR folder: each paragraph a document, each question a query
// whose one relevant document is its paragraph, gold answer strings kept in the query's metadata.
// With --holdout the questions (never the paragraphs) are split at random by the seed, so a feedback stream
// (train) and a held-out set (test) ask about the same documents — what learning from past questions needs.
//
// Usage: npm run -s squad-to-beir -- <dev-v1.1.json> <out-dir> [--holdout 0.5] [--seed 1]

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { SieveError } from '../src/errors.js';
import { SeededRandom } from '../src/util/random.js';
import { runAsScript } from './script.js';

const squadSchema = z.object({
  version: z.string().optional(),
  data: z.array(
    z.object({
      title: z.string().min(1),
      paragraphs: z.array(
        z.object({
          context: z.string(),
          qas: z.array(
            z.object({
              id: z.string().min(1),
              question: z.string(),
              answers: z.array(z.object({ text: z.string(), answer_start: z.number().int().optional() })),
            }),
          ),
        }),
      ),
    }),
  ),
});

export type SquadJson = z.infer<typeof squadSchema>;

export interface BeirCorpusDoc {
  _id: string;
  title: string;
  text: string;
}

export interface BeirQueryLine {
  _id: string;
  text: string;
  metadata: { answers: string[] };
}

export interface BeirQrel {
  queryId: string;
  corpusId: string;
  score: number;
}

export interface SquadToBeirOptions {
  /** Fraction of questions sent to the test split (the rest go to train); omit to put every question in test. */
  holdout?: number;
  seed: number;
}

export interface SquadToBeirResult {
  corpus: BeirCorpusDoc[];
  queries: BeirQueryLine[];
  /** Qrels in question order; `train` only exists with a holdout. */
  qrels: { train?: BeirQrel[]; test: BeirQrel[] };
}

/** Validates parsed SQuAD JSON, throwing DATASET_INVALID with the first problems found. */
export function parseSquad(json: unknown, source = 'SQuAD JSON'): SquadJson {
  const parsed = squadSchema.safeParse(json);
  if (!parsed.success) {
    throw new SieveError('DATASET_INVALID', `${source} is not SQuAD v1.1: ${z.prettifyError(parsed.error)}`, { file: source });
  }
  return parsed.data;
}

/** Pure conversion; deterministic for a seed. */
export function squadToBeir(squadJson: unknown, options: SquadToBeirOptions): SquadToBeirResult {
  const { holdout, seed } = options;
  if (holdout !== undefined && !(holdout >= 0 && holdout <= 1)) {
    throw new SieveError('CONFIG_INVALID', `--holdout must be a fraction within [0, 1], got ${holdout}`);
  }
  const squad = parseSquad(squadJson);
  const corpus: BeirCorpusDoc[] = [];
  const queries: BeirQueryLine[] = [];
  const pairs: BeirQrel[] = [];
  const docIds = new Set<string>();
  const queryIds = new Set<string>();

  for (const article of squad.data) {
    const title = article.title.replace(/_/g, ' ');
    article.paragraphs.forEach((paragraph, paragraphIndex) => {
      const docId = `${article.title}#${paragraphIndex}`;
      if (docIds.has(docId)) {
        throw new SieveError('DATASET_INVALID', `two articles are titled ${JSON.stringify(article.title)}, so paragraph ids would collide`);
      }
      docIds.add(docId);
      corpus.push({ _id: docId, title, text: paragraph.context });
      for (const qa of paragraph.qas) {
        if (queryIds.has(qa.id)) {
          throw new SieveError('DATASET_INVALID', `question id ${JSON.stringify(qa.id)} appears twice`);
        }
        queryIds.add(qa.id);
        const answers = [...new Set(qa.answers.map((answer) => answer.text))];
        queries.push({ _id: qa.id, text: qa.question, metadata: { answers } });
        pairs.push({ queryId: qa.id, corpusId: docId, score: 1 });
      }
    });
  }

  if (holdout === undefined) return { corpus, queries, qrels: { test: pairs } };

  // Shuffle positions rather than the pairs so both splits stay in the source's question order.
  const order = new SeededRandom(seed).shuffle(pairs.map((_, index) => index));
  const testCount = Math.round(holdout * pairs.length);
  const testPositions = new Set(order.slice(0, testCount));
  const train = pairs.filter((_, index) => !testPositions.has(index));
  const test = pairs.filter((_, index) => testPositions.has(index));
  return { corpus, queries, qrels: { train, test } };
}

function toJsonl(rows: readonly unknown[]): string {
  return rows.map((row) => JSON.stringify(row)).join('\n') + (rows.length > 0 ? '\n' : '');
}

function toQrelsTsv(rows: readonly BeirQrel[]): string {
  return ['query-id\tcorpus-id\tscore', ...rows.map((row) => `${row.queryId}\t${row.corpusId}\t${row.score}`)].join('\n') + '\n';
}

/** Writes a conversion result as a BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv). */
export async function writeBeirFolder(outDir: string, result: SquadToBeirResult): Promise<void> {
  await mkdir(path.join(outDir, 'qrels'), { recursive: true });
  await writeFile(path.join(outDir, 'corpus.jsonl'), toJsonl(result.corpus));
  await writeFile(path.join(outDir, 'queries.jsonl'), toJsonl(result.queries));
  await writeFile(path.join(outDir, 'qrels', 'test.tsv'), toQrelsTsv(result.qrels.test));
  if (result.qrels.train) await writeFile(path.join(outDir, 'qrels', 'train.tsv'), toQrelsTsv(result.qrels.train));
}

async function readSquadFile(squadPath: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(squadPath, 'utf8');
  } catch (err) {
    throw new SieveError('PATH_NOT_FOUND', `cannot read ${squadPath}: ${(err as Error).message}`, { path: squadPath });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SieveError('DATASET_INVALID', `${squadPath} is not valid JSON: ${(err as Error).message}`, { file: squadPath });
  }
}

function parseFraction(value: string): number {
  const fraction = Number(value);
  if (value.trim() === '' || !(fraction >= 0 && fraction <= 1)) {
    throw new InvalidArgumentError('expected a fraction within [0, 1], e.g. 0.5');
  }
  return fraction;
}

function parseSeed(value: string): number {
  const seed = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(seed)) throw new InvalidArgumentError('expected an integer');
  return seed;
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command()
    .name('squad-to-beir')
    .description('Convert SQuAD v1.1 JSON into a BEIR folder (paragraphs as documents, questions as queries).')
    .argument('<squad-json>', 'the official SQuAD v1.1 file, e.g. dev-v1.1.json')
    .argument('<out-dir>', 'folder to write corpus.jsonl, queries.jsonl and qrels/ into')
    .option('--holdout <fraction>', 'fraction of questions for qrels/test.tsv; the rest go to qrels/train.tsv', parseFraction)
    .option('--seed <n>', 'seed of the random question split', parseSeed, 1)
    .showHelpAfterError();
  program.parse([...argv], { from: 'user' });
  const [squadPath, outDir] = program.args as [string, string]; // commander enforced both arguments
  const options = program.opts<{ holdout?: number; seed: number }>();

  // Validating here first lets a schema error name the file; squadToBeir's own check then passes quickly.
  const squad = parseSquad(await readSquadFile(squadPath), squadPath);
  const result = squadToBeir(squad, { holdout: options.holdout, seed: options.seed });
  await writeBeirFolder(outDir, result);
  const split = result.qrels.train ? `train ${result.qrels.train.length}, test ${result.qrels.test.length}` : `test ${result.qrels.test.length}`;
  process.stderr.write(
    `squad-to-beir: ${result.corpus.length} docs, ${result.queries.length} queries (${split}; seed ${options.seed}) → ${outDir}\n`,
  );
}


runAsScript(import.meta.url, 'squad-to-beir', main);
