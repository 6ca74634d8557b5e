// POST /v1/ingest: index files under the configured roots only (see roots.ts).
import type { FastifyInstance } from 'fastify';
import { parseBody, type ServiceContext } from '../context.js';

export function registerIngestRoute(app: FastifyInstance, ctx: ServiceContext): void {
  const { engine, schemas, roots } = ctx;
  app.post('/v1/ingest', async (request) => {
    const body = parseBody(schemas.IngestRequest, request.body);
    // Every path is checked before anything is read: one bad path refuses the whole request.
    const paths: string[] = [];
    for (const given of body.paths) paths.push(await roots.resolve(given));
    const summary = await engine.ingest(paths, { prune: body.prune ?? false, confineTo: roots.dirs });
    // Changed chunks make the next query rebuild the term statistics (seconds on a large home): do it now, as part
    // of the ingest, rather than in the next ask.
    if (summary.chunks > 0 || summary.removed > 0) await engine.search('refresh the ranking resources', { k: 1 }).catch(() => undefined);
    return summary;
  });
}
