import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine, type Engine } from '../src/engine.js';
import { closedPortBaseUrl, contentStream, startFakeOpenAiServer, type FakeOpenAiServer } from './helpers/fake-openai-server.js';
import { EXAMPLES, tempDir } from './helpers/tmp.js';

const tmp = tempDir('engine');
let engine: Engine;
let llm: FakeOpenAiServer;

beforeAll(async () => {
  engine = await openEngine({ home: join(tmp.dir, 'home'), llm: null });
  await engine.ingest([EXAMPLES]);
  llm = await startFakeOpenAiServer();
});
afterAll(async () => {
  engine.close();
  await llm.close();
  tmp.cleanup();
});

describe('ask without an LLM (extractive)', () => {
  it('answers from the context with [n] citations that point at shown chunks, and leaves a trace', async () => {
    const r = await engine.ask('What happens to a chunk that was shown but not used?', { budgetTokens: 600 });
    expect(r.answeredBy).toBe('extractive');
    expect(r.context.length).toBeGreaterThan(0);
    expect(r.context.map((c) => c.n)).toEqual(r.context.map((_, i) => i + 1));
    expect(r.answer).toMatch(/negative/);
    expect(r.citations.length).toBeGreaterThan(0);
    for (const c of r.citations) expect(r.context.find((x) => x.n === c.n)?.chunkId).toBe(c.chunkId);
    const used = r.context.reduce((s, c) => s + c.tokenCount, 0);
    expect(used).toBeLessThanOrEqual(600);
    const trace = engine.store.db.prepare('SELECT question, answer, context, candidates FROM traces WHERE id = ?').get(r.traceId) as
      | { question: string; answer: string; context: string; candidates: string }
      | undefined;
    expect(trace?.question).toBe(r.question);
    expect(trace?.answer).toBe(r.answer);
    expect((JSON.parse(trace!.context) as unknown[]).length).toBe(r.context.length);
    expect((JSON.parse(trace!.candidates) as unknown[]).length).toBeGreaterThanOrEqual(r.context.length);
    expect(r.timings.totalMs).toBeGreaterThan(0);
    // Its own pick of sentences is not evidence of use: nothing inferred, no history events from this trace.
    const inferred = engine.store.db.prepare('SELECT attribution FROM traces WHERE id = ?').get(r.traceId) as { attribution: string };
    expect(JSON.parse(inferred.attribution)).toEqual([]);
    expect(engine.store.db.prepare('SELECT count(*) AS n FROM history WHERE query_key = ?').get(`trace:${r.traceId}`)).toEqual({ n: 0 });
    // A person's label on it is real signal and is kept.
    expect(engine.feedback(r.traceId, { chunks: { 1: 'up' } }).recorded).toBeGreaterThan(0);
    const explicit = engine.store.db.prepare(`SELECT chunk_id AS chunkId, cited FROM history WHERE source = 'explicit'`).all();
    expect(explicit).toContainEqual({ chunkId: r.context[0]!.chunkId, cited: 1 });
    expect(r.models.ranker).toBeTruthy();
  });

  it('a smaller budget selects less context', async () => {
    const big = await engine.ask('attribution markers overlap labels', { budgetTokens: 2000 });
    const small = await engine.ask('attribution markers overlap labels', { budgetTokens: 150 });
    const tokens = (r: typeof big) => r.context.reduce((s, c) => s + c.tokenCount, 0);
    expect(tokens(small)).toBeLessThanOrEqual(150);
    expect(tokens(big)).toBeGreaterThan(tokens(small));
  });

  it('refuses empty and punctuation-only questions with QUESTION_EMPTY', async () => {
    await expect(engine.ask('   ')).rejects.toMatchObject({ code: 'QUESTION_EMPTY' });
    await expect(engine.ask('?!…')).rejects.toMatchObject({ code: 'QUESTION_EMPTY' });
  });

  it('says STORE_EMPTY on a home with nothing ingested', async () => {
    const empty = await openEngine({ home: join(tmp.dir, 'empty'), llm: null });
    await expect(empty.ask('anything at all')).rejects.toMatchObject({ code: 'STORE_EMPTY' });
    empty.close();
  });
});

describe('ask through an OpenAI-compatible LLM', () => {
  it('streams the answer, hides the thinking, and parses its citations', async () => {
    const withLlm = await openEngine({ home: join(tmp.dir, 'home'), llm: { baseUrl: llm.baseUrl, model: 'm', apiKey: 'k', timeoutMs: 5000, maxTokens: 256, temperature: 0 } });
    llm.onChat(contentStream(['<think>which chunk?', '</think>', 'Markers come first [1]', ', then overlap [2][9].']));
    const tokens: string[] = [];
    const r = await withLlm.ask('How does attribution work?', { onToken: (t) => tokens.push(t) });
    expect(r.answeredBy).toBe('llm');
    expect(r.answer).toBe('Markers come first [1], then overlap [2][9].');
    expect(tokens.join('')).toBe(r.answer);
    expect(r.citations.map((c) => c.n)).toEqual([1, 2].filter((n) => n <= r.context.length));
    const body = llm.requests.at(-1)?.body as { messages: Array<{ content: string }> };
    expect(body.messages.map((m) => m.content).join('\n')).toContain('[1]');
    const stored = withLlm.store.db.prepare('SELECT reasoning, answer FROM traces WHERE id = ?').get(r.traceId) as { reasoning: string; answer: string };
    expect(stored.reasoning).toContain('which chunk?');
    expect(stored.answer).not.toContain('think');
    withLlm.close();
  });

  it('fails with LLM_UNREACHABLE when the server is down, and stores nothing new', async () => {
    const down = await openEngine({ home: join(tmp.dir, 'home'), llm: { baseUrl: await closedPortBaseUrl(), model: 'm', apiKey: 'k', timeoutMs: 2000, maxTokens: 64, temperature: 0 } });
    const before = down.stats();
    await expect(down.ask('How does attribution work?')).rejects.toMatchObject({ code: 'LLM_UNREACHABLE' });
    expect(down.stats()).toEqual(before);
    down.close();
  });
});

describe('hybrid retrieval with a registered embedder', () => {
  it('embeds chunks into the HNSW index on ingest and adds dense candidates to every query', async () => {
    const { trainEmbedder } = await import('../src/train/embedder/train.js');
    const { registerModel } = await import('../src/train/registry.js');
    const home = join(tmp.dir, 'hybrid');
    const hybrid = await openEngine({ home, llm: null, embed: { enabled: true } });
    await hybrid.ingest([EXAMPLES]);
    // A tiny embedder trained on this home's own chunks (inverse cloze), registered as the active version.
    const outDir = join(home, 'models', 'tiny-embedder');
    const trained = await trainEmbedder({
      store: hybrid.store,
      outDir,
      steps: 10,
      batchSize: 4,
      seed: 1,
      inProcess: true,
      log: false,
      architecture: { embedDim: 16, channels: 32, layers: 2, outputDim: 32 },
      tokenizer: { buckets: 2 ** 12, lengthBuckets: [32, 64] },
    } as Parameters<typeof trainEmbedder>[0]);
    const { readEmbedderConfig } = await import('../src/embed/onnx-embedder.js');
    const config = await readEmbedderConfig(outDir);
    registerModel(hybrid.store, home, { id: config.id, kind: 'embedder', dir: outDir, files: { config: 'embedder.json' }, activate: true });
    const loaded = await hybrid.reloadModels();
    expect(loaded.embedder).toBe(config.id);
    expect(trained).toBeTruthy();
    const set = await hybrid.candidatesFor('How are answers attributed to chunks?', 20);
    expect(set.query.embedding?.length).toBe(32);
    const dense = set.candidates.filter((c) => c.ranks.dense !== undefined);
    expect(dense.length).toBeGreaterThan(0);
    expect(dense.every((c) => (c.scores.dense ?? -2) >= -1.001 && (c.scores.dense ?? 2) <= 1.001)).toBe(true);
    const r = await hybrid.ask('How are answers attributed to chunks?');
    expect(r.models.retrievers).toBe('bm25+dense+history');

    // Forgetting a file takes its chunks out of the vector index too, before forget returns.
    const forgotten = join(EXAMPLES, 'attribution.md');
    const itsChunks = new Set(hybrid.store.chunkIdsUnder(forgotten));
    expect(itsChunks.size).toBeGreaterThan(0);
    const denseIds = async () => (await hybrid.candidatesFor('How are answers attributed to chunks?', 200)).candidates.filter((c) => c.ranks.dense !== undefined).map((c) => c.chunkId);
    expect((await denseIds()).some((id) => itsChunks.has(id))).toBe(true);
    const summary = await hybrid.forget([forgotten]);
    expect(summary).toMatchObject({ sources: 1, documents: 1, chunks: itsChunks.size });
    const after = await denseIds();
    expect(after.length).toBeGreaterThan(0);
    expect(after.some((id) => itsChunks.has(id))).toBe(false);
    hybrid.close();
  }, 120_000);
});
