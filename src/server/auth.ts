// Bearer-token auth and the bind-address rule: the service answers only on loopback unless a token guards it.
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { SieveError } from '../errors.js';

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return h.slice(7).startsWith('127.');
  return false;
}

/** Refuses to expose the service beyond this machine without a token. */
export function assertSafeBind(host: string, token: string | null | undefined): void {
  if (!isLoopbackHost(host) && !token) {
    throw new SieveError(
      'CONFIG_INVALID',
      `refusing to listen on ${host} without a token: anyone who can reach it could read and change the index; pass --token T (or set SIEVE_TOKEN), or bind 127.0.0.1`,
      { host },
    );
  }
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * A checker for `Authorization: Bearer <token>`. Both sides are hashed first so the comparison takes the same time
 * whatever the length or content of the guess.
 */
export function bearerChecker(token: string): (header: string | undefined) => boolean {
  const expected = digest(token);
  return (header) => {
    if (!header) return false;
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!match) return false;
    return timingSafeEqual(digest(match[1]!), expected);
  };
}
