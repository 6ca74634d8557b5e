// The retraining benchmark: how long the training job takes on N traces, and what it does to ask latency while
// it runs (it runs in a child process; the serving process must stay responsive).
// Traces come from asking a split's questions (cycled until N) answered by the SIMULATED reader.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEngine } from '../src/engine.js';
import { readBeirDataset } from '../src/train/beir.js';
import { latencySummary } from '../src/train/metrics.js';
import { DEFAULT_SIMULATION, relevantDocsByQuestion, SimulatedReader } from './simulated-reader.js';

export interface RetrainBenchOptions {
  data: string;
  split: string;
  traces: number;
  home?: string;
  /** Context budget of each ask; default the engine's own (ask.budgetTokens). */
  budget?: number;
  log?: (line: string) => void;
}

/** Asks timed for the idle baseline, at most: enough that its p99 is not one unlucky sample. */
const IDLE_ASKS = 2000;

export async function benchRetrain(o: RetrainBenchOptions) {
  const log = o.log ?? (() => {});
  const dataset = await readBeirDataset(o.data, o.split);
  const relevant = relevantDocsByQuestion(dataset);
  const home = o.home ?? mkdtempSync(join(tmpdir(), 'sieve-bench-retrain-'));
  const engine = await openEngine({ home, llm: null, answerer: new SimulatedReader(relevant, DEFAULT_SIMULATION) });
  await engine.ingest([dataset.corpusPath]);
  engine.warm();
  const budget = o.budget ?? engine.config.ask.budgetTokens;
  const questions = [...relevant.keys()];
  const existing = engine.stats().traces;
  // The idle asks leave traces too: fill to the target less them, so the job starts on o.traces traces.
  const idleAsks = Math.min(IDLE_ASKS, Math.max(1, Math.floor(o.traces / 5)));
  const fillTo = o.traces - idleAsks;
  const t0 = performance.now();
  for (let i = existing; i < fillTo; i++) await engine.ask(questions[i % questions.length]!, { budgetTokens: budget });
  const askSeconds = (performance.now() - t0) / 1000;
  log(`${engine.stats().traces} traces (${Math.max(0, fillTo - existing).toString()} asked in ${askSeconds.toFixed(1)} s)`);

  // Latency idle, then while the training job (a child process) runs, both over the same traffic: the questions
  // keep cycling from where the traces stopped, one yield per ask (see below). The idle baseline is IDLE_ASKS
  // long (a fifth of the traces at most): a p99 over 300 asks is its third-worst sample and moved 16–32 ms
  // between runs, which made the ratio noise. And the asks during training no longer cycle those 300 questions:
  // with no job running, 5,000 such re-asks drifted from p50 5.4 to 7.3 ms as their own history grew.
  let cursor = Math.max(existing, fillTo);
  const askNext = async (into: number[]) => {
    // An extractive ask never waits on I/O, so a tight loop of them would starve the event loop and the job's
    // child process could not even be spawned: yield once per ask, as requests arriving over a socket do.
    await new Promise((r) => setImmediate(r));
    const s = performance.now();
    await engine.ask(questions[cursor++ % questions.length]!, { budgetTokens: budget });
    into.push(performance.now() - s);
  };
  const idle: number[] = [];
  while (idle.length < idleAsks) await askNext(idle);
  const during: number[] = [];
  const tTrain = performance.now();
  let done = false;
  const job = engine.train({ minLists: 20, onLog: (l) => log(`  train: ${l}`) }).finally(() => {
    done = true;
  });
  while (!done) await askNext(during);
  const outcome = await job;
  const trainSeconds = (performance.now() - tTrain) / 1000;
  engine.close();
  const idleSummary = latencySummary(idle);
  const duringSummary = latencySummary(during);
  return {
    bench: 'retrain',
    data: o.data,
    split: o.split,
    traces: o.traces,
    budget_tokens: budget,
    outcome: { status: outcome.status, message: outcome.message, lists: outcome.lists },
    train_seconds: trainSeconds,
    dataset_seconds: outcome.metrics.datasetSeconds ?? null,
    model_fit_seconds: outcome.metrics.seconds ?? null,
    ask_ms_idle: idleSummary,
    ask_ms_during_training: duringSummary,
    asks_idle: idle.length,
    asks_during_training: during.length,
    p99_ratio: duringSummary.p99 / idleSummary.p99,
  };
}
