// serve(): open the engine, build the app, run the training scheduler inside the service, listen, and shut down
// gracefully. The CLI command (src/cli/serve.ts) is a thin wrapper around it.
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { openEngine, type Engine, type OpenEngineOptions } from '../engine.js';
import { startTrainingScheduler, type Scheduler } from '../train/scheduler.js';
import { createServer, type ServerOptions } from './app.js';
import { assertSafeBind } from './auth.js';
import { ServiceMetrics } from './metrics.js';
import { createShutdown, shutdownOnSignals } from './shutdown.js';

export interface ServeOptions extends ServerOptions {
  /** Default 7700; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. Anything but loopback needs a token. */
  host?: string;
  /** The engine to serve (the service takes ownership and closes it on shutdown); otherwise one is opened. */
  engine?: Engine;
  /** Options for opening the engine when none is given (home, llm, …). */
  engineOptions?: OpenEngineOptions;
  /** Override the training schedule (a cron expression, or "off"); default: the home's train.schedule. */
  schedule?: string;
  /** Install SIGTERM/SIGINT handlers that shut down gracefully (default false; the CLI turns it on). */
  handleSignals?: boolean;
  /** Grace period for requests in flight at shutdown. */
  graceMs?: number;
  /** Service events (listening, training outcomes, shutdown); default stderr. */
  onEvent?: (line: string) => void;
}

export interface RunningService {
  app: FastifyInstance;
  engine: Engine;
  metrics: ServiceMetrics;
  /** e.g. http://127.0.0.1:7700 */
  url: string;
  port: number;
  /** Graceful shutdown (idempotent): in-flight requests finish, scheduler stops, engine closes. */
  close(): Promise<void>;
  /** Resolves when the service has shut down (by close() or a signal). */
  closed: Promise<void>;
}

export const DEFAULT_PORT = 7700;
export const DEFAULT_HOST = '127.0.0.1';

export async function serve(opts: ServeOptions = {}): Promise<RunningService> {
  const host = opts.host ?? DEFAULT_HOST;
  const port = opts.port ?? DEFAULT_PORT;
  // Refused before anything is opened or bound.
  assertSafeBind(host, opts.token);
  const event = opts.onEvent ?? ((line: string) => process.stderr.write(`sieve serve: ${line}\n`));
  const engine = opts.engine ?? (await openEngine(opts.engineOptions ?? {}));
  const metrics = opts.metrics ?? new ServiceMetrics();
  let app: FastifyInstance;
  let scheduler: Scheduler | null = null;
  try {
    app = await createServer(engine, { ...opts, metrics, onEvent: event });
    scheduler = startTrainingScheduler(engine, opts.schedule ?? engine.config.train.schedule, (outcome) => {
      if (outcome instanceof Error) {
        metrics.recordTraining('failed', null);
        event(`scheduled training failed: ${outcome.message}`);
      } else {
        // A promoted model was already activated and hot-swapped by the job (runTrainingJob → reloadModels).
        metrics.recordTraining(outcome.status, outcome.modelId);
        if (outcome.status === 'promoted' || outcome.embedder?.status === 'promoted') void app.sieve.models.noteLoaded();
        event(`scheduled training ${outcome.status}: ${outcome.message}`);
        if (outcome.embedder) event(`scheduled training, embedder ${outcome.embedder.status}: ${outcome.embedder.message}`);
      }
    });
    // The first query builds the ranking resources lazily (seconds on a large home); pay that before listening so
    // the first clients are not queued behind it.
    const warm = performance.now();
    engine.warm(); // the in-memory BM25 index and term statistics, before traffic
    await engine.search('warm up the ranking resources', { k: 1 }).catch(() => undefined);
    event(`warmed up in ${Math.round(performance.now() - warm)} ms`);
    await app.listen({ port, host });
  } catch (err) {
    await scheduler?.stop();
    engine.close();
    throw err;
  }
  const address = app.server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shown}:${address.port}`;
  const shutdown = createShutdown({ app, engine, scheduler, ...(opts.graceMs !== undefined ? { graceMs: opts.graceMs } : {}), log: event });
  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let removeSignals = (): void => undefined;
  const close = async (): Promise<void> => {
    try {
      await shutdown('shutting down');
    } finally {
      removeSignals();
      resolveClosed();
    }
  };
  if (opts.handleSignals) {
    removeSignals = shutdownOnSignals(shutdown, (err) => {
      removeSignals();
      if (err) event(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
      resolveClosed();
    });
  }
  event(`listening on ${url} (home ${engine.config.home}; answers: ${engine.answererKind}; ingest roots: ${app.sieve.roots.dirs.join(', ') || 'none'})`);
  return { app, engine, metrics, url, port: address.port, close, closed };
}
