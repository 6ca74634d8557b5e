// GET /v1/models (registered versions and what serves now) and POST /v1/models/:id/activate (switch and hot-swap).
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine.js';
import { activeModel, listModels } from '../../train/registry.js';
import type { ServiceContext } from '../context.js';

/** The versions serving now: the ranker the engine uses, and the embedder when dense retrieval is on. */
export function activeVersions(engine: Engine): { ranker: string; embedder?: string } {
  const ranker = engine.stats().ranker;
  const embedder = engine.config.embed.enabled ? activeModel(engine.store, engine.config.home, 'embedder')?.id : undefined;
  return { ranker, ...(embedder ? { embedder } : {}) };
}

export function registerModelRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const { engine } = ctx;
  app.get('/v1/models', async () => ({
    active: activeVersions(engine),
    models: listModels(engine.store, engine.config.home).map((m) => ({
      id: m.id,
      kind: m.kind,
      parent: m.parent,
      createdAt: m.createdAt,
      active: m.active,
      metrics: m.metrics,
    })),
  }));

  app.post<{ Params: { id: string } }>('/v1/models/:id/activate', async (request) => {
    return { active: await ctx.models.activate(request.params.id) };
  });
}
