import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { toSieveError } from '../src/errors.js';
import { Store } from '../src/store/store.js';
import { tempDir } from './helpers/tmp.js';

const tmp = tempDir('errors');
afterAll(() => tmp.cleanup());

/** The error a function throws, as the CLI and the service report it. */
function reported(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    return toSieveError(err);
  }
  throw new Error('expected a throw');
}

describe('storage failures are reported for what they are, not as bugs', () => {
  it('a database another process keeps locked is DB_BUSY (retry), exit 1, HTTP 503', () => {
    const path = join(tmp.dir, 'busy.db');
    const holder = new Store(path); // creates the schema
    const waiter = new Database(path);
    waiter.pragma('busy_timeout = 0');
    holder.db.prepare('BEGIN IMMEDIATE').run();
    try {
      const e = reported(() => waiter.prepare(`INSERT INTO store_state (key, value) VALUES ('x', 1)`).run());
      expect(e.code).toBe('DB_BUSY');
      expect([e.exitCode, e.httpStatus]).toEqual([1, 503]);
      expect(e.hint).toMatch(/retry/);
    } finally {
      holder.db.prepare('ROLLBACK').run();
      waiter.close();
      holder.close();
    }
  });

  it('a full disk is DISK_FULL, and the write that met it leaves what was committed', () => {
    const db = new Database(join(tmp.dir, 'full.db'));
    db.exec('CREATE TABLE t (v TEXT)');
    db.prepare('INSERT INTO t VALUES (?)').run('kept');
    db.pragma('max_page_count = 8'); // a disk with room for eight pages
    const e = reported(() => db.transaction(() => { for (let i = 0; i < 1000; i++) db.prepare('INSERT INTO t VALUES (?)').run('x'.repeat(1000)); }).immediate());
    expect(e.code).toBe('DISK_FULL');
    expect(e.httpStatus).toBe(507);
    expect(db.prepare('SELECT v FROM t').all()).toEqual([{ v: 'kept' }]);
    db.close();
  });

  it('a database that cannot be written is DB_READONLY; an unknown failure stays INTERNAL', () => {
    const path = join(tmp.dir, 'ro.db');
    new Store(path).close();
    const ro = new Database(path, { readonly: true });
    expect(reported(() => ro.prepare(`INSERT INTO store_state (key, value) VALUES ('x', 1)`).run()).code).toBe('DB_READONLY');
    ro.close();
    expect(reported(() => { throw new TypeError('x is undefined'); }).code).toBe('INTERNAL');
  });
});
