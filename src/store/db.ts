// The SQLite connection: pragmas, numbered migrations from db/, and the schema-version guard.
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SieveError } from '../errors.js';
import { cjkBigrams } from '../util/cjk.js';
import { searchText } from '../util/search-text.js';

export type Db = Database.Database;

/** db/ sits at the package root, two levels above this file both in src/store and in dist/src/store. */
function migrationsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [resolve(here, '../../db'), resolve(here, '../../../db')]) {
    if (existsSync(join(candidate, '001_documents_chunks_fts.sql'))) return candidate;
  }
  throw new SieveError('INTERNAL', `migrations folder db/ not found near ${here}`);
}

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function loadMigrations(dir = migrationsDir()): Migration[] {
  const migrations = readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .map((f) => ({ version: Number.parseInt(f, 10), name: f, sql: readFileSync(join(dir, f), 'utf8') }))
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new SieveError('INTERNAL', `migration numbering has a gap or duplicate at ${m.name}`);
  });
  return migrations;
}

/**
 * Opens (creating if needed) the database at `path`, applies pending migrations, and refuses a database whose
 * schema is newer than this sieve knows (opening it could corrupt data a newer version relies on).
 */
export function openDatabase(path: string, opts: { readonly?: boolean } = {}): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let db: Db;
  try {
    db = new Database(path, { readonly: opts.readonly ?? false });
  } catch (err) {
    throw new SieveError('DB_CORRUPT', `cannot open database ${path}: ${(err as Error).message}`, {}, { cause: err });
  }
  try {
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      // NORMAL is durable against application crashes in WAL mode (kill -9 loses nothing committed);
      // only an OS crash can lose the last transactions, never corrupt the file.
      db.pragma('synchronous = NORMAL');
    }
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.pragma('cache_size = -65536');
    db.pragma('temp_store = MEMORY');
    // The FTS triggers index text through these functions: CJK bigrams (migration 011; kept as it was, for the
    // rows it indexed), then identifier parts as well (migration 012; what the triggers call now).
    db.function('sieve_fts_text', { deterministic: true }, (text: unknown) => (typeof text === 'string' ? cjkBigrams(text) : text));
    db.function('sieve_fts_text_v2', { deterministic: true }, (text: unknown) => (typeof text === 'string' ? searchText(text) : text));
    migrate(db);
  } catch (err) {
    db.close();
    if (err instanceof SieveError) throw err;
    throw new SieveError('DB_CORRUPT', `cannot use database ${path}: ${(err as Error).message}`, {}, { cause: err });
  }
  return db;
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function migrate(db: Db, migrations = loadMigrations()): void {
  const current = schemaVersion(db);
  const latest = migrations.length;
  if (current > latest) {
    throw new SieveError('DB_TOO_NEW', `database schema version ${current} is newer than this sieve's ${latest}`, {
      current,
      latest,
    });
  }
  for (const m of migrations.slice(current)) {
    // Each migration and its version bump commit together, so a crash mid-upgrade leaves the previous version.
    // IMMEDIATE takes the write lock first; another process opening the same home may have applied this migration
    // while this one waited for it (both read the old version before either locked).
    db.transaction(() => {
      if (schemaVersion(db) >= m.version) return;
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}
