// Graceful shutdown: stop accepting, let requests in flight finish (up to a grace period, then cut them), stop the
// training scheduler (a job in flight finishes), and close the engine so the database is left clean.
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../engine.js';
import type { Scheduler } from '../train/scheduler.js';

export interface ShutdownParts {
  app: FastifyInstance;
  engine: Engine;
  scheduler: Scheduler | null;
  /** How long requests in flight may take before their connections are closed (default 10 s). */
  graceMs?: number;
  log?: (line: string) => void;
}

export const DEFAULT_GRACE_MS = 10_000;

/** Returns an idempotent shutdown: every call gets the same promise. */
export function createShutdown(parts: ShutdownParts): (reason?: string) => Promise<void> {
  let closing: Promise<void> | null = null;
  return (reason = 'shutdown requested') => {
    closing ??= (async () => {
      parts.log?.(`${reason}: finishing requests in flight`);
      const grace = setTimeout(() => {
        parts.log?.(`requests still running after ${parts.graceMs ?? DEFAULT_GRACE_MS} ms; closing their connections`);
        parts.app.server.closeAllConnections();
      }, parts.graceMs ?? DEFAULT_GRACE_MS);
      grace.unref();
      try {
        await parts.app.close();
      } finally {
        clearTimeout(grace);
        await parts.scheduler?.stop();
        parts.engine.close();
        parts.log?.('stopped');
      }
    })();
    return closing;
  };
}

/** SIGTERM and SIGINT start the shutdown once; a second signal exits at once. Returns a function removing the handlers. */
export function shutdownOnSignals(shutdown: (reason: string) => Promise<void>, onDone: (error?: unknown) => void): () => void {
  let received = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (received) {
      process.exit(130);
    }
    received = true;
    shutdown(`received ${signal}`).then(
      () => onDone(),
      (err: unknown) => onDone(err),
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}
