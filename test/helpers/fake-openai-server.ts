// A real HTTP server speaking the OpenAI chat completions protocol, scripted per test to emit the
// shapes real local servers produce (see DESIGN.md, "LLM servers as they really behave").
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, or the raw text when it is not JSON, or null when empty. */
  body: unknown;
}

/** Answers one request; `res` is the raw response so a script can misbehave in any way. */
export type Script = (req: RecordedRequest, res: ServerResponse, raw: IncomingMessage) => void | Promise<void>;

export interface FakeOpenAiServer {
  /** e.g. http://127.0.0.1:54321/v1 */
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  /** Sets how POST /v1/chat/completions is answered from now on. */
  onChat(script: Script): void;
  /** Resolves when the client side of the most recent chat request has gone away. */
  lastChatClosed(): Promise<void>;
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export type Delta = { role?: string; content?: string | null; reasoning_content?: string | null; reasoning?: string | null };

/** One `chat.completion.chunk` with a single choice. */
export function chunk(delta: Delta, opts: { model?: string | null; finishReason?: string | null } = {}): Record<string, unknown> {
  const body: Record<string, unknown> = {
    id: 'chatcmpl-fake',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    choices: [{ index: 0, delta, finish_reason: opts.finishReason ?? null }],
  };
  if (opts.model !== null) body.model = opts.model ?? 'fake-model';
  return body;
}

/** The usage-only chunk servers send last when asked for usage: `choices` is empty. */
export function usageChunk(model: string | null = 'fake-model'): Record<string, unknown> {
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    ...(model === null ? {} : { model }),
    choices: [],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  };
}

export interface SseOptions {
  /** End with `data: [DONE]` (default true). */
  done?: boolean;
  /** Wait this long before each event. */
  delayMs?: number;
  /** After the events, keep the connection open and send nothing more. */
  stallAfter?: boolean;
  /** After the events, destroy the socket without finishing the response. */
  dropAfter?: boolean;
  /** Write each event in two halves, so one event spans two network writes. */
  splitWrites?: boolean;
  contentType?: string;
}

/** Streams events as SSE: objects become `data: <json>`, strings are sent as raw `data:` payloads. */
export function sse(events: Array<Record<string, unknown> | string>, opts: SseOptions = {}): Script {
  return async (_req, res) => {
    res.writeHead(200, { 'content-type': opts.contentType ?? 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    const payloads = events.map((e) => (typeof e === 'string' ? e : JSON.stringify(e)));
    if (opts.done !== false && !opts.stallAfter && !opts.dropAfter) payloads.push('[DONE]');
    for (const payload of payloads) {
      if (opts.delayMs) await sleep(opts.delayMs);
      if (res.destroyed) return;
      const line = `data: ${payload}\n\n`;
      if (opts.splitWrites) {
        const half = Math.floor(line.length / 2);
        res.write(line.slice(0, half));
        await sleep(5);
        res.write(line.slice(half));
      } else {
        res.write(line);
      }
    }
    if (opts.stallAfter) return;
    if (opts.dropAfter) {
      await sleep(20);
      res.socket?.destroy();
      return;
    }
    res.end();
  };
}

/** The usual stream: role-only first delta, content pieces, a finish chunk with `content: null`, usage, [DONE]. */
export function contentStream(pieces: string[], opts: SseOptions & { model?: string | null; usage?: boolean } = {}): Script {
  const model = opts.model;
  const events: Array<Record<string, unknown>> = [
    chunk({ role: 'assistant', content: '' }, { model }),
    ...pieces.map((content) => chunk({ content }, { model })),
    chunk({ content: null }, { model, finishReason: 'stop' }),
  ];
  if (opts.usage !== false) events.push(usageChunk(model === undefined ? 'fake-model' : model));
  return sse(events, opts);
}

/** Reasoning in a separate delta field (llama.cpp/vLLM `reasoning_content`, Ollama/vLLM `reasoning`), then content. */
export function reasoningFieldStream(field: 'reasoning_content' | 'reasoning', thoughts: string[], pieces: string[]): Script {
  return sse([
    chunk({ role: 'assistant' }),
    ...thoughts.map((t) => chunk({ content: null, [field]: t })),
    ...pieces.map((content) => chunk({ content, [field]: null })),
    chunk({}, { finishReason: 'stop' }),
  ]);
}

/** A plain HTTP answer with any status, content type and body. */
export function httpResponse(status: number, body: string, contentType = 'application/json'): Script {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': contentType });
    res.end(body);
  };
}

/** A whole (non-streamed) completion, as a server that ignores `stream: true` sends it. */
export function wholeCompletion(content: string, extra: { reasoning_content?: string; model?: string } = {}): Script {
  return httpResponse(
    200,
    JSON.stringify({
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: extra.model ?? 'fake-model',
      choices: [{ index: 0, message: { role: 'assistant', content, reasoning_content: extra.reasoning_content }, finish_reason: 'stop' }],
    }),
  );
}

/** Sends status and headers, then nothing. */
export function stallAfterHeaders(): Script {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.flushHeaders();
  };
}

/** Reads the request and never answers at all. */
export function neverRespond(): Script {
  return () => undefined;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  const text = Buffer.concat(parts).toString('utf8');
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export async function startFakeOpenAiServer(opts: { models?: string[] } = {}): Promise<FakeOpenAiServer> {
  const requests: RecordedRequest[] = [];
  let chatScript: Script = contentStream(['ok']);
  let chatClosed: Promise<void> = Promise.resolve();
  const openResponses = new Set<ServerResponse>();

  const server: Server = createServer((raw, res) => {
    openResponses.add(res);
    res.on('close', () => openResponses.delete(res));
    void (async () => {
      const recorded: RecordedRequest = {
        method: raw.method ?? 'GET',
        path: raw.url ?? '/',
        headers: raw.headers,
        body: await readBody(raw),
      };
      requests.push(recorded);
      if (recorded.method === 'GET' && recorded.path === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: (opts.models ?? ['fake-model']).map((id) => ({ id, object: 'model' })) }));
        return;
      }
      if (recorded.method === 'POST' && recorded.path === '/v1/chat/completions') {
        chatClosed = new Promise((resolve) => res.on('close', () => resolve()));
        await chatScript(recorded, res, raw);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html><body><h1>404 Not Found</h1></body></html>');
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`fake server script failed: ${String(err)}`);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    onChat(script: Script): void {
      chatScript = script;
    },
    lastChatClosed(): Promise<void> {
      return chatClosed;
    },
    async close(): Promise<void> {
      // Stalled scripts keep responses open; end them so close() does not wait forever.
      for (const res of openResponses) res.socket?.destroy();
      const closed = new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
      // Idle keep-alive sockets from the client would otherwise hold close() open.
      server.closeAllConnections();
      await closed;
    },
  };
}

/** A base URL on which nothing listens: a port that was just bound and released. */
export async function closedPortBaseUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1`;
}
