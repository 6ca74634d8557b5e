// GET /healthz (open even with a token: load balancers and scripts probe it) and GET /metrics (Prometheus text).
import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../context.js';
import { activeVersions } from './models.js';

export function registerHealthRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const { engine, metrics } = ctx;
  app.get('/healthz', async () => ({
    ok: true as const,
    name: ctx.name,
    version: ctx.version,
    uptimeSeconds: (Date.now() - metrics.startedAt) / 1000,
    // Which process answered (several serve one port with --workers).
    pid: process.pid,
  }));

  app.get('/metrics', async (_request, reply) => {
    const stats = engine.store.stats();
    const text = (await ctx.collectMetrics()).expose({ activeModels: activeVersions(engine), documents: stats.documents, chunks: stats.chunks, traces: stats.traces });
    return reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8').send(text);
  });
}
