// The embedder training worker: trainEmbedder (train.ts) starts this file in a worker_thread so that training,
// which holds a core busy for minutes, never blocks the serving thread's event loop. It opens its own Store
// connection by path (a SQLite handle cannot cross threads), runs trainEmbedderInProcess, and posts progress,
// then the result or the error (code and message, so the caller rethrows the same SieveError code).
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { z } from 'zod';
import { toSieveError } from '../../errors.js';
import { Store } from '../../store/store.js';
import { trainEmbedderInProcess, type WorkerMessage, type WorkerTrainOptions } from './train.js';

const workerDataSchema = z.object({
  kind: z.literal('sieve-train-embedder'),
  // The options were built by trainEmbedder in this same program; only their envelope is checked here.
  options: z.object({ storePath: z.string().min(1) }).passthrough(),
});

async function main(): Promise<void> {
  const port = parentPort;
  if (isMainThread || !port) return;
  const parsed = workerDataSchema.safeParse(workerData);
  if (!parsed.success) return;
  const send = (message: WorkerMessage): void => port.postMessage(message);
  const { storePath, ...options } = parsed.data.options as WorkerTrainOptions;
  let store: Store | null = null;
  try {
    store = new Store(storePath);
    const result = await trainEmbedderInProcess({ ...options, store, onProgress: (progress) => send({ type: 'progress', progress }) });
    send({ type: 'done', result });
  } catch (err) {
    const e = toSieveError(err);
    send({ type: 'error', code: e.code, message: e.message });
  } finally {
    store?.close();
  }
}

void main();
