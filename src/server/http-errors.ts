// Every failure leaves the service as `{ error: { code, message, hint } }` with the catalogue's status: never a
// stack trace, never file contents. Fastify's own errors (body parsing, size limit) are mapped into the catalogue.
import type { FastifyError, FastifyReply } from 'fastify';
import { z } from 'zod';
import { SieveError, toSieveError } from '../errors.js';
import { describeIssue } from './schemas.js';

export interface ErrorPayload {
  code: string;
  message: string;
  hint: string;
}

export function errorPayload(err: SieveError): ErrorPayload {
  return { code: err.code, message: err.message, hint: err.hint };
}

function isFastifyError(err: unknown): err is FastifyError {
  return err instanceof Error && typeof (err as FastifyError).code === 'string' && (err as FastifyError).code.startsWith('FST_');
}

/** Maps anything a route or Fastify threw to a SieveError. Unknown errors become INTERNAL with a generic message. */
export function toHttpError(err: unknown, limits: { bodyLimitBytes: number }): SieveError {
  if (err instanceof SieveError) return err;
  if (err instanceof z.ZodError) return new SieveError('REQUEST_INVALID', describeIssue(err));
  if (isFastifyError(err)) {
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return new SieveError('BODY_TOO_LARGE', `the request body is larger than ${limits.bodyLimitBytes} bytes`);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return new SieveError('MEDIA_TYPE_UNSUPPORTED', 'the request body is not JSON (Content-Type must be application/json)');
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return new SieveError('REQUEST_INVALID', 'the request body is empty; send a JSON object');
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return new SieveError('REQUEST_INVALID', 'the request body is not valid JSON');
      default:
        if (err.statusCode === 400 || err.statusCode === 413 || err.statusCode === 415) {
          const code = err.statusCode === 413 ? 'BODY_TOO_LARGE' : err.statusCode === 415 ? 'MEDIA_TYPE_UNSUPPORTED' : 'REQUEST_INVALID';
          return new SieveError(code, `the request could not be read: ${err.message}`);
        }
    }
  }
  // JSON.parse failures from the body parser arrive as SyntaxError with a 400 status.
  if (err instanceof SyntaxError && (err as SyntaxError & { statusCode?: number }).statusCode === 400) {
    return new SieveError('REQUEST_INVALID', 'the request body is not valid JSON');
  }
  const wrapped = toSieveError(err);
  // An internal error's message may quote file contents or paths of a failing dependency: keep it in the log only.
  return wrapped.code === 'INTERNAL' ? new SieveError('INTERNAL', 'the service failed while handling this request', {}, { cause: err }) : wrapped;
}

export function sendError(reply: FastifyReply, err: SieveError): FastifyReply {
  return reply.code(err.httpStatus).header('content-type', 'application/json; charset=utf-8').send({ error: errorPayload(err) });
}
