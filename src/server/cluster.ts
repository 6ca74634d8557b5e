// `sieve serve --workers N`: N processes serve one home behind one port (node:cluster shares the listening socket),
// because one Node process runs JavaScript on one core and every request costs an engine's CPU time.
// Each worker has its own engine (SQLite in WAL mode takes concurrent readers; trace writes wait their turn), so the
// primary only coordinates: it relays word of a model activation (the others reload at once instead of at their next
// registry poll), sums the workers' metrics for whichever one answers /metrics, restarts a worker that died, and
// shuts them all down gracefully on SIGTERM/SIGINT. Only worker 0 runs the training scheduler.
import cluster, { type Worker } from 'node:cluster';
import { SieveError } from '../errors.js';
import type { ClusterHooks } from './app.js';
import { assertSafeBind } from './auth.js';
import type { MetricsState, ServiceMetrics } from './metrics.js';
import type { RunningService } from './serve.js';

const WORKER_ENV = 'SIEVE_SERVE_WORKER';
const METRICS_TIMEOUT_MS = 2000;
/** A worker that dies sooner than this after its start is not restarted. */
const MIN_UPTIME_FOR_RESTART_MS = 5000;

type ToPrimary =
  | { sieve: 'listening'; url: string }
  | { sieve: 'models-activated' }
  | { sieve: 'metrics-collect'; id: number }
  | { sieve: 'metrics-state'; id: number; state: MetricsState };

type ToWorker =
  | { sieve: 'sync-models' }
  | { sieve: 'metrics-state-request'; id: number }
  | { sieve: 'metrics-merged'; id: number; states: MetricsState[] }
  | { sieve: 'shutdown' };

const isMessage = (m: unknown): m is { sieve: string } => typeof m === 'object' && m !== null && typeof (m as { sieve?: unknown }).sieve === 'string';

/** True in a process forked by `sieve serve --workers N`. */
export function isServeWorker(): boolean {
  return cluster.isWorker && process.env[WORKER_ENV] !== undefined;
}

export function serveWorkerIndex(): number {
  return Number(process.env[WORKER_ENV] ?? 0);
}

// ---- primary ----

export interface PrimaryOptions {
  workers: number;
  host: string;
  token: string | null;
  onEvent: (line: string) => void;
}

/** Forks the workers and coordinates them until they have all shut down. */
export async function runServePrimary(opts: PrimaryOptions): Promise<void> {
  if (!Number.isInteger(opts.workers) || opts.workers < 2) throw new SieveError('CONFIG_INVALID', '--workers must be a whole number ≥ 2 for a cluster');
  assertSafeBind(opts.host, opts.token);
  const byIndex = new Map<number, Worker>();
  const indexOf = new Map<Worker, number>();
  let shuttingDown = false;
  let nextRequest = 1;
  const gathers = new Map<number, { states: MetricsState[]; waiting: number; done: () => void }>();
  const listening = new Set<number>();

  const forkedAt = new Map<Worker, number>();
  let failed = false;
  const fork = (index: number): void => {
    const worker = cluster.fork({ [WORKER_ENV]: String(index) });
    // Unheard, a worker's 'error' event (a failed kill or send) would crash the primary.
    worker.on('error', (err: Error) => {
      if (!shuttingDown) opts.onEvent(`worker ${index}: ${err.message}`);
    });
    byIndex.set(index, worker);
    indexOf.set(worker, index);
    forkedAt.set(worker, Date.now());
  };

  const allExited = new Promise<void>((resolve) => {
    cluster.on('exit', (worker, code, signal) => {
      const index = indexOf.get(worker) ?? -1;
      indexOf.delete(worker);
      if (byIndex.get(index) === worker) byIndex.delete(index);
      const lived = Date.now() - (forkedAt.get(worker) ?? 0);
      forkedAt.delete(worker);
      if (!shuttingDown && lived < MIN_UPTIME_FOR_RESTART_MS) {
        // Dying right after start (a bad option, a port in use) would repeat forever: stop everything instead.
        opts.onEvent(`worker ${index} exited ${signal ?? `with code ${code}`} ${lived} ms after starting; stopping the other workers`);
        failed = true;
        shuttingDown = true;
        for (const w of byIndex.values()) send(w, { sieve: 'shutdown' });
      } else if (!shuttingDown) {
        opts.onEvent(`worker ${index} exited (${signal ?? `code ${code}`}); starting another`);
        fork(index);
        return;
      }
      if (byIndex.size === 0) resolve();
    });
  });

  cluster.on('message', (worker: Worker, message: unknown) => {
    if (!isMessage(message)) return;
    const m = message as ToPrimary;
    switch (m.sieve) {
      case 'listening': {
        const index = indexOf.get(worker) ?? -1;
        if (listening.has(index)) break; // a replacement worker: the service was already announced
        listening.add(index);
        if (listening.size === opts.workers) opts.onEvent(`listening on ${m.url} (${opts.workers} workers)`);
        break;
      }
      case 'models-activated':
        for (const other of byIndex.values()) if (other !== worker) send(other, { sieve: 'sync-models' });
        break;
      case 'metrics-collect': {
        // Ask every live worker for its state; answer whoever asked with what arrived in time.
        const id = nextRequest++;
        const live = [...byIndex.values()].filter((w) => w.isConnected());
        const reply = (states: MetricsState[]): void => send(worker, { sieve: 'metrics-merged', id: m.id, states });
        const timer = setTimeout(() => {
          const g = gathers.get(id);
          gathers.delete(id);
          if (g) reply(g.states);
        }, METRICS_TIMEOUT_MS);
        gathers.set(id, {
          states: [],
          waiting: live.length,
          done: () => {
            clearTimeout(timer);
            const g = gathers.get(id)!;
            gathers.delete(id);
            reply(g.states);
          },
        });
        for (const w of live) send(w, { sieve: 'metrics-state-request', id });
        break;
      }
      case 'metrics-state': {
        const g = gathers.get(m.id);
        if (!g) break;
        g.states.push(m.state);
        if (--g.waiting === 0) g.done();
        break;
      }
    }
  });

  const shutdown = (signal: NodeJS.Signals): void => {
    if (shuttingDown) {
      process.exit(130); // a second signal: stop waiting
    }
    shuttingDown = true;
    opts.onEvent(`received ${signal}: shutting down ${byIndex.size} workers`);
    for (const w of byIndex.values()) send(w, { sieve: 'shutdown' });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  for (let i = 0; i < opts.workers; i++) fork(i);
  await allExited;
  process.off('SIGTERM', shutdown);
  process.off('SIGINT', shutdown);
  if (failed) throw new SieveError('CONFIG_INVALID', 'a worker failed while starting (its error is above); the service stopped');
  opts.onEvent('stopped');
}

function send(target: Worker | NodeJS.Process, message: ToWorker | ToPrimary): void {
  // A message to a process that is exiting at that moment fails with EPIPE. Without a callback that failure is
  // emitted as an 'error' event, which would crash the sender; here the other side is going away anyway.
  const ignore = (): void => undefined;
  try {
    if ('isConnected' in target) {
      if (target.isConnected()) target.send(message, undefined, undefined, ignore);
    } else if (target.connected && target.send) {
      target.send(message, undefined, undefined, ignore);
    }
  } catch {
    // the channel closed between the check and the send
  }
}

// ---- worker ----

export interface WorkerLink {
  hooks: ClusterHooks;
  /** Wires a running service to the primary: model syncs, metrics requests, shutdown. */
  attach(service: RunningService): void;
}

export function createWorkerLink(metrics: ServiceMetrics): WorkerLink {
  let nextId = 1;
  const pending = new Map<number, (states: MetricsState[]) => void>();
  let service: RunningService | null = null;
  // A shutdown can arrive while this worker is still starting (another worker failed at start): honour it on attach.
  let shutdownRequested = false;

  process.on('message', (message: unknown) => {
    if (!isMessage(message)) return;
    const m = message as ToWorker;
    switch (m.sieve) {
      case 'sync-models':
        void service?.app.sieve.models.syncWithRegistry().catch(() => undefined);
        break;
      case 'metrics-state-request':
        send(process, { sieve: 'metrics-state', id: m.id, state: metrics.state() });
        break;
      case 'metrics-merged':
        pending.get(m.id)?.(m.states);
        pending.delete(m.id);
        break;
      case 'shutdown':
        if (service) void service.close();
        else shutdownRequested = true;
        break;
    }
  });

  return {
    hooks: {
      collectMetrics() {
        const id = nextId++;
        return new Promise<MetricsState[]>((resolve) => {
          // Without an answer in time, this worker's own numbers are better than none.
          const timer = setTimeout(() => {
            pending.delete(id);
            resolve([metrics.state()]);
          }, METRICS_TIMEOUT_MS + 500);
          pending.set(id, (states) => {
            clearTimeout(timer);
            resolve(states.length > 0 ? states : [metrics.state()]);
          });
          send(process, { sieve: 'metrics-collect', id });
        });
      },
      modelsActivated() {
        send(process, { sieve: 'models-activated' });
      },
    },
    attach(running) {
      service = running;
      send(process, { sieve: 'listening', url: running.url });
      // The IPC channel would keep this process alive after the service closed.
      void running.closed.then(() => process.disconnect?.());
      if (shutdownRequested) void running.close();
    },
  };
}
