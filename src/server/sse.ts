// Server-sent events over a hijacked Fastify reply. The stream opens (status 200 and headers) only when the first
// event is written, so a request that fails before anything streamed (an empty question, an unreachable LLM) still
// gets a plain JSON error with its real status; after that, failures travel as events.
import type { FastifyReply } from 'fastify';

export interface LazySse {
  /** True once the headers went out: errors must then be sent as events. */
  readonly started: boolean;
  /** A named event whose data is JSON. */
  event(name: string, data: unknown): void;
  /** A bare `data:` line (the OpenAI streaming format), JSON unless a string is given. */
  data(payload: unknown): void;
  /** Ends the stream if it started (a no-op otherwise: the route's reply answers). */
  end(): void;
}

export function lazySse(reply: FastifyReply): LazySse {
  let started = false;
  let ended = false;
  const res = reply.raw;
  const write = (frame: string): void => {
    if (ended || res.destroyed) return;
    if (!started) {
      started = true;
      // Fastify still sees the request finish (onResponse runs), so metrics need nothing here.
      reply.hijack();
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // Proxies such as nginx would otherwise buffer the stream.
        'x-accel-buffering': 'no',
      });
    }
    res.write(frame);
  };
  return {
    get started() {
      return started;
    },
    event(name, data) {
      write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    data(payload) {
      write(`data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`);
    },
    end() {
      if (ended || !started) return;
      ended = true;
      res.end();
    },
  };
}

/** True when the client asked for an event stream in its Accept header. */
export function wantsEventStream(accept: string | undefined): boolean {
  return typeof accept === 'string' && accept.includes('text/event-stream');
}
