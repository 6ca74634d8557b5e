// The OpenAI-compatible facade and LLM-backed asks, against a fake OpenAI-compatible server on loopback.
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../src/engine.js';
import { splitConversation } from '../src/server/routes/chat.js';
import { ChatCompletionResponse } from '../src/server/schemas.js';
import { serve, type RunningService } from '../src/server/serve.js';
import { contentStream, httpResponse, sse, chunk, startFakeOpenAiServer, type FakeOpenAiServer } from './helpers/fake-openai-server.js';
import { parseSse, postJson } from './helpers/server.js';
import { EXAMPLES, tempDir } from './helpers/tmp.js';

const tmp = tempDir('server-chat');
let llm: FakeOpenAiServer;
let engine: Engine;
let service: RunningService;

beforeAll(async () => {
  llm = await startFakeOpenAiServer();
  engine = await openEngine({
    home: join(tmp.dir, 'home'),
    llm: { baseUrl: llm.baseUrl, model: 'local-model', apiKey: 'k', timeoutMs: 5000, maxTokens: 256, temperature: 0 },
  });
  await engine.ingest([EXAMPLES]);
  service = await serve({ engine, port: 0, schedule: 'off', onEvent: () => undefined });
});
afterAll(async () => {
  await service.close();
  await llm.close();
  tmp.cleanup();
});

type SentBody = { messages: Array<{ role: string; content: string }>; stream: boolean };

describe('POST /v1/chat/completions', () => {
  it('answers in OpenAI format with sieve context, forwards the conversation, and leaves a trace', async () => {
    llm.onChat(contentStream(['Attribution reads ', 'the markers [1].']));
    const res = await postJson(`${service.url}/v1/chat/completions`, {
      model: 'whatever',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: [{ type: 'text', text: 'How does attribution work?' }] },
      ],
    });
    expect(res.status).toBe(200);
    const body = ChatCompletionResponse.parse(await res.json());
    expect(body.choices[0]!.message.content).toBe('Attribution reads the markers [1].');
    expect(body.model).toBe('fake-model');
    expect(body.sieve.answeredBy).toBe('llm');
    expect(body.sieve.context.length).toBeGreaterThan(0);
    expect(body.sieve.citations.map((c) => c.n)).toEqual([1]);
    // What reached the LLM: sieve's system prompt, the client's earlier turns, then the question with its context.
    const sent = llm.requests.at(-1)!.body as SentBody;
    expect(sent.messages.map((m) => m.role)).toEqual(['system', 'system', 'user', 'assistant', 'user']);
    expect(sent.messages[1]!.content).toBe('You are terse.');
    expect(sent.messages.at(-1)!.content).toMatch(/^Context:\n\n\[1\] /);
    expect(sent.messages.at(-1)!.content).toMatch(/Question: How does attribution work\?$/);
    const trace = engine.store.db.prepare('SELECT question, answer, answered_by AS answeredBy FROM traces WHERE id = ?').get(body.sieve.traceId);
    // The trace keeps what retrieval searched for: the question with the conversation's earlier question.
    expect(trace).toEqual({ question: 'How does attribution work?\nHi', answer: 'Attribution reads the markers [1].', answeredBy: 'llm' });
  });

  it('answers from the scope given in the sieve field only, and records it with the trace', async () => {
    llm.onChat(contentStream(['See [1].']));
    const faq = join(EXAMPLES, 'faq.txt');
    const res = await postJson(`${service.url}/v1/chat/completions`, {
      messages: [{ role: 'user', content: 'How does attribution work?' }],
      sieve: { scope: { sources: [faq] } },
    });
    expect(res.status).toBe(200);
    const body = ChatCompletionResponse.parse(await res.json());
    expect(body.sieve.context.length).toBeGreaterThan(0);
    for (const item of body.sieve.context) expect(item.source).toBe(faq);
    const trace = engine.store.db.prepare('SELECT scope FROM traces WHERE id = ?').get(body.sieve.traceId) as { scope: string };
    expect(JSON.parse(trace.scope)).toEqual({ sources: [faq] });
  });

  it('streams OpenAI chunks ending in [DONE], with the sieve field on the final chunk', async () => {
    llm.onChat(contentStream(['Budgets ', 'pack chunks [1]', '.']));
    const res = await postJson(`${service.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'How is the token budget used?' }], stream: true });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = parseSse(await res.text());
    expect(events.at(-1)!.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data) as { object: string; choices: Array<{ delta: { content?: string; role?: string }; finish_reason: string | null }>; sieve?: { traceId: string; citations: unknown[] } });
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(chunks.map((c) => c.choices[0]!.delta.content ?? '').join('')).toBe('Budgets pack chunks [1].');
    const last = chunks.at(-1)!;
    expect(last.choices[0]!.finish_reason).toBe('stop');
    expect(last.sieve?.traceId).toBeTruthy();
    expect(chunks.slice(0, -1).every((c) => c.sieve === undefined)).toBe(true);
    expect(engine.store.db.prepare('SELECT answer FROM traces WHERE id = ?').get(last.sieve!.traceId)).toEqual({ answer: 'Budgets pack chunks [1].' });
  });

  it('works with the openai npm client pointed at sieve (streaming and not)', async () => {
    const client = new OpenAI({ baseURL: `${service.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    llm.onChat(contentStream(['Chunks are ranked [2].']));
    const whole = await client.chat.completions.create({ model: 'sieve', messages: [{ role: 'user', content: 'How are chunks ranked?' }] });
    expect(whole.choices[0]?.message.content).toBe('Chunks are ranked [2].');
    expect((whole as unknown as { sieve: { traceId: string } }).sieve.traceId).toBeTruthy();
    llm.onChat(contentStream(['Streamed ', 'answer [1].']));
    const stream = await client.chat.completions.create({ model: 'sieve', stream: true, messages: [{ role: 'user', content: 'How are chunks ranked?' }] });
    let text = '';
    let sieveField: unknown;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? '';
      sieveField ??= (c as unknown as { sieve?: unknown }).sieve;
    }
    expect(text).toBe('Streamed answer [1].');
    expect(sieveField).toMatchObject({ traceId: expect.any(String) });
  });

  it('maps an LLM failure before the first token to an HTTP error (502), streaming or not', async () => {
    llm.onChat(httpResponse(500, '{"error":"model crashed"}'));
    for (const stream of [false, true]) {
      const res = await postJson(`${service.url}/v1/chat/completions`, { stream, messages: [{ role: 'user', content: 'How are chunks ranked?' }] });
      expect(res.status).toBe(502);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(await res.json()).toMatchObject({ error: { code: 'LLM_BAD_RESPONSE', message: expect.stringMatching(/answered HTTP 500/), hint: expect.any(String) } });
    }
    const client = new OpenAI({ baseURL: `${service.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    await expect(client.chat.completions.create({ model: 'sieve', stream: true, messages: [{ role: 'user', content: 'How are chunks ranked?' }] })).rejects.toMatchObject({ status: 502 });
  });

  it('sends a mid-stream LLM failure as an error chunk, which the openai client raises', async () => {
    llm.onChat(sse([chunk({ content: 'Half an ' }), '{"error": {"message": "out of memory"}}'], { done: false }));
    const client = new OpenAI({ baseURL: `${service.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'sieve', stream: true, messages: [{ role: 'user', content: 'How are chunks ranked?' }] });
    let text = '';
    await expect(
      (async () => {
        for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
      })(),
    ).rejects.toThrow(/out of memory/);
    expect(text).toBe('Half an');
  });

  it('refuses a conversation without a user message', async () => {
    const res = await postJson(`${service.url}/v1/chat/completions`, { messages: [{ role: 'system', content: 'hi' }] });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'REQUEST_INVALID', message: 'messages holds no user message to answer' } });
  });

  it('splits a conversation at the last user message', () => {
    expect(
      splitConversation([
        { role: 'developer', content: 'rules' },
        { role: 'user', content: 'first' },
        { role: 'tool', content: 'tool output' },
        { role: 'user', content: ' second ' },
        { role: 'assistant', content: 'prefill' },
      ]),
    ).toEqual({
      question: 'second',
      history: [
        { role: 'system', content: 'rules' },
        { role: 'user', content: 'first' },
        { role: 'user', content: 'tool output' },
      ],
    });
  });
});

describe('POST /v1/ask with an LLM', () => {
  it('streams the LLM tokens as they arrive, then the result', async () => {
    llm.onChat(contentStream(['One ', 'two [1]', ' three.']));
    const res = await postJson(`${service.url}/v1/ask`, { question: 'How does attribution work?', stream: true });
    const events = parseSse(await res.text());
    const tokens = events.filter((e) => e.event === 'token').map((e) => (JSON.parse(e.data) as { text: string }).text);
    // One event per piece the LLM sent (the think splitter may move a trailing space to the next piece).
    expect(tokens).toHaveLength(3);
    expect(tokens.join('')).toBe('One two [1] three.');
    expect(events.at(-1)!.event).toBe('result');
    expect((JSON.parse(events.at(-1)!.data) as { answer: string }).answer).toBe('One two [1] three.');
  });

  it('sends an error event when the LLM fails mid-stream, and stores no trace', async () => {
    const before = engine.stats().traces;
    llm.onChat(sse([chunk({ content: 'Half an ' }), '{"error": {"message": "out of memory"}}'], { done: false }));
    const res = await postJson(`${service.url}/v1/ask`, { question: 'How does attribution work?', stream: true });
    expect(res.status).toBe(200);
    const events = parseSse(await res.text());
    expect(events.map((e) => e.event)).toEqual(['token', 'error']);
    expect(JSON.parse(events[1]!.data)).toMatchObject({ code: 'LLM_BAD_RESPONSE', message: expect.stringContaining('out of memory'), hint: expect.any(String) });
    expect(engine.stats().traces).toBe(before);
  });

  it('aborts the LLM call when the client disconnects mid-stream', async () => {
    const before = engine.stats().traces;
    llm.onChat(contentStream(['slow ', 'answer ', 'that ', 'never ', 'ends'], { delayMs: 300 }));
    const res = await postJson(`${service.url}/v1/ask`, { question: 'How does attribution work?', stream: true });
    const reader = res.body!.getReader();
    const first = await reader.read(); // the first token arrived: the LLM call is running
    expect(new TextDecoder().decode(first.value)).toContain('event: token');
    await reader.cancel();
    await llm.lastChatClosed(); // sieve hung up on the LLM
    expect(engine.stats().traces).toBe(before);
  });
});
