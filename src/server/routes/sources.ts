// GET /v1/sources: the ingested files with what each holds, the paths a request's `scope.sources` selects from.
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../context.js';

export function registerSourcesRoute(app: FastifyInstance, ctx: ServiceContext): void {
  app.get('/v1/sources', async () => ({ sources: ctx.engine.store.listSources() }));
}
