// Relevance training off the calling thread: mlx computes synchronously, so a serving process hands the dataset
// to a worker_thread (its buffers transferred, not copied), keeps answering requests, and gets the same
// TrainedRelevanceModel back (its parameter buffers transferred the other way).
//
// This one module is both sides: imported normally it exports trainRelevanceModelInWorker; loaded as a worker
// (recognised by its workerData tag) it trains and posts the result. Under tsx/vitest the module is a .ts file
// that Node cannot load by itself, so the worker first registers tsx's loader (a dev dependency); built
// code under dist/ is plain .js and loads directly.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { z } from 'zod';
import { SieveError, isSieveError, type ErrorCode } from '../../errors.js';
import type { RelevanceDataset, TrainedRelevanceModel } from './model.js';
import type { RelevanceTrainingOptions, RelevanceTrainingProgress, RelevanceTrainingSettings } from './train.js';

const WORKER_TAG = 'sieve-relevance-training';

const float32Array = z.custom<Float32Array>((v) => v instanceof Float32Array, 'expected a Float32Array');

/** What crosses into the worker: checked there, since structured clone accepts anything. */
const requestSchema = z.object({
  tag: z.literal(WORKER_TAG),
  dataset: z.object({
    featureNames: z.array(z.string()),
    lists: z.array(
      z.object({
        queryId: z.string(),
        n: z.number().int().nonnegative(),
        features: float32Array,
        labels: float32Array,
        weights: float32Array.optional(),
      }),
    ),
  }),
  settings: z.object({
    seed: z.number().finite(),
    hidden: z.tuple([z.number().int(), z.number().int()]).optional(),
    maxEpochs: z.number().int().optional(),
    batchLists: z.number().int().optional(),
    lr: z.number().optional(),
    valFraction: z.number().optional(),
    patience: z.number().int().optional(),
    ignoreFeatures: z.array(z.string()).optional(),
  }),
});

type WorkerRequest = z.infer<typeof requestSchema>;

type WorkerMessage =
  | { type: 'progress'; progress: RelevanceTrainingProgress }
  | { type: 'result'; model: TrainedRelevanceModel }
  | { type: 'error'; code: ErrorCode; message: string; details: Record<string, unknown> };

export interface WorkerTrainingOptions extends RelevanceTrainingOptions {
  /**
   * Move the dataset's buffers to the worker instead of copying them (default true): fast and memory-neutral,
   * but the caller's typed arrays are detached (length 0) afterwards.
   */
  transfer?: boolean;
}

function moduleUrl(): URL {
  return new URL(import.meta.url);
}

/** A worker running this module; from a .ts source, behind tsx's loader. */
function spawnWorker(data: WorkerRequest, transferList: ArrayBuffer[]): Worker {
  const self = moduleUrl();
  if (!self.pathname.endsWith('.ts')) return new Worker(self, { workerData: data, transferList });
  const require = createRequire(self);
  // tsx's ESM API entry; `require.resolve` picks its CommonJS twin, so swap the extension to reach the .mjs.
  const tsxApi = pathToFileURL(require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(self.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: data, transferList });
}

/**
 * trainRelevanceModel in a worker_thread: same inputs, same result (bit-identical for a seed), while this
 * thread stays free. onProgress is called here, on this thread.
 */
export function trainRelevanceModelInWorker(dataset: RelevanceDataset, options: WorkerTrainingOptions): Promise<TrainedRelevanceModel> {
  const { onProgress, transfer = true, ...settings } = options;
  const request: WorkerRequest = {
    tag: WORKER_TAG,
    dataset: { featureNames: dataset.featureNames, lists: dataset.lists.map((l) => ({ queryId: l.queryId, n: l.n, features: l.features, labels: l.labels, ...(l.weights ? { weights: l.weights } : {}) })) },
    settings: settings satisfies RelevanceTrainingSettings,
  };
  // A buffer listed twice is an error, and lists may share one buffer, hence the Set.
  const buffers = new Set<ArrayBuffer>();
  if (transfer) {
    for (const l of dataset.lists) {
      for (const a of [l.features, l.labels, l.weights]) if (a && a.buffer instanceof ArrayBuffer) buffers.add(a.buffer);
    }
  }
  return new Promise<TrainedRelevanceModel>((resolve, reject) => {
    const worker = spawnWorker(request, [...buffers]);
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') onProgress?.(message.progress);
      else if (message.type === 'result') finish(() => resolve(message.model));
      else finish(() => reject(new SieveError(message.code, message.message, message.details)));
    });
    worker.on('error', (err) => finish(() => reject(new SieveError('INTERNAL', `relevance training worker failed: ${err.message}`, {}, { cause: err }))));
    worker.on('exit', (code) => finish(() => reject(new SieveError('INTERNAL', `relevance training worker exited (code ${code}) before returning a model`))));
  });
}

async function runAsWorker(): Promise<void> {
  const port = parentPort!;
  const post = (message: WorkerMessage, transferList: ArrayBuffer[] = []): void => port.postMessage(message, transferList);
  try {
    const request = requestSchema.parse(workerData);
    const { trainRelevanceModel } = await import('./train.js');
    const model = await trainRelevanceModel(request.dataset, {
      ...request.settings,
      onProgress: (progress) => post({ type: 'progress', progress }),
    });
    const buffers = [...Object.values(model.params).map((t) => t.data.buffer), model.rangeProbe.features.buffer].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
    post({ type: 'result', model }, [...new Set(buffers)]);
  } catch (err) {
    const error = isSieveError(err) ? err : new SieveError('INTERNAL', err instanceof Error ? err.message : String(err));
    post({ type: 'error', code: error.code, message: error.message, details: error.details });
  }
}

/** The name the feedback loop's callers use. */
export const trainRelevanceInWorker = trainRelevanceModelInWorker;

if (!isMainThread && (workerData as { tag?: unknown } | null)?.tag === WORKER_TAG) void runAsWorker();
