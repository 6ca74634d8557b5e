// Server-sent events over a hijacked Fastify reply: headers once, then `event:`/`data:` frames. The client going
// away aborts the work behind the stream (an ask or an LLM call) through an AbortSignal.
import type { FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';

export interface SseStream {
  /** Aborted when the client disconnects before the stream ended. */
  readonly signal: AbortSignal;
  /** True once the client is gone or the stream ended; writes are then dropped. */
  readonly closed: boolean;
  /** A named event whose data is JSON. */
  event(name: string, data: unknown): void;
  /** A bare `data:` line (the OpenAI streaming format), JSON unless a string is given. */
  data(payload: unknown): void;
  end(): void;
}

/** Fastify's onResponse hook still sees a hijacked reply finish, so metrics need nothing here. */
export function openSse(reply: FastifyReply): SseStream {
  reply.hijack();
  const res: ServerResponse = reply.raw;
  const controller = new AbortController();
  let ended = false;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // Proxies such as nginx would otherwise buffer the stream.
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  res.on('close', () => {
    if (!ended) controller.abort(new Error('the client closed the stream'));
    ended = true;
  });
  const write = (frame: string): void => {
    if (ended || res.destroyed) return;
    res.write(frame);
  };
  return {
    signal: controller.signal,
    get closed() {
      return ended || res.destroyed;
    },
    event(name, data) {
      write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    data(payload) {
      write(`data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`);
    },
    end() {
      if (ended) return;
      ended = true;
      res.end();
    },
  };
}

/** True when the client asked for an event stream in its Accept header. */
export function wantsEventStream(accept: string | undefined): boolean {
  return typeof accept === 'string' && accept.includes('text/event-stream');
}
