// Training the relevance model from a BEIR data set's qrels (benchmarks; the feedback loop trains from traces).
// The split's qrels become history (past questions citing their relevant documents), then every question of the
// split is ranked the way the engine would — with its own history left out, as a new question's would be — and
// its candidates labelled by the qrels.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../../engine.js';
import { isSieveError } from '../../errors.js';
import { extractFeatures, FEATURE_COUNT, FEATURE_NAMES } from '../../rank/features.js';
import { deleteHistoryByKeyPrefix, recordHistory, type HistoryEvent } from '../../store/history.js';
import { readBeirDataset, type BeirDataset } from '../beir.js';
import { registerModel, type ModelVersion } from '../registry.js';
import type { RelevanceDataset, RelevanceList } from './model.js';

/** The history key prefix of a data set's split, so reloading replaces instead of duplicating. */
export function qrelsKeyPrefix(dataset: BeirDataset, split: string): string {
  return `qrels:${dataset.dir}:${split}:`;
}

/** Loads a split's qrels into history as past citations (document level). Returns the number of events. */
export function loadQrelsAsHistory(engine: Engine, dataset: BeirDataset, split: string): number {
  const prefix = qrelsKeyPrefix(dataset, split);
  deleteHistoryByKeyPrefix(engine.store, prefix);
  const events: HistoryEvent[] = [];
  for (const [queryId, rels] of dataset.qrels) {
    const text = dataset.queries.get(queryId)?.text;
    if (!text) continue;
    for (const [docId, grade] of rels) {
      if (grade <= 0) continue;
      events.push({ query: text, queryKey: prefix + queryId, chunkId: null, docId, shown: true, cited: true, weight: grade, source: 'qrels' });
    }
  }
  recordHistory(engine.store, events);
  return events.length;
}

export interface QrelsDatasetOptions {
  /** Candidates per retriever. */
  k: number;
}

/** One labelled list per question that has at least one relevant candidate. */
export async function buildQrelsDataset(engine: Engine, dataset: BeirDataset, split: string, opts: QrelsDatasetOptions): Promise<RelevanceDataset> {
  const prefix = qrelsKeyPrefix(dataset, split);
  const lists: RelevanceList[] = [];
  for (const [queryId, rels] of dataset.qrels) {
    const text = dataset.queries.get(queryId)?.text;
    if (!text) continue;
    let set;
    try {
      set = await engine.candidatesFor(text, opts.k, { historyExclude: prefix + queryId });
    } catch (err) {
      if (isSieveError(err) && err.code === 'QUESTION_EMPTY') continue;
      throw err;
    }
    const live = set.candidates.filter((c) => set.chunks.has(c.chunkId));
    const labels = Float32Array.from(live, (c) => Math.max(0, rels.get(set.chunks.get(c.chunkId)!.docId) ?? 0));
    if (!labels.some((l) => l > 0)) continue; // nothing to learn from a list without a positive
    lists.push({ queryId, n: live.length, features: extractFeatures(engine.resources, set.query, live, set.chunks), labels });
  }
  return { featureNames: [...FEATURE_NAMES], lists };
}

export interface TrainFromQrelsResult {
  model: ModelVersion;
  lists: number;
  historyEvents: number;
  seconds: number;
  metrics: Record<string, number>;
}

export async function trainRelevanceFromQrels(
  engine: Engine,
  opts: {
    data: string;
    split: string;
    seed?: number;
    k?: number;
    activate?: boolean;
    /** Load the split's qrels as history first (default true); false trains a ranker for homes without history. */
    history?: boolean;
    /** Features the model must not read (see RelevanceTrainingOptions.ignoreFeatures). */
    ignoreFeatures?: string[];
    log?: (line: string) => void;
  },
): Promise<TrainFromQrelsResult> {
  const started = performance.now();
  const log = opts.log ?? (() => {});
  const dataset = await readBeirDataset(opts.data, opts.split);
  const ingest = await engine.ingest([dataset.corpusPath]);
  log(`corpus: ${ingest.documents} documents written, ${ingest.skipped} unchanged`);
  const historyEvents = opts.history === false ? 0 : loadQrelsAsHistory(engine, dataset, opts.split);
  log(opts.history === false ? 'history: none loaded (--no-history)' : `history: ${historyEvents} past citations from ${opts.split} qrels`);
  const data = await engine.resources.withSnapshot(() => buildQrelsDataset(engine, dataset, opts.split, { k: opts.k ?? 100 }));
  log(`dataset: ${data.lists.length} lists × up to ${Math.max(0, ...data.lists.map((l) => l.n))} candidates × ${FEATURE_COUNT} features`);
  const { trainRelevanceInWorker } = await import('./worker.js');
  const trained = await trainRelevanceInWorker(data, { seed: opts.seed ?? 1, ...(opts.ignoreFeatures ? { ignoreFeatures: opts.ignoreFeatures } : {}) });
  const id = `relevance-${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${Math.random().toString(36).slice(2, 6)}`;
  const dir = join('models', id);
  mkdirSync(join(engine.config.home, dir), { recursive: true });
  const { exportRelevanceModel } = await import('./export.js');
  const exported = await exportRelevanceModel(trained, join(engine.config.home, dir), { version: id });
  const metrics = { ...trained.metrics };
  const model = registerModel(engine.store, engine.config.home, {
    id,
    kind: 'relevance',
    dir,
    files: exported.files,
    meta: { ...exported.meta, trainedOn: { data: opts.data, split: opts.split, lists: data.lists.length, history: opts.history !== false, ignoredFeatures: opts.ignoreFeatures ?? [] } },
    metrics,
    activate: opts.activate ?? true,
  });
  if (opts.activate ?? true) await engine.reloadModels();
  return { model, lists: data.lists.length, historyEvents, seconds: (performance.now() - started) / 1000, metrics };
}
