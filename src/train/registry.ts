// The model registry: versions of each model kind, their files and metrics, and which one serves.
// Activation is one transaction (deactivate the old, activate the new), so readers never see two or none
// active mid-switch; a crash before commit leaves the previous version serving.
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { SieveError } from '../errors.js';
import type { Store } from '../store/store.js';

export type ModelKind = 'embedder' | 'relevance';

export interface ModelVersion {
  id: string;
  kind: ModelKind;
  parent: string | null;
  /** Absolute folder of the version's files. */
  dir: string;
  files: Record<string, string>;
  meta: Record<string, unknown>;
  metrics: Record<string, number>;
  createdAt: string;
  active: boolean;
}

const JsonRecord = z.record(z.string(), z.unknown());
const FilesRecord = z.record(z.string(), z.string());
const MetricsRecord = z.record(z.string(), z.number());

interface ModelRow {
  id: string;
  kind: ModelKind;
  parent: string | null;
  dir: string;
  files: string;
  meta: string;
  metrics: string;
  created_at: string;
  active: number;
}

function toVersion(row: ModelRow, home: string): ModelVersion {
  return {
    id: row.id,
    kind: row.kind,
    parent: row.parent,
    dir: isAbsolute(row.dir) ? row.dir : join(home, row.dir),
    files: FilesRecord.parse(JSON.parse(row.files)),
    meta: JsonRecord.parse(JSON.parse(row.meta)),
    metrics: MetricsRecord.parse(JSON.parse(row.metrics)),
    createdAt: row.created_at,
    active: row.active === 1,
  };
}

export interface RegisterInput {
  id: string;
  kind: ModelKind;
  parent?: string | null;
  /** Folder of the files: absolute, or relative to the home. */
  dir: string;
  files: Record<string, string>;
  meta?: Record<string, unknown>;
  metrics?: Record<string, number>;
  activate?: boolean;
}

export function registerModel(store: Store, home: string, input: RegisterInput): ModelVersion {
  const dir = isAbsolute(input.dir) ? input.dir : join(home, input.dir);
  for (const [role, file] of Object.entries(input.files)) {
    if (!existsSync(join(dir, file))) {
      throw new SieveError('MODEL_INVALID', `model ${input.id}: its ${role} file ${join(dir, file)} does not exist`);
    }
  }
  store.db.transaction(() => {
    store.db
      .prepare(
        `INSERT INTO models (id, kind, parent, dir, files, meta, metrics, created_at, active)
         VALUES (@id, @kind, @parent, @dir, @files, @meta, @metrics, @createdAt, 0)`,
      )
      .run({
        id: input.id,
        kind: input.kind,
        parent: input.parent ?? null,
        dir: input.dir,
        files: JSON.stringify(input.files),
        meta: JSON.stringify(input.meta ?? {}),
        metrics: JSON.stringify(input.metrics ?? {}),
        createdAt: new Date().toISOString(),
      });
    if (input.activate) activateWithin(store, input.id, input.kind);
  }).immediate();
  return getModel(store, home, input.id)!;
}

function activateWithin(store: Store, id: string, kind: ModelKind): void {
  deactivateModels(store, kind);
  store.db.prepare(`UPDATE models SET active = 1 WHERE id = ?`).run(id);
}

export function activateModel(store: Store, home: string, id: string): ModelVersion {
  const model = getModel(store, home, id);
  if (!model) {
    const known = listModels(store, home).map((m) => m.id);
    throw new SieveError('MODEL_NOT_FOUND', `no model version ${JSON.stringify(id)}; known: ${known.join(', ') || 'none'}`);
  }
  store.db.transaction(() => activateWithin(store, id, model.kind)).immediate();
  return { ...model, active: true };
}

/** No version of `kind` serves afterwards: for relevance, ranking falls back to fused retriever scores. */
export function deactivateModels(store: Store, kind: ModelKind): void {
  store.db.prepare(`UPDATE models SET active = 0 WHERE kind = ? AND active = 1`).run(kind);
}

/** Removes a version that never served (a killed job's candidate) from the registry; its files are the caller's. */
export function deleteInactiveModel(store: Store, id: string): boolean {
  return store.db.prepare(`DELETE FROM models WHERE id = ? AND active = 0`).run(id).changes > 0;
}

export function getModel(store: Store, home: string, id: string): ModelVersion | undefined {
  const row = store.db.prepare(`SELECT * FROM models WHERE id = ?`).get(id) as ModelRow | undefined;
  return row ? toVersion(row, home) : undefined;
}

export function activeModel(store: Store, home: string, kind: ModelKind): ModelVersion | undefined {
  const row = store.db.prepare(`SELECT * FROM models WHERE kind = ? AND active = 1`).get(kind) as ModelRow | undefined;
  return row ? toVersion(row, home) : undefined;
}

export function listModels(store: Store, home: string, kind?: ModelKind): ModelVersion[] {
  const rows = (
    kind
      ? store.db.prepare(`SELECT * FROM models WHERE kind = ? ORDER BY created_at, id`).all(kind)
      : store.db.prepare(`SELECT * FROM models ORDER BY created_at, id`).all()
  ) as ModelRow[];
  return rows.map((r) => toVersion(r, home));
}

/** The path of one of a version's files, by role. */
export function modelFile(model: ModelVersion, role: string): string {
  const file = model.files[role];
  if (!file) throw new SieveError('MODEL_INVALID', `model ${model.id} has no ${role} file (has: ${Object.keys(model.files).join(', ')})`);
  return join(model.dir, file);
}
