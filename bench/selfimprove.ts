// The self-improvement benchmark: does sieve get better by itself from the answers it feeds?
// Round 0 measures the eval split with models that never saw this data set's labels. Each round then streams the
// feedback split's questions through ask(), answered by a SIMULATED reader (bench/simulated-reader.ts — the only
// code that reads the qrels), runs the training job (gate included), and measures the eval split again.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openEngine, shippedEmbedderDir } from '../src/engine.js';
import { activateModel, getModel, registerModel } from '../src/train/registry.js';
import { evaluateBeir } from '../src/train/evaluate.js';
import { readBeirDataset } from '../src/train/beir.js';
import { DEFAULT_SIMULATION, relevantDocsByQuestion, SimulatedReader } from './simulated-reader.js';
import { lineChart } from './svg.js';

export interface SelfImproveOptions {
  data: string;
  feedbackSplit: string;
  evalSplit: string;
  rounds: number;
  home?: string;
  /** Context budget of each ask; default the engine's own (ask.budgetTokens), as a user's ask() gets it. */
  budget?: number;
  seed: number;
  exploreRate: number;
  /** Dense retrieval on: the training job then tunes the embedder from the traces too. */
  dense?: boolean;
  /** With dense: the embedder folder of round 0 (default the shipped one). */
  baseEmbedder?: string;
  /** With dense: steps of each embedder tuning (default the job's). */
  embedderSteps?: number;
  svg?: string;
  log?: (line: string) => void;
}

export interface RoundResult {
  round: number;
  'ndcg@10': number;
  'recall@1': number;
  'recall@100': number;
  /** Share of eval questions whose gold answer string appears in the selected context (data sets with answers). */
  answer_recall?: number;
  promoted: boolean | null;
  train_status: string | null;
  train_s: number;
  asks: number;
  ask_s: number;
  cited_relevant?: number;
  /** With dense: what the job did with the embedder, and how long it took. */
  embedder_status?: string | null;
  embedder_s?: number;
}

/**
 * Round 0 must use models that never saw this data set's labels. An embedder records the BEIR folder its
 * supervised pairs came from; one trained on this data set (the shipped model was trained on SciFact train) is
 * refused, since its dense scores would carry what the loop is meant to learn.
 */
async function checkBaseEmbedder(dir: string, data: string): Promise<void> {
  const { readEmbedderConfig } = await import('../src/embed/onnx-embedder.js');
  const config = await readEmbedderConfig(dir);
  const dataMeta = (config.meta as { data?: { beir?: { dir?: string } | null } }).data;
  const seen = dataMeta?.beir?.dir;
  const name = (p: string) => p.split(/[\\/]/).filter(Boolean).at(-1);
  if (seen && name(seen) === name(data)) {
    throw new Error(
      `the embedder ${config.id} (${dir}) was trained on ${seen}'s labels, so round 0 would not be label-free; ` +
        `train a self-supervised one on this corpus (sieve train embedder --fresh --steps 1000 on a home with it ingested) and pass it with --base-embedder`,
    );
  }
}

/** Answer-in-context is measured at issue 4's context budget whatever the asks' budget, so figures compare. */
export const ANSWER_RECALL_BUDGET = 1000;

async function answerRecall(engine: Awaited<ReturnType<typeof openEngine>>, questions: Array<{ text: string; answers: string[] }>, budget: number): Promise<number> {
  let hit = 0;
  for (const q of questions) {
    const context = await engine.context(q.text, { budgetTokens: budget });
    const text = context.map((c) => c.text).join('\n').toLowerCase();
    if (q.answers.some((a) => text.includes(a.toLowerCase()))) hit++;
  }
  return questions.length === 0 ? 0 : hit / questions.length;
}

export async function benchSelfImprove(o: SelfImproveOptions): Promise<{ data: string; budget_tokens: number; rounds: RoundResult[]; simulation: typeof DEFAULT_SIMULATION }> {
  const log = o.log ?? (() => {});
  const feedback = await readBeirDataset(o.data, o.feedbackSplit);
  const evalSet = await readBeirDataset(o.data, o.evalSplit);
  const relevantDocs = relevantDocsByQuestion(feedback);
  const simulation = { ...DEFAULT_SIMULATION, seed: o.seed };
  const reader = new SimulatedReader(relevantDocs, simulation);
  const home = o.home ?? mkdtempSync(join(tmpdir(), 'sieve-selfimprove-'));
  if (o.dense) await checkBaseEmbedder(o.baseEmbedder ?? shippedEmbedderDir() ?? '', o.data);
  const engine = await openEngine({ home, llm: null, answerer: reader, feedback: { exploreRate: o.exploreRate, seed: o.seed }, embed: { enabled: o.dense ?? false } });
  if (o.dense && o.baseEmbedder) {
    const { readEmbedderConfig } = await import('../src/embed/onnx-embedder.js');
    const config = await readEmbedderConfig(o.baseEmbedder);
    if (!getModel(engine.store, home, config.id)) {
      registerModel(engine.store, home, { id: config.id, kind: 'embedder', dir: resolve(o.baseEmbedder), files: { config: 'embedder.json' }, meta: { base: true }, activate: true });
    } else activateModel(engine.store, home, config.id);
    await engine.reloadModels();
  }
  await engine.ingest([feedback.corpusPath]);
  const withAnswers = [...evalSet.queries.values()].filter((q) => q.answers && q.answers.length > 0).map((q) => ({ text: q.text, answers: q.answers! }));

  const measure = async () => {
    const r = await evaluateBeir(engine, { data: o.data, split: o.evalSplit });
    const ar = withAnswers.length > 0 ? await answerRecall(engine, withAnswers, ANSWER_RECALL_BUDGET) : undefined;
    return { 'ndcg@10': r['ndcg@10'], 'recall@1': r['recall@1'], 'recall@100': r['recall@100'], ...(ar !== undefined ? { answer_recall: ar } : {}) };
  };

  const budget = o.budget ?? engine.config.ask.budgetTokens;
  const rounds: RoundResult[] = [];
  const m0 = await measure();
  rounds.push({ round: 0, ...m0, promoted: null, train_status: null, train_s: 0, asks: 0, ask_s: 0 });
  log(`round 0: ${JSON.stringify(rounds[0])}`);
  const questions = [...feedback.queries.values()].map((q) => q.text);
  for (let round = 1; round <= o.rounds; round++) {
    const cited0 = reader.stats.citedRelevant;
    const t0 = performance.now();
    for (const q of questions) {
      try {
        await engine.ask(q, { budgetTokens: budget });
      } catch (err) {
        if ((err as { code?: string }).code !== 'QUESTION_EMPTY') throw err;
      }
    }
    const askS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const outcome = await engine.train({ minLists: 20, ...(o.embedderSteps ? { embedder: { steps: o.embedderSteps } } : {}), onLog: (l) => log(`  train: ${l}`) });
    const trainS = (performance.now() - t1) / 1000;
    log(`  ${outcome.status}: ${outcome.message}`);
    if (outcome.embedder) log(`  embedder ${outcome.embedder.status}: ${outcome.embedder.message}`);
    const m = await measure();
    rounds.push({
      round,
      ...m,
      promoted: outcome.status === 'promoted',
      train_status: outcome.status,
      train_s: trainS,
      asks: questions.length,
      ask_s: askS,
      cited_relevant: reader.stats.citedRelevant - cited0,
      ...(o.dense ? { embedder_status: outcome.embedder?.status ?? null, embedder_s: outcome.embedder?.seconds ?? 0 } : {}),
    });
    log(`round ${round}: ${JSON.stringify(rounds.at(-1))}`);
  }
  engine.close();
  if (o.svg) {
    const series = [
      { name: 'nDCG@10', color: '#1f77b4', values: rounds.map((r) => r['ndcg@10']) },
      { name: 'Recall@1', color: '#d62728', values: rounds.map((r) => r['recall@1']) },
      ...(rounds[0]!.answer_recall !== undefined ? [{ name: 'answer in context', color: '#2ca02c', values: rounds.map((r) => r.answer_recall ?? 0) }] : []),
    ];
    writeFileSync(o.svg, lineChart(`sieve self-improvement on ${o.data.split('/').filter(Boolean).at(-1)} (${o.evalSplit})`, series));
  }
  return { data: o.data, budget_tokens: budget, rounds, simulation };
}
