// POST /v1/forget: take what was ingested from files or folders under the configured roots out of the index.
import type { FastifyInstance } from 'fastify';
import { SieveError } from '../../errors.js';
import { parseBody, type ServiceContext } from '../context.js';

export function registerForgetRoute(app: FastifyInstance, ctx: ServiceContext): void {
  const { engine, schemas, roots } = ctx;
  app.post('/v1/forget', async (request) => {
    const body = parseBody(schemas.ForgetRequest, request.body);
    // Each path must name something ingested under a root before anything is removed.
    const paths: string[] = [];
    for (const given of body.paths) {
      const matching = roots.candidates(given).find((candidate) => engine.store.sourcesUnder(candidate).length > 0);
      if (matching === undefined) {
        throw new SieveError('PATH_NOT_FOUND', `nothing was ingested from ${JSON.stringify(given)} under the allowed roots; GET /v1/sources lists the ingested files`, { path: given });
      }
      paths.push(matching);
    }
    return engine.forget(paths);
  });
}
