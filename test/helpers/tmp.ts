import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** ../shared/data beside the repo, as CI lays it out. */
export const SHARED_DATA = resolve(REPO_ROOT, '../shared/data');
export const EXAMPLES = join(REPO_ROOT, 'examples/docs');

/** A fresh temp folder and its cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `sieve-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A writable copy of the shipped examples, so tests can edit and delete files. */
export function copyExamples(into: string): string {
  const target = join(into, 'docs');
  cpSync(EXAMPLES, target, { recursive: true });
  return target;
}
