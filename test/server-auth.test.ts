// Bearer-token auth, the loopback-only default, and the pieces they are built from.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine } from '../src/engine.js';
import { assertSafeBind, bearerChecker, isLoopbackHost } from '../src/server/auth.js';
import { serve, type RunningService } from '../src/server/serve.js';
import { postJson } from './helpers/server.js';
import { EXAMPLES, tempDir } from './helpers/tmp.js';

const tmp = tempDir('server-auth');
const TOKEN = 'correct-horse-battery-staple';
let service: RunningService;

beforeAll(async () => {
  const engine = await openEngine({ home: join(tmp.dir, 'home'), llm: null });
  await engine.ingest([EXAMPLES]);
  service = await serve({ engine, port: 0, schedule: 'off', token: TOKEN, onEvent: () => undefined });
});
afterAll(async () => {
  await service.close();
  tmp.cleanup();
});

describe('with a token', () => {
  it('refuses a request without Authorization (401, WWW-Authenticate: Bearer)', async () => {
    const res = await postJson(`${service.url}/v1/search`, { query: 'token budget' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED', message: 'this service needs a bearer token', hint: expect.stringContaining('SIEVE_TOKEN') } });
  });

  it('refuses a wrong token, a token of another length, and another scheme', async () => {
    for (const authorization of [`Bearer ${TOKEN.slice(0, -1)}x`, 'Bearer short', `Basic ${TOKEN}`, TOKEN]) {
      const res = await postJson(`${service.url}/v1/search`, { query: 'token budget' }, { authorization });
      expect(res.status, authorization).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    }
  });

  it('serves every route with the right token', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await postJson(`${service.url}/v1/search`, { query: 'token budget' }, auth)).status).toBe(200);
    expect((await postJson(`${service.url}/v1/ask`, { question: 'token budget' }, auth)).status).toBe(200);
    expect((await fetch(`${service.url}/metrics`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${service.url}/v1/models`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${service.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${service.url}/openapi.json`)).status).toBe(401);
  });

  it('leaves /healthz open', async () => {
    const res = await fetch(`${service.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true });
  });
});

describe('bind address', () => {
  it('refuses a non-loopback host without a token, before opening anything', async () => {
    const home = join(tmp.dir, 'never-opened');
    await expect(serve({ host: '0.0.0.0', port: 0, engineOptions: { home, llm: null }, onEvent: () => undefined })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/refusing to listen on 0\.0\.0\.0 without a token.*--token/),
    });
    const { existsSync } = await import('node:fs');
    expect(existsSync(home)).toBe(false);
  });

  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', '128.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
    expect(() => assertSafeBind('0.0.0.0', 'a-token')).not.toThrow();
    expect(() => assertSafeBind('::', null)).toThrow(/without a token/);
  });

  it('checks bearer tokens exactly', () => {
    const check = bearerChecker('s3cret-token');
    expect(check('Bearer s3cret-token')).toBe(true);
    expect(check('bearer   s3cret-token')).toBe(true);
    expect(check('Bearer s3cret-token2')).toBe(false);
    expect(check('Bearer s3cret-toke')).toBe(false);
    expect(check('Bearer ')).toBe(false);
    expect(check(undefined)).toBe(false);
  });
});
