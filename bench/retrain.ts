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
  const t0 = performance.now();
  for (let i = existing; i < o.traces; i++) await engine.ask(questions[i % questions.length]!, { budgetTokens: budget });
  const askSeconds = (performance.now() - t0) / 1000;
  log(`${engine.stats().traces} traces (${(o.traces - existing).toString()} asked in ${askSeconds.toFixed(1)} s)`);

  // Idle latency: the same questions, nothing else running.
  const sample = questions.slice(0, 300);
  const idle: number[] = [];
  for (const q of sample) {
    const s = performance.now();
    await engine.ask(q, { budgetTokens: budget });
    idle.push(performance.now() - s);
  }
  // Latency while the training job runs (a child process): keep asking until it finishes.
  const during: number[] = [];
  const tTrain = performance.now();
  let done = false;
  const job = engine.train({ minLists: 20, onLog: (l) => log(`  train: ${l}`) }).finally(() => {
    done = true;
  });
  for (let i = 0; !done; i++) {
    // An extractive ask never waits on I/O, so a tight loop of them would starve the event loop and the job's
    // child process could not even be spawned: yield once per ask, as requests arriving over a socket do.
    await new Promise((r) => setImmediate(r));
    const s = performance.now();
    await engine.ask(sample[i % sample.length]!, { budgetTokens: budget });
    during.push(performance.now() - s);
  }
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
    asks_during_training: during.length,
    p99_ratio: duringSummary.p99 / idleSummary.p99,
  };
}
