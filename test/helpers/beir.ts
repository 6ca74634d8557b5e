// Small BEIR folders for tests: corpus.jsonl, queries.jsonl and one qrels/<split>.tsv (with its header) per split.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BeirFolder {
  corpus: ReadonlyArray<{ _id: string; title?: string; text: string }>;
  queries: ReadonlyArray<{ _id: string; text: string }>;
  /** Per split: [query id, document id, grade] rows. */
  qrels: Record<string, ReadonlyArray<readonly [string, string, number]>>;
}

export function writeBeirFolder(dir: string, set: BeirFolder): void {
  mkdirSync(join(dir, 'qrels'), { recursive: true });
  const lines = (rows: ReadonlyArray<unknown>) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
  writeFileSync(join(dir, 'corpus.jsonl'), lines(set.corpus));
  writeFileSync(join(dir, 'queries.jsonl'), lines(set.queries));
  for (const [split, rows] of Object.entries(set.qrels)) {
    writeFileSync(join(dir, 'qrels', `${split}.tsv`), `${['query-id\tcorpus-id\tscore', ...rows.map((r) => r.join('\t'))].join('\n')}\n`);
  }
}
