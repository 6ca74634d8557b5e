// createServer: the Fastify app around an open engine — auth, limits, JSON errors, metrics, and the routes.
// It does not listen and does not own the engine; serve() (serve.ts) does both.
import Fastify, { type FastifyInstance } from 'fastify';
import type { Engine } from '../engine.js';
import { SieveError } from '../errors.js';
import { packageInfo } from '../util/version.js';
import { bearerChecker } from './auth.js';
import type { ServiceContext } from './context.js';
import { sendError, toHttpError } from './http-errors.js';
import { ServiceMetrics, type MetricsState } from './metrics.js';
import { ModelSwitcher } from './model-switcher.js';
import { registerOpenApiRoute } from './openapi.js';
import { registerPage } from './page.js';
import { IngestRoots } from './roots.js';
import { registerAskRoute } from './routes/ask.js';
import { registerChatRoute } from './routes/chat.js';
import { registerFeedbackRoute } from './routes/feedback.js';
import { registerForgetRoute } from './routes/forget.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerIngestRoute } from './routes/ingest.js';
import { registerModelRoutes } from './routes/models.js';
import { registerSourcesRoute } from './routes/sources.js';
import { registerSearchRoute } from './routes/search.js';
import { DEFAULT_LIMITS, requestSchemas } from './schemas.js';

export interface ServerOptions {
  /** Require `Authorization: Bearer <token>` on every route but /healthz. */
  token?: string | null;
  /** Folders POST /v1/ingest may read (none: ingesting over HTTP is refused). */
  roots?: string[];
  /** One line per request to this writer (default: none). `true` writes to stderr. */
  log?: boolean | ((line: string) => void);
  /** Largest request body (default 1 MiB). */
  bodyLimitBytes?: number;
  /** Longest question or query in characters (default 4000). */
  maxQuestionChars?: number;
  metrics?: ServiceMetrics;
  /** How often to check the registry for versions activated elsewhere (the CLI, another process); 0 turns it off. Default 2000 ms. */
  watchModelsMs?: number;
  /** Service events (model reloads); default stderr. */
  onEvent?: (line: string) => void;
  /** Set when this process is one worker of several (`sieve serve --workers N`, see cluster.ts). */
  cluster?: ClusterHooks;
}

/** How a worker reaches its siblings: metrics summed over all of them, and word of a model activation. */
export interface ClusterHooks {
  collectMetrics(): Promise<MetricsState[]>;
  modelsActivated(): void;
}

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
const CLIENT_CLOSED_REQUEST = 499;

declare module 'fastify' {
  interface FastifyInstance {
    /** The service's shared state (engine, validators, roots, metrics). */
    sieve: ServiceContext;
  }
}

/**
 * Routes open without a token: probes must work before anyone has the token, and the page (GET /) is what a
 * browser loads by navigation, which cannot carry a bearer header; it holds no data and sends the token it is
 * given (?token= or typed in) on every /v1 call.
 */
const OPEN_ROUTES = new Set(['/healthz', '/']);

export async function createServer(engine: Engine, opts: ServerOptions = {}): Promise<FastifyInstance> {
  const bodyLimitBytes = opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const maxQuestionChars = opts.maxQuestionChars ?? DEFAULT_LIMITS.maxQuestionChars;
  const { name, version } = packageInfo();
  const ctx: ServiceContext = {
    engine,
    schemas: requestSchemas({ maxQuestionChars }),
    roots: await IngestRoots.create(opts.roots ?? []),
    metrics: opts.metrics ?? new ServiceMetrics(),
    models: new ModelSwitcher(engine, opts.onEvent ?? ((line) => process.stderr.write(`sieve serve: ${line}\n`)), () => opts.cluster?.modelsActivated()),
    collectMetrics: async () => (opts.cluster ? ServiceMetrics.merged(await opts.cluster.collectMetrics()) : ctx.metrics),
    bodyLimitBytes,
    maxQuestionChars,
    name,
    version,
  };

  const app = Fastify({
    logger: false,
    bodyLimit: bodyLimitBytes,
    // Requests arriving while shutting down get 503; idle keep-alive sockets are closed so close() does not wait on them.
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  app.decorate('sieve', ctx);
  ctx.models.watch(opts.watchModelsMs ?? 2000);
  app.addHook('onClose', async () => ctx.models.stop());
  // JSON only: a text/plain body is refused with 415 rather than parsed into a string.
  app.removeContentTypeParser('text/plain');

  const writeLog = opts.log === true ? (line: string) => process.stderr.write(`${line}\n`) : typeof opts.log === 'function' ? opts.log : null;

  if (opts.token) {
    const check = bearerChecker(opts.token);
    app.addHook('onRequest', async (request, reply) => {
      if (request.routeOptions.url !== undefined && OPEN_ROUTES.has(request.routeOptions.url)) return;
      if (!check(request.headers.authorization)) {
        reply.header('www-authenticate', 'Bearer');
        return sendError(reply, new SieveError('UNAUTHORIZED', request.headers.authorization ? 'the bearer token is wrong' : 'this service needs a bearer token'));
      }
    });
  }

  // While shutting down, connections end with their response: a keep-alive socket left open would hold close() until
  // its idle timeout (Fastify closes only the sockets idle when close() starts).
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  app.addHook('onResponse', async (request, reply) => {
    if (closing && !request.raw.socket.destroyed) request.raw.socket.end();
    const route = request.routeOptions.url ?? 'unmatched';
    ctx.metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    writeLog?.(`${new Date().toISOString()} ${request.method} ${request.url.slice(0, 200)} ${reply.statusCode} ${reply.elapsedTime.toFixed(1)}ms`);
  });

  app.setErrorHandler((err, request, reply) => {
    // The client went away and its ask was cancelled: nothing failed, and nobody is listening (499, as nginx counts it).
    if (request.raw.socket.destroyed || reply.raw.destroyed) return reply.code(CLIENT_CLOSED_REQUEST).send();
    const mapped = toHttpError(err, ctx);
    if (mapped.code === 'INTERNAL') writeLogOrStderr(writeLog, `${request.method} ${request.url.slice(0, 200)} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return sendError(reply, mapped);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new SieveError('ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`)),
  );

  registerHealthRoutes(app, ctx);
  registerAskRoute(app, ctx);
  registerSearchRoute(app, ctx);
  registerIngestRoute(app, ctx);
  registerForgetRoute(app, ctx);
  registerFeedbackRoute(app, ctx);
  registerModelRoutes(app, ctx);
  registerSourcesRoute(app, ctx);
  registerChatRoute(app, ctx);
  registerOpenApiRoute(app, ctx);
  registerPage(app);
  return app;
}

/** Internal failures always reach an operator: the log when there is one, stderr otherwise. */
function writeLogOrStderr(writeLog: ((line: string) => void) | null, line: string): void {
  if (writeLog) writeLog(line);
  else process.stderr.write(`sieve serve: ${line}\n`);
}
