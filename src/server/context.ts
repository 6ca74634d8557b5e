// What every route reads: the engine, the validators built once, the ingest roots, the metrics.
import type { Engine } from '../engine.js';
import type { IngestRoots } from './roots.js';
import type { RequestSchemas } from './schemas.js';
import type { ServiceMetrics } from './metrics.js';
import type { ModelSwitcher } from './model-switcher.js';
import { SieveError } from '../errors.js';
import { describeIssue } from './schemas.js';
import type { z } from 'zod';

export interface ServiceContext {
  engine: Engine;
  schemas: RequestSchemas;
  roots: IngestRoots;
  metrics: ServiceMetrics;
  models: ModelSwitcher;
  /** Metrics to expose: this process's, or the sum over the workers of a cluster. */
  collectMetrics: () => Promise<ServiceMetrics>;
  bodyLimitBytes: number;
  maxQuestionChars: number;
  name: string;
  version: string;
}

/** Validates a request body, turning the first problem into a REQUEST_INVALID naming the field. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    if (body === undefined || body === null) throw new SieveError('REQUEST_INVALID', 'the request needs a JSON body (Content-Type: application/json)');
    throw new SieveError('REQUEST_INVALID', describeIssue(parsed.error));
  }
  return parsed.data;
}

/** An AbortSignal that fires when the client goes away before the response finished. */
export function clientGone(raw: import('node:http').ServerResponse): AbortSignal {
  const controller = new AbortController();
  raw.once('close', () => {
    if (!raw.writableFinished) controller.abort(new Error('the client closed the connection'));
  });
  return controller.signal;
}
