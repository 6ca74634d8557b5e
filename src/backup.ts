// `sieve backup <dir>`: a consistent copy of a home that can be opened as a home, taken while it serves. The home's
// value grows with use (traces, feedback, trained versions), and copying a live WAL database file by hand can
// capture a half-written page. SQLite's online backup copies a consistent snapshot; then exactly the model folders
// that snapshot's registry refers to are copied, so the copy never names a version it lacks. HNSW index files are
// left out: an opened home rebuilds them from the stored vectors.
import { cpSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { databasePath } from './config.js';
import type { Engine } from './engine.js';
import { SieveError } from './errors.js';

export interface BackupSummary {
  /** The backup folder: open it with --home. */
  dir: string;
  databaseBytes: number;
  /** Model version folders copied (the registry's versions that live inside the home). */
  modelFolders: number;
  seconds: number;
}

export async function backupHome(engine: Engine, target: string): Promise<BackupSummary> {
  const started = performance.now();
  const dir = resolve(target);
  const home = resolve(engine.config.home);
  const inside = relative(home, dir);
  if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside))) {
    throw new SieveError('BACKUP_TARGET_INVALID', `${dir} is inside the home ${home}; back up to a folder outside it`, { path: dir });
  }
  if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) {
    throw new SieveError('BACKUP_TARGET_INVALID', `${dir} exists and is not an empty folder`, { path: dir });
  }
  mkdirSync(dir, { recursive: true });
  const databaseFile = databasePath({ ...engine.config, home: dir });
  await engine.store.db.backup(databaseFile);

  // The snapshot's registry decides which versions to copy: a version registered after it is not in the copy's
  // registry, and one it names was fully written before it was registered.
  const copy = new Database(databaseFile); // read-write, so closing it leaves no -wal/-shm files beside the copy
  let dirs: string[];
  try {
    dirs = (copy.prepare(`SELECT dir FROM models`).all() as Array<{ dir: string }>).map((r) => r.dir);
  } finally {
    copy.close();
  }
  let modelFolders = 0;
  for (const modelDir of dirs) {
    // Absolute folders (the embedder shipped with sieve) are not part of the home.
    if (isAbsolute(modelDir)) continue;
    const from = join(home, modelDir);
    if (!existsSync(from)) continue; // a version whose files were removed: the copy is as broken as the home
    cpSync(from, join(dir, modelDir), { recursive: true });
    modelFolders += 1;
  }
  const config = join(home, 'config.json');
  if (existsSync(config)) cpSync(config, join(dir, 'config.json'));
  return { dir, databaseBytes: statSync(databaseFile).size, modelFolders, seconds: (performance.now() - started) / 1000 };
}

