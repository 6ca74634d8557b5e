// The HTTP service over real HTTP on an ephemeral loopback port: every route, limits, errors, concurrency.
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../src/engine.js';
import { AskResultSchema, ChatCompletionResponse, ForgetSummarySchema, IngestSummarySchema, ModelsResponse, SearchResponse, SourcesResponse } from '../src/server/schemas.js';
import { serve, type RunningService } from '../src/server/serve.js';
import { activateModel } from '../src/train/registry.js';
import { parseSse, postJson, registerRandomRelevanceModel } from './helpers/server.js';
import { copyExamples, EXAMPLES, tempDir } from './helpers/tmp.js';

const tmp = tempDir('server');
let engine: Engine;
let service: RunningService;
let url: string;
let root: string;
let outside: string;

beforeAll(async () => {
  engine = await openEngine({ home: join(tmp.dir, 'home'), llm: null, feedback: { exploreRate: 0 } });
  await engine.ingest([EXAMPLES]);
  // An ingest root with one folder of documents, and a folder outside it that links point at.
  root = join(tmp.dir, 'root');
  mkdirSync(root);
  copyExamples(root);
  outside = join(tmp.dir, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.md'), '# Secret\n\nThe launch code is zebra-umbrella-42.\n');
  symlinkSync(join(outside, 'secret.md'), join(root, 'link-to-secret.md'));
  symlinkSync(outside, join(root, 'link-to-outside'));
  mkdirSync(join(root, 'mixed'));
  writeFileSync(join(root, 'mixed', 'own.md'), '# Own\n\nA document that lives inside the root, about walruses.\n');
  symlinkSync(join(outside, 'secret.md'), join(root, 'mixed', 'sneaky.md'));
  await registerRandomRelevanceModel(engine, 'relevance-test-a', 1);
  await registerRandomRelevanceModel(engine, 'relevance-test-b', 2);
  service = await serve({ engine, port: 0, schedule: 'off', roots: [root], onEvent: () => undefined });
  url = service.url;
});

afterAll(async () => {
  await service.close();
  tmp.cleanup();
});

describe('POST /v1/ask', () => {
  it('answers as JSON with the AskResult shape and leaves a trace', async () => {
    const res = await postJson(`${url}/v1/ask`, { question: 'How does attribution work?', budgetTokens: 600 });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = AskResultSchema.parse(await res.json());
    expect(body.answeredBy).toBe('extractive');
    expect(body.context.length).toBeGreaterThan(0);
    expect(body.answer.length).toBeGreaterThan(0);
    const trace = engine.store.db.prepare('SELECT question FROM traces WHERE id = ?').get(body.traceId) as { question: string } | undefined;
    expect(trace?.question).toBe('How does attribution work?');
  });

  it('streams server-sent events: token pieces, then the full result', async () => {
    const res = await postJson(`${url}/v1/ask`, { question: 'What happens to a chunk that was shown but not used?', stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = parseSse(await res.text());
    const tokens = events.filter((e) => e.event === 'token').map((e) => (JSON.parse(e.data) as { text: string }).text);
    expect(tokens.length).toBeGreaterThan(0);
    const last = events.at(-1)!;
    expect(last.event).toBe('result');
    const result = AskResultSchema.parse(JSON.parse(last.data));
    expect(tokens.join('')).toBe(result.answer);
    expect(result.citations.length).toBeGreaterThan(0);
    expect(result.timings.totalMs).toBeGreaterThan(0);
    expect(engine.store.db.prepare('SELECT count(*) AS n FROM traces WHERE id = ?').get(result.traceId)).toEqual({ n: 1 });
  });

  it('streams when the client sends Accept: text/event-stream', async () => {
    const res = await postJson(`${url}/v1/ask`, { question: 'token budget' }, { accept: 'text/event-stream' });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = parseSse(await res.text());
    expect(events.map((e) => e.event)).toContain('result');
  });

  it('refuses a question that is too long (400) or empty (400), naming the problem', async () => {
    const long = await postJson(`${url}/v1/ask`, { question: 'why '.repeat(1001) });
    expect(long.status).toBe(400);
    const body = (await long.json()) as { error: { code: string; message: string; hint: string } };
    expect(body.error.code).toBe('REQUEST_INVALID');
    expect(body.error.message).toMatch(/longer than 4000 characters/);
    expect(body.error.hint).toBeTruthy();
    const empty = await postJson(`${url}/v1/ask`, { question: '?!' });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { error: { code: string } }).error.code).toBe('QUESTION_EMPTY');
    // Streaming asked for, but nothing streamed yet: still a plain JSON error with its status.
    const emptyStream = await postJson(`${url}/v1/ask`, { question: '?!', stream: true });
    expect(emptyStream.status).toBe(400);
    expect(emptyStream.headers.get('content-type')).toMatch(/application\/json/);
    expect(await emptyStream.json()).toMatchObject({ error: { code: 'QUESTION_EMPTY' } });
  });

  it('serves 50 concurrent asks, all 200', async () => {
    const questions = ['attribution', 'token budget', 'chunks shown but not used', 'how does ingest work', 'feedback labels'];
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => postJson(`${url}/v1/ask`, { question: questions[i % questions.length] })));
    expect(responses.map((r) => r.status)).toEqual(new Array(50).fill(200));
    const bodies = await Promise.all(responses.map((r) => r.json() as Promise<{ traceId: string }>));
    expect(new Set(bodies.map((b) => b.traceId)).size).toBe(50);
  });
});

describe('POST /v1/search', () => {
  it('returns ranked hits, at most k', async () => {
    const res = await postJson(`${url}/v1/search`, { query: 'token budget', k: 3 });
    expect(res.status).toBe(200);
    const { hits } = SearchResponse.parse(await res.json());
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.length).toBeLessThanOrEqual(3);
    expect(hits.map((h) => h.rank)).toEqual(hits.map((_, i) => i + 1));
  });

  it('searches and answers within a scope, and says so when the scope holds nothing', async () => {
    const faq = join(EXAMPLES, 'faq.txt');
    const res = await postJson(`${url}/v1/search`, { query: 'token budget GPU', k: 5, scope: { sources: [faq] } });
    expect(res.status).toBe(200);
    const { hits } = SearchResponse.parse(await res.json());
    expect(hits.length).toBeGreaterThan(0);
    for (const h of hits) expect(h.source).toBe(faq);
    const ask = await postJson(`${url}/v1/ask`, { question: 'Does sieve need a GPU?', scope: { sources: [faq] } });
    expect(ask.status).toBe(200);
    for (const item of AskResultSchema.parse(await ask.json()).context) expect(item.source).toBe(faq);
    const empty = await postJson(`${url}/v1/search`, { query: 'token budget', scope: { sources: [join(EXAMPLES, 'no-such-file.md')] } });
    expect(empty.status).toBe(422);
    expect(await empty.json()).toMatchObject({ error: { code: 'SCOPE_EMPTY' } });
    const typo = await postJson(`${url}/v1/search`, { query: 'token budget', scope: { source: [faq] } });
    expect(typo.status).toBe(400);
    expect(((await typo.json()) as { error: { message: string } }).error.message).toMatch(/source/);
  });

  it('GET /v1/sources lists the ingested files a scope can name', async () => {
    const res = await fetch(`${url}/v1/sources`);
    expect(res.status).toBe(200);
    const { sources } = SourcesResponse.parse(await res.json());
    const faq = sources.find((s) => s.path === join(EXAMPLES, 'faq.txt'));
    expect(faq).toMatchObject({ documents: 1 });
    expect(faq!.chunks).toBeGreaterThan(0);
    expect(sources.every((s) => s.path.startsWith(EXAMPLES) || s.path.startsWith(root))).toBe(true);
  });

  it('rejects a wrong type and unknown fields with REQUEST_INVALID', async () => {
    const wrongK = await postJson(`${url}/v1/search`, { query: 'x', k: 'ten' });
    expect(wrongK.status).toBe(400);
    expect(((await wrongK.json()) as { error: { message: string } }).error.message).toMatch(/^k /);
    const extra = await postJson(`${url}/v1/search`, { query: 'x', limit: 3 });
    expect(extra.status).toBe(400);
    expect(((await extra.json()) as { error: { message: string } }).error.message).toMatch(/unknown field "limit"/);
  });
});

describe('request errors', () => {
  it('malformed JSON → 400 REQUEST_INVALID', async () => {
    const res = await fetch(`${url}/v1/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'REQUEST_INVALID', message: expect.stringMatching(/not valid JSON/) } });
  });

  it('a body over 1 MiB → 413 BODY_TOO_LARGE, with nothing stored', async () => {
    const before = engine.stats();
    const res = await postJson(`${url}/v1/ask`, { question: 'x'.repeat(1024 * 1024 + 10) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'BODY_TOO_LARGE' } });
    expect(engine.stats().traces).toBe(before.traces);
  });

  it('a non-JSON body → 415; a missing body → 400', async () => {
    const text = await fetch(`${url}/v1/search`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'token budget' });
    expect(text.status).toBe(415);
    expect(await text.json()).toMatchObject({ error: { code: 'MEDIA_TYPE_UNSUPPORTED' } });
    const none = await fetch(`${url}/v1/search`, { method: 'POST' });
    expect(none.status).toBe(400);
    expect(await none.json()).toMatchObject({ error: { code: 'REQUEST_INVALID' } });
  });

  it('an unknown route → 404 JSON', async () => {
    const res = await fetch(`${url}/v2/nothing?x=1`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'ROUTE_NOT_FOUND', message: 'no route GET /v2/nothing', hint: expect.any(String) } });
  });
});

describe('POST /v1/ingest (confined to --root)', () => {
  const ingest = (paths: string[], prune?: boolean) => postJson(`${url}/v1/ingest`, { paths, ...(prune === undefined ? {} : { prune }) });
  const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

  it('ingests a relative path inside the root', async () => {
    const res = await ingest(['docs']);
    expect(res.status).toBe(200);
    const summary = IngestSummarySchema.parse(await res.json());
    expect(summary.files).toBeGreaterThan(0);
  });

  it('ingests an absolute path inside the root', async () => {
    const res = await ingest([join(root, 'docs', 'faq.txt')]);
    expect(res.status).toBe(200);
  });

  it('refuses a .. escape', async () => {
    const res = await ingest(['../outside/secret.md']);
    expect(res.status).toBe(403);
    expect(await code(res)).toBe('PATH_OUTSIDE_ROOT');
    const deeper = await ingest(['docs/../../outside']);
    expect(deeper.status).toBe(403);
  });

  it('refuses an absolute path outside the roots', async () => {
    const res = await ingest([join(outside, 'secret.md')]);
    expect(res.status).toBe(403);
    expect(await code(res)).toBe('PATH_OUTSIDE_ROOT');
    expect((await ingest(['/etc/hostname'])).status).toBe(403);
  });

  it('refuses symlinks (to a file or a folder) whose real path leaves the root', async () => {
    const file = await ingest(['link-to-secret.md']);
    expect(file.status).toBe(403);
    const body = (await file.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('PATH_OUTSIDE_ROOT');
    expect(body.error.message).not.toContain('zebra'); // never file contents
    expect((await ingest(['link-to-outside'])).status).toBe(403);
    expect((await ingest(['link-to-outside/secret.md'])).status).toBe(403);
  });

  it('inside an allowed folder, skips a symlinked file that resolves outside (reported as a problem)', async () => {
    const res = await ingest(['mixed']);
    expect(res.status).toBe(200);
    const summary = IngestSummarySchema.parse(await res.json());
    expect(summary.problems).toEqual([expect.objectContaining({ code: 'PATH_OUTSIDE_ROOT', path: join(root, 'mixed', 'sneaky.md') })]);
    const search = SearchResponse.parse(await (await postJson(`${url}/v1/search`, { query: 'zebra umbrella launch code', k: 50 })).json());
    expect(search.hits.some((h) => h.text.includes('zebra'))).toBe(false);
    const own = SearchResponse.parse(await (await postJson(`${url}/v1/search`, { query: 'walruses', k: 5 })).json());
    expect(own.hits[0]?.text).toContain('walruses');
  });

  it('says PATH_NOT_FOUND for a missing path, and refuses the whole request when one path is bad', async () => {
    expect(await code(await ingest(['no-such-folder']))).toBe('PATH_NOT_FOUND');
    const before = engine.stats();
    const mixed = await ingest(['docs', '../outside']);
    expect(mixed.status).toBe(403);
    expect(engine.stats()).toEqual(before);
  });
});

describe('POST /v1/forget (confined to --root)', () => {
  const forget = (paths: string[]) => postJson(`${url}/v1/forget`, { paths });
  const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;
  const walrusHits = async () =>
    SearchResponse.parse(await (await postJson(`${url}/v1/search`, { query: 'walruses', k: 5 })).json()).hits.filter((h) => h.text.includes('walruses'));

  it('takes an ingested folder out of the index (the files stay), and refuses the whole request when one path matches nothing', async () => {
    expect((await postJson(`${url}/v1/ingest`, { paths: ['mixed'] })).status).toBe(200);
    expect((await walrusHits()).length).toBe(1);
    const before = engine.stats();
    const mixed = await forget(['mixed', 'never-ingested']);
    expect(mixed.status).toBe(404);
    expect(await code(mixed)).toBe('PATH_NOT_FOUND');
    expect(engine.stats()).toEqual(before);
    expect(await code(await forget(['../outside']))).toBe('PATH_OUTSIDE_ROOT');
    expect(await code(await forget([join(outside, 'secret.md')]))).toBe('PATH_OUTSIDE_ROOT');

    const res = await forget(['mixed']);
    expect(res.status).toBe(200);
    expect(ForgetSummarySchema.parse(await res.json())).toEqual({ sources: 1, documents: 1, chunks: 1 });
    expect(await walrusHits()).toEqual([]);
    const sources = SourcesResponse.parse(await (await fetch(`${url}/v1/sources`)).json()).sources.map((s) => s.path);
    expect(sources.some((p) => p.startsWith(join(root, 'mixed')))).toBe(false);
    expect(existsSync(join(root, 'mixed', 'own.md'))).toBe(true);
    expect(engine.stats().documents).toBe(before.documents - 1);
  });
});

describe('POST /v1/feedback', () => {
  it('stores explicit labels for a trace', async () => {
    const ask = (await (await postJson(`${url}/v1/ask`, { question: 'How does attribution work?' })).json()) as { traceId: string; context: unknown[] };
    expect(ask.context.length).toBeGreaterThan(0);
    const res = await postJson(`${url}/v1/feedback`, { traceId: ask.traceId, helpful: true, chunks: { 1: 'up' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ recorded: 2 });
    const rows = engine.store.db.prepare('SELECT n, label, helpful FROM feedback WHERE trace_id = ? ORDER BY id').all(ask.traceId);
    expect(rows).toEqual([
      { n: null, label: null, helpful: 1 },
      { n: 1, label: 'up', helpful: null },
    ]);
  });

  it('404 for an unknown trace; 400 for a label that is not up/down or a bad item number', async () => {
    const unknown = await postJson(`${url}/v1/feedback`, { traceId: 'nope', helpful: false });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'TRACE_NOT_FOUND' } });
    expect((await postJson(`${url}/v1/feedback`, { traceId: 'x', chunks: { 1: 'meh' } })).status).toBe(400);
    expect((await postJson(`${url}/v1/feedback`, { traceId: 'x', chunks: { 0: 'up' } })).status).toBe(400);
  });
});

describe('models', () => {
  it('lists registered versions and activates one (hot-swapped into the serving engine)', async () => {
    const list = ModelsResponse.parse(await (await fetch(`${url}/v1/models`)).json());
    expect(list.models.map((m) => m.id)).toEqual(expect.arrayContaining(['relevance-test-a', 'relevance-test-b']));
    expect(list.active.ranker).toMatch(/^fusion/);
    const res = await fetch(`${url}/v1/models/relevance-test-b/activate`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ active: { ranker: 'relevance-test-b' } });
    const after = ModelsResponse.parse(await (await fetch(`${url}/v1/models`)).json());
    expect(after.active.ranker).toBe('relevance-test-b');
    expect(after.models.find((m) => m.id === 'relevance-test-b')?.active).toBe(true);
    const ask = AskResultSchema.parse(await (await postJson(`${url}/v1/ask`, { question: 'token budget' })).json());
    expect(ask.models.ranker).toBe('relevance-test-b');
    // Back to a; asks during the swap all succeed.
    const during = Promise.all(Array.from({ length: 20 }, () => postJson(`${url}/v1/ask`, { question: 'attribution labels' })));
    const swap = await fetch(`${url}/v1/models/relevance-test-a/activate`, { method: 'POST' });
    expect(swap.status).toBe(200);
    expect((await during).map((r) => r.status)).toEqual(new Array(20).fill(200));
  });

  it('picks up a version activated outside the service (as `sieve models activate` does) within seconds', async () => {
    const before = ModelsResponse.parse(await (await fetch(`${url}/v1/models`)).json()).active.ranker;
    const target = before === 'relevance-test-b' ? 'relevance-test-a' : 'relevance-test-b';
    // Another connection to the same database, as the CLI would open.
    const { Store } = await import('../src/store/store.js');
    const { databasePath } = await import('../src/config.js');
    const cli = new Store(databasePath(engine.config));
    activateModel(cli, engine.config.home, target);
    cli.close();
    let active = before;
    for (let i = 0; i < 100 && active !== target; i++) {
      await new Promise((r) => setTimeout(r, 100));
      active = ModelsResponse.parse(await (await fetch(`${url}/v1/models`)).json()).active.ranker;
    }
    expect(active).toBe(target);
    const ask = AskResultSchema.parse(await (await postJson(`${url}/v1/ask`, { question: 'token budget' })).json());
    expect(ask.models.ranker).toBe(target);
  });

  it('404 MODEL_NOT_FOUND for an unknown version', async () => {
    const res = await fetch(`${url}/v1/models/nope/activate`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'MODEL_NOT_FOUND' } });
  });
});

describe('POST /v1/chat/completions without an LLM', () => {
  it('answers extractively (documented choice), in OpenAI format, and leaves a trace', async () => {
    const res = await postJson(`${url}/v1/chat/completions`, { model: 'sieve', messages: [{ role: 'user', content: 'How does attribution work?' }] });
    expect(res.status).toBe(200);
    const body = ChatCompletionResponse.parse(await res.json());
    expect(body.sieve.answeredBy).toBe('extractive');
    expect(body.choices[0]!.message.content.length).toBeGreaterThan(0);
    expect(engine.store.db.prepare('SELECT answered_by AS a FROM traces WHERE id = ?').get(body.sieve.traceId)).toEqual({ a: 'extractive' });
  });
});

describe('health, metrics, openapi, page', () => {
  it('GET /healthz', async () => {
    const res = await fetch(`${url}/healthz`);
    expect(await res.json()).toMatchObject({ ok: true, name: 'sieve', version: expect.any(String) });
  });

  it('GET /metrics exposes the documented series', async () => {
    await postJson(`${url}/v1/search`, { query: 'token budget' });
    service.metrics.recordTraining('rejected', null, new Date('2026-11-22T03:00:00Z'));
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    const text = await res.text();
    const stats = engine.stats();
    expect(text).toContain('# TYPE sieve_http_requests_total counter');
    expect(text).toMatch(/^sieve_http_requests_total\{method="POST",route="\/v1\/search",status="200"\} \d+$/m);
    expect(text).toMatch(/^sieve_http_requests_total\{method="POST",route="\/v1\/ask",status="200"\} \d+$/m);
    expect(text).toContain('# TYPE sieve_http_request_duration_seconds histogram');
    expect(text).toMatch(/^sieve_http_request_duration_seconds_bucket\{method="POST",route="\/v1\/search",status="200",le="\+Inf"\} \d+$/m);
    expect(text).toMatch(/^sieve_http_request_duration_seconds_count\{method="POST",route="\/v1\/search",status="200"\} \d+$/m);
    expect(text).toMatch(/^sieve_model_active\{kind="ranker",version="[^"]+"\} 1$/m);
    expect(text).toContain(`sieve_index_documents ${stats.documents}\n`);
    expect(text).toContain(`sieve_index_chunks ${stats.chunks}\n`);
    expect(text).toMatch(/^sieve_traces \d+$/m);
    expect(text).toContain('sieve_last_training_timestamp_seconds{status="rejected",model=""} 1795316400');
    // Unknown URLs are counted under one label, not one series per URL.
    expect(text).not.toContain('/v2/nothing');
  });

  it('GET /openapi.json is an OpenAPI 3.1 document with every route and the request schemas', async () => {
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, { properties?: Record<string, { maxLength?: number }>; required?: string[] }> };
    };
    expect(doc.openapi).toBe('3.1.0');
    for (const p of ['/v1/ask', '/v1/search', '/v1/ingest', '/v1/forget', '/v1/feedback', '/v1/sources', '/v1/models', '/v1/models/{id}/activate', '/v1/chat/completions', '/healthz', '/metrics']) {
      expect(doc.paths[p], p).toBeDefined();
    }
    expect(doc.components.schemas.AskRequest?.properties?.question?.maxLength).toBe(4000);
    expect(doc.components.schemas.AskRequest?.required).toEqual(['question']);
    expect(doc.components.schemas.IngestRequest?.required).toEqual(['paths']);
    // Every $ref points at a component that exists.
    const refs = JSON.stringify(doc).match(/#\/components\/schemas\/[A-Za-z]+/g) ?? [];
    for (const r of refs) expect(doc.components.schemas[r.split('/').at(-1)!], r).toBeDefined();
  });

  it('GET / serves the landing page', async () => {
    const res = await fetch(`${url}/`);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain('href="/openapi.json"');
    expect(html).toContain('href="/healthz"');
  });
});
