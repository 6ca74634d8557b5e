import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupHome } from '../src/backup.js';
import { openEngine, type Engine } from '../src/engine.js';
import { listModels, registerModel } from '../src/train/registry.js';
import { runSieve } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('backup');
const home = join(tmp.dir, 'home');
let engine: Engine;

beforeAll(async () => {
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'config.json'), JSON.stringify({ embed: { enabled: true } }));
  engine = await openEngine({ home, llm: null });
  const docs = join(tmp.dir, 'docs');
  mkdirSync(docs);
  writeFileSync(join(docs, 'aspirin.md'), '# Aspirin\n\nAspirin lowers the risk of heart attack in adults with heart disease.');
  writeFileSync(join(docs, 'sleep.md'), '# Sleep\n\nSleep deprivation impairs memory consolidation in students.');
  writeFileSync(join(docs, 'coffee.md'), '# Coffee\n\nCoffee drinking is associated with a lower risk of liver disease.');
  await engine.ingest([docs]);
  await engine.ask('does aspirin help the heart?');
  // A trained version inside the home (its folder must travel with the registry), not activated.
  const versionDir = join(home, 'models', 'relevance-test-1');
  mkdirSync(versionDir, { recursive: true });
  writeFileSync(join(versionDir, 'relevance.json'), '{}');
  registerModel(engine.store, home, { id: 'relevance-test-1', kind: 'relevance', dir: join('models', 'relevance-test-1'), files: { config: 'relevance.json' } });
}, 60_000);
afterAll(() => {
  engine.close();
  tmp.cleanup();
});

describe('sieve backup', () => {
  it('copies a home that opens as a home: same documents, traces, versions and answers, its HNSW index rebuilt from stored vectors', async () => {
    const target = join(tmp.dir, 'copy');
    const summary = await backupHome(engine, target);
    expect(summary).toMatchObject({ dir: target, modelFolders: 1 });
    expect(summary.databaseBytes).toBeGreaterThan(0);
    expect(readdirSync(target).sort()).toEqual(['config.json', 'models', 'sieve.db']);
    const restored = await openEngine({ home: target, llm: null });
    try {
      expect(restored.store.integrityCheck()).toEqual(['ok']);
      const { home: _a, ...before } = engine.stats();
      const { home: _b, ...after } = restored.stats();
      expect(after).toEqual(before);
      expect(after.traces).toBe(1);
      expect(restored.config.embed.enabled).toBe(true); // the config came along
      const versions = listModels(restored.store, target, 'relevance');
      expect(versions.map((v) => v.id)).toEqual(['relevance-test-1']);
      expect(versions[0]!.dir).toBe(join(target, 'models', 'relevance-test-1')); // the copy's own folder
      // No index files were copied: the dense index was rebuilt from the stored vectors, every chunk in it.
      expect(restored.denseIndex()).toMatchObject({ points: before.chunks, chunks: before.chunks });
      expect(restored.denseIndex()!.opened.action).not.toBe('loaded');
      const question = 'memory of students who sleep too little';
      const [a, b] = [await engine.search(question, { k: 3 }), await restored.search(question, { k: 3 })];
      expect(b.map((h) => h.docId)).toEqual(a.map((h) => h.docId));
      expect(b[0]!.docId).toMatch(/sleep/);
    } finally {
      restored.close();
    }
  }, 60_000);

  it('takes a consistent copy while asks keep writing traces', async () => {
    const before = engine.stats().traces;
    const target = join(tmp.dir, 'copy-busy');
    const asks = Array.from({ length: 20 }, (_, i) => engine.ask(i % 2 ? 'coffee and the liver' : 'aspirin and heart attack'));
    const [summary] = await Promise.all([backupHome(engine, target), ...asks]);
    const restored = await openEngine({ home: summary.dir, llm: null });
    try {
      expect(restored.store.integrityCheck()).toEqual(['ok']);
      const traces = restored.stats().traces;
      expect(traces).toBeGreaterThanOrEqual(before);
      expect(traces).toBeLessThanOrEqual(before + 20);
    } finally {
      restored.close();
    }
  }, 60_000);

  it('refuses a folder that is not empty or lies inside the home, and changes nothing', async () => {
    const full = join(tmp.dir, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'keep.txt'), 'mine');
    await expect(backupHome(engine, full)).rejects.toMatchObject({ code: 'BACKUP_TARGET_INVALID', message: expect.stringContaining('not an empty folder') });
    expect(readdirSync(full)).toEqual(['keep.txt']);
    await expect(backupHome(engine, join(home, 'backups', 'today'))).rejects.toMatchObject({ code: 'BACKUP_TARGET_INVALID', message: expect.stringContaining('inside the home') });
    expect(readdirSync(home)).not.toContain('backups');
    await expect(backupHome(engine, home)).rejects.toMatchObject({ code: 'BACKUP_TARGET_INVALID' });
  });

  it('runs from the CLI and exits 2 with the hint when the folder is taken', async () => {
    const cliHome = join(tmp.dir, 'cli-home');
    const first = await runSieve(cliHome, 'backup', join(tmp.dir, 'cli-copy'), '--json');
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ dir: join(tmp.dir, 'cli-copy'), modelFolders: 0 });
    const again = await runSieve(cliHome, 'backup', join(tmp.dir, 'cli-copy'));
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/BACKUP_TARGET_INVALID[\s\S]*new or empty folder/);
  }, 60_000);
});
