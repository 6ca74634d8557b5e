// Bulk embedding across cores: worker threads, each with its own OnnxEmbedder (one intra-op thread), fed small jobs
// from one queue so a worker that drew short texts takes the next job instead of waiting for the others.
//
// Why workers rather than ONNX Runtime's intra-op threads: the graphs take one text at a time (static shapes, batch
// 1, as the ANE wants them), and a single text's Conv1d stack is too small to split well across threads; the
// word-bag lookup in JS (tokenize, sum each word's rows) is also single-threaded. Measured in bench/embed.ts.
// The vectors are exactly what OnnxEmbedder gives on the calling thread: same files, same kernels.
import { createRequire } from 'node:module';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { z } from 'zod';
import { SieveError, isErrorCode, toSieveError } from '../errors.js';
import type { Embedder } from '../types.js';
import { OnnxEmbedder, readEmbedderConfig, type Precision } from './onnx-embedder.js';

export interface EmbedderPoolOptions {
  /** Model folder (embedder.json and its files). */
  dir: string;
  cacheDir: string;
  /** Worker threads; default the machine's available parallelism. */
  size?: number;
  precision?: Precision;
  /** Texts per job (default 32): small enough to balance, large enough that messaging costs nothing. */
  jobSize?: number;
}

const workerInputSchema = z.object({
  kind: z.literal('sieve-embedder-pool'),
  dir: z.string().min(1),
  cacheDir: z.string().min(1),
  precision: z.enum(['fp32', 'fp16']).optional(),
});

type Request = { id: number; texts: string[]; kind: 'query' | 'passage' };
type Reply =
  | { type: 'ready'; version: string; dim: number }
  | { type: 'done'; id: number; vectors: Float32Array }
  | { type: 'error'; id: number | null; code: string; message: string };

interface PoolWorker {
  worker: Worker;
  busy: boolean;
}

interface Job {
  id: number;
  texts: string[];
  kind: 'query' | 'passage';
  resolve: (vectors: Float32Array) => void;
  reject: (err: Error) => void;
}

function spawn(data: z.infer<typeof workerInputSchema>): Worker {
  const self = new URL(import.meta.url);
  if (!self.pathname.endsWith('.ts')) return new Worker(self, { workerData: data });
  const require = createRequire(self);
  // tsx's ESM API entry (require.resolve gives its CommonJS twin): register the loader, then import this module.
  const tsxApi = pathToFileURL(require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(self.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: data });
}

function errorFrom(code: string, message: string): SieveError {
  return isErrorCode(code) ? new SieveError(code, message) : new SieveError('INTERNAL', message, { workerCode: code });
}

export class EmbedderPool implements Embedder {
  readonly version: string;
  readonly dim: number;
  private readonly workers: PoolWorker[];
  private readonly jobSize: number;
  private readonly queue: Job[] = [];
  private readonly running = new Map<number, { job: Job; worker: PoolWorker }>();
  private nextId = 1;
  private closed = false;

  private constructor(version: string, dim: number, workers: PoolWorker[], jobSize: number) {
    this.version = version;
    this.dim = dim;
    this.workers = workers;
    this.jobSize = jobSize;
    for (const w of workers) {
      w.worker.on('message', (reply: Reply) => this.onReply(w, reply));
      w.worker.on('error', (err) => this.failWorker(w, toSieveError(err)));
      w.worker.on('exit', (code) => {
        if (!this.closed) this.failWorker(w, new SieveError('INTERNAL', `an embedding worker exited with code ${code}`));
      });
    }
  }

  /** Starts the workers and waits until each has loaded the model. */
  static async open(opts: EmbedderPoolOptions): Promise<EmbedderPool> {
    const config = await readEmbedderConfig(opts.dir); // fails here, with the file named, rather than in N workers
    const size = opts.size ?? os.availableParallelism();
    if (!Number.isInteger(size) || size < 1) throw new SieveError('CONFIG_INVALID', `embedder pool size must be a positive integer, got ${size}`);
    const data = { kind: 'sieve-embedder-pool' as const, dir: opts.dir, cacheDir: opts.cacheDir, ...(opts.precision ? { precision: opts.precision } : {}) };
    const workers = Array.from({ length: size }, () => spawn(data));
    try {
      await Promise.all(
        workers.map(
          (worker) =>
            new Promise<void>((resolve, reject) => {
              const onMessage = (reply: Reply) => {
                worker.off('error', onError);
                if (reply.type === 'ready') resolve();
                else if (reply.type === 'error') reject(errorFrom(reply.code, reply.message));
              };
              const onError = (err: Error) => reject(toSieveError(err));
              worker.once('message', onMessage);
              worker.once('error', onError);
            }),
        ),
      );
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw err;
    }
    return new EmbedderPool(
      config.id,
      config.dim,
      workers.map((worker) => ({ worker, busy: false })),
      opts.jobSize ?? 32,
    );
  }

  get size(): number {
    return this.workers.length;
  }

  /** Unit vectors, one per text, in order (the same as OnnxEmbedder.embed on the calling thread). */
  async embed(texts: readonly string[], kind: 'query' | 'passage'): Promise<Float32Array[]> {
    if (this.closed) throw new SieveError('INTERNAL', `the embedder pool of '${this.version}' is closed`);
    const parts: Array<Promise<Float32Array>> = [];
    for (let start = 0; start < texts.length; start += this.jobSize) {
      const slice = texts.slice(start, start + this.jobSize);
      parts.push(new Promise<Float32Array>((resolve, reject) => this.queue.push({ id: this.nextId++, texts: slice, kind, resolve, reject })));
    }
    this.dispatch();
    const flat = await Promise.all(parts);
    const out: Float32Array[] = [];
    for (const block of flat) for (let i = 0; i < block.length; i += this.dim) out.push(block.slice(i, i + this.dim));
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const gone = new SieveError('INTERNAL', `the embedder pool of '${this.version}' was closed`);
    for (const job of this.queue.splice(0)) job.reject(gone);
    for (const { job } of this.running.values()) job.reject(gone);
    this.running.clear();
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }

  private dispatch(): void {
    for (const w of this.workers) {
      if (w.busy) continue;
      const job = this.queue.shift();
      if (!job) return;
      w.busy = true;
      this.running.set(job.id, { job, worker: w });
      const request: Request = { id: job.id, texts: job.texts, kind: job.kind };
      w.worker.postMessage(request);
    }
  }

  private onReply(w: PoolWorker, reply: Reply): void {
    if (reply.type === 'ready') return;
    const id = reply.id;
    const entry = id === null ? undefined : this.running.get(id);
    if (!entry) return;
    this.running.delete(entry.job.id);
    w.busy = false;
    if (reply.type === 'done') entry.job.resolve(reply.vectors);
    else entry.job.reject(errorFrom(reply.code, reply.message));
    this.dispatch();
  }

  private failWorker(w: PoolWorker, err: SieveError): void {
    // A dead worker fails the pool: what it held and what waits are rejected (a sync stops; nothing half-stored).
    for (const [id, entry] of this.running) {
      if (entry.worker === w) {
        this.running.delete(id);
        entry.job.reject(err);
      }
    }
    if (!this.closed) {
      for (const job of this.queue.splice(0)) job.reject(err);
      void this.close();
    }
  }
}

// ---- the worker side ----

async function workerMain(): Promise<void> {
  const port = parentPort;
  if (isMainThread || !port) return;
  const parsed = workerInputSchema.safeParse(workerData);
  if (!parsed.success) return; // this module was imported by a worker that is not ours
  const send = (reply: Reply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);
  let embedder: OnnxEmbedder;
  try {
    const { dir, cacheDir, precision } = parsed.data;
    embedder = await OnnxEmbedder.load(dir, { cacheDir, intraOpThreads: 1, ...(precision ? { precision } : {}) });
  } catch (err) {
    const e = toSieveError(err);
    send({ type: 'error', id: null, code: e.code, message: e.message });
    return;
  }
  send({ type: 'ready', version: embedder.version, dim: embedder.dim });
  port.on('message', (request: Request) => {
    embedder
      .embed(request.texts, request.kind)
      .then((vectors) => {
        const flat = new Float32Array(vectors.length * embedder.dim);
        vectors.forEach((v, i) => flat.set(v, i * embedder.dim));
        send({ type: 'done', id: request.id, vectors: flat }, [flat.buffer]);
      })
      .catch((err: unknown) => {
        const e = toSieveError(err);
        send({ type: 'error', id: request.id, code: e.code, message: e.message });
      });
  });
}

void workerMain();
