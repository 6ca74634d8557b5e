import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SieveError } from '../src/errors.js';
import { OpenAiCompatibleAnswerer, probeLlm } from '../src/llm/client.js';
import { llmConfigFromEnv, LlmConfigSchema, type LlmConfig } from '../src/llm/config.js';
import { buildMessages, SYSTEM_PROMPT } from '../src/llm/prompt.js';
import { headerTokens } from '../src/rank/select.js';
import { passageLocation } from '../src/util/pages.js';
import type { AnswerOutput, ContextItem } from '../src/types.js';
import {
  chunk,
  closedPortBaseUrl,
  contentStream,
  httpResponse,
  neverRespond,
  reasoningFieldStream,
  sse,
  stallAfterHeaders,
  startFakeOpenAiServer,
  usageChunk,
  wholeCompletion,
  type FakeOpenAiServer,
} from './helpers/fake-openai-server.js';

const context: ContextItem[] = [
  {
    n: 1,
    chunkId: 11,
    chunkIds: [11],
    docId: 'guide.md',
    source: '/docs/guide.md',
    title: 'Guide',
    headingPath: ['Setup', 'Install'],
    text: 'Run npm install to install sieve.',
    score: 2.5,
    tokenCount: 8,
  },
  {
    n: 2,
    chunkId: 12,
    chunkIds: [12, 13],
    docId: 'faq.md',
    source: '/docs/faq.md',
    title: 'FAQ',
    headingPath: [],
    text: 'Sieve stores chunks in SQLite.',
    score: 1.5,
    tokenCount: 7,
  },
];

function configFor(baseUrl: string, overrides: Partial<LlmConfig> = {}): LlmConfig {
  return LlmConfigSchema.parse({ baseUrl, model: 'configured-model', apiKey: 'test-key', ...overrides });
}

/** Asks once, recording every onToken piece. */
async function ask(
  answerer: OpenAiCompatibleAnswerer,
  signal?: AbortSignal,
): Promise<{ out: AnswerOutput; pieces: string[] }> {
  const pieces: string[] = [];
  const out = await answerer.answer({ question: 'How do I install sieve?', context, signal, onToken: (t) => pieces.push(t) });
  return { out, pieces };
}

/** Resolves to the SieveError a promise rejects with (fails the test if it resolves). */
async function sieveErrorOf(promise: Promise<unknown>): Promise<SieveError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SieveError);
  return err as SieveError;
}

describe('llmConfigFromEnv', () => {
  it('returns null when SIEVE_LLM_BASE_URL is unset or blank', () => {
    expect(llmConfigFromEnv({})).toBeNull();
    expect(llmConfigFromEnv({ SIEVE_LLM_BASE_URL: '  ', SIEVE_LLM_MODEL: 'x' })).toBeNull();
  });

  it('fills the defaults a local server needs', () => {
    expect(llmConfigFromEnv({ SIEVE_LLM_BASE_URL: 'http://127.0.0.1:8080/v1/' })).toEqual({
      baseUrl: 'http://127.0.0.1:8080/v1',
      model: 'default',
      apiKey: 'sieve-local',
      timeoutMs: 60000,
      maxTokens: 1024,
      temperature: 0.1,
    });
  });

  it('reads model, key and timeout', () => {
    const config = llmConfigFromEnv({
      SIEVE_LLM_BASE_URL: 'http://localhost:11434/v1',
      SIEVE_LLM_MODEL: 'qwen3:8b',
      SIEVE_LLM_API_KEY: 'k',
      SIEVE_LLM_TIMEOUT_MS: '1500',
    });
    expect(config).toMatchObject({ model: 'qwen3:8b', apiKey: 'k', timeoutMs: 1500 });
  });

  it('names the variable when a value is invalid', () => {
    for (const [env, variable] of [
      [{ SIEVE_LLM_BASE_URL: 'localhost:8080' }, 'SIEVE_LLM_BASE_URL'],
      [{ SIEVE_LLM_BASE_URL: 'ftp://host/v1' }, 'SIEVE_LLM_BASE_URL'],
      [{ SIEVE_LLM_BASE_URL: 'http://h/v1', SIEVE_LLM_TIMEOUT_MS: 'soon' }, 'SIEVE_LLM_TIMEOUT_MS'],
      [{ SIEVE_LLM_BASE_URL: 'http://h/v1', SIEVE_LLM_TIMEOUT_MS: '0' }, 'SIEVE_LLM_TIMEOUT_MS'],
      [{ SIEVE_LLM_BASE_URL: 'http://h/v1', SIEVE_LLM_TIMEOUT_MS: '1e3' }, 'SIEVE_LLM_TIMEOUT_MS'],
    ] as const) {
      let caught: unknown;
      try {
        llmConfigFromEnv(env);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(SieveError);
      expect((caught as SieveError).code).toBe('CONFIG_INVALID');
      expect((caught as SieveError).message).toContain(variable);
    }
  });
});

describe('buildMessages', () => {
  it('numbers the context with title and heading path, then asks the question', () => {
    const messages = buildMessages('How do I install sieve?', context);
    expect(messages).toHaveLength(2);
    expect(messages[0]).toEqual({ role: 'system', content: SYSTEM_PROMPT });
    expect(SYSTEM_PROMPT).toMatch(/only/);
    expect(SYSTEM_PROMPT).toContain('[1]');
    expect(SYSTEM_PROMPT).toMatch(/does not contain the answer/);
    expect(messages[1]?.role).toBe('user');
    expect(messages[1]?.content).toBe(
      'Context:\n\n[1] Guide — Setup › Install\nRun npm install to install sieve.\n\n[2] FAQ\nSieve stores chunks in SQLite.\n\nQuestion: How do I install sieve?',
    );
  });

  it('does not repeat a title that the first heading already is, in the prompt or in the location', () => {
    const titled: ContextItem = { ...context[0]!, title: 'better-sqlite3', headingPath: ['better-sqlite3', 'Installation'] };
    expect(buildMessages('q', [titled])[1]?.content).toContain('[1] better-sqlite3 — Installation\n');
    expect(passageLocation(titled)).toBe('better-sqlite3 › Installation');
    expect(passageLocation({ ...titled, title: 'Node.js  Documentation', headingPath: ['Node.js documentation', 'Stream'] })).toBe('Node.js  Documentation › Stream');
    // A heading that only starts like the title is a heading of its own.
    expect(passageLocation({ ...titled, headingPath: ['better-sqlite3 API', 'Database'] })).toBe('better-sqlite3 › better-sqlite3 API › Database');
    // Fewer tokens for the header the selector budgets.
    expect(headerTokens(titled)).toBeLessThan(headerTokens({ ...titled, headingPath: ['Setup guide', 'Installation'] }));
  });

  it('leaves HTML comments out of the passages it shows', () => {
    const commented: ContextItem = { ...context[0]!, text: '<!-- YAML\nadded: v0.5.8\n-->\nRun npm install <!-- not this -->to install sieve.' };
    expect(buildMessages('q', [commented])[1]?.content).toContain('[1] Guide — Setup › Install\nRun npm install to install sieve.\n');
  });

  it('fences a code passage in its language, longer than any backtick run inside it, and budgets the fence', () => {
    const code: ContextItem = { ...context[0]!, source: '/repo/src/job.ts', title: 'job.ts', headingPath: ['runJob'], text: '\n  const md = "```";\n  run(md);\n' };
    expect(buildMessages('q', [code])[1]?.content).toContain('[1] job.ts — runJob\n````typescript\n  const md = "```";\n  run(md);\n````\n');
    expect(headerTokens(code)).toBeGreaterThan(headerTokens({ ...code, source: '/repo/docs/job.md' }));
  });

  it('is deterministic and says when there is no context', () => {
    expect(buildMessages('q', context)).toEqual(buildMessages('q', context));
    expect(buildMessages('q', [])[1]?.content).toContain('(no passages)');
  });
});

describe('OpenAiCompatibleAnswerer against a local OpenAI-compatible server', () => {
  let server: FakeOpenAiServer;
  let answerer: OpenAiCompatibleAnswerer;

  beforeEach(async () => {
    server = await startFakeOpenAiServer({ models: ['qwen3-8b', 'llama-3.2-3b'] });
    answerer = new OpenAiCompatibleAnswerer(configFor(server.baseUrl, { maxTokens: 256, temperature: 0.2 }));
  });

  afterEach(async () => {
    await server.close();
  });

  it('streams a plain answer through role-only, null-content and usage-only chunks', async () => {
    server.onChat(contentStream(['Run ', 'npm install', ' [1].'], { model: 'server-model' }));
    const { out, pieces } = await ask(answerer);
    expect(out).toEqual({ text: 'Run npm install [1].', reasoning: '', model: 'server-model' });
    expect(pieces.join('')).toBe(out.text);
    expect(answerer.kind).toBe('llm');
  });

  it('sends the model, max_tokens, temperature, stream flag, key and the numbered context', async () => {
    server.onChat(contentStream(['ok']));
    await ask(answerer);
    const request = server.requests.find((r) => r.path === '/v1/chat/completions');
    expect(request?.headers.authorization).toBe('Bearer test-key');
    const body = request?.body as { model: string; max_tokens: number; temperature: number; stream: boolean; messages: Array<{ role: string; content: string }> };
    expect(body).toMatchObject({ model: 'configured-model', max_tokens: 256, temperature: 0.2, stream: true });
    expect(body.messages[0]?.role).toBe('system');
    expect(body.messages[1]?.content).toContain('[1] Guide — Setup › Install\nRun npm install to install sieve.');
    expect(body.messages[1]?.content).toContain('[2] FAQ\nSieve stores chunks in SQLite.');
    expect(body.messages[1]?.content).toContain('Question: How do I install sieve?');
  });

  it('strips a whole <think> block from content and keeps it as reasoning', async () => {
    server.onChat(contentStream(['<think>The user wants install steps.</think>\n\nRun npm install [1].']));
    const { out, pieces } = await ask(answerer);
    expect(out.text).toBe('Run npm install [1].');
    expect(out.reasoning).toBe('The user wants install steps.');
    expect(pieces.join('')).toBe(out.text);
    expect(pieces.join('')).not.toContain('think');
  });

  it('strips think tags split across chunks and network writes', async () => {
    server.onChat(contentStream(['<thi', 'nk>plan', ' it</th', 'ink>', '\n\nRun ', 'npm install [1].'], { splitWrites: true }));
    const { out, pieces } = await ask(answerer);
    expect(out.text).toBe('Run npm install [1].');
    expect(out.reasoning).toBe('plan it');
    expect(pieces.join('')).toBe(out.text);
  });

  it('treats text before a lone </think> as reasoning (opening tag was in the prompt)', async () => {
    server.onChat(contentStream(['Okay, the user asks', ' how to install.', '</think>', '\n\n', 'Run npm install [1].']));
    const { out, pieces } = await ask(answerer);
    expect(out.text).toBe('Run npm install [1].');
    expect(out.reasoning).toBe('Okay, the user asks how to install.');
    expect(pieces.join('')).toBe(out.text);
  });

  it.each(['reasoning_content', 'reasoning'] as const)('collects the %s field and streams content at once', async (field) => {
    server.onChat(reasoningFieldStream(field, ['Think ', 'hard.'], ['Run ', 'npm ', 'install [1].']));
    const { out, pieces } = await ask(answerer);
    expect(out.text).toBe('Run npm install [1].');
    expect(out.reasoning).toBe('Think hard.');
    // The server separates thinking, so content is not held back: one piece per content chunk.
    expect(pieces).toEqual(['Run', ' npm', ' install [1].']);
  });

  it('accepts a stream that ends without data: [DONE] and without usage', async () => {
    server.onChat(contentStream(['All ', 'done [2].'], { done: false, usage: false }));
    const { out } = await ask(answerer);
    expect(out.text).toBe('All done [2].');
  });

  it('reports the model the server names, falling back to the configured one', async () => {
    server.onChat(contentStream(['a'], { model: 'mlx-community/Qwen3-8B-4bit' }));
    expect((await ask(answerer)).out.model).toBe('mlx-community/Qwen3-8B-4bit');
    server.onChat(contentStream(['a'], { model: null }));
    expect((await ask(answerer)).out.model).toBe('configured-model');
  });

  it('returns everything a server sends when it ignores max_tokens', async () => {
    const pieces = Array.from({ length: 400 }, (_, i) => `w${i} `);
    server.onChat(contentStream(pieces));
    const { out } = await ask(new OpenAiCompatibleAnswerer(configFor(server.baseUrl, { maxTokens: 5 })));
    expect(out.text).toBe(pieces.join('').trim());
  });

  it('reads a whole JSON completion from a server that ignores stream: true', async () => {
    server.onChat(wholeCompletion('<think>hm</think>Whole answer [1].', { model: 'json-model', reasoning_content: 'field thought' }));
    const { out, pieces } = await ask(answerer);
    expect(out).toEqual({ text: 'Whole answer [1].', reasoning: 'field thought\n\nhm', model: 'json-model' });
    expect(pieces).toEqual(['Whole answer [1].']);
  });

  it('learns that a model does not think, so its next answer streams instead of being held', async () => {
    server.onChat(contentStream(['One ', 'two ', 'three.']));
    const first = await ask(answerer);
    expect(first.pieces).toEqual(['One two three.']); // held: it might have been a thought
    const second = await ask(answerer);
    expect(second.pieces).toEqual(['One', ' two', ' three.']);
    expect(second.out.text).toBe(first.out.text);
  });

  it('learns that a model starts inside its thought, so a long thought never leaks into the answer', async () => {
    const longThought = 'x'.repeat(9000);
    server.onChat(contentStream(['short thought', '</think>', 'Answer.']));
    await ask(answerer);
    server.onChat(contentStream([longThought, ' more', '</think>', 'Answer [1].']));
    const { out, pieces } = await ask(answerer);
    expect(out.text).toBe('Answer [1].');
    expect(pieces.join('')).toBe('Answer [1].');
    expect(out.reasoning).toBe(`${longThought} more`);
  });

  it('maps an HTTP 500 to LLM_BAD_RESPONSE with the status and the body', async () => {
    server.onChat(httpResponse(500, JSON.stringify({ error: { message: 'model failed to load', type: 'server_error' } })));
    const err = await sieveErrorOf(ask(answerer));
    expect(err.code).toBe('LLM_BAD_RESPONSE');
    expect(err.message).toContain('500');
    expect(err.message).toContain('model failed to load');
  });

  it('quotes at most 200 characters of a long error body', async () => {
    server.onChat(httpResponse(503, `overloaded ${'z'.repeat(5000)}`, 'text/plain'));
    const err = await sieveErrorOf(ask(answerer));
    expect(err.code).toBe('LLM_BAD_RESPONSE');
    expect(err.message).toContain('503');
    expect(err.message).toContain('overloaded');
    expect(err.message.length).toBeLessThan(400);
    expect(String(err.details.body).length).toBeLessThanOrEqual(201);
  });

  it('maps an HTML page served with 200 to LLM_BAD_RESPONSE', async () => {
    server.onChat(httpResponse(200, '<!doctype html><html><body>Welcome to nginx</body></html>', 'text/html'));
    const err = await sieveErrorOf(ask(answerer));
    expect(err.code).toBe('LLM_BAD_RESPONSE');
    expect(err.message).toContain('200');
    expect(err.message).toContain('Welcome to nginx');
  });

  it('maps a wrong base URL (HTML 404) to LLM_BAD_RESPONSE', async () => {
    const wrong = new OpenAiCompatibleAnswerer(configFor(server.baseUrl.replace(/\/v1$/, '/nope')));
    const err = await sieveErrorOf(ask(wrong));
    expect(err.code).toBe('LLM_BAD_RESPONSE');
    expect(err.message).toContain('404');
  });

  it('maps an SSE event that is not JSON to LLM_BAD_RESPONSE', async () => {
    server.onChat(sse([chunk({ content: 'a' }), 'this is not json']));
    const err = await sieveErrorOf(ask(answerer));
    expect(err.code).toBe('LLM_BAD_RESPONSE');
  });

  it('maps an error event inside the stream to LLM_BAD_RESPONSE', async () => {
    server.onChat(sse([chunk({ content: 'a' }), { error: { message: 'context length exceeded' } }]));
    const err = await sieveErrorOf(ask(answerer));
    expect(err.code).toBe('LLM_BAD_RESPONSE');
    expect(err.message).toContain('context length exceeded');
  });

  it('maps an event stream carrying no completion chunks to LLM_BAD_RESPONSE', async () => {
    server.onChat(sse([]));
    const err = await sieveErrorOf(ask(answerer));
    expect(err.code).toBe('LLM_BAD_RESPONSE');
  });

  it('accepts a usage-only stream as an empty answer', async () => {
    server.onChat(sse([chunk({ role: 'assistant' }), usageChunk()]));
    const { out } = await ask(answerer);
    expect(out.text).toBe('');
  });

  it('times out with LLM_TIMEOUT when the server sends headers and then nothing', async () => {
    server.onChat(stallAfterHeaders());
    const err = await sieveErrorOf(ask(new OpenAiCompatibleAnswerer(configFor(server.baseUrl, { timeoutMs: 300 }))));
    expect(err.code).toBe('LLM_TIMEOUT');
  });

  it('times out with LLM_TIMEOUT when the server never answers', async () => {
    server.onChat(neverRespond());
    const err = await sieveErrorOf(ask(new OpenAiCompatibleAnswerer(configFor(server.baseUrl, { timeoutMs: 300 }))));
    expect(err.code).toBe('LLM_TIMEOUT');
  });

  it('times out with LLM_TIMEOUT when tokens stop mid-answer', async () => {
    server.onChat(sse([chunk({ content: 'Partial' })], { stallAfter: true }));
    const err = await sieveErrorOf(ask(new OpenAiCompatibleAnswerer(configFor(server.baseUrl, { timeoutMs: 300 }))));
    expect(err.code).toBe('LLM_TIMEOUT');
  });

  it('does not time out a slow answer whose tokens keep arriving', async () => {
    const events = ['a', 'b', 'c', 'd', 'e', 'f'].map((c) => chunk({ content: c }));
    server.onChat(sse(events, { delayMs: 250 }));
    const { out } = await ask(new OpenAiCompatibleAnswerer(configFor(server.baseUrl, { timeoutMs: 1000 })));
    expect(out.text).toBe('abcdef');
  });

  it('caps the whole answer at 10× the idle timeout even while tokens keep arriving', async () => {
    // Tokens every 25 ms for 6 s: 16× inside the 400 ms idle timeout (a loaded CI machine must not trip that one),
    // so only the 4 s whole-answer cap can end it.
    const events = Array.from({ length: 240 }, (_, i) => chunk({ content: `t${i} ` }));
    server.onChat(sse(events, { delayMs: 25 }));
    const err = await sieveErrorOf(ask(new OpenAiCompatibleAnswerer(configFor(server.baseUrl, { timeoutMs: 400 }))));
    expect(err.code).toBe('LLM_TIMEOUT');
    expect(err.details.timeoutMs).toBe(4000);
  });

  it('reads SSE lines served under a wrong content type', async () => {
    server.onChat(sse([chunk({ content: '<think>t</think>' }), chunk({ content: 'Mislabelled [1].' })], { contentType: 'text/plain' }));
    const { out } = await ask(answerer);
    expect(out).toMatchObject({ text: 'Mislabelled [1].', reasoning: 't' });
  });

  it('maps a connection closed mid-answer to LLM_UNREACHABLE', async () => {
    server.onChat(sse([chunk({ content: 'Partial' })], { dropAfter: true }));
    const err = await sieveErrorOf(ask(answerer));
    expect(err.code).toBe('LLM_UNREACHABLE');
  });

  it('stops streaming and rejects with the abort reason when the caller aborts', async () => {
    // A reasoning field makes content stream at once, so the first visible token can trigger the abort.
    server.onChat(sse([chunk({ reasoning_content: 'hm' }), chunk({ content: 'First' }), chunk({ content: ' second' })], { stallAfter: true }));
    const controller = new AbortController();
    const reason = new Error('user cancelled');
    const pieces: string[] = [];
    const promise = answerer.answer({
      question: 'q',
      context,
      signal: controller.signal,
      onToken: (t) => {
        pieces.push(t);
        controller.abort(reason);
      },
    });
    await expect(promise).rejects.toBe(reason);
    expect(pieces).toEqual(['First']);
    await server.lastChatClosed(); // the request really was cancelled
  });

  it('rejects at once for an already-aborted signal without calling the server', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(ask(answerer, controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
    expect(server.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(0);
  });

  it('probeLlm lists the models from GET /models', async () => {
    expect(await probeLlm(configFor(server.baseUrl))).toEqual({ ok: true, models: ['qwen3-8b', 'llama-3.2-3b'] });
  });
});

describe('unreachable servers', () => {
  it('maps connection refused to LLM_UNREACHABLE naming the base URL', async () => {
    const baseUrl = await closedPortBaseUrl();
    const err = await sieveErrorOf(ask(new OpenAiCompatibleAnswerer(configFor(baseUrl))));
    expect(err.code).toBe('LLM_UNREACHABLE');
    expect(err.message).toContain(`could not reach the LLM at ${baseUrl}: `);
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('probeLlm reports an unreachable server without throwing', async () => {
    const baseUrl = await closedPortBaseUrl();
    const probe = await probeLlm(configFor(baseUrl));
    expect(probe.ok).toBe(false);
    expect(probe.models).toEqual([]);
    expect(probe.error).toContain('could not reach the LLM');
  });
});
