// POST /v1/ask: the engine's AskResult as JSON, or as server-sent events (token…, then result; error on a failure
// once streaming — a failure before the first event is a plain JSON error with its status).
import type { FastifyInstance } from 'fastify';
import { clientGone, parseBody, type ServiceContext } from '../context.js';
import { errorPayload, toHttpError } from '../http-errors.js';
import { lazySse, wantsEventStream } from '../sse.js';

export function registerAskRoute(app: FastifyInstance, ctx: ServiceContext): void {
  const { engine, schemas } = ctx;
  app.post('/v1/ask', async (request, reply) => {
    const body = parseBody(schemas.AskRequest, request.body);
    const budget = { ...(body.budgetTokens !== undefined ? { budgetTokens: body.budgetTokens } : {}), scope: body.scope };
    if (!(body.stream ?? wantsEventStream(request.headers.accept))) {
      return engine.ask(body.question, { ...budget, signal: clientGone(reply.raw) });
    }
    const sse = lazySse(reply);
    const signal = clientGone(reply.raw);
    try {
      const result = await engine.ask(body.question, { ...budget, signal, onToken: (text) => sse.event('token', { text }) });
      sse.event('result', result);
    } catch (err) {
      // Before the first event the error handler answers with a status; mid-stream, listeners get an error event.
      if (!sse.started) throw err;
      if (!signal.aborted) sse.event('error', errorPayload(toHttpError(err, ctx)));
    } finally {
      sse.end();
    }
  });
}
