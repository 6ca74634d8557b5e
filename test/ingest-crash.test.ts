import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openEngine } from '../src/engine.js';
import { REPO_ROOT, SHARED_DATA, tempDir } from './helpers/tmp.js';

const corpus = join(SHARED_DATA, 'scifact/corpus.jsonl');
const tmp = tempDir('crash');
afterAll(() => tmp.cleanup());

function documentCount(dbPath: string): number {
  if (!existsSync(dbPath)) return 0;
  try {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM documents').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0; // schema not created yet
  }
}

describe('ingest killed midway', () => {
  it('leaves a database that opens, passes integrity_check and holds only whole documents', async () => {
    const home = join(tmp.dir, 'home');
    const dbPath = join(home, 'sieve.db');
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/helpers/ingest-child.ts'), home, corpus], {
      cwd: REPO_ROOT,
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_code, signal) => res(signal)));
    // Kill as soon as a few hundred documents are committed: well inside the 5,183.
    const deadline = Date.now() + 60_000;
    while (documentCount(dbPath) < 300 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const db = new Database(dbPath);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const docs = (db.prepare('SELECT count(*) AS n FROM documents').get() as { n: number }).n;
    expect(docs).toBeGreaterThanOrEqual(300);
    expect(docs).toBeLessThan(5183);
    // Whole documents only: each document's chunk_count (written with its chunks) matches what is there,
    // with ordinals 0..n-1, and the FTS index holds exactly the stored chunks.
    const broken = db
      .prepare(
        `SELECT d.id FROM documents d LEFT JOIN chunks c ON c.document_id = d.id
         GROUP BY d.id HAVING count(c.id) != d.chunk_count OR coalesce(max(c.ordinal), -1) != d.chunk_count - 1`,
      )
      .all();
    expect(broken).toEqual([]);
    const chunks = (db.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n;
    const indexed = (db.prepare(`SELECT count(*) AS n FROM chunks_fts`).get() as { n: number }).n;
    expect(indexed).toBe(chunks);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();

    // The next ingest finishes the job without duplicating what was already committed.
    const engine = await openEngine({ home, llm: null, embed: { enabled: false } });
    const s = await engine.ingest([corpus]);
    expect(s.documents + s.skipped).toBe(5183);
    expect(s.skipped).toBe(docs);
    expect(engine.stats().documents).toBe(5183);
    engine.close();
  }, 120_000);
});

describe('two ingests of one home at once (a CLI ingest beside a running watch or service)', () => {
  const ingestChild = (home: string, folder: string) =>
    new Promise<{ code: number | null; stderr: string }>((res) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/helpers/ingest-child.ts'), home, folder], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => res({ code, stderr }));
    });

  it('both finish without "database is locked", from creating the schema to the last document', async () => {
    const folder = join(tmp.dir, 'notes');
    mkdirSync(folder);
    for (let i = 0; i < 400; i++) writeFileSync(join(folder, `note-${i}.md`), `# Note ${i}\n\nThe ${i}th note says the deploy window is ${i % 7} hours.\n`);
    // A fresh home: both processes also race to create the schema.
    const home = join(tmp.dir, 'shared-home');
    const [a, b] = await Promise.all([ingestChild(home, folder), ingestChild(home, folder)]);
    expect([a.stderr, b.stderr]).toEqual(['', '']);
    expect([a.code, b.code]).toEqual([0, 0]);
    const db = new Database(join(home, 'sieve.db'));
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect((db.prepare('SELECT count(*) AS n FROM documents').get() as { n: number }).n).toBe(400);
    const chunks = (db.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n;
    expect((db.prepare('SELECT count(*) AS n FROM chunks_fts').get() as { n: number }).n).toBe(chunks);
    db.close();
  }, 120_000);
});
