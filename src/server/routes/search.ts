// POST /v1/search: ranked chunks without answering (and without leaving a trace).
import type { FastifyInstance } from 'fastify';
import { parseBody, type ServiceContext } from '../context.js';

export function registerSearchRoute(app: FastifyInstance, ctx: ServiceContext): void {
  const { engine, schemas } = ctx;
  app.post('/v1/search', async (request) => {
    const body = parseBody(schemas.SearchRequest, request.body);
    const hits = await engine.search(body.query, { ...(body.k !== undefined ? { k: body.k } : {}), scope: body.scope });
    return { hits };
  });
}
