// The training job: traces → dataset → new relevance model → evaluation gate against the serving one →
// export → registry → hot-swap. Single-flight (a lock file), and the heavy part runs in a child process so
// a serving process stays responsive and a kill -9 of the child leaves the registry and the serving model
// intact (the version is registered in one transaction at the very end, inactive until the parent promotes it).
import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Engine } from '../engine.js';
import { SieveError } from '../errors.js';
import { FEATURE_NAMES } from '../rank/features.js';
import { featureColumns, selectColumns } from '../rank/relevance.js';
import { listNdcgAtK, relevanceForward } from './relevance/model.js';
import type { DenseEvidence } from './dense-evidence.js';
import { activateModel, activeModel, deleteInactiveModel, getModel, listModels, registerModel, type ModelVersion } from './registry.js';
import { questionRole, rankerLists, type QuestionPartition } from './partition.js';
import { buildTraceLists, traceQuestions, type TraceList } from './traces-dataset.js';

export interface EmbedderJobOptions {
  /** Tune the embedder from traces when dense retrieval is on (it is ignored when it is off). */
  enabled: boolean;
  /** Consistently used (question, chunk) pairs of the embedder's questions, new since the serving embedder. */
  minPairs: number;
  steps: number;
  /** Share of questions whose pairs tune the embedder; the ranker trains on the rest (train/partition.ts). */
  share: number;
  /** The candidate's held-out recall@10 on the gate questions' pairs must beat the serving embedder's by this. */
  margin: number;
  /**
   * How much held-out nDCG@10 ranking beside the candidate (serving ranker or a new one trained on its scores)
   * may lose against the pair serving now; 0 = no loss allowed.
   */
  rankingTolerance: number;
}

export interface TrainJobOptions {
  /** Minimum attributed traces (with at least one used chunk) since the parent version. */
  minLists: number;
  /** Share of the newest lists held out for the relevance gate, and of questions held out for the embedder's. */
  holdout: number;
  /**
   * The candidate's held-out nDCG@10 gain over the serving model, less `gainStandardErrors` standard errors of that
   * gain, must reach this: promotion needs a gain that the held-out asks' own noise does not explain.
   */
  margin: number;
  /**
   * How many standard errors of the per-ask gain the gate subtracts (2: one-sided 97.7% confidence). The held-out
   * asks are the feedback questions, not the new questions the model will meet, so a gain that only just clears
   * the bar there may not carry over. On the SciFact dev-split loop 2 ended equal or better than 1.28 for all
   * three seeds tried.
   */
  gainStandardErrors: number;
  seed: number;
  /** Whether the serving engine retrieves with dense vectors (set by the process that starts the job). */
  dense: boolean;
  embedder: EmbedderJobOptions;
}

export const DEFAULT_TRAIN_JOB: TrainJobOptions = {
  minLists: 50,
  holdout: 0.2,
  margin: 0,
  gainStandardErrors: 2,
  seed: 1,
  dense: false,
  embedder: { enabled: true, minPairs: 100, steps: 300, share: 0.4, margin: 0.005, rankingTolerance: 0 },
};

/** Job options as given (JSON, CLI, config): anything left out takes the default. */
export type TrainJobInput = Partial<Omit<TrainJobOptions, 'embedder'>> & { embedder?: Partial<EmbedderJobOptions> };

export function trainJobOptions(input: TrainJobInput = {}): TrainJobOptions {
  return { ...DEFAULT_TRAIN_JOB, ...input, embedder: { ...DEFAULT_TRAIN_JOB.embedder, ...input.embedder } };
}

const EmbedderOutcomeSchema = z.object({
  status: z.enum(['promoted', 'rejected', 'insufficient-signal']),
  message: z.string(),
  modelId: z.string().nullable(),
  pairs: z.number(),
  metrics: z.record(z.string(), z.number()),
  seconds: z.number(),
});
export type EmbedderOutcome = z.infer<typeof EmbedderOutcomeSchema>;

export const TrainOutcomeSchema = z.object({
  status: z.enum(['promoted', 'rejected', 'insufficient-signal', 'busy']),
  message: z.string(),
  modelId: z.string().nullable(),
  lists: z.number(),
  metrics: z.record(z.string(), z.number()),
  seconds: z.number(),
  /** The embedder's part of the job, when dense retrieval is on and the job tunes it. */
  embedder: EmbedderOutcomeSchema.optional(),
});
export type TrainOutcome = z.infer<typeof TrainOutcomeSchema>;

/**
 * The per-list nDCG@10 gain of one scoring over another on the same lists (lists without a positive left out):
 * its mean and the standard error of that mean, so a gate can ask for a gain beyond the lists' own noise; and
 * each scoring's mean nDCG@10 over those lists.
 */
export function pairedNdcgGain<L extends Pick<TraceList, 'labels' | 'n'>>(
  lists: readonly L[],
  candidate: (l: L) => ArrayLike<number>,
  baseline: (l: L) => ArrayLike<number>,
): { mean: number; standardError: number; lists: number; candidate: number; baseline: number } {
  const gains: number[] = [];
  let candidateSum = 0;
  let baselineSum = 0;
  for (const l of lists) {
    const c = listNdcgAtK(candidate(l), l.labels, 10, l.n);
    const b = listNdcgAtK(baseline(l), l.labels, 10, l.n);
    if (c === null || b === null) continue;
    gains.push(c - b);
    candidateSum += c;
    baselineSum += b;
  }
  const n = Math.max(1, gains.length);
  return { ...meanAndStandardError(gains), candidate: candidateSum / n, baseline: baselineSum / n };
}

/** Mean and standard error of the mean (sample standard deviation / √n); 0 for fewer than two values. */
export function meanAndStandardError(values: readonly number[]): { mean: number; standardError: number; lists: number } {
  const n = values.length;
  if (n === 0) return { mean: 0, standardError: 0, lists: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, standardError: 0, lists: n };
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  return { mean, standardError: Math.sqrt(variance / n), lists: n };
}

/** Mean nDCG@10 of a scoring over held-out lists. */
function meanNdcg(lists: readonly TraceList[], scores: (l: TraceList) => Float32Array): number {
  let sum = 0;
  let count = 0;
  for (const l of lists) {
    const v = listNdcgAtK(scores(l), l.labels, 10, l.n);
    if (v === null) continue;
    sum += v;
    count++;
  }
  return count === 0 ? 0 : sum / count;
}

/** Whether this job tunes the embedder too: dense retrieval on, and the job allowed to. */
function tunesEmbedder(opts: TrainJobOptions): boolean {
  return opts.dense && opts.embedder.enabled;
}

/** The question partition of this job (train/partition.ts). */
export function jobPartition(opts: TrainJobOptions): QuestionPartition {
  return { embedderShare: tunesEmbedder(opts) ? opts.embedder.share : 0, embedderHoldout: opts.holdout };
}

/**
 * The job's body (runs in the child): the relevance model from traces, and — when dense retrieval is on — the
 * embedder from the pairs of its own share of questions. Each part registers an inactive version only when it
 * passes its gate; the parent process promotes.
 *
 * The two are judged together: a candidate embedder that passes its own gate is indexed, every trace question's
 * dense list is retrieved again through it, and the ranker is trained and judged on lists rebuilt with that dense
 * evidence. The embedder is kept only if ranking with it (the serving ranker beside it, or the new ranker) does at
 * least as well on the held-out asks as the pair serving now; otherwise it is dropped and the ranker is trained on
 * the serving embedder's evidence as usual. (Judged apart, a new embedder promoted beside a ranker trained on the
 * old embedder's cosines lowered SciFact's eval split by 0.015 — docs/BENCHMARKS.md.)
 */
export async function trainFromTraces(engine: Engine, opts: TrainJobOptions = DEFAULT_TRAIN_JOB): Promise<TrainOutcome> {
  const served = servedLists(engine);
  if (!tunesEmbedder(opts)) return (await trainRelevanceFromTraces(engine, opts, served)).outcome;
  let paired: TrainOutcome | null = null;
  const embedder = await trainEmbedderFromTraces(engine, opts, async (candidate) => {
    const { indexCandidateEmbedder } = await import('./dense-evidence.js');
    const index = await indexCandidateEmbedder(engine, candidate);
    let kept = false;
    try {
      const dense = await index.evidence(traceQuestions(engine, relevanceSince(engine) ?? ''));
      const { outcome, embedderVerdict } = await trainRelevanceFromTraces(engine, opts, served, { dense, embedder: candidate.id });
      if (embedderVerdict === null) {
        paired = outcome;
        kept = true;
      }
      return embedderVerdict;
    } finally {
      await (kept ? index.close() : index.discard());
    }
  });
  const relevance = paired ?? (await trainRelevanceFromTraces(engine, opts, served)).outcome;
  return { ...relevance, embedder };
}

/**
 * The embedder from traces: continues the serving embedder on the (question, used chunk) pairs of the embedder's
 * questions, judged by recall@10 of the gate questions' pairs against the serving embedder on the same pairs.
 */
async function trainEmbedderFromTraces(
  engine: Engine,
  opts: TrainJobOptions,
  /** The second judgement, for a candidate that passed its own: a reason to drop it, or null to keep it. */
  judgeWithRanker: (candidate: { id: string; dir: string }) => Promise<string | null>,
): Promise<EmbedderOutcome> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  const partition = jobPartition(opts);
  const serving = activeModel(engine.store, engine.config.home, 'embedder');
  const since = serving?.createdAt ?? '';
  const newPairs = countNewTracePairs(engine, partition, since);
  if (newPairs < opts.embedder.minPairs) {
    return {
      status: 'insufficient-signal',
      message: `only ${newPairs} used (question, chunk) pairs of the embedder's questions since ${serving?.id ?? 'the start'} (need ${opts.embedder.minPairs}); embedder unchanged`,
      modelId: null,
      pairs: newPairs,
      metrics: {},
      seconds: seconds(),
    };
  }
  const { adaptEmbedder } = await import('./embedder/adapt.js');
  const margin = opts.embedder.margin;
  const result = await adaptEmbedder(engine, {
    steps: opts.embedder.steps,
    seed: opts.seed,
    traces: partition,
    activate: false,
    log: false,
    accept: async (m, trained) => {
      const candidate = m['heldOutRecallAt10BySource.trace'];
      const parent = m['parentHeldOutRecallAt10BySource.trace'];
      if (candidate === undefined || parent === undefined) return 'no held-out question has a used chunk yet, so there is nothing to judge the candidate on';
      if (candidate < parent + margin) return `held-out recall@10 ${candidate.toFixed(4)} does not beat the serving embedder's ${parent.toFixed(4)} + ${margin}`;
      return judgeWithRanker(trained);
    },
  });
  if (result.model === null) {
    return { status: 'rejected', message: `${result.rejected}; serving embedder kept`, modelId: null, pairs: newPairs, metrics: result.metrics, seconds: seconds() };
  }
  const m = result.metrics;
  return {
    status: 'promoted',
    message: `${result.model.id}: held-out recall@10 ${m['heldOutRecallAt10BySource.trace']?.toFixed(4)} vs serving ${m['parentHeldOutRecallAt10BySource.trace']?.toFixed(4)}`,
    modelId: result.model.id,
    pairs: newPairs,
    metrics: m,
    seconds: seconds(),
  };
}

/** Used (question, chunk) votes of the embedder's questions recorded after `since` (ISO time). */
function countNewTracePairs(engine: Engine, partition: QuestionPartition, since: string): number {
  const rows = engine.store.db
    .prepare(`SELECT query FROM history WHERE source IN ('trace', 'explicit') AND cited = 1 AND chunk_id IS NOT NULL AND created_at > ?`)
    .all(since) as Array<{ query: string }>;
  return rows.filter((r) => questionRole(r.query, partition) === 'embedder').length;
}

/** Where the next relevance model's traces start: the end of the serving version's window. */
function relevanceSince(engine: Engine): string | undefined {
  const serving = activeModel(engine.store, engine.config.home, 'relevance');
  return typeof serving?.meta.tracesUntil === 'string' ? serving.meta.tracesUntil : undefined;
}

/**
 * The trace lists with the evidence they were served with, since the serving ranker's window: built on first use
 * and shared by the job's parts (a candidate embedder's judgement needs them, and so does the ranker trained
 * without it when the candidate is dropped). Nothing the job does before its end moves that window.
 */
function servedLists(engine: Engine): () => Promise<TraceList[]> {
  let built: Promise<TraceList[]> | undefined;
  return () => {
    const since = relevanceSince(engine);
    built ??= engine.resources.withSnapshot(() => buildTraceLists(engine, since ? { since } : {}));
    return built;
  };
}

/** A candidate embedder the ranker is trained and judged beside: its id and the trace questions' dense lists under it. */
interface EmbedderPairing {
  embedder: string;
  dense: DenseEvidence;
}

interface RelevanceResult {
  outcome: TrainOutcome;
  /** With a pairing: null when ranking with the candidate embedder is no worse than serving now, else why not. */
  embedderVerdict: string | null;
}

/** Scores of the serving ranker on lists of its features; kind "fusion" and no scores when fused retriever scores stand in for it. */
async function servingScores(engine: Engine, serving: ModelVersion | undefined, sets: ReadonlyArray<readonly TraceList[]>): Promise<{ kind: string; scores: Map<TraceList, Float32Array> }> {
  const scores = new Map<TraceList, Float32Array>();
  if (!serving) return { kind: 'fusion', scores };
  try {
    const { OnnxRelevanceScorer } = await import('../rank/relevance-scorer.js');
    const scorer = await OnnxRelevanceScorer.load(serving.dir, { cacheDir: join(engine.config.home, 'cache', 'coreml') });
    // A serving model trained before a feature was added reads its own columns of the lists (as it does serving).
    const columns = featureColumns(scorer.featureNames, serving.id);
    for (const set of sets) for (const l of set) scores.set(l, await scorer.score(selectColumns(l.features, l.n, columns), l.n));
    await scorer.close();
    return { kind: serving.id, scores };
  } catch {
    return { kind: 'fusion', scores: new Map() }; // an unloadable serving model is compared as what the engine then serves: fusion
  }
}

/**
 * The relevance model from traces since its serving version: trained on the ranker's questions, gated on the
 * held-out ones. With a pairing, the lists carry the candidate embedder's dense evidence, and the result also
 * says whether that embedder may serve (see trainFromTraces).
 */
async function trainRelevanceFromTraces(
  engine: Engine,
  opts: TrainJobOptions,
  served: () => Promise<TraceList[]>,
  pairing?: EmbedderPairing,
): Promise<RelevanceResult> {
  const started = performance.now();
  const serving = activeModel(engine.store, engine.config.home, 'relevance');
  const since = relevanceSince(engine);
  const lists = pairing ? await engine.resources.withSnapshot(() => buildTraceLists(engine, { ...(since ? { since } : {}), dense: pairing.dense })) : await served();
  const seconds = () => (performance.now() - started) / 1000;
  const datasetSeconds = seconds();
  const noSignal = (message: string): RelevanceResult => ({
    outcome: { status: 'insufficient-signal', message, modelId: null, lists: lists.length, metrics: {}, seconds: seconds() },
    // With no serving ranker, fused scores rank beside the new embedder: nothing learned on the old one to break.
    embedderVerdict: serving ? `too few of the ranker's asks to judge the serving ranker beside it (${message})` : null,
  });
  if (lists.length < opts.minLists) {
    return noSignal(`only ${lists.length} answered asks with a used chunk since ${since ?? 'the beginning'} (need ${opts.minLists}); nothing changed`);
  }
  // The gate holds out the newest asks. (Holding out a fixed 20% of questions by hash instead was tried: fewer
  // promotions and a lower final figure on the SciFact train-split loop, 0.7469 against 0.7544.)
  const own = rankerLists(lists, jobPartition(opts));
  const cut = Math.floor(own.length * (1 - opts.holdout));
  const train = own.slice(0, cut);
  const heldOut = own.slice(cut);
  if (train.length === 0 || heldOut.length === 0) {
    return noSignal(
      `only ${own.length} of the ${lists.length} answered asks since ${since ?? 'the beginning'} are the relevance model's (the rest tune the embedder): too few to train and judge a candidate; nothing changed`,
    );
  }
  // What serves now: the serving ranker on the serving embedder's evidence (the same asks, as they were retrieved).
  let heldOutAsServed = heldOut;
  if (pairing) {
    const byTrace = new Map((await served()).map((l) => [l.traceId, l]));
    heldOutAsServed = heldOut.map((l) => byTrace.get(l.traceId)).filter((l): l is TraceList => l !== undefined);
  }
  const { trainRelevanceModel } = await import('./relevance/train.js');
  const trained = await trainRelevanceModel({ featureNames: [...FEATURE_NAMES], lists: train }, { seed: opts.seed });
  // The serving ranker is scored on the same leave-one-out evidence as the candidate (its scores stored at ask
  // time saw earlier asks of the same question, which would make it unbeatable for the wrong reason).
  const scored = await servingScores(engine, serving, pairing ? [heldOut, heldOutAsServed] : [heldOut]);
  const servingOn = (l: TraceList) => scored.scores.get(l) ?? l.fusionScores;
  // Beside a candidate embedder, the ranker to beat is the serving one on that embedder's evidence (heldOut);
  // without one, heldOut is what serves, so one paired pass gives the candidate's, the baseline's and the gain.
  const gain = pairedNdcgGain(heldOut, (l) => relevanceForward(trained, l.features, l.n), servingOn);
  const { candidate: candidateNdcg, baseline: baselineNdcg } = gain;
  const servingNdcg = pairing ? meanNdcg(heldOutAsServed, servingOn) : baselineNdcg;
  const gainLowerBound = gain.mean - opts.gainStandardErrors * gain.standardError;
  const metrics: Record<string, number> = {
    ...trained.metrics,
    candidateNdcg10: candidateNdcg,
    servingNdcg10: servingNdcg,
    ...(pairing ? { servingWithCandidateEmbedderNdcg10: baselineNdcg } : {}),
    gainStandardError: gain.standardError,
    gainLowerBound,
    trainLists: train.length,
    heldOutLists: heldOut.length,
    datasetSeconds,
  };
  const servingKind = scored.kind === 'fusion' ? 'fused retriever scores' : `serving ${scored.kind}`;
  // Beside a candidate embedder the message names both baselines: with that embedder, and as serving now.
  const against = pairing ? `${servingKind} with embedder ${pairing.embedder}` : servingKind;
  const servingNow = pairing ? ` (${servingNdcg.toFixed(4)} with the serving embedder)` : '';
  let embedderVerdict: string | null = null;
  if (pairing && Math.max(candidateNdcg, baselineNdcg) < servingNdcg - opts.embedder.rankingTolerance) {
    embedderVerdict =
      `ranking beside it does worse on ${heldOut.length} held-out asks: nDCG@10 ${baselineNdcg.toFixed(4)} with the serving ranker, ` +
      `${candidateNdcg.toFixed(4)} with one trained on its scores, against ${servingNdcg.toFixed(4)} serving now`;
  }
  if (embedderVerdict !== null || gainLowerBound < opts.margin) {
    const message =
      embedderVerdict !== null
        ? `candidate embedder ${pairing!.embedder} dropped: ${embedderVerdict}`
        : `candidate nDCG@10 ${candidateNdcg.toFixed(4)} against ${against} ${baselineNdcg.toFixed(4)}${servingNow} on ${heldOut.length} held-out asks: ` +
          `a gain of ${gain.mean.toFixed(4)} ± ${gain.standardError.toFixed(4)} (standard error), short of ${opts.margin} after ${opts.gainStandardErrors} standard errors; serving model kept`;
    return { outcome: { status: 'rejected', message, modelId: null, lists: lists.length, metrics, seconds: seconds() }, embedderVerdict };
  }
  const id = `relevance-${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${process.pid.toString(36)}`;
  const finalDir = join(engine.config.home, 'models', id);
  const tmpDir = `${finalDir}.tmp`;
  rmSync(tmpDir, { recursive: true, force: true });
  mkdirSync(tmpDir, { recursive: true });
  const { exportRelevanceModel } = await import('./relevance/export.js');
  const exported = await exportRelevanceModel(trained, tmpDir, { version: id });
  renameSync(tmpDir, finalDir);
  registerModel(engine.store, engine.config.home, {
    id,
    kind: 'relevance',
    parent: serving?.id ?? null,
    dir: join('models', id),
    files: exported.files,
    // A ranker trained beside a candidate embedder names it: its dense features are that embedder's.
    meta: { ...exported.meta, tracesUntil: lists.at(-1)!.createdAt, source: 'traces', ...(pairing ? { embedder: pairing.embedder } : {}) },
    metrics,
    activate: false,
  });
  return {
    outcome: { status: 'promoted', message: `${id}: nDCG@10 ${candidateNdcg.toFixed(4)} vs ${against} ${baselineNdcg.toFixed(4)}${servingNow}`, modelId: id, lists: lists.length, metrics, seconds: seconds() },
    embedderVerdict,
  };
}

// ---- single flight ----

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes <home>/train.lock (O_EXCL); a lock left by a dead process is taken over. Returns a release function. */
export function acquireTrainLock(home: string): (() => void) | null {
  const path = join(home, 'train.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, JSON.stringify({ pid: process.pid, started: new Date().toISOString() }));
      closeSync(fd);
      return () => {
        try {
          unlinkSync(path);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let holder = 0;
      try {
        holder = (JSON.parse(readFileSync(path, 'utf8')) as { pid: number }).pid;
      } catch {
        holder = 0; // unreadable: written by a process killed mid-write
      }
      if (holder > 0 && processAlive(holder)) return null;
      rmSync(path, { force: true });
    }
  }
  return null;
}

/**
 * Leftovers of a job killed mid-export: `<id>.tmp` version folders, and for a candidate embedder killed while it
 * was being judged, the vectors and index built for it (nothing registered refers to them).
 */
async function cleanPartialExports(engine: Engine): Promise<void> {
  const { home } = engine.config;
  const dir = join(home, 'models');
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.tmp')) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    const version = name.slice(0, -'.tmp'.length);
    if (getModel(engine.store, home, version)) continue;
    const { discardEmbedderVectors } = await import('./dense-evidence.js');
    discardEmbedderVectors(engine, version);
  }
}

/**
 * A child registers a candidate that passed its gate (inactive) and this process activates it once the child
 * reports. A child killed between the two leaves a version that never served: remove it, with its files (and, for
 * an embedder, its vectors and index), so a killed job leaves the registry as it found it.
 */
async function discardUnpromoted(engine: Engine, registeredBefore: ReadonlySet<string>): Promise<void> {
  for (const m of listModels(engine.store, engine.config.home)) {
    if (m.active || registeredBefore.has(m.id)) continue;
    if (!deleteInactiveModel(engine.store, m.id)) continue;
    // Only a folder the job writes: <home>/models/<id>.
    if (resolve(m.dir) === resolve(engine.config.home, 'models', m.id)) rmSync(m.dir, { recursive: true, force: true });
    if (m.kind === 'embedder') {
      const { discardEmbedderVectors } = await import('./dense-evidence.js');
      discardEmbedderVectors(engine, m.id);
    }
  }
}

function childEntry(): { execArgv: string[]; script: string } {
  const here = dirname(fileURLToPath(import.meta.url));
  const ts = existsSync(join(here, 'job-child.ts')) && import.meta.url.endsWith('.ts');
  return ts ? { execArgv: ['--import', 'tsx'], script: join(here, 'job-child.ts') } : { execArgv: [], script: join(here, 'job-child.js') };
}

/** Niceness of the training child (0 normal, 19 lowest). */
export const TRAINING_NICE = 10;

/**
 * The child's environment: BLAS and OpenMP pools of one thread unless the user set them, so a training job
 * leaves the other cores to the serving process instead of spreading over all of them.
 */
export function trainingChildEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, OPENBLAS_NUM_THREADS: env.OPENBLAS_NUM_THREADS ?? '1', OMP_NUM_THREADS: env.OMP_NUM_THREADS ?? '1' };
}

/**
 * Runs the job now: lock, child process, then — in this process — promotion: activate the new version and
 * hot-swap it in (sessions are loaded and warmed before the swap; requests in flight finish on the old ones).
 */
export interface RunTrainingJobOptions extends TrainJobInput {
  onLog?: (line: string) => void;
  /** Called with the child's pid once it runs (tests kill it there). */
  onSpawn?: (pid: number) => void;
}

export async function runTrainingJob(engine: Engine, opts: RunTrainingJobOptions = {}): Promise<TrainOutcome> {
  const release = acquireTrainLock(engine.config.home);
  if (!release) {
    return { status: 'busy', message: 'a training job is already running for this home', modelId: null, lists: 0, metrics: {}, seconds: 0 };
  }
  try {
    await cleanPartialExports(engine);
    const { execArgv, script } = childEntry();
    const { onLog, onSpawn, ...given } = opts;
    // The home's configuration first, what the caller passed over it.
    const { minLists, embedder } = engine.config.train;
    const jobOptions = trainJobOptions({ minLists, dense: engine.config.embed.enabled, ...given, embedder: { ...embedder, ...given.embedder } });
    const args = [...execArgv, script, '--home', resolve(engine.config.home), '--options', JSON.stringify(jobOptions)];
    const registeredBefore = new Set(listModels(engine.store, engine.config.home).map((m) => m.id));
    const outcome = await new Promise<TrainOutcome>((resolvePromise, reject) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: trainingChildEnv(process.env) });
      if (child.pid !== undefined) {
        // Serving comes first: the job runs niced, so on a busy machine asks keep their latency and training
        // takes the spare cycles (it has all night).
        try {
          setPriority(child.pid, TRAINING_NICE);
        } catch {
          // not permitted here (some containers): the job still runs, only at normal priority
        }
        onSpawn?.(child.pid);
      }
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => onLog?.(d.toString().trimEnd()));
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        if (code !== 0) {
          discardUnpromoted(engine, registeredBefore)
            .catch(() => {}) // whatever is left is removed by the next job's cleanPartialExports or stays inactive
            .finally(() => reject(new SieveError('INTERNAL', `training child exited with ${signal ?? `code ${code}`}; the serving model is unchanged`)));
          return;
        }
        try {
          resolvePromise(TrainOutcomeSchema.parse(JSON.parse(stdout.trim().split('\n').at(-1) ?? '')));
        } catch (err) {
          reject(new SieveError('INTERNAL', `training child printed no result: ${(err as Error).message}`));
        }
      });
    });
    const promoted = [outcome.status === 'promoted' ? outcome.modelId : null, outcome.embedder?.status === 'promoted' ? outcome.embedder.modelId : null];
    for (const id of promoted) if (id) activateModel(engine.store, engine.config.home, id);
    // One reload for both: a new embedder's index is built (every chunk embedded) before the swap, while asks
    // keep being served by the previous pipeline.
    if (promoted.some((id) => id)) await engine.reloadModels();
    engine.pruneTraces();
    return outcome;
  } finally {
    release();
  }
}
