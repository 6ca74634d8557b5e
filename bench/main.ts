// `npm run -s bench -- <name> [options]`: the benchmarks. Speed and memory targets live here, never in unit tests.
// Each prints a human summary to stderr and, with --json, one JSON object to stdout.
import { Command } from 'commander';
import { benchAsk } from './ask.js';
import { benchIngest } from './ingest.js';
import type { SelfImproveOptions } from './selfimprove.js';

/** selfimprove's options as Commander hands them over: the bench's own, the exploration rate as --explore. */
type SelfImproveCli = Omit<SelfImproveOptions, 'exploreRate' | 'dense' | 'log'> & { explore: number; dense?: boolean; json?: boolean };

const program = new Command('bench').description('sieve benchmarks');

program
  .command('ingest')
  .description('ingest a BEIR corpus into a fresh home, then again unchanged')
  .requiredOption('--data <dir>', 'BEIR folder')
  .option('--home <dir>', 'home to use (default: a fresh temp folder)')
  .option('--json', 'print JSON')
  .action(async (o: { data: string; home?: string; json?: boolean }) => out(await benchIngest(o), o.json));

program
  .command('ask')
  .description('ask every query of a split with no LLM; latency percentiles of the whole ask')
  .requiredOption('--data <dir>', 'BEIR folder')
  .option('--split <name>', 'split', 'test')
  .option('--home <dir>', 'home (ingested if needed)')
  .option('--budget <n>', 'budget tokens', (v) => Number(v), 1500)
  .option('--scoped', "scope every ask to the corpus file and the split's judged documents (scoped retrieval)")
  .option('--json', 'print JSON')
  .action(async (o: { data: string; split: string; home?: string; budget: number; scoped?: boolean; json?: boolean }) => out(await benchAsk(o), o.json));

program
  .command('context')
  .description('share of questions whose gold answer string is in the selected context (data sets with answers)')
  .requiredOption('--data <dir>', 'BEIR folder whose queries carry metadata.answers')
  .option('--split <name>', 'split', 'test')
  .option('--home <dir>', 'home (ingested if needed; its models and history are used)')
  .option('--budget <n>', 'budget tokens', (v) => Number(v), 1000)
  .option('--json', 'print JSON')
  .action(async (o: { data: string; split: string; home?: string; budget: number; json?: boolean }) => {
    const { benchContext } = await import('./context.js');
    out(await benchContext(o), o.json);
  });

program
  .command('selfimprove')
  .description('SIMULATED-reader learning curve: ask the feedback split, retrain, measure the eval split, per round')
  .requiredOption('--data <dir>', 'BEIR folder')
  .option('--feedback-split <name>', 'questions streamed through ask()', 'train')
  .option('--eval-split <name>', 'questions measured after each round', 'test')
  .option('--rounds <n>', 'rounds', (v) => Number(v), 5)
  .option('--home <dir>', 'home (default: a fresh temp folder)')
  .option('--budget <n>', "budget tokens per ask (default: the engine's, ask.budgetTokens = 1500)", (v) => Number(v))
  .option('--seed <n>', 'seed of the simulation and exploration', (v) => Number(v), 1)
  .option('--explore <rate>', 'exploration rate', (v) => Number(v), 0.1)
  .option('--dense', 'dense retrieval on: the job tunes the embedder from the traces too')
  .option('--base-embedder <dir>', 'with --dense: the embedder of round 0 (default the shipped one; it must not have seen this data set\'s labels)')
  .option('--embedder-steps <n>', 'with --dense: steps of each embedder tuning', (v) => Number(v))
  .option('--svg <file>', 'write the learning curve as SVG here')
  .option('--json', 'print JSON')
  .action(async (o: SelfImproveCli) => {
    const { benchSelfImprove } = await import('./selfimprove.js');
    const { explore, dense, json: _json, ...given } = o;
    const result = await benchSelfImprove({ ...given, exploreRate: explore, dense: dense ?? false, log: (l) => process.stderr.write(`${l}\n`) });
    out(result, o.json);
  });

program
  .command('retrain')
  .description('the training job on N traces (SIMULATED reader): its duration, and ask latency while it runs vs idle')
  .requiredOption('--data <dir>', 'BEIR folder')
  .option('--split <name>', 'questions asked to make traces (cycled until --traces)', 'train')
  .option('--traces <n>', 'traces to have before training', (v) => Number(v), 10_000)
  .option('--home <dir>', 'home (default: a fresh temp folder; an existing home keeps its traces)')
  .option('--budget <n>', "budget tokens per ask (default: the engine's, ask.budgetTokens = 1500)", (v) => Number(v))
  .option('--json', 'print JSON')
  .action(async (o: { data: string; split: string; traces: number; home?: string; budget?: number; json?: boolean }) => {
    const { benchRetrain } = await import('./retrain.js');
    out(await benchRetrain({ ...o, log: (l) => process.stderr.write(`${l}\n`) }), o.json);
  });

program
  .command('serve')
  .description('load test of sieve serve (child process on 127.0.0.1) with autocannon: /healthz, /v1/search, /v1/ask, /v1/ask with a model swap')
  .requiredOption('--data <dir>', 'BEIR folder')
  .option('--split <name>', 'queries to send', 'test')
  .option('--home <dir>', 'home (ingested and given two relevance versions if needed; default: a fresh temp folder)')
  .option('--duration <s>', 'seconds per run', (v) => Number(v), 10)
  .option('--connections <n>', 'concurrent connections', (v) => Number(v), 8)
  .option('--workers <n>', 'serving processes (sieve serve --workers)', (v) => Number(v), 1)
  .option('--ranker <kind>', "'relevance' (a model trained from the train qrels serves) or 'fusion' (none does, as on a fresh install; the swap run then activates one)", 'relevance')
  .option('--json', 'print JSON')
  .action(async (o: { data: string; split: string; home?: string; duration: number; connections: number; workers: number; ranker: string; json?: boolean }) => {
    if (o.ranker !== 'fusion' && o.ranker !== 'relevance') throw new Error(`--ranker must be fusion or relevance, not ${o.ranker}`);
    const { benchServe } = await import('./serve.js');
    out(await benchServe({ ...o, ranker: o.ranker, log: (l) => process.stderr.write(`${l}\n`) }), o.json);
  });

program
  .command('fusion')
  .description('fit the dense fusion weight: BM25 ∪ HNSW candidates of a TRAIN split re-scored under each fusion and weight')
  .requiredOption('--data <dir>', 'BEIR folder')
  .option('--split <name>', 'a train split', 'train')
  .option('--home <dir>', 'home (ingested and embedded if needed)')
  .option('--held-out-only', "only the split's queries the embedder held out of its own training")
  .option('--json', 'print JSON')
  .action(async (o: { data: string; split: string; home?: string; heldOutOnly?: boolean; json?: boolean }) => {
    const { benchFusion } = await import('./fusion.js');
    out(await benchFusion({ data: o.data, split: o.split, ...(o.home ? { home: o.home } : {}), heldOutOnly: o.heldOutOnly ?? false, log: (l) => process.stderr.write(`${l}\n`) }), o.json);
  });

program
  .command('embed')
  .description('embedding speed (query p50 on one thread; corpus chunks/s three ways) and HNSW recall@10 vs exact search')
  .requiredOption('--data <dir>', 'BEIR folder')
  .option('--model <dir>', 'embedder folder (default models/embedder)')
  .option('--threads <n>', 'threads / workers for the parallel runs (default: available parallelism)', (v) => Number(v))
  .option('--limit <n>', 'only the first n chunks in the throughput runs', (v) => Number(v))
  .option('--json', 'print JSON')
  .action(async (o: { data: string; model?: string; threads?: number; limit?: number; json?: boolean }) => {
    const { benchEmbed } = await import('./embed.js');
    out(
      await benchEmbed({
        data: o.data,
        ...(o.model ? { model: o.model } : {}),
        ...(o.threads ? { threads: o.threads } : {}),
        ...(o.limit ? { limit: o.limit } : {}),
        log: (l) => process.stderr.write(`${l}\n`),
      }),
      o.json,
    );
  });

program
  .command('pdf')
  .description('PDF reading: every corpus document typeset into a PDF and read back (word fidelity), ingest speed, and retrieval against the same text as JSONL')
  .requiredOption('--data <dir>', 'BEIR folder')
  .option('--split <name>', 'queries to compare retrieval on', 'test')
  .option('--limit <n>', 'only the first n corpus documents', (v) => Number(v))
  .option('--home <dir>', 'folder for the PDFs and both homes (default: a fresh temp folder, removed after)')
  .option('--json', 'print JSON')
  .action(async (o: { data: string; split: string; limit?: number; home?: string; json?: boolean }) => {
    const { benchPdf } = await import('./pdf.js');
    out(await benchPdf(o), o.json);
  });

program
  .command('synth')
  .description('write a large BEIR corpus for speed and memory at scale: the source corpus, then documents of sentences drawn from it (seeded)')
  .requiredOption('--data <dir>', 'source BEIR folder (its corpus and test queries)')
  .requiredOption('--docs <n>', 'documents in all', (v) => Number(v))
  .requiredOption('--out <dir>', 'folder to write (corpus.jsonl, queries.jsonl, qrels/scale.tsv)')
  .option('--sentences <n>', 'sentences per synthetic document', (v) => Number(v), 8)
  .option('--seed <n>', 'seed', (v) => Number(v), 1)
  .option('--json', 'print JSON')
  .action(async (o: { data: string; docs: number; out: string; sentences: number; seed: number; json?: boolean }) => {
    const { benchSynth } = await import('./synthetic.js');
    out(await benchSynth(o), o.json);
  });

function out(result: object, json?: boolean): void {
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else process.stderr.write(`${JSON.stringify(result, null, 2)}\n`);
}

await program.parseAsync(process.argv);
