// GET /v1/models (registered versions and what serves now) and POST /v1/models/:id/activate (switch and hot-swap).
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../engine.js';
import { SieveError } from '../../errors.js';
import { activateModel, activeModel, getModel, listModels } from '../../train/registry.js';
import type { ServiceContext } from '../context.js';

/** The versions serving now: the ranker the engine uses, and the embedder when dense retrieval is on. */
export function activeVersions(engine: Engine): { ranker: string; embedder?: string } {
  const ranker = engine.stats().ranker;
  const embedder = engine.config.embed.enabled ? activeModel(engine.store, engine.config.home, 'embedder')?.id : undefined;
  return { ranker, ...(embedder ? { embedder } : {}) };
}

export function registerModelRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const { engine } = ctx;
  // Activations run one at a time: two swaps racing could leave the registry and the serving pipeline disagreeing.
  let switching: Promise<unknown> = Promise.resolve();

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
    const { id } = request.params;
    const run = switching.then(async () => {
      if (!getModel(engine.store, engine.config.home, id)) throw new SieveError('MODEL_NOT_FOUND', `no model version ${JSON.stringify(id)}`);
      activateModel(engine.store, engine.config.home, id);
      const loaded = await engine.reloadModels();
      return { active: { ranker: loaded.ranker, ...(loaded.embedder ? { embedder: loaded.embedder } : {}) } };
    });
    switching = run.catch(() => undefined);
    return run;
  });
}
