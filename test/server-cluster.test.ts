// `sieve serve --workers 2`: two processes behind one port, metrics summed across them, a model activation reaching
// both, graceful exit on SIGTERM.
import { spawn } from 'node:child_process';
import { get } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openEngine } from '../src/engine.js';
import { AskResultSchema, ModelsResponse } from '../src/server/schemas.js';
import { postJson, registerRandomRelevanceModel } from './helpers/server.js';
import { EXAMPLES, REPO_ROOT, tempDir } from './helpers/tmp.js';

const tmp = tempDir('server-cluster');
afterAll(() => tmp.cleanup());

/** GET /healthz on a new connection each time, so the cluster's round-robin reaches every worker. */
function freshHealth(url: string): Promise<{ pid: number; uptimeSeconds: number }> {
  return new Promise((resolve, reject) => {
    get(`${url}/healthz`, { agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(JSON.parse(body) as { pid: number; uptimeSeconds: number }));
    }).on('error', reject);
  });
}

const until = async (check: () => boolean | Promise<boolean>, what: string, attempts = 600): Promise<void> => {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
};

describe('sieve serve --workers 2', () => {
  it('serves from two processes, sums their metrics, swaps models in both, and exits 0 on SIGTERM', async () => {
    const home = join(tmp.dir, 'home');
    const seed = await openEngine({ home, llm: null, feedback: { exploreRate: 0 } });
    await seed.ingest([EXAMPLES]);
    await registerRandomRelevanceModel(seed, 'relevance-cluster-a', 1, true);
    await registerRandomRelevanceModel(seed, 'relevance-cluster-b', 2);
    seed.close();

    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'serve', '--workers', '2', '--port', '0', '--home', home], {
      cwd: REPO_ROOT,
      env: { ...process.env, SIEVE_LLM_BASE_URL: '', SIEVE_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const listening = /sieve serve: listening on (http:\/\/127\.0\.0\.1:\d+) \(2 workers\)/;
      await until(() => listening.test(stderr), `both workers listening (stderr so far: ${stderr})`, 900);
      const url = listening.exec(stderr)![1]!;

      // Requests spread over both workers; every one succeeds.
      const N = 40;
      const responses = await Promise.all(Array.from({ length: N }, () => postJson(`${url}/v1/search`, { query: 'token budget', k: 2 })));
      expect(responses.map((r) => r.status)).toEqual(new Array(N).fill(200));

      const pids = new Set<number>();
      const health = await Promise.all(Array.from({ length: 20 }, () => fetch(`${url}/healthz`).then((r) => r.json() as Promise<{ pid: number }>)));
      for (const h of health) pids.add(h.pid);
      expect(pids.size).toBe(2);

      // /metrics, whichever worker answers, counts the requests of both.
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toContain(`sieve_http_requests_total{method="POST",route="/v1/search",status="200"} ${N}\n`);

      // Activate b through one worker; asks from both then use it at once (relayed, not waiting for a poll).
      const swap = await fetch(`${url}/v1/models/relevance-cluster-b/activate`, { method: 'POST' });
      expect(swap.status).toBe(200);
      await until(async () => {
        const asks = await Promise.all(Array.from({ length: 8 }, () => postJson(`${url}/v1/ask`, { question: 'How does attribution work?' })));
        const rankers = await Promise.all(asks.map(async (r) => AskResultSchema.parse(await r.json()).models.ranker));
        return rankers.every((r) => r === 'relevance-cluster-b');
      }, 'both workers serving the new version', 50);
      const models = ModelsResponse.parse(await (await fetch(`${url}/v1/models`)).json());
      expect(models.active.ranker).toBe('relevance-cluster-b');
      expect(stderr).toMatch(/worker [01]: model versions activated elsewhere; now serving ranker relevance-cluster-b/);

      // A worker that dies (after its first seconds) is replaced; the new one serves the active version.
      await until(async () => (await freshHealth(url)).uptimeSeconds > 6 && (await freshHealth(url)).uptimeSeconds > 6, 'the workers to outlive the restart guard');
      const victim = [...pids][0]!;
      process.kill(victim, 'SIGKILL');
      await until(() => /worker [01] exited \(SIGKILL\); starting another/.test(stderr), `the restart (stderr: ${stderr})`);
      const replacement = new Set<number>();
      await until(async () => {
        const h = await freshHealth(url).catch(() => ({ pid: 0, uptimeSeconds: 0 }));
        if (h.pid !== 0 && h.pid !== victim && !pids.has(h.pid)) replacement.add(h.pid);
        return replacement.size === 1;
      }, `a replacement worker answering (stderr: ${stderr})`, 900);
      const after = AskResultSchema.parse(await (await postJson(`${url}/v1/ask`, { question: 'How does attribution work?' })).json());
      expect(after.models.ranker).toBe('relevance-cluster-b');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('received SIGTERM: shutting down 2 workers');
    expect(stderr).toMatch(/sieve serve: stopped\n/);
  }, 150_000);

  it('stops (exit 2) instead of restarting workers that fail at start', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), 'serve', '--workers', '2', '--port', '0', '--home', join(tmp.dir, 'bad'), '--root', join(tmp.dir, 'no-such-root')],
      { cwd: REPO_ROOT, env: { ...process.env, SIEVE_LLM_BASE_URL: '', SIEVE_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    clearTimeout(timer);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--root .*no-such-root does not exist/);
    expect(stderr).toContain('a worker failed while starting');
    expect(stderr).not.toContain('starting another');
  }, 60_000);
});
