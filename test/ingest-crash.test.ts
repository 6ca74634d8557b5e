import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
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
