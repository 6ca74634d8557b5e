// Trains the shipped base embedder (or any embedder) from a BEIR folder and measures it.
//
//   npx tsx bench/train-embedder.ts --data ../shared/data/scifact --split train --steps 1500 --batch 128 \
//     --out models/embedder --fp16-only --eval-split test
//
// 1. ingests <data>/corpus.jsonl into a home (a fresh temp one unless --home), so inverse-cloze pairs come from
//    the corpus chunks exactly as sieve stores them;
// 2. trains in a worker thread (trainEmbedder) on those chunks plus the supervised pairs of --split (never a
//    test split: the flag refuses 'test' unless --allow-test-split);
// 3. writes the model folder to --out (with --fp16-only: embedder.json + fp16/ only, the shipped form);
// 4. with --eval-split, embeds every corpus document (title + text) and that split's queries with the exported
//    model through OnnxEmbedder and reports dense-only nDCG@10 / Recall@100 by brute-force cosine, plus the
//    embedding speeds (query p50 on one thread, passages per second).
import { isEntryPoint } from '../src/util/entry.js';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { chmod, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { createReadStream } from 'node:fs';
import { Command } from 'commander';
import { z } from 'zod';
import { databasePath, resolveConfig } from '../src/config.js';
import { openEngine } from '../src/engine.js';
import { EMBEDDER_CONFIG_FILE, OnnxEmbedder, embedderConfigSchema } from '../src/embed/onnx-embedder.js';
import { SieveError, toSieveError } from '../src/errors.js';
import { Store } from '../src/store/store.js';
import { readBeirDataset } from '../src/train/beir.js';
import { trainEmbedder } from '../src/train/embedder/train.js';
import { latencySummary, ndcgAtK, recallAtK } from '../src/train/metrics.js';

export interface TrainEmbedderBenchOptions {
  data: string;
  split: string;
  steps: number;
  batch: number;
  seed: number;
  out: string;
  home?: string;
  fp16Only?: boolean;
  evalSplit?: string;
  modelId?: string;
  allowTestSplit?: boolean;
  architecture?: Record<string, number>;
  hardNegatives?: number;
}

const corpusLineSchema = z.object({ _id: z.union([z.string(), z.number()]).transform(String), title: z.string().nullish(), text: z.string() });

async function readCorpus(file: string): Promise<Array<{ id: string; text: string }>> {
  const docs: Array<{ id: string; text: string }> = [];
  for await (const line of createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    const d = corpusLineSchema.parse(JSON.parse(line));
    docs.push({ id: d._id, text: `${d.title ?? ''}\n${d.text}` });
  }
  return docs;
}

/** Dense-only retrieval quality of an exported model on a BEIR split, and its embedding speed. */
export async function evaluateDense(modelDir: string, data: string, split: string, log: (l: string) => void) {
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'sieve-embedder-cache-'));
  const embedder = await OnnxEmbedder.load(modelDir, { cacheDir, intraOpThreads: 1 });
  try {
    const dataset = await readBeirDataset(data, split);
    const docs = await readCorpus(dataset.corpusPath);
    let started = performance.now();
    const docVecs = await embedder.embed(
      docs.map((d) => d.text),
      'passage',
    );
    const passageSeconds = (performance.now() - started) / 1000;
    log(`embedded ${docs.length} documents in ${passageSeconds.toFixed(1)} s (${(docs.length / passageSeconds).toFixed(0)}/s)`);
    const queryIds = [...dataset.queries.keys()];
    const latencies: number[] = [];
    const queryVecs: Float32Array[] = [];
    for (const id of queryIds) {
      started = performance.now();
      const [v] = await embedder.embed([dataset.queries.get(id)!.text], 'query');
      latencies.push(performance.now() - started);
      queryVecs.push(v!);
    }
    const dim = embedder.dim;
    let ndcg = 0;
    let recall100 = 0;
    queryIds.forEach((id, qi) => {
      const q = queryVecs[qi]!;
      const scores = docVecs.map((d) => {
        let s = 0;
        for (let c = 0; c < dim; c++) s += q[c]! * d[c]!;
        return s;
      });
      const order = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]!);
      const ranking = order.slice(0, 100).map((i) => docs[i]!.id);
      ndcg += ndcgAtK(ranking, dataset.qrels.get(id)!, 10);
      recall100 += recallAtK(ranking, dataset.qrels.get(id)!, 100);
    });
    return {
      split,
      queries: queryIds.length,
      denseNdcgAt10: ndcg / queryIds.length,
      denseRecallAt100: recall100 / queryIds.length,
      queryEmbedMs: latencySummary(latencies),
      passagesPerSecond: docs.length / passageSeconds,
      provider: embedder.provider,
    };
  } finally {
    await embedder.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

export async function benchTrainEmbedder(o: TrainEmbedderBenchOptions, log: (l: string) => void = (l) => process.stderr.write(`${l}\n`)) {
  if (/test/i.test(o.split) && !o.allowTestSplit) {
    throw new SieveError('CONFIG_INVALID', `refusing to train on split "${o.split}": train on a train split and evaluate on test (--allow-test-split overrides)`);
  }
  const home = o.home ?? mkdtempSync(path.join(tmpdir(), 'sieve-train-embedder-'));
  const workDir = mkdtempSync(path.join(tmpdir(), 'sieve-embedder-out-'));
  try {
    const engine = await openEngine({ home, llm: null });
    const ingest = await engine.ingest([path.join(o.data, 'corpus.jsonl')]);
    engine.close();
    log(`ingested ${ingest.documents} documents (${ingest.chunks} chunks) into ${home}`);
    const store = new Store(databasePath(resolveConfig({ home })));
    let result;
    try {
      result = await trainEmbedder({
        store,
        outDir: workDir,
        beir: { dir: o.data, split: o.split },
        steps: o.steps,
        batchSize: o.batch,
        seed: o.seed,
        ...(o.modelId ? { modelId: o.modelId } : {}),
        ...(o.architecture ? { architecture: o.architecture } : {}),
        ...(o.hardNegatives !== undefined ? { hardNegatives: o.hardNegatives } : {}),
        precisions: o.fp16Only ? ['fp16'] : ['fp32', 'fp16'],
        // The worker prints its progress (steps/s, loss) to stderr itself.
      });
    } finally {
      store.close();
    }
    const out = path.resolve(o.out);
    await rm(out, { recursive: true, force: true });
    await mkdir(out, { recursive: true });
    await cp(workDir, out, { recursive: true });
    await chmod(out, 0o755); // the temp folder it was copied from is private (0700)
    // The config records where the data came from relative to nothing machine-specific.
    const config = embedderConfigSchema.parse(JSON.parse(await readFile(path.join(out, EMBEDDER_CONFIG_FILE), 'utf8')));
    const data = (config.meta['data'] ?? {}) as Record<string, unknown>;
    config.meta['data'] = { ...data, store: `ingested ${path.basename(o.data)}/corpus.jsonl`, beir: { dir: path.basename(o.data), split: o.split } };
    config.meta['command'] = `npx tsx bench/train-embedder.ts --data <${path.basename(o.data)}> --split ${o.split} --steps ${o.steps} --batch ${o.batch} --seed ${o.seed}${o.hardNegatives !== undefined ? ` --hard-negatives ${o.hardNegatives}` : ''}`;
    let evaluation = null;
    if (o.evalSplit) {
      evaluation = await evaluateDense(out, o.data, o.evalSplit, log);
      config.metrics[`${path.basename(o.data)}_${o.evalSplit}_denseNdcgAt10`] = evaluation.denseNdcgAt10;
    }
    await writeFile(path.join(out, EMBEDDER_CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
    return { bench: 'train-embedder', modelId: result.modelId, out, metrics: result.metrics, evaluation };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
    if (!o.home) rmSync(home, { recursive: true, force: true });
  }
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command('train-embedder')
    .requiredOption('--data <dir>', 'BEIR folder (corpus for inverse cloze, qrels/<split>.tsv for supervised pairs)')
    .option('--split <name>', 'supervised split', 'train')
    .option('--steps <n>', 'training steps', (v) => Number(v), 1500)
    .option('--batch <n>', 'batch size (pairs)', (v) => Number(v), 128)
    .option('--seed <n>', 'seed', (v) => Number(v), 1)
    .requiredOption('--out <dir>', 'model folder to write')
    .option('--home <dir>', 'home to ingest into (default: a fresh temp folder)')
    .option('--fp16-only', 'write only the FP16 files (the shipped form)')
    .option('--eval-split <name>', 'after training, dense-only nDCG@10 on this split')
    .option('--model-id <id>', 'model id (default embedder-<timestamp>-s<seed>)')
    .option('--arch <json>', 'architecture overrides, e.g. {"channels":128}')
    .option('--hard-negatives <n>', 'BM25 hard negatives mined per supervised query (0 = off; default 5)', (v) => Number(v))
    .option('--allow-test-split', 'allow training on a split whose name contains "test"')
    .option('--json', 'print JSON to stdout');
  program.parse([...argv], { from: 'user' });
  const opts = program.opts<{ data: string; split: string; steps: number; batch: number; seed: number; out: string; home?: string; fp16Only?: boolean; evalSplit?: string; modelId?: string; arch?: string; hardNegatives?: number; allowTestSplit?: boolean; json?: boolean }>();
  const result = await benchTrainEmbedder({
    data: opts.data,
    split: opts.split,
    steps: opts.steps,
    batch: opts.batch,
    seed: opts.seed,
    out: opts.out,
    ...(opts.home ? { home: opts.home } : {}),
    ...(opts.fp16Only ? { fp16Only: true } : {}),
    ...(opts.evalSplit ? { evalSplit: opts.evalSplit } : {}),
    ...(opts.modelId ? { modelId: opts.modelId } : {}),
    ...(opts.arch ? { architecture: z.record(z.string(), z.number()).parse(JSON.parse(opts.arch)) } : {}),
    ...(opts.allowTestSplit ? { allowTestSplit: true } : {}),
    ...(opts.hardNegatives !== undefined ? { hardNegatives: opts.hardNegatives } : {}),
  });
  const text = JSON.stringify(result, null, 2);
  if (opts.json) process.stdout.write(`${text}\n`);
  else process.stderr.write(`${text}\n`);
}


if (isEntryPoint(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    const e = toSieveError(err);
    process.stderr.write(`sieve: ${e.message}\n${e.hint}\n`);
    process.exit(e.exitCode);
  });
}
