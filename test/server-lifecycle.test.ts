// The service's life: graceful shutdown with a request in flight, the CLI command under SIGTERM, the training
// scheduler running inside the service and reporting to /metrics.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openEngine } from '../src/engine.js';
import { serve } from '../src/server/serve.js';
import { contentStream, neverRespond, startFakeOpenAiServer } from './helpers/fake-openai-server.js';
import { postJson } from './helpers/server.js';
import { EXAMPLES, REPO_ROOT, tempDir } from './helpers/tmp.js';

const tmp = tempDir('server-life');
afterAll(() => tmp.cleanup());

const until = async (check: () => boolean | Promise<boolean>, what: string, attempts = 600): Promise<void> => {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
};

describe('graceful shutdown', () => {
  it('finishes a request in flight, refuses new connections, then closes the engine', async () => {
    const llm = await startFakeOpenAiServer();
    const engine = await openEngine({
      home: join(tmp.dir, 'shutdown'),
      llm: { baseUrl: llm.baseUrl, model: 'm', apiKey: 'k', timeoutMs: 5000, maxTokens: 64, temperature: 0 },
    });
    await engine.ingest([EXAMPLES]);
    const events: string[] = [];
    const service = await serve({ engine, port: 0, schedule: 'off', onEvent: (l) => events.push(l) });
    // A slow answer: five pieces 150 ms apart.
    llm.onChat(contentStream(['Slow ', 'but ', 'complete ', 'answer ', '[1].'], { delayMs: 150 }));
    const inFlight = postJson(`${service.url}/v1/ask`, { question: 'How does attribution work?' });
    await until(() => llm.requests.length > 0, 'the LLM request');
    const closing = service.close();
    const res = await inFlight;
    expect(res.status).toBe(200);
    const body = (await res.json()) as { answer: string; traceId: string };
    expect(body.answer).toBe('Slow but complete answer [1].');
    await closing;
    await service.closed;
    await expect(fetch(`${service.url}/healthz`)).rejects.toThrow();
    expect(engine.store.db.open).toBe(false);
    expect(events.at(-1)).toBe('stopped');
    // The answered request's trace was committed before the database closed.
    const reopened = await openEngine({ home: join(tmp.dir, 'shutdown'), llm: null });
    expect(reopened.store.db.prepare('SELECT answer FROM traces WHERE id = ?').get(body.traceId)).toEqual({ answer: 'Slow but complete answer [1].' });
    reopened.close();
    await llm.close();
  });
});

describe('shutdown grace period', () => {
  it('cuts a request that outlives the grace period, cancelling its LLM call, and still closes cleanly', async () => {
    const llm = await startFakeOpenAiServer();
    const engine = await openEngine({
      home: join(tmp.dir, 'grace'),
      llm: { baseUrl: llm.baseUrl, model: 'm', apiKey: 'k', timeoutMs: 30_000, maxTokens: 64, temperature: 0 },
    });
    await engine.ingest([EXAMPLES]);
    const service = await serve({ engine, port: 0, schedule: 'off', graceMs: 300, onEvent: () => undefined });
    llm.onChat(neverRespond());
    const inFlight = postJson(`${service.url}/v1/ask`, { question: 'How does attribution work?' }).then(
      (r) => r.status,
      () => 'connection closed',
    );
    await until(() => llm.requests.length > 0, 'the LLM request');
    await service.close();
    expect(await inFlight).toBe('connection closed');
    await llm.lastChatClosed(); // the LLM call was cancelled, not left running
    expect(engine.store.db.open).toBe(false);
    await llm.close();
  });
});

describe('sieve serve (CLI)', () => {
  it('listens on loopback with the SIEVE_TOKEN token, answers, and exits 0 on SIGTERM', async () => {
    const home = join(tmp.dir, 'cli');
    const seed = await openEngine({ home, llm: null });
    await seed.ingest([EXAMPLES]);
    seed.close();
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'serve', '--port', '0', '--home', home, '--log'], {
      cwd: REPO_ROOT,
      env: { ...process.env, SIEVE_LLM_BASE_URL: '', SIEVE_TOKEN: 'token-from-the-environment' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await until(() => /listening on (http:\/\/127\.0\.0\.1:\d+)/.test(stderr), `the listening line (stderr so far: ${stderr})`, 300);
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)![1]!;
    // SIEVE_TOKEN guards it.
    expect((await postJson(`${url}/v1/search`, { query: 'token budget', k: 1 })).status).toBe(401);
    const res = await postJson(`${url}/v1/search`, { query: 'token budget', k: 1 }, { authorization: 'Bearer token-from-the-environment' });
    expect(res.status).toBe(200);
    await until(() => stderr.includes('POST /v1/search 200'), 'the request log line');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('received SIGTERM');
    expect(stderr).toContain('stopped');
  }, 60_000);

  it('refuses --host 0.0.0.0 without a token (exit 2, a clear message)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'serve', '--host', '0.0.0.0', '--port', '0', '--home', join(tmp.dir, 'cli-open')], {
      cwd: REPO_ROOT,
      env: { ...process.env, SIEVE_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(2);
    expect(stderr).toMatch(/CONFIG_INVALID.*refusing to listen on 0\.0\.0\.0 without a token/);
  }, 60_000);
});

describe('training scheduler inside the service', () => {
  it('runs on its schedule and reports the outcome on /metrics', async () => {
    const engine = await openEngine({ home: join(tmp.dir, 'sched'), llm: null });
    await engine.ingest([EXAMPLES]);
    const events: string[] = [];
    // Every second (node-cron's six-field form); with no traces the job says insufficient-signal and changes nothing.
    const service = await serve({ engine, port: 0, schedule: '* * * * * *', onEvent: (l) => events.push(l) });
    try {
      await until(() => events.some((e) => e.startsWith('scheduled training')), 'a scheduled training run');
      expect(events.find((e) => e.startsWith('scheduled training'))).toMatch(/^scheduled training insufficient-signal: /);
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      expect(metrics).toMatch(/^sieve_last_training_timestamp_seconds\{status="insufficient-signal",model=""\} \d+$/m);
    } finally {
      await service.close();
    }
  }, 90_000);
});
