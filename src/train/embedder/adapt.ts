// `sieve train embedder`: adapts the serving embedder to a home's own corpus. It continues the active embedder
// (else the shipped base model) with its own recipe — batch size, learning rates, temperature, pair mix, as its
// embedder.json records them — on inverse-cloze pairs from the store, plus a BEIR split's supervised pairs when
// given; measures recall@10 on a held-out slice against the starting model; writes the FP16 export under
// <home>/models/<id>; registers and activates the version; and reloads the engine, which builds the new version's
// HNSW index from the store (the previous version's vectors stay, so `sieve models activate` rolls back).
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { shippedEmbedderDir, type Engine } from '../../engine.js';
import { readEmbedderConfig, type EmbedderConfig } from '../../embed/onnx-embedder.js';
import { SieveError } from '../../errors.js';
import { activeModel, getModel, registerModel, type ModelVersion } from '../registry.js';
import { trainEmbedder, type TrainEmbedderResult, type TrainProgress } from './train.js';

/** The hyper-parameters an exported embedder records in meta (all optional: older exports lack some). */
const recipeSchema = z.object({
  batchSize: z.number().int().min(2).optional(),
  learningRate: z.number().positive().optional(),
  tableLearningRateScale: z.number().positive().optional(),
  temperature: z.number().positive().optional(),
  symmetricLoss: z.boolean().optional(),
  supervisedFraction: z.number().min(0).max(1).optional(),
  titleFraction: z.number().min(0).max(1).optional(),
  hardNegatives: z.number().int().min(0).optional(),
  lexicalResidual: z.number().min(0).optional(),
});

export type EmbedderRecipe = z.infer<typeof recipeSchema>;

export const adaptOptionsSchema = z.object({
  /** BEIR folder whose `split` qrels add supervised pairs. */
  data: z.string().min(1).optional(),
  split: z.string().min(1).default('train'),
  /** Training steps; default 500 unless `epochs` is given. */
  steps: z.number().int().min(1).max(1_000_000).optional(),
  /** Passes over the training data instead of steps (the trainer's stepsForEpochs). */
  epochs: z.number().positive().max(100_000).optional(),
  /** Pairs per batch; default the recipe's. */
  batchSize: z.number().int().min(2).max(4096).optional(),
  seed: z.number().int().default(1),
  /** Share of batches drawn from `data`'s pairs; default the parent's recipe (else the trainer's 0.3). */
  supervisedFraction: z.number().min(0).max(1).optional(),
  /** Words of a passage seen in training; default the trainer's (128). */
  maxPassageWords: z.number().int().min(8).max(4096).optional(),
  /** BM25 negatives kept per supervised pair (one is drawn per batch); default the parent's recipe. */
  hardNegatives: z.number().int().min(0).max(100).optional(),
  /** InfoNCE temperature; default the parent's recipe (0.05 for the shipped model). */
  temperature: z.number().min(0.005).max(1).optional(),
  /** Share of inverse-cloze samples that are title→body pairs; default the parent's recipe (0.2). */
  titleFraction: z.number().min(0).max(1).optional(),
  /** Weight of BM25 in the training logits, 1 = the served fusion (trainer's lexicalResidual); default the parent's recipe, else 0. */
  lexicalResidual: z.number().min(0).max(10).optional(),
  /** Start from fresh weights (the parent's architecture and tokenizer) instead of continuing the parent's. */
  fresh: z.boolean().default(false),
  /**
   * Add the feedback loop's pairs (question, chunk its answers used) from this home's traces; the partition says
   * which questions train and which are held out (train/partition.ts).
   */
  traces: z.object({ embedderShare: z.number().min(0).max(1), embedderHoldout: z.number().min(0).max(1) }).optional(),
  /** Activate the new version and rebuild its index now (the CLI), or register it inactive (the training job promotes). */
  activate: z.boolean().default(true),
});

export type AdaptOptions = z.input<typeof adaptOptionsSchema> & {
  onProgress?: (p: TrainProgress) => void;
  /** Progress lines of the trainer on stderr (default true). */
  log?: boolean;
  /**
   * Decides on the trained version before it is registered: a reason to reject it, or null to keep it. It gets
   * the metrics and the version's folder (complete, not yet under its final name), so it may load and try it.
   */
  accept?: (metrics: Record<string, number>, candidate: { id: string; dir: string }) => string | null | Promise<string | null>;
};

/** A trained version that `accept` turned down: nothing was registered or kept. */
export interface AdaptRejected {
  model: null;
  rejected: string;
  parent: string | null;
  metrics: Record<string, number>;
  seconds: number;
}

export interface AdaptResult {
  model: ModelVersion;
  /** The version training started from (its weights unless `fresh`, always its recipe), null with no embedder at all. */
  parent: string | null;
  metrics: Record<string, number>;
  seconds: number;
  /** The new version's dense index after the reload; null when dense retrieval is off (built on the next open with it on). */
  index: { embedder: string; points: number } | null;
}

/** `{ [key]: value }` for the first value given (an override, then the parent's recipe), else nothing: the trainer's default applies. */
function firstSet<K extends string, V>(key: K, ...values: Array<V | undefined>): { [P in K]?: V } {
  const value = values.find((v) => v !== undefined);
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}

/** The embedder a new version starts from: the active one, else the shipped base model (registered if need be). */
function parentEmbedder(engine: Engine): { dir: string; id: string } | null {
  const active = activeModel(engine.store, engine.config.home, 'embedder');
  if (active) return { dir: active.dir, id: active.id };
  const shipped = shippedEmbedderDir();
  return shipped ? { dir: shipped, id: '' } : null;
}

/** Numbers only: the registry's metrics column holds a flat record of figures. */
function numericMetrics(metrics: TrainEmbedderResult['metrics']): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(metrics)) {
    if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
    else if (v && typeof v === 'object') for (const [sub, x] of Object.entries(v)) if (typeof x === 'number') out[`${k}.${sub}`] = x;
  }
  return out;
}

export async function adaptEmbedder(engine: Engine, options: AdaptOptions & { accept?: undefined }): Promise<AdaptResult>;
export async function adaptEmbedder(engine: Engine, options: AdaptOptions): Promise<AdaptResult | AdaptRejected>;
export async function adaptEmbedder(engine: Engine, options: AdaptOptions): Promise<AdaptResult | AdaptRejected> {
  const started = performance.now();
  const parsed = adaptOptionsSchema.safeParse(options);
  if (!parsed.success) throw new SieveError('CONFIG_INVALID', `train embedder: ${z.prettifyError(parsed.error)}`);
  const o = parsed.data;
  if (o.steps !== undefined && o.epochs !== undefined) throw new SieveError('CONFIG_INVALID', 'train embedder: give steps or epochs, not both');
  if (o.data !== undefined && /test/i.test(o.split)) {
    throw new SieveError('CONFIG_INVALID', `refusing to train the embedder on split "${o.split}": train on a train split and keep the test split for evaluation`);
  }
  if (o.data !== undefined && !existsSync(o.data)) throw new SieveError('PATH_NOT_FOUND', `no data set folder at ${o.data}`, { path: o.data });
  const { home } = engine.config;

  const parent = parentEmbedder(engine);
  let parentConfig: EmbedderConfig | null = null;
  if (parent) {
    parentConfig = await readEmbedderConfig(parent.dir);
    parent.id = parentConfig.id;
    // The registry links a version to its parent, so the shipped model is registered (not activated) first.
    if (!getModel(engine.store, home, parent.id)) {
      registerModel(engine.store, home, { id: parent.id, kind: 'embedder', dir: parent.dir, files: { config: 'embedder.json' }, meta: { shipped: true } });
    }
  }
  const recipeParsed = recipeSchema.safeParse(parentConfig?.meta ?? {});
  const recipe: EmbedderRecipe = recipeParsed.success ? recipeParsed.data : {};

  const stamp = new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14);
  const id = `embedder-${stamp}-s${o.seed}`;
  if (getModel(engine.store, home, id)) throw new SieveError('CONFIG_INVALID', `a model version ${id} already exists; wait a second or pick another --seed`);
  const relDir = join('models', id);
  // Written under <id>.tmp and renamed only once kept: a process killed mid-training leaves a .tmp folder, which
  // the next training job removes, never a version folder the registry does not know.
  const finalDir = join(home, relDir);
  const outDir = `${finalDir}.tmp`;
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });

  let trained: TrainEmbedderResult;
  try {
    trained = await trainEmbedder({
      store: engine.store,
      outDir,
      ...(o.data !== undefined ? { beir: { dir: o.data, split: o.split } } : {}),
      ...(o.traces ? { traces: { partition: o.traces } } : {}),
      steps: o.steps ?? 500,
      ...(o.epochs !== undefined ? { epochs: o.epochs } : {}),
      batchSize: o.batchSize ?? recipe.batchSize ?? 128,
      seed: o.seed,
      modelId: id,
      precisions: ['fp16'],
      ...(parent && parentConfig
        ? o.fresh
          ? { architecture: parentConfig.architecture, tokenizer: parentConfig.tokenizer }
          : { initFrom: parent.dir }
        : {}),
      ...firstSet('learningRate', recipe.learningRate),
      ...firstSet('tableLearningRateScale', recipe.tableLearningRateScale),
      ...firstSet('temperature', o.temperature, recipe.temperature),
      ...firstSet('symmetricLoss', recipe.symmetricLoss),
      ...firstSet('titleFraction', o.titleFraction, recipe.titleFraction),
      // A parent trained without supervised pairs records 0 for these; with --data the trainer's defaults apply.
      ...firstSet('supervisedFraction', o.supervisedFraction, recipe.supervisedFraction || undefined),
      ...firstSet('hardNegatives', o.hardNegatives, recipe.hardNegatives || undefined),
      ...firstSet('lexicalResidual', o.lexicalResidual, recipe.lexicalResidual || undefined),
      ...firstSet('maxPassageWords', o.maxPassageWords),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      log: options.log ?? true,
    });
  } catch (err) {
    // Nothing was registered: leave no half-written version folder behind.
    rmSync(outDir, { recursive: true, force: true });
    throw err;
  }

  const metrics = numericMetrics(trained.metrics);
  let rejected: string | null;
  try {
    rejected = options.accept ? await options.accept(metrics, { id, dir: outDir }) : null;
  } catch (err) {
    rmSync(outDir, { recursive: true, force: true });
    throw err;
  }
  if (rejected !== null) {
    rmSync(outDir, { recursive: true, force: true });
    return { model: null, rejected, parent: parent?.id ?? null, metrics, seconds: (performance.now() - started) / 1000 };
  }
  renameSync(outDir, finalDir);
  const model = registerModel(engine.store, home, {
    id,
    kind: 'embedder',
    parent: parent ? parent.id : null,
    dir: relDir,
    files: { config: 'embedder.json' },
    meta: {
      ...trained.meta,
      continuedFrom: o.fresh ? null : (parent?.id ?? null),
      trainedOn: { store: home, data: o.data ?? null, split: o.data ? o.split : null, traces: o.traces ?? null },
    },
    metrics,
    activate: o.activate,
  });
  if (!o.activate) return { model, parent: parent?.id ?? null, metrics, seconds: (performance.now() - started) / 1000, index: null };
  // Loads the new version and builds its HNSW index from the store (every chunk embedded by it) before serving it.
  await engine.reloadModels();
  const dense = engine.denseIndex();
  return {
    model,
    parent: parent?.id ?? null,
    metrics,
    seconds: (performance.now() - started) / 1000,
    index: dense ? { embedder: dense.embedder, points: dense.points } : null,
  };
}
