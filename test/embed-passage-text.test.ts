// What the indexer embeds for a chunk must be what the embedder was trained on: the same words in the same order.
// Supervised pairs read a BEIR document as `title\ntext`, inverse cloze as the chunk's heading then its sentences;
// the indexer embeds `heading\ntext` where heading = title › section path. The tokenizer drops the newline and '›',
// so the three agree word for word — these tests pin that.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { passageTexts } from '../src/embed/vectors.js';
import { DEFAULT_TOKENIZER_CONFIG, splitWords } from '../src/embed/tokenizer.js';
import { ingestPaths } from '../src/ingest/ingest.js';
import { Store } from '../src/store/store.js';
import { SeededRandom } from '../src/util/random.js';
import { WordVocab, clozePair, readStoreCorpus, readSupervisedPairs } from '../src/train/embedder/data.js';
import { writeBeirFolder } from './helpers/beir.js';
import { tempDir } from './helpers/tmp.js';

let tmp: ReturnType<typeof tempDir>;
let store: Store;
let dataDir: string;

const DOCS = [
  { _id: 'd1', title: 'Coral reefs under heat', text: 'Bleaching follows marine heatwaves. Corals expel their algae when water stays warm. Recovery takes a decade or more.' },
  { _id: 'd2', title: 'Glacier retreat', text: 'Alpine glaciers lost a third of their mass since 1980. Meltwater feeds rivers in summer. Small glaciers vanish first.' },
];

beforeEach(async () => {
  tmp = tempDir('passage-text');
  dataDir = join(tmp.dir, 'beir');
  writeBeirFolder(dataDir, {
    corpus: DOCS,
    queries: [
      { _id: 'q1', text: 'why do corals bleach' },
      { _id: 'q2', text: 'how fast do glaciers melt' },
    ],
    qrels: { train: [['q1', 'd1', 1], ['q2', 'd2', 1]] },
  });
  store = new Store(join(tmp.dir, 'home', 'sieve.db'));
  await ingestPaths(store, [join(dataDir, 'corpus.jsonl')], { prune: false, maxFileBytes: 1 << 20, chunking: { maxTokens: 256, overlapTokens: 32 } });
});
afterEach(() => {
  store.close();
  tmp.cleanup();
});

function chunkIdOf(externalId: string): number {
  const row = store.db
    .prepare(`SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.external_id = ? ORDER BY c.ordinal LIMIT 1`)
    .get(externalId) as { id: number };
  return row.id;
}

describe('the passage text the indexer embeds', () => {
  it('is a BEIR document as title, newline, text: the form supervised training reads', async () => {
    const vocab = new WordVocab(DEFAULT_TOKENIZER_CONFIG);
    const pairs = await readSupervisedPairs(dataDir, 'train', vocab, { maxQueryWords: 64, maxPassageWords: 256 });
    for (const doc of DOCS) {
      const [passage] = passageTexts(store, [chunkIdOf(doc._id)]);
      expect(passage!.text).toBe(`${doc.title}\n${doc.text}`);
      const trained = pairs.find((p) => p.group === `doc:${doc._id}`)!;
      expect([...trained.passage].map((id) => vocab.words[id])).toEqual(splitWords(passage!.text));
    }
  });

  it('has the words of an inverse-cloze passage (heading, then the sentences) in the same order', () => {
    const vocab = new WordVocab(DEFAULT_TOKENIZER_CONFIG);
    const corpus = readStoreCorpus(store, vocab, { maxChunks: 100, maxPassageWords: 256, seed: 1 });
    expect(corpus.chunks.length).toBe(DOCS.length);
    for (const chunk of corpus.chunks) {
      // keepProbability 1: the query sentence stays in the passage, so it is the whole chunk.
      const pair = clozePair(chunk, new SeededRandom(3), { maxQueryWords: 64, maxPassageWords: 256, keepProbability: 1 });
      const [passage] = passageTexts(store, [chunk.chunkId]);
      expect([...pair.passage].map((id) => vocab.words[id])).toEqual(splitWords(passage!.text));
    }
  });
});
