// POST /v1/chat/completions: an OpenAI-compatible facade. The last user message is the question; sieve builds its
// context and the configured LLM answers with the client's earlier turns in front (src/llm/prompt.ts), through
// engine.ask — so every chat completion leaves a trace and teaches the ranker like any ask.
// With no LLM configured the answer is sieve's extractive one (answeredBy "extractive" in the `sieve` field).
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { SieveError } from '../../errors.js';
import type { AskResult, ConversationTurn } from '../../types.js';
import { clientGone, parseBody, type ServiceContext } from '../context.js';
import { errorPayload, toHttpError } from '../http-errors.js';
import { lazySse } from '../sse.js';

type ChatMessageIn = { role: string; content?: string | Array<{ type: string; text?: string | undefined }> | null | undefined };

/** The text of a message: a string, or the text parts of a content array (images and the like are dropped). */
export function messageText(m: ChatMessageIn): string {
  if (typeof m.content === 'string') return m.content;
  if (Array.isArray(m.content)) return m.content.map((p) => (p.type === 'text' && typeof p.text === 'string' ? p.text : '')).join('');
  return '';
}

/** Splits a conversation into the question (last user message) and the turns before it. */
export function splitConversation(messages: readonly ChatMessageIn[]): { question: string; history: ConversationTurn[] } {
  let last = -1;
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.role === 'user') {
      last = i;
      break;
    }
  }
  if (last < 0) throw new SieveError('REQUEST_INVALID', 'messages holds no user message to answer');
  const question = messageText(messages[last]!).trim();
  if (question === '') throw new SieveError('REQUEST_INVALID', 'the last user message has no text');
  const history: ConversationTurn[] = [];
  for (const m of messages.slice(0, last)) {
    const content = messageText(m);
    if (content === '') continue;
    // developer is OpenAI's newer name for system; tool results are context the client gathered, passed as user text.
    const role: ConversationTurn['role'] = m.role === 'assistant' ? 'assistant' : m.role === 'system' || m.role === 'developer' ? 'system' : 'user';
    history.push({ role, content });
  }
  return { question, history };
}

function sieveExtension(r: AskResult) {
  return { traceId: r.traceId, answeredBy: r.answeredBy, citations: r.citations, context: r.context };
}

export function registerChatRoute(app: FastifyInstance, ctx: ServiceContext): void {
  const { engine, schemas } = ctx;
  app.post('/v1/chat/completions', async (request, reply) => {
    const body = parseBody(schemas.ChatCompletionRequest, request.body);
    const { question, history } = splitConversation(body.messages);
    if (question.length > ctx.maxQuestionChars) {
      throw new SieveError('REQUEST_INVALID', `the last user message is longer than ${ctx.maxQuestionChars} characters; shorten it`);
    }
    const budget = { ...(body.sieve?.budgetTokens !== undefined ? { budgetTokens: body.sieve.budgetTokens } : {}), scope: body.sieve?.scope };
    const id = `chatcmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);

    if (!body.stream) {
      const r = await engine.ask(question, { ...budget, history, signal: clientGone(reply.raw) });
      return {
        id,
        object: 'chat.completion' as const,
        created,
        model: r.models.answerer ?? 'sieve',
        choices: [{ index: 0, message: { role: 'assistant' as const, content: r.answer }, finish_reason: 'stop' }],
        sieve: sieveExtension(r),
      };
    }

    const sse = lazySse(reply);
    const signal = clientGone(reply.raw);
    // The model name is known only once the LLM answered; chunks before that carry the requested one.
    const model = body.model ?? 'sieve';
    const chunk = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}, name = model) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: name,
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...extra,
    });
    // The role-only first chunk goes out with the first piece of the answer (so an early failure is a plain HTTP error).
    let first = true;
    const send = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}, name = model) => {
      if (first) sse.data(chunk({ role: 'assistant', content: '' }, null));
      first = false;
      sse.data(chunk(delta, finish, extra, name));
    };
    try {
      const r = await engine.ask(question, { ...budget, history, signal, onToken: (text) => send({ content: text }, null) });
      send({}, 'stop', { sieve: sieveExtension(r) }, r.models.answerer ?? model);
      sse.data('[DONE]');
    } catch (err) {
      if (!sse.started) throw err;
      // OpenAI clients raise an `{"error": …}` event as an APIError.
      if (!signal.aborted) sse.data({ error: { ...errorPayload(toHttpError(err, ctx)), type: 'sieve_error' } });
    } finally {
      sse.end();
    }
  });
}
