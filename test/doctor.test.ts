import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkNode, diagnose, repairFullTextIndex, type DoctorReport } from '../src/doctor.js';
import { GraphBuilder } from '../src/embed/onnx/builder.js';
import { openEngine, type Engine } from '../src/engine.js';
import { registerModel } from '../src/train/registry.js';
import { LlmConfigSchema } from '../src/llm/config.js';
import { runSieveWithEnv } from './helpers/cli.js';
import { startFakeOpenAiServer, type FakeOpenAiServer } from './helpers/fake-openai-server.js';
import { ftsSources, writeAndIngest } from './helpers/fts.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('doctor');
let engine: Engine;
let server: FakeOpenAiServer;
const trainerLoads = async () => ({});

beforeAll(async () => {
  engine = await openEngine({ home: join(tmp.dir, 'home'), llm: null, embed: { enabled: false } });
  const docs = join(tmp.dir, 'docs');
  mkdirSync(docs);
  await writeAndIngest(engine.store, docs, { 'a.md': '# Aspirin\n\nAspirin lowers the risk of heart attack.', 'b.md': '# Sleep\n\nSleep helps memory.' });
  server = await startFakeOpenAiServer({ models: ['qwen3-8b', 'llama-3.2-3b'] });
});
afterAll(async () => {
  engine.close();
  await server.close();
  tmp.cleanup();
});

const byName = (report: DoctorReport) => Object.fromEntries(report.checks.map((c) => [c.name, c]));
const llm = (baseUrl: string, model: string) => LlmConfigSchema.parse({ baseUrl, model, timeoutMs: 2000 });

describe('sieve doctor', () => {
  it('passes a healthy home with no LLM, warning that answers will be extractive', async () => {
    const report = await diagnose(engine, { llm: null, loadTrainer: trainerLoads });
    const checks = byName(report);
    expect(report.ok).toBe(true);
    expect(Object.keys(checks)).toEqual(['runtime', 'database', 'corpus', 'disk', 'dense retrieval', 'ranking', 'neural engine', 'training', 'schedule', 'llm']);
    for (const name of ['runtime', 'database', 'corpus', 'dense retrieval', 'ranking', 'neural engine', 'training', 'schedule']) expect(checks[name]!.status).toBe('ok');
    expect(checks.corpus!.detail).toMatch(/^2 documents, 2 chunks from 2 files/);
    expect(checks.llm).toMatchObject({ status: 'warn', fix: expect.stringMatching(/SIEVE_LLM_BASE_URL/) });
  });

  it('reaches the LLM server and checks the configured model is one it lists', async () => {
    const listed = byName(await diagnose(engine, { llm: llm(server.baseUrl, 'qwen3-8b'), loadTrainer: trainerLoads }));
    expect(listed.llm).toMatchObject({ status: 'ok', detail: expect.stringContaining('qwen3-8b, llama-3.2-3b') });
    const unlisted = await diagnose(engine, { llm: llm(server.baseUrl, 'mistral-7b'), loadTrainer: trainerLoads });
    expect(byName(unlisted).llm).toMatchObject({ status: 'warn', fix: expect.stringContaining('mistral-7b') });
    expect(unlisted.ok).toBe(true);
  });

  it('fails on an LLM server that does not answer, or an LLM environment that does not parse', async () => {
    const gone = await startFakeOpenAiServer();
    const url = gone.baseUrl;
    await gone.close();
    const down = await diagnose(engine, { llm: llm(url, 'qwen3-8b'), loadTrainer: trainerLoads });
    expect(down.ok).toBe(false);
    expect(byName(down).llm).toMatchObject({ status: 'fail', fix: expect.stringContaining(url) });
    const malformed = await diagnose(engine, { env: { SIEVE_LLM_BASE_URL: 'localhost:8080' }, loadTrainer: trainerLoads });
    expect(byName(malformed).llm).toMatchObject({ status: 'fail', detail: expect.stringMatching(/http\(s\) URL/) });
  });

  it('warns, without failing, when the training backend does not load, and passes on its fix', async () => {
    const report = await diagnose(engine, {
      llm: null,
      loadTrainer: async () => {
        throw new Error('could not load node-mlx: libblas.so.3: cannot open shared object file. run `apt-get install libopenblas0`');
      },
    });
    expect(report.ok).toBe(true);
    expect(byName(report).training).toMatchObject({ status: 'warn', fix: expect.stringContaining('libopenblas0') });
  });

  it('fails a full-text index that no longer matches the chunks, and a schedule that is not a cron expression', async () => {
    const home = join(tmp.dir, 'broken');
    const broken = await openEngine({ home, llm: null, embed: { enabled: false }, train: { schedule: 'nightly' } });
    try {
      const docs = join(tmp.dir, 'docs-broken');
      mkdirSync(docs);
      await writeAndIngest(broken.store, docs, { 'c.md': '# Coffee\n\nCoffee and the liver.' });
      expect(byName(await diagnose(broken, { llm: null, loadTrainer: trainerLoads })).database!.status).toBe('ok');
      // An index entry for a chunk that does not exist: what a crash between the two writes would leave.
      broken.store.db.prepare(`INSERT INTO chunks_fts(rowid, heading, text) VALUES (987654, 'ghost', 'a chunk that is not there')`).run();
      const report = await diagnose(broken, { llm: null, loadTrainer: trainerLoads });
      expect(report.ok).toBe(false);
      expect(byName(report).database).toMatchObject({ status: 'fail', detail: expect.stringContaining('full-text index') });
      expect(byName(report).database!.fix).toMatch(/--repair/);
      expect(byName(report).schedule).toMatchObject({ status: 'fail', detail: expect.stringContaining('"nightly"') });
      // The repair rebuilds the index from the chunks: the ghost is gone and the coffee chunk is still found.
      expect(repairFullTextIndex(broken)).toBe(true);
      expect(byName(await diagnose(broken, { llm: null, loadTrainer: trainerLoads })).database!.status).toBe('ok');
      expect(ftsSources(broken.store, 'coffee liver')).toEqual(['c.md']);
      expect(repairFullTextIndex(broken)).toBe(false);
    } finally {
      broken.close();
    }
  });

  it('warns when an active model’s FP16 graph breaks the ANE rules, and fails a registered model that is not served', async () => {
    const home = join(tmp.dir, 'ane');
    const local = await openEngine({ home, llm: null, embed: { enabled: false } });
    try {
      // A graph another exporter might write: a MatMul where sieve writes a 1×1 convolution.
      const C = 8;
      const g = new GraphBuilder('bad');
      const x = g.input('x', 'float32', [1, C, 1, 32]);
      g.initializer('dense.weight', new Float32Array(C * 32).fill(0.1), [32, C]);
      g.node('MatMul', [x, 'dense.weight'], ['y'], {}, 'dense');
      g.output('y', 'float32', [1, C, 1, C]);
      const dir = join(home, 'models', 'relevance-foreign');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'relevance-64.fp16.onnx'), g.toModel({ opset: 17, producer: 'test' }));
      registerModel(local.store, home, { id: 'relevance-foreign', kind: 'relevance', dir, files: { graph: 'relevance-64.fp16.onnx' }, activate: true });
      const report = byName(await diagnose(local, { llm: null, loadTrainer: trainerLoads }));
      expect(report['neural engine']).toMatchObject({ status: 'warn', detail: expect.stringMatching(/1 of 1 FP16 graphs.*no-matmul/) });
      expect(report.ranking).toMatchObject({ status: 'fail', detail: expect.stringContaining('relevance-foreign is active but not served') });
    } finally {
      local.close();
    }
  });

  it('warns when the home’s filesystem has too little room left to ingest or train', async () => {
    const room = (free: number) => diagnose(engine, { llm: null, loadTrainer: trainerLoads, freeBytes: () => free });
    expect(byName(await room(5e9)).disk).toMatchObject({ status: 'ok', detail: expect.stringMatching(/^5\.0 GB free/) });
    const tight = await room(0.4e9);
    expect(byName(tight).disk).toMatchObject({ status: 'warn', fix: expect.stringContaining('sieve backup') });
    expect(tight.ok).toBe(true);
    // The real filesystem is read when no seam is given.
    expect(byName(await diagnose(engine, { llm: null, loadTrainer: trainerLoads })).disk!.detail).toMatch(/GB free where the home is/);
  });

  it('says a new corpus needs ingesting, and judges the Node version against the supported minimum', async () => {
    const empty = await openEngine({ home: join(tmp.dir, 'empty'), llm: null, embed: { enabled: false } });
    try {
      expect(byName(await diagnose(empty, { llm: null, loadTrainer: trainerLoads })).corpus).toMatchObject({ status: 'warn', fix: expect.stringMatching(/^sieve ingest/) });
    } finally {
      empty.close();
    }
    expect(checkNode('18.20.4').status).toBe('fail');
    expect(checkNode('20.18.1').status).toBe('fail');
    expect(checkNode('20.19.0').status).toBe('ok');
    expect(checkNode('22.3.0').status).toBe('ok');
  });

  it('runs from the CLI: a report line per check, the fix under a problem, and exit 1 when a check fails', async () => {
    const gone = await startFakeOpenAiServer();
    const url = gone.baseUrl;
    await gone.close();
    const home = join(tmp.dir, 'cli');
    mkdirSync(home); // a home folder with nothing in it yet: the database is created on open
    const healthy = await runSieveWithEnv(home, {}, 'doctor');
    expect(healthy.code).toBe(0);
    expect(healthy.stdout).toMatch(/^ok {4}runtime/m);
    expect(healthy.stdout).toMatch(/^warn {2}llm/m);
    // A mistyped --home is reported, and not created.
    const missing = await runSieveWithEnv(join(tmp.dir, 'no-such-home'), {}, 'doctor');
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/^fail {2}home {13}no home at/m);
    expect(existsSync(join(tmp.dir, 'no-such-home'))).toBe(false);
    const down = await runSieveWithEnv(home, { SIEVE_LLM_BASE_URL: url }, 'doctor', '--json');
    expect(down.code).toBe(1);
    const report = JSON.parse(down.stdout) as DoctorReport;
    expect(report.ok).toBe(false);
    expect(byName(report).llm!.status).toBe('fail');
  }, 60_000);
});
