// `npm run -s bench -- synth --data <beir-dir> --docs N --out <dir>`: a large BEIR-format corpus for scale runs.
// Documents are drawn sentence by sentence (seeded) from the source corpus, so term statistics look like real text
// while the corpus grows past any data set here; the source's queries come along (split `scale`, each judged
// against its first relevant document when that document was copied whole, else against none). It measures
// speed and memory at size (`bench ingest`, `bench ask --split scale`), not quality.
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { beirCorpusDocuments } from '../src/ingest/loaders/beir.js';
import { splitSentences } from '../src/ingest/sentences.js';
import { readBeirDataset } from '../src/train/beir.js';
import { SeededRandom } from '../src/util/random.js';

export interface SynthOptions {
  data: string;
  docs: number;
  out: string;
  seed: number;
  /** Sentences per synthetic document. */
  sentences: number;
}

export async function benchSynth(o: SynthOptions) {
  const started = performance.now();
  const source = await readBeirDataset(o.data, 'test');
  const originals: Array<{ _id: string; title: string; text: string }> = [];
  const sentences: string[] = [];
  for await (const doc of beirCorpusDocuments(source.corpusPath)) {
    originals.push({ _id: doc.externalId!, title: doc.title, text: doc.text });
    for (const s of splitSentences(doc.text)) sentences.push(doc.text.slice(s.start, s.end));
  }
  mkdirSync(join(o.out, 'qrels'), { recursive: true });
  const random = new SeededRandom(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[random.nextInt(xs.length)] as T;
  const corpus = createWriteStream(join(o.out, 'corpus.jsonl'));
  const write = async (line: string) => {
    if (!corpus.write(`${line}\n`)) await once(corpus, 'drain');
  };
  // The source documents first (so the source's queries keep their relevant documents), then synthetic ones.
  for (const doc of originals.slice(0, o.docs)) await write(JSON.stringify(doc));
  for (let i = originals.length; i < o.docs; i++) {
    const text = Array.from({ length: o.sentences }, () => pick(sentences)).join(' ');
    const title = pick(originals).title;
    await write(JSON.stringify({ _id: `synth-${i}`, title, text }));
  }
  corpus.end();
  await once(corpus, 'finish');
  const kept = new Set(originals.slice(0, o.docs).map((d) => d._id));
  const queries: string[] = [];
  const qrels: string[] = ['query-id\tcorpus-id\tscore'];
  for (const [id, q] of source.queries) {
    queries.push(JSON.stringify({ _id: id, text: q.text }));
    for (const [doc, score] of source.qrels.get(id) ?? []) if (kept.has(doc)) qrels.push(`${id}\t${doc}\t${score}`);
  }
  writeFileSync(join(o.out, 'queries.jsonl'), `${queries.join('\n')}\n`);
  writeFileSync(join(o.out, 'qrels', 'scale.tsv'), `${qrels.join('\n')}\n`);
  return {
    bench: 'synth',
    data: o.data,
    out: o.out,
    documents: o.docs,
    source_sentences: sentences.length,
    queries: queries.length,
    seconds: (performance.now() - started) / 1000,
  };
}
