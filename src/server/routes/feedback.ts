// POST /v1/feedback: a person's verdict on an answer and on its numbered context items.
import type { FastifyInstance } from 'fastify';
import { parseBody, type ServiceContext } from '../context.js';

export function registerFeedbackRoute(app: FastifyInstance, ctx: ServiceContext): void {
  const { engine, schemas } = ctx;
  app.post('/v1/feedback', async (request) => {
    const body = parseBody(schemas.FeedbackRequest, request.body);
    const chunks = body.chunks ? Object.fromEntries(Object.entries(body.chunks).map(([n, label]) => [Number(n), label])) : undefined;
    return engine.feedback(body.traceId, { ...(body.helpful !== undefined ? { helpful: body.helpful } : {}), ...(chunks ? { chunks } : {}) });
  });
}
