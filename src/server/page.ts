// GET /: a minimal landing page (a richer web page replaces this file).
import type { FastifyInstance } from 'fastify';
import { packageInfo } from '../util/version.js';

export function registerPage(app: FastifyInstance): void {
  const { name, version } = packageInfo();
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${name} ${version}</title></head>
<body><h1>${name} ${version}</h1>
<p>A local retrieval context engine. This is its HTTP service.</p>
<ul><li><a href="/openapi.json">/openapi.json</a> — the API</li><li><a href="/healthz">/healthz</a> — health</li></ul>
</body></html>
`;
  app.get('/', async (_request, reply) => reply.header('content-type', 'text/html; charset=utf-8').send(html));
}
