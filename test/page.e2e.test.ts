// The page in a real browser against the real service: ask, watch the answer arrive with its citations, press
// "up" on a cited chunk, and find the feedback row in the database.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../src/engine.js';
import { createServer } from '../src/server/app.js';
import { registerRandomRelevanceModel } from './helpers/server.js';
import { EXAMPLES, tempDir } from './helpers/tmp.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = '/tmp/sieve-page.png';

const tmp = tempDir('page-e2e');
let engine: Engine;
let app: FastifyInstance;
let browser: Browser | undefined;
let url = '';

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run ./scripts/system-deps.sh (it installs Debian's chromium), then run the tests again`);
  }
  engine = await openEngine({ home: join(tmp.dir, 'home'), llm: null });
  await engine.ingest([EXAMPLES]);
  // Two inactive relevance versions with different scores, so the page has a learning curve to draw.
  await registerRandomRelevanceModel(engine, 'relevance-a', 1);
  await registerRandomRelevanceModel(engine, 'relevance-b', 2);
  const setMetrics = engine.store.db.prepare(`UPDATE models SET metrics = ?, created_at = ? WHERE id = ?`);
  setMetrics.run(JSON.stringify({ valNdcg10: 0.52 }), '2026-11-20T03:00:00.000Z', 'relevance-a');
  setMetrics.run(JSON.stringify({ valNdcg10: 0.61 }), '2026-11-21T03:00:00.000Z', 'relevance-b');
  app = await createServer(engine);
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  engine?.close();
  tmp.cleanup();
});

describe('the web page in Chromium', () => {
  it('asks, streams the answer with linked citations, and stores an "up" on a cited chunk', async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 1000 } });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    await page.goto(url + '/');
    await page.locator('#curve svg').waitFor();
    expect(await page.locator('#models tr').count()).toBe(2);
    expect(await page.textContent('#active-models')).toMatch(/^serving: ranker \S+$/);

    await page.fill('#question', 'How does sieve decide which chunks an answer used?');
    await page.click('#ask-button');
    await page.locator('#helpful .helpful-yes').waitFor();

    const answer = (await page.textContent('#answer')) ?? '';
    expect(answer.length).toBeGreaterThan(20);
    const cites = page.locator('#answer a.cite');
    expect(await cites.count()).toBeGreaterThan(0);
    const cited = page.locator('#context li.chunk.cited');
    expect(await cited.count()).toBeGreaterThan(0);
    // Every linked marker points at a listed context item that is marked cited.
    for (const n of await cites.evaluateAll((as) => as.map((a) => a.getAttribute('data-n')))) {
      expect(await page.locator(`#ctx-${n}.cited`).count()).toBe(1);
    }

    const first = cited.first();
    const n = Number(await first.getAttribute('data-n'));
    await first.locator('button.vote-up').click();
    await first.locator('.saved.ok').waitFor();
    expect(await first.locator('.saved').textContent()).toBe('saved');
    await page.click('#helpful .helpful-yes');
    await page.locator('#helpful .saved.ok').waitFor();

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(problems).toEqual([]);

    const traceId = (await page.textContent('#answer-meta code'))!;
    const rows = engine.store.db
      .prepare(`SELECT n, label, helpful FROM feedback WHERE trace_id = ? ORDER BY id`)
      .all(traceId) as Array<{ n: number | null; label: string | null; helpful: number | null }>;
    expect(rows).toEqual([
      { n, label: 'up', helpful: null },
      { n: null, label: null, helpful: 1 },
    ]);
    await page.close();
  });

  it('asks within the files named in "only in", and the trace records that scope', async () => {
    const page = await browser!.newPage();
    await page.goto(url + '/');
    const faq = join(EXAMPLES, 'faq.txt');
    await page.fill('#question', 'Does sieve need a GPU?');
    await page.fill('#scope', ` ${faq} , `);
    await page.click('#ask-button');
    await page.locator('#context li.chunk').first().waitFor();
    const traceId = (await page.textContent('#answer-meta code'))!;
    const row = engine.store.db.prepare(`SELECT scope, context FROM traces WHERE id = ?`).get(traceId) as { scope: string; context: string };
    expect(JSON.parse(row.scope)).toEqual({ sources: [faq] });
    const chunkIds = (JSON.parse(row.context) as Array<{ chunkIds: number[] }>).flatMap((c) => c.chunkIds);
    const sources = [...engine.store.getChunks(chunkIds).values()].map((c) => c.source);
    expect(sources.length).toBeGreaterThan(0);
    expect(new Set(sources)).toEqual(new Set([faq]));
    await page.close();
  });

  it('with a token: the page loads without one, sends ?token= on its API calls, and says so when it is missing', async () => {
    const secured = await createServer(engine, { token: 'page-secret' });
    const securedUrl = await secured.listen({ host: '127.0.0.1', port: 0 });
    try {
      const page = await browser!.newPage();
      await page.goto(securedUrl + '/');
      await page.locator('#models-error .error').waitFor();
      expect(await page.textContent('#models-error')).toMatch(/UNAUTHORIZED/);

      await page.goto(securedUrl + '/?token=page-secret');
      await page.locator('#models tr').first().waitFor();
      // The token leaves the address bar (it would otherwise end up in history and screenshots).
      expect(new URL(page.url()).search).toBe('');
      await page.fill('#question', 'What is the token budget for?');
      await page.click('#ask-button');
      await page.locator('#context li.chunk').first().waitFor();
      await page.close();
    } finally {
      await secured.close();
    }
  });
});
